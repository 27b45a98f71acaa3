import asyncio
import logging

import pytest

from bot.vendors.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SessionError,
    ValidationError,
)
from bot.vendors.http import RetryPolicy
from bot.wedgehr.client import WedgeHRClient
from bot.wedgehr.models import Interview, Invite, InviteStatus, One, Page, Wedge
from bot.wedgehr.sandbox import WedgeHRSandbox
from tests.support import fixtures
from tests.support.servers import serve

TOKEN = "wedge-test-token-0123456789"
FAST = RetryPolicy(max_retries=3, backoff_base=0.001, backoff_max=0.01)


@pytest.fixture
def sandbox():
    return WedgeHRSandbox(tokens={TOKEN})


@pytest.fixture
async def client(sandbox):
    async with serve(sandbox.app) as url, WedgeHRClient(token=TOKEN, base_url=url, retry=FAST) as c:
        yield c


@pytest.mark.parametrize("name", fixtures.names("wedgehr"))
def test_every_documented_example_parses(name):
    payload = fixtures.load("wedgehr", name)
    model = {
        "create_invite": One[Invite],
        "get_invite": One[Invite],
        "list_invites": Page[Invite],
        "list_wedges": Page[Wedge],
        "get_wedge": One[Wedge],
        "resend_invite": One[Wedge],
        "list_interviews": Page[Interview],
    }[name]
    parsed = model.model_validate(payload)
    assert parsed.data


async def test_create_invite_sends_documented_field_and_returns_model(client, sandbox):
    interview = next(iter(sandbox.interviews.values()))
    invite = await client.create_invite(
        interview_id=interview["id"],
        email="fred@example.io",
        first_name="Fred",
        last_name="Smith",
        unique_id="abc123",
    )
    assert invite.email == "fred@example.io" and invite.status == "invited" and invite.invite_url
    sent = sandbox.requests[-1].json
    assert sent["shouldSendInvite"] is True and "shouldSentInvite" not in sent
    assert sent["interviewId"] == interview["id"] and sent["uniqueId"] == "abc123"
    assert len(str(invite.id)) == 16


async def test_an_invite_whose_answer_times_out_is_not_sent_twice(sandbox):
    # The request reached WedgeHR and the invite exists; only the answer was late. A retry would
    # email the candidate twice, so the timeout goes to the recruiter instead.
    interview = next(iter(sandbox.interviews.values()))
    sandbox.answer_delay_seconds = 0.5
    async with serve(sandbox.app) as url:
        async with WedgeHRClient(token=TOKEN, base_url=url, retry=FAST, timeout=0.2) as client:
            with pytest.raises(APITimeoutError) as raised:
                await client.create_invite(interview_id=interview["id"], email="late@example.io")
            assert "may have gone through" in str(raised.value)  # not "try again"
        await asyncio.sleep(1.0)  # any retried request would have landed by now
    posts = [r for r in sandbox.requests if r.method == "POST"]
    assert len(posts) == 1
    assert [i["email"] for i in sandbox.invites.values()].count("late@example.io") == 1


async def test_an_invite_whose_connection_drops_or_gateway_fails_says_it_may_have_gone_through(sandbox):
    interview = next(iter(sandbox.interviews.values()))
    async with serve(sandbox.app) as url, WedgeHRClient(token=TOKEN, base_url=url, retry=FAST) as client:
        sandbox.drop_answers = True
        with pytest.raises(APIConnectionError) as dropped:
            await client.create_invite(interview_id=interview["id"], email="dropped@example.io")
        sandbox.drop_answers = False
        sandbox.fail_next(502)
        with pytest.raises(ServerError) as gateway:
            await client.create_invite(interview_id=interview["id"], email="gateway@example.io")
    for raised in (dropped, gateway):
        assert "may have gone through" in str(raised.value)
    assert [r.json["email"] for r in sandbox.requests if r.method == "POST"] == [
        "dropped@example.io",
        "gateway@example.io",
    ]


async def test_validation_error_maps_fields(client):
    with pytest.raises(ValidationError) as err:
        await client.create_invite(interview_id=1, email="not-an-email")
    assert set(err.value.field_errors) == {"interview_id", "email"}
    assert "valid email" in err.value.field_errors["email"]


async def test_pagination_follows_cursors_across_pages(client, sandbox):
    interview = next(iter(sandbox.interviews.values()))
    for n in range(7):
        sandbox.add_invite(interview_id=interview["id"], email=f"c{n}@example.io")
    before = len(sandbox.requests)
    emails = [i.email async for i in client.iter_invites(page_size=3)]
    assert emails == [f"c{n}@example.io" for n in range(7)]
    pages = sandbox.requests[before:]
    assert len(pages) == 3 and all(r.query["page[size]"] == "3" for r in pages)


async def test_a_404_on_a_later_page_is_a_listing_cut_short_not_its_end(client, sandbox):
    interview = next(iter(sandbox.interviews.values()))
    for n in range(7):
        sandbox.add_invite(interview_id=interview["id"], email=f"c{n}@example.io")
    # "Nothing matches" (ERRATA) on the first page; on the second, WedgeHR lost the listing's cursor.
    sandbox.fail_next(404, body={"message": "No invites found"}, when=lambda r: "page[cursor]" in r.query)
    with pytest.raises(NotFoundError):
        [i.email async for i in client.iter_invites(page_size=3)]
    sandbox.fail_next(404, body={"message": "No invites found"})
    assert [i async for i in client.iter_invites(email="nobody@example.io")] == []


async def test_every_sandbox_invite_and_wedge_is_listed_once(client, sandbox):
    # Ids once collided (a counter plus a random offset), so a new invite replaced an older one.
    interview = next(iter(sandbox.interviews.values()))
    for n in range(300):
        sandbox.add_invite(interview_id=interview["id"], email=f"c{n}@example.io")
    emails = {i.email async for i in client.iter_invites(page_size=100)}
    assert {f"c{n}@example.io" for n in range(300)} <= emails
    wedge_ids = [w.id async for w in client.iter_wedges(page_size=100)]
    assert len(wedge_ids) == len(set(wedge_ids)) >= 300


async def test_filtered_404_is_an_empty_list(client):
    page = await client.list_invites(email="nobody@example.io")
    assert page.data == []
    assert [w async for w in client.iter_wedges(email="nobody@example.io")] == []


async def test_status_filter_accepts_label_or_number(client, sandbox):
    interview = next(iter(sandbox.interviews.values()))
    done = sandbox.add_invite(interview_id=interview["id"], email="done@example.io")
    sandbox.add_invite(interview_id=interview["id"], email="open@example.io")
    sandbox.complete_invite(done["id"])
    for status in ("complete", 2, InviteStatus.complete):
        page = await client.list_invites(status=status)
        assert [i.email for i in page.data] == ["done@example.io"]
        assert page.data[0].completed_at is not None and page.data[0].result_url


async def test_bad_filter_is_a_bad_request(client, sandbox):
    sandbox.fail_next(400, body={"message": "Bad filter ID given"})
    with pytest.raises(BadRequestError, match="Bad filter"):
        await client.list_invites(id=1)


async def test_wedges_get_and_resend(client, sandbox):
    interview = next(iter(sandbox.interviews.values()))
    invite = sandbox.add_invite(interview_id=interview["id"], email="w@example.io", first_name="Wen")
    (wedge,) = [w async for w in client.iter_wedges(email="w@example.io")]
    assert wedge.invites[0].id == invite["id"] and wedge.invites[0].created_at is None
    fetched = await client.get_wedge(wedge.id)
    assert fetched.expires_at is None and fetched.candidate_name == "Wen"
    await client.resend_invite(wedge.id)
    assert sandbox.resends[wedge.id] == 1
    assert (await client.get_invite(invite["id"])).email == "w@example.io"


async def test_an_unreadable_invite_in_a_wedge_is_left_out_and_logged_by_id_and_field_not_value(
    client, sandbox, caplog
):
    interview = next(iter(sandbox.interviews.values()))
    invite = sandbox.add_invite(interview_id=interview["id"], email="odd@example.io", first_name="Odd")
    invite["email"] = {"address": "odd@example.io"}  # not a string: the bot cannot read it
    caplog.set_level(logging.WARNING)
    (wedge,) = [w async for w in client.iter_wedges()]
    assert wedge.invites == []  # the wedge (a completion) still counts
    (line,) = [r.getMessage() for r in caplog.records if "cannot read" in r.getMessage()]
    assert f"id {invite['id']}" in line and f"Wedge {wedge.id}" in line and "email" in line
    assert "odd@example.io" not in caplog.text


async def test_interviews_list_answers_201_and_search(client):
    names = [i.name async for i in client.iter_interviews()]
    assert names == ["Movers", "General Practitioner"]
    assert [i.name for i in await client.search_interviews("pract")] == ["General Practitioner"]
    assert "WedgeHR company" in await client.verify()


async def test_bad_token_is_authentication_error_without_token_in_message(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    async with (
        serve(sandbox.app) as url,
        WedgeHRClient(token="invalid-secret-xyz", base_url=url, retry=FAST) as c,
    ):
        with pytest.raises(AuthenticationError) as err:
            await c.list_interviews()
    assert "reconnect" in str(err.value).lower()
    assert "invalid-secret-xyz" not in str(err.value) and "invalid-secret-xyz" not in caplog.text


@pytest.mark.parametrize("token", ["wedge-tökén-0123456789", "wedge-token-\x1b0123456789", "wedge\x7ftoken"])
async def test_a_token_no_header_can_carry_is_an_authentication_error_and_nothing_is_sent(sandbox, token, caplog):
    # Pasted with an accent or a control character: httpx raised UnicodeEncodeError (a 500-like
    # "something went wrong"), or the server refused the header (400, "bad filter").
    sandbox.tokens = None  # the sandbox would take any token
    async with serve(sandbox.app) as url, WedgeHRClient(token=token, base_url=url, retry=FAST) as c:
        with pytest.raises(AuthenticationError):
            await c.list_interviews()
    assert sandbox.requests == []
    assert token not in caplog.text


async def test_a_token_the_vendor_echoes_in_its_error_is_not_in_the_message(client, sandbox):
    sandbox.fail_next(401, body={"message": f"Token {TOKEN} is not valid"})
    with pytest.raises(AuthenticationError) as err:
        await client.list_interviews()
    assert TOKEN not in str(err.value) and "[redacted]" in str(err.value)


async def test_a_token_the_vendor_echoes_in_a_field_error_is_not_in_the_error(client, sandbox):
    # The field errors become the message and reach the invite form's fields.
    sandbox.fail_next(422, body={"errors": {"token": [f"{TOKEN} has expired"]}})
    with pytest.raises(ValidationError) as err:
        await client.list_interviews()
    assert TOKEN not in str(err.value) and TOKEN not in str(err.value.field_errors)
    assert err.value.field_errors == {"token": "[redacted] has expired"}


async def test_session_error_is_not_blamed_on_the_token(client, sandbox):
    sandbox.fail_next(403, body={"message": "System could not fetch session data"})
    with pytest.raises(SessionError) as err:
        await client.get_invite(1)
    assert "token" not in str(err.value).lower() and "WedgeHR's side" in str(err.value)


async def test_429_with_retry_after_then_success(client, sandbox):
    sandbox.fail_next(429, headers={"Retry-After": "0.01"})
    before = len(sandbox.requests)
    assert (await client.list_interviews()).data
    assert len(sandbox.requests) - before == 2


async def test_429_without_headers_backs_off_and_gives_up(client, sandbox):
    sandbox.fail_next(429, times=10)
    with pytest.raises(RateLimitError) as err:
        await client.list_interviews()
    assert err.value.retry_after is None
    assert sum(1 for r in sandbox.requests if r.path == "/interviews") == 4  # 1 + 3 retries


async def test_429_with_a_retry_after_date_already_past_is_retried_at_once(client, sandbox):
    waits = []

    async def observer(wait):
        waits.append(wait.delay)
        return True

    client.on_retry = observer
    sandbox.fail_next(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert (await client.list_interviews()).data
    assert waits == [0.0]


@pytest.mark.parametrize("value", ["inf", "1e999", "soon"])
async def test_429_with_a_retry_after_that_is_no_wait_backs_off_on_its_own(client, sandbox, value):
    sandbox.fail_next(429, headers={"Retry-After": value}, times=10)
    with pytest.raises(RateLimitError) as err:
        await client.list_interviews()
    assert err.value.retry_after is None  # shown to the user as "try again in about inf seconds", or a crash
    assert sum(1 for r in sandbox.requests if r.path == "/interviews") == 4  # 1 + 3 retries


async def test_5xx_retried_for_reads_only(client, sandbox):
    sandbox.fail_next(500, times=2)
    assert (await client.list_interviews()).data
    interview = next(iter(sandbox.interviews.values()))
    sandbox.fail_next(500)
    with pytest.raises(ServerError):
        await client.create_invite(interview_id=interview["id"], email="once@example.io")
    creates = [r for r in sandbox.requests if r.method == "POST" and r.path == "/invites"]
    assert len(creates) == 1  # never double-create


async def test_create_is_retried_after_429(client, sandbox):
    interview = next(iter(sandbox.interviews.values()))
    sandbox.fail_next(429, headers={"Retry-After": "0"})
    invite = await client.create_invite(interview_id=interview["id"], email="later@example.io")
    assert invite.email == "later@example.io"
    assert len([i for i in sandbox.invites.values() if i["email"] == "later@example.io"]) == 1


async def test_connection_error(sandbox):
    async with WedgeHRClient(token=TOKEN, base_url="http://127.0.0.1:9", retry=FAST) as c:
        from bot.vendors.errors import APIConnectionError

        with pytest.raises(APIConnectionError):
            await c.list_interviews()


def test_a_listing_with_null_pagination_data_or_empty_times_is_read():
    # Wedges are not among the documented paginated listings; an answer may carry nulls there.
    page = Page[Wedge].model_validate(
        {
            "data": [
                {
                    "id": 4017600317622981,
                    "candidateEmail": "fred@example.io",
                    "interviewId": 5911293050157308,
                    "completedAt": "",
                    "invites": [
                        {
                            "id": 7952721015002024,
                            "interviewId": 5911293050157308,
                            "email": "fred@example.io",
                            "status": 2,
                            "inviteSent": None,
                        }
                    ],
                }
            ],
            "pagination": None,
        }
    )
    (wedge,) = page.data
    assert wedge.completed_at is None and page.pagination.next is None
    assert wedge.invites[0].status == "complete" and wedge.invites[0].invite_sent is False
    assert Page[Invite].model_validate({"data": None, "pagination": None}).data == []


def test_a_completion_time_written_with_another_offset_is_the_same_recording():
    # The poller tells a retake by a changed completedAt: one instant written two ways is one recording.
    def wedge(completed_at):
        return Wedge.model_validate(
            {"id": 1, "candidateEmail": "a@example.io", "interviewId": 2, "completedAt": completed_at}
        ).model_dump(mode="json", by_alias=True)["completedAt"]

    assert wedge("2026-11-20T10:00:00Z") == wedge("2026-11-20T12:00:00+02:00") == wedge("2026-11-20T10:00:00")
