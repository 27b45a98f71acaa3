import base64
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from pydantic import TypeAdapter

from bot.sparkhire import models as m
from bot.sparkhire.client import SparkHireClient
from bot.sparkhire.models import Candidate, NewQuestion
from bot.sparkhire.ratelimit import KeyRateLimiters
from bot.sparkhire.sandbox import SparkHireSandbox
from bot.vendors.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from bot.vendors.http import RetryPolicy
from tests.support import fixtures
from tests.support.servers import serve

KEY = "spark-test-key-0123456789"
FAST = RetryPolicy(max_retries=3, backoff_base=0.001, backoff_max=0.01)

FIXTURE_MODELS = {
    "list_webhooks": list[m.Webhook],
    "create_webhook": m.Webhook,
    "me": m.Me,
    "plan": dict,
    "company": m.Company,
    "list_users": list[m.User],
    "create_user": m.User,
    "get_user": m.User,
    "update_user": m.User,
    "create_integration_key": m.IntegrationKey,
    "get_integration_key": m.IntegrationKey,
    "update_integration_key": m.IntegrationKey,
    "list_jobs": list[m.Job],
    "get_job": m.Job,
    "create_job": m.Job,
    "update_job": m.Job,
    "list_interviews": list[m.Interview],
    "get_interview": m.Interview,
    "create_interview": m.Interview,
    "update_interview": m.Interview,
    "list_questions": list[m.InterviewQuestion],
    "get_question": m.InterviewQuestion,
    "create_question": m.InterviewQuestion,
    "update_question": m.InterviewQuestion,
    "list_question_sets": list[m.QuestionSet],
    "get_question_set": m.QuestionSet,
    "create_question_set": m.QuestionSet,
    "update_question_set": m.QuestionSet,
    "create_share_link": m.ShareLink,
    "get_share_link": m.ShareLink,
    "update_share_link": m.ShareLink,
    "list_advanced_share_links": list[m.AdvancedShareLink],
    "get_advanced_share_link": m.AdvancedShareLink,
    "create_advanced_share_links": list[m.AdvancedShareLink],
    "update_advanced_share_link": m.AdvancedShareLink,
    # Webhook bodies (not documented examples): the interview as delivered, and a Rating (ERRATA).
    "webhook_completed_minimal": m.Interview,
    "webhook_completed_odd_fields": m.Interview,
    "webhook_deleted_requested": m.Interview,
    "webhook_rated": dict,
}


@pytest.mark.parametrize("name", fixtures.names("sparkhire"))
def test_every_documented_example_parses(name):
    payload = fixtures.load("sparkhire", name)
    if name == "plan":
        assert m.Plan.model_validate(payload["plan"]).features["advanced_share_links"] is True
        return
    parsed = TypeAdapter(FIXTURE_MODELS[name]).validate_python(payload)
    assert parsed


def test_takes_is_int_or_object_and_rating_is_float():
    interview = m.Interview.model_validate(fixtures.load("sparkhire", "get_interview"))
    assert isinstance(interview.questions[0].takes, m.Takes)
    qs = m.QuestionSet.model_validate(fixtures.load("sparkhire", "get_question_set"))
    assert qs.questions[0].takes == 3 and qs.questions[0].think_time == "-1"
    assert m.Interview.model_validate({"uuid": "u", "rating": 3.4}).rating == 3.4
    assert interview.watch_url == f"https://www.sparkhire.com/interview/{interview.uuid}/watch"
    assert m.Webhook.model_validate(fixtures.load("sparkhire", "create_webhook")).http_auth is True


@pytest.fixture
def sandbox():
    return SparkHireSandbox(api_keys={KEY})


@pytest.fixture
async def client(sandbox):
    async with (
        serve(sandbox.app) as url,
        SparkHireClient(api_key=KEY, base_url=url, retry=FAST) as c,
    ):
        yield c


def deadline(days: int = 7) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


async def test_account_endpoints_and_basic_auth(client, sandbox):
    me = await client.verify()
    assert me.display_name == "Company User at Shermer Staffing"
    assert (await client.plan()).name == "gold"
    assert (await client.get_company(sandbox.company["uuid"])).name == "Shermer Staffing"
    assert {r.api_key for r in sandbox.requests} == {KEY}


async def test_users_and_integration_keys(client):
    user = await client.create_user(name="Calvin Shelton", email="calvin@example.com")
    assert (await client.get_user(user.uuid)).email == "calvin@example.com"
    assert (await client.update_user(user.uuid, name="Cal")).name == "Cal"
    assert "calvin@example.com" in [u.email async for u in client.iter_users(page_size=1)]
    key = await client.create_user_integration_key(user.uuid)
    secret = key.key.get_secret_value()
    assert (await client.get_user_integration_key(user.uuid)).key.get_secret_value() == secret
    assert secret not in repr(key) and secret not in str(key)
    await client.update_user_integration_key(user.uuid)
    await client.delete_user_integration_key(user.uuid)
    await client.delete_user(user.uuid)
    with pytest.raises(NotFoundError):
        await client.get_user(user.uuid)


async def test_jobs_crud_and_array_filters(client, sandbox):
    job = await client.create_job(title="Chef", status="inactive")
    assert (await client.get_job(job.uuid)).title == "Chef"
    await client.update_job(job.uuid, status="active")
    active = [j.title async for j in client.iter_jobs(status=["active"])]
    assert "Chef" in active
    assert sandbox.requests[-1].query[0] == ("status[]", "active")
    await client.delete_job(job.uuid)
    assert "Chef" not in [j.title for j in await client.list_jobs()]


async def test_range_pagination_until_a_short_page(client, sandbox):
    job = next(iter(sandbox.jobs.values()))
    for n in range(5):
        sandbox.add_interview(job_uuid=job["uuid"], name=f"C{n}", email=f"c{n}@example.io")
    before = len(sandbox.requests)
    emails = [i.candidate_email async for i in client.iter_interviews(page_size=3)]
    assert len(emails) == 7 and len(set(emails)) == 7
    ranges = [dict(r.query)["range"] for r in sandbox.requests[before:]]
    assert ranges == ["1-3", "4-6", "7-9"]


async def test_an_unreadable_interview_is_left_out_and_the_pages_after_it_still_read(client, sandbox):
    job = next(iter(sandbox.jobs.values()))
    for n in range(5):
        sandbox.add_interview(job_uuid=job["uuid"], name=f"C{n}", email=f"c{n}@example.io")
    odd = sandbox.add_interview(job_uuid=job["uuid"], name="Odd", email="odd@example.io")
    odd["created_at"] = "the day before yesterday"
    before = len(sandbox.requests)
    emails = [i.candidate_email async for i in client.iter_interviews(page_size=4)]
    # 8 interviews in all: the odd one is skipped, and the page it was on still counts as full.
    assert len(emails) == 7 and "odd@example.io" not in emails
    assert [dict(r.query)["range"] for r in sandbox.requests[before:]] == ["1-4", "5-8", "9-12"]


async def test_status_and_type_filters_repeat_the_key(client, sandbox):
    completed = await client.list_interviews(status=["completed", "requested"], type=["one_way"])
    assert len(completed) == 2
    query = sandbox.requests[-1].query
    assert query.count(("status[]", "completed")) == 1 and ("status[]", "requested") in query


async def test_create_one_or_many_interviews(client, sandbox):
    job = next(iter(sandbox.jobs.values()))
    one = await client.create_interview(
        job_uuid=job["uuid"],
        assigned_to=Candidate(name="Ann", email="ann@x.io"),
        scheduled_at=deadline(),
        has_sms_consent=False,
        questions=[NewQuestion(text="Why us?", time_limit=90, takes=2)],
    )
    assert isinstance(one, m.Interview) and one.candidate_email == "ann@x.io"
    sent = sandbox.requests[-1].json
    assert "has_sms_consent" not in sent  # only sent with a phone, and never assumed
    many = await client.create_interview(
        job_uuid=job["uuid"],
        scheduled_at=deadline(),
        has_sms_consent=True,
        assigned_to=[
            Candidate(name="Bo", email="bo@x.io"),
            Candidate(name="Cy", email="cy@x.io", phone="(312) 555-9494", phone_parsed="+13125559494"),
        ],
        question_set_uuid=next(iter(sandbox.question_sets)),
    )
    assert [i.candidate_email for i in many] == ["bo@x.io", "cy@x.io"]
    assert sandbox.requests[-1].json["has_sms_consent"] is True
    assert "questions" not in sandbox.requests[-1].json


async def test_invalid_interview_is_a_bad_request(client, sandbox):
    job = next(iter(sandbox.jobs.values()))
    with pytest.raises(BadRequestError, match="within 1 year"):
        await client.create_interview(
            job_uuid=job["uuid"],
            assigned_to=Candidate(name="A", email="a@x.io"),
            scheduled_at=deadline(400),
            has_sms_consent=False,
            questions=[NewQuestion(text="Q")],
        )
    with pytest.raises(BadRequestError, match="time_limit"):
        await client.create_interview(
            job_uuid=job["uuid"],
            assigned_to=Candidate(name="A", email="a@x.io"),
            scheduled_at=deadline(),
            has_sms_consent=False,
            questions=[NewQuestion(text="Q", time_limit=45)],
        )


async def test_update_delete_interview_and_questions(client, sandbox):
    job = next(iter(sandbox.jobs.values()))
    interview = sandbox.add_interview(job_uuid=job["uuid"], name="D", email="d@x.io")
    question = await client.create_interview_question(interview["uuid"], NewQuestion(text="Hello?"))
    assert len(await client.list_interview_questions(interview["uuid"])) == 2
    assert (await client.update_interview_question(interview["uuid"], question.uuid, text="Hi?")).text == "Hi?"
    assert (await client.get_interview_question(interview["uuid"], question.uuid)).text == "Hi?"
    await client.delete_interview_question(interview["uuid"], question.uuid)
    moved = await client.update_interview(interview["uuid"], scheduled_at=deadline(10))
    assert moved.scheduled_at.date() == deadline(10).date()
    assert (await client.update_interview(interview["uuid"], status="canceled")).status == "canceled"
    await client.delete_interview(interview["uuid"])
    with pytest.raises(NotFoundError):
        await client.get_interview(interview["uuid"])


async def test_question_set_path_fallback_is_remembered(client, sandbox):
    sets = await client.list_question_sets()
    assert [s.name for s in sets] == ["Basics"]
    paths = [r.path for r in sandbox.requests]
    assert paths == ["/question_sets", "/interview_question_sets"]
    created = await client.create_question_set(name="New", questions=[NewQuestion(text="Q1")])
    assert (await client.get_question_set(created.uuid)).name == "New"
    await client.update_question_set(
        created.uuid, name="Renamed", questions=[{"text": "Q2", "time_limit": 60, "takes": 1}]
    )
    await client.delete_question_set(created.uuid)
    assert all(r.path.startswith("/interview_question_sets") for r in sandbox.requests[2:])


async def test_heading_path_used_when_it_answers(sandbox):
    sandbox.question_set_path = "/question_sets"
    async with (
        serve(sandbox.app) as url,
        SparkHireClient(api_key=KEY, base_url=url, retry=FAST) as c,
    ):
        await c.list_question_sets()
    assert [r.path for r in sandbox.requests] == ["/question_sets"]


async def test_share_links_basic_and_advanced(client, sandbox):
    done = next(i for i in sandbox.interviews.values() if i["status"] == "completed")
    open_one = next(i for i in sandbox.interviews.values() if i["status"] != "completed")
    assert await client.get_share_link(done["uuid"]) is None
    link = await client.create_share_link(done["uuid"])
    assert link.active and link.url.startswith("http://hire.li/")
    assert not (await client.set_share_link_status(done["uuid"], link.uuid, active=False)).active
    with pytest.raises(BadRequestError, match="completed"):
        await client.create_share_link(open_one["uuid"])
    links = await client.create_advanced_share_links(
        interview_uuids=[done["uuid"]], reviewers=[("Hi", "hi@x.io"), ("Lo", "lo@x.io")]
    )
    assert [link.reviewer.email for link in links] == ["hi@x.io", "lo@x.io"]
    assert sandbox.requests[-1].json["send_email"] is True
    assert len(await client.list_advanced_share_links()) == 2
    assert not (await client.set_advanced_share_link_status(links[0].uuid, active=False)).active
    assert (await client.get_advanced_share_link(links[1].uuid)).url
    await client.delete_advanced_share_link(links[1].uuid)


async def test_webhooks_register_emit_replay_delete(client, sandbox):
    received = []

    async def receiver(request):
        received.append(
            (
                request.headers.get("Authorization"),
                request.headers["X-SparkHire-Event"],
                await request.json(),
            )
        )
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", receiver)
    async with serve(app) as hook_url:
        hook = await client.create_webhook(description="bot", url=hook_url + "/hook", http_auth="bot:pw")
        assert hook.http_auth is True
        assert [h.uuid for h in await client.list_webhooks()] == [hook.uuid]
        done = next(i for i in sandbox.interviews.values() if i["status"] == "completed")
        deliveries = await sandbox.emit("InterviewCompleted", done)
        assert [d.status for d in deliveries] == [200]
        await client.replay_webhook("InterviewCompleted")
        for _ in range(100):
            if len(received) == 2:
                break
            import asyncio

            await asyncio.sleep(0.01)
        assert len(received) == 2 and received[0][0].startswith("Basic ")
        assert received[1][1] == "InterviewCompleted" and received[1][2]["uuid"] == done["uuid"]
        await client.delete_webhook(hook.uuid)
        assert await client.list_webhooks() == []


async def test_401_402_and_key_never_in_errors(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    async with serve(sandbox.app) as url:
        async with SparkHireClient(api_key="invalid-key-secret", base_url=url, retry=FAST) as bad:
            with pytest.raises(AuthenticationError) as err:
                await bad.me()
        assert "invalid-key-secret" not in str(err.value) and "reconnect" in str(err.value).lower()
        assert err.value.code == "api.key_invalid"
        sandbox.payment_required = True
        async with SparkHireClient(api_key=KEY, base_url=url, retry=FAST) as c:
            with pytest.raises(PaymentRequiredError, match="plan"):
                await c.list_jobs()
    assert "invalid-key-secret" not in caplog.text and KEY not in caplog.text


@pytest.mark.parametrize("headers", [{"X-Rate-Limit-Try-Again-Seconds": "0.01"}, {"Retry-After": "0"}, {}])
async def test_429_honours_either_header_or_backs_off(client, sandbox, headers):
    sandbox.fail_next(429, headers=headers)
    assert (await client.me()).name == "Company User"
    assert len(sandbox.requests) == 2


async def test_429_past_the_cap_is_raised_with_retry_after(client, sandbox):
    sandbox.fail_next(429, headers={"X-Rate-Limit-Try-Again-Seconds": "45"})
    with pytest.raises(RateLimitError) as err:
        await client.me()
    assert err.value.retry_after == 45 and len(sandbox.requests) == 1


async def test_each_retry_is_told_to_the_observer_which_can_stop_the_waiting(client, sandbox):
    seen = []

    async def observer(wait):
        seen.append(wait)
        return wait.attempt < 2  # wait for the first retry, not the second

    client.on_retry = observer
    sandbox.fail_next(429, headers={"Retry-After": "0.01"}, times=5)
    with pytest.raises(RateLimitError):
        await client.me()
    assert [(w.vendor, w.attempt, w.rate_limited, w.delay) for w in seen] == [
        ("Spark Hire", 1, True, 0.01),
        ("Spark Hire", 2, True, 0.01),
    ]
    assert len(sandbox.requests) == 2  # the first try and the one retry the observer allowed


async def test_an_observer_that_fails_does_not_change_the_calls_outcome(client, sandbox):
    async def broken(wait):
        raise RuntimeError("Slack is down")

    client.on_retry = broken
    sandbox.fail_next(429, headers={"Retry-After": "0"})
    assert (await client.me()).name == "Company User"


async def test_5xx_retried_for_reads_never_for_creates(client, sandbox):
    sandbox.fail_next(503, times=2)
    assert await client.list_jobs()
    job = next(iter(sandbox.jobs.values()))
    sandbox.fail_next(500)
    with pytest.raises(ServerError):
        await client.create_interview(
            job_uuid=job["uuid"],
            assigned_to=Candidate(name="A", email="a@x.io"),
            scheduled_at=deadline(),
            has_sms_consent=False,
            questions=[NewQuestion(text="Q")],
        )
    assert sum(1 for r in sandbox.requests if r.method == "POST" and r.path == "/interviews") == 1


async def test_client_side_limiter_spaces_requests(sandbox):
    limiters = KeyRateLimiters(rate=5, period=0.5)
    async with (
        serve(sandbox.app) as url,
        SparkHireClient(api_key=KEY, base_url=url, limiters=limiters) as c,
    ):
        started = time.monotonic()
        for _ in range(10):
            await c.me()
        elapsed = time.monotonic() - started
    assert elapsed >= 0.4  # 10 requests at 5 per half second cannot finish at once
    assert limiters.for_key(KEY) is limiters.for_key(KEY) and KEY not in limiters._limiters


def test_limiter_never_allows_more_than_the_rate_in_a_window():
    import asyncio

    async def count_in_window():
        limiters = KeyRateLimiters(rate=20, period=1.0, burst=5)
        limiter = limiters.for_key(KEY)
        granted = 0
        started = time.monotonic()

        async def take():
            nonlocal granted
            await limiter.acquire()
            if time.monotonic() - started < 1.0:
                granted += 1

        tasks = [asyncio.create_task(take()) for _ in range(60)]
        await asyncio.sleep(1.0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return granted

    granted = asyncio.run(count_in_window())
    assert 15 <= granted <= 20  # a bucket as large as the rate would let ~40 through


async def test_question_set_path_is_remembered_across_clients(sandbox):
    limiters = KeyRateLimiters()
    async with serve(sandbox.app) as url:
        for _ in range(2):
            async with SparkHireClient(api_key=KEY, base_url=url, limiters=limiters, retry=FAST) as c:
                await c.list_question_sets()
    assert [r.path for r in sandbox.requests] == [
        "/question_sets",
        "/interview_question_sets",
        "/interview_question_sets",
    ]


async def test_a_server_ignoring_range_does_not_loop_forever():
    async def everything(request):
        return web.json_response([{"uuid": f"j{n}", "title": "T"} for n in range(5)])

    app = web.Application()
    app.router.add_get("/jobs", everything)
    async with serve(app) as url, SparkHireClient(api_key=KEY, base_url=url, retry=FAST) as c:
        jobs = [j async for j in c.iter_jobs(page_size=2)]
    assert len(jobs) == 5


async def test_a_2xx_that_is_not_json_is_a_vendor_error():
    async def html(request):
        return web.Response(text="<html>maintenance</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/me", html)
    async with serve(app) as url, SparkHireClient(api_key=KEY, base_url=url, retry=FAST) as c:
        with pytest.raises(ServerError, match="not JSON"):
            await c.me()


@pytest.mark.parametrize("typed_id", ["..", "abc/../../users", "a?b=c", "x\x1fy", ""])
async def test_an_id_typed_in_slack_never_reaches_another_endpoint(client, sandbox, typed_id):
    before = len(sandbox.requests)
    with pytest.raises(NotFoundError):
        await client.get_interview(typed_id)
    # Either refused before sending, or sent whole as one escaped segment of /interviews/.
    assert all(r.path == f"/interviews/{typed_id}" for r in sandbox.requests[before:])


async def test_the_authorization_header_the_vendor_echoes_is_not_in_the_message(client, sandbox):
    encoded = base64.b64encode(f"{KEY}:".encode()).decode()
    sandbox.fail_next(401, body={"reason": f"Authorization 'Basic {encoded}' was refused"})
    with pytest.raises(AuthenticationError) as err:
        await client.list_jobs()
    assert encoded not in str(err.value) and "[redacted]" in str(err.value)


async def test_a_key_the_vendor_echoes_in_its_error_is_not_in_the_message(client, sandbox):
    sandbox.fail_next(403, body={"reason": f"Key {KEY} may not do that", "code": "api.forbidden"})
    with pytest.raises(PermissionDeniedError) as err:
        await client.list_jobs()
    assert KEY not in str(err.value) and "[redacted]" in str(err.value)
