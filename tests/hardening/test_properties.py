"""Property-based bad input: never a 500, never an unhandled exception, never a post without auth."""

import asyncio
import base64
import contextlib
import json
import logging

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from blocks.ids import Action, Block, Callback
from bot.notify.events import SPARKHIRE_EVENT_NAMES
from tests.support.harness import running_bot
from tests.support.slack_requests import sign

# Derandomised: CI runs the same examples every time (a red build is then reproducible).
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)
words = st.sampled_from(
    [
        "invite",
        "resend",
        "share",
        "find",
        "connect",
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "help",
        "test",
        "all",
        "job:",
        "exclude:",
        "compact",
        "rated",
        "@",
        "<mailto:a@b.co|a@b.co>",
        "ann@example.com",
        "12345678901234567",
        "ÿ",
        "'",
        '"',
        "\\",
    ]
)
command_text = st.one_of(st.text(max_size=80), st.lists(words, max_size=6).map(" ".join))


def errors_in(caplog):
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


class ErrorRecords(logging.Handler):
    """Collects ERROR records from every logger while a bot runs."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def __enter__(self):
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc):
        logging.getLogger().removeHandler(self)


async def settle(bot):
    """Let work started after ack finish, so its failures would be logged now."""
    for task in list(bot.services.tasks._tasks):
        with contextlib.suppress(Exception):
            await task


@PROPERTY_SETTINGS
@given(text=command_text)
@example(text="resend")
@example(text="share")
@example(text="find")
@example(text="invite")
@example(text="unsubscribe")
@example(text="subscriptions")
async def test_any_command_text_gets_an_answer(text):
    with ErrorRecords() as errors:
        async with running_bot() as bot:
            response = await bot.sender.command(text)
            assert response.status_code == 200
            await settle(bot)
    assert [r.getMessage() for r in errors.records] == []


async def test_command_fuzz_logs_no_unhandled_error(caplog):
    caplog.set_level(logging.INFO)
    async with running_bot() as bot:
        for text in [
            "subscribe job:",
            "share <mailto:x|x>",
            "resend 00",
            "find @",
            "invite <>",
            "subscribe exclude:",
            "unsubscribe wedgehr rated",
            'subscribe all jobs compact exclude:@a.io job:"Chef de partie"',
            "find " + "a" * 3000 + "@x.io",
            "share 5a0c2a35-0000-4000-8000-000000000001",
        ]:
            response = await bot.sender.command(text, response_url=bot.slack.response_url("r"))
            assert response.status_code == 200
        for task in list(bot.services.tasks._tasks):
            await task
    assert errors_in(caplog) == []


view_states = st.dictionaries(
    st.sampled_from([b.value for b in Block]),
    st.dictionaries(
        st.sampled_from([Action.INPUT.value, "x"]),
        st.one_of(
            json_value,
            st.fixed_dictionaries(
                {"type": st.just("plain_text_input"), "value": st.one_of(st.none(), st.text(max_size=30))}
            ),
            st.fixed_dictionaries(
                {"selected_option": st.one_of(st.none(), st.fixed_dictionaries({"value": st.text(max_size=20)}))}
            ),
            st.fixed_dictionaries(
                {"selected_options": st.lists(st.fixed_dictionaries({"value": st.text(max_size=10)}), max_size=3)}
            ),
            st.fixed_dictionaries({"selected_date_time": st.one_of(st.integers(), st.text(max_size=5))}),
        ),
        max_size=2,
    ),
    max_size=8,
)


@PROPERTY_SETTINGS
@given(
    callback=st.sampled_from([c.value for c in Callback]),
    state=view_states,
    metadata=st.one_of(st.text(max_size=20), st.just('{"channel":"C1"}')),
)
async def test_any_view_submission_is_answered(callback, state, metadata):
    with ErrorRecords() as errors:
        async with running_bot() as bot:
            view = {
                "id": "V1",
                "type": "modal",
                "callback_id": callback,
                "private_metadata": metadata,
                "blocks": [],
                "title": {"type": "plain_text", "text": "x"},
            }
            response = await bot.sender.view_submission(view, state)
            assert response.status_code == 200
            if response.content:
                assert response.json().get("response_action") in {None, "errors", "clear", "update", "push"}
            await settle(bot)
    assert [r.getMessage() for r in errors.records] == []


@PROPERTY_SETTINGS
@given(action=st.sampled_from([a.value for a in Action]), value=st.one_of(st.none(), st.text(max_size=60)))
async def test_any_button_value_is_answered(action, value):
    with ErrorRecords() as errors:
        async with running_bot() as bot:
            response = await bot.sender.block_action(action, value=value)
            assert response.status_code == 200
            await settle(bot)
    assert [r.getMessage() for r in errors.records] == []


@PROPERTY_SETTINGS
@given(
    body=st.one_of(st.binary(max_size=200), json_value.map(lambda v: json.dumps(v).encode())),
    headers=st.dictionaries(
        st.sampled_from(["X-SparkHire-Event", "X-SparkHire-Webhook-UUID", "Content-Type", "X-SparkHire-Payload"]),
        st.from_regex(r"[!-~]{0,30}", fullmatch=True),
        max_size=4,
    ),
    authenticated=st.booleans(),
)
async def test_any_webhook_body_gets_2xx_or_4xx_and_unauthenticated_never_posts(body, headers, authenticated):
    async with running_bot() as bot:
        await bot.sender.command("subscribe sparkhire", response_url=bot.slack.response_url("s"))
        await bot.slack.wait_for(lambda: bot.slack.responses.get("s"))
        (hook,) = bot.sparkhire.webhooks.values()
        auth = hook["_auth"] if authenticated else "interview-bot:wrong"
        async with httpx.AsyncClient() as client:
            response = await client.post(
                hook["url"],
                content=body,
                headers={**headers, "Authorization": "Basic " + base64.b64encode(auth.encode()).decode()},
            )
        assert response.status_code < 500
        if not authenticated:
            assert response.status_code == 401
            assert await bot.services.db.events.count() == 0


odd = st.one_of(json_value, st.text(max_size=20), st.integers(), st.none(), st.lists(st.integers(), max_size=2))
sparkhire_shaped_body = st.fixed_dictionaries(
    {},
    optional={
        "uuid": st.one_of(st.uuids().map(str), odd),
        "status": st.one_of(st.sampled_from(["completed", "expired", "accepted"]), odd),
        "updated_at": st.one_of(st.just("2026-11-20T10:00:00Z"), odd),
        "assigned_to": st.one_of(
            st.fixed_dictionaries({"name": st.one_of(st.text(max_size=20), odd), "email": odd}), odd
        ),
        "job_post": st.one_of(st.fixed_dictionaries({"uuid": odd, "title": odd}), odd),
        "interview": st.one_of(st.fixed_dictionaries({"uuid": st.one_of(st.uuids().map(str), odd)}), odd),
        "rating": odd,
        "title": odd,
    },
)


@settings(PROPERTY_SETTINGS, max_examples=20)  # each runs the worker too: the slowest here
@given(event=st.sampled_from(sorted(SPARKHIRE_EVENT_NAMES)), body=sparkhire_shaped_body)
@example(event="InterviewAccepted", body={})
@example(event="InterviewCompleted", body={"assigned_to": {"email": [1]}, "job_post": {"title": {}, "uuid": 2}})
@example(event="InterviewCompleted", body={"assigned_to": [1], "uuid": "5a0c2a35-0000-4000-8000-000000000001"})
async def test_any_authenticated_delivery_of_a_real_event_is_answered_and_handled_without_an_error(event, body):
    # Real event names, so the bodies reach the worker too: wrong types in any field.
    with ErrorRecords() as errors:
        async with running_bot() as bot:
            every_event = " ".join(sorted(set(SPARKHIRE_EVENT_NAMES.values())))
            await bot.sender.command(f"subscribe sparkhire {every_event}", response_url=bot.slack.response_url("s"))
            await bot.slack.wait_for(lambda: bot.slack.responses.get("s"))
            (hook,) = bot.sparkhire.webhooks.values()
            async with httpx.AsyncClient() as client:
                response = await client.post(
                    hook["url"],
                    json=body,
                    headers={
                        "X-SparkHire-Event": event,
                        "Authorization": "Basic " + base64.b64encode(hook["_auth"].encode()).decode(),
                    },
                )
            assert 200 <= response.status_code < 300 or response.status_code in {400, 413, 415, 422}
            for _ in range(100):  # until the worker has settled what was stored (posted, skipped)
                if not (await bot.services.db.outbox.counts()).get("pending"):
                    break
                await asyncio.sleep(0.05)
            await settle(bot)
    assert [r.getMessage() for r in errors.records] == []


async def test_signatures_checked_on_every_route(caplog):
    async with running_bot() as bot:
        body = "payload=" + json.dumps({"type": "block_actions", "actions": []})
        stale = sign(body, timestamp=1)
        async with httpx.AsyncClient() as client:
            response = await client.post(
                bot.sender.url, content=body, headers={**stale, "Content-Type": "application/x-www-form-urlencoded"}
            )
        assert response.status_code == 401
        assert bot.slack.calls == []


# Anything an HTTP client can put in a header (sent as UTF-8): no controls, spaces only inside.
slack_header_value = st.one_of(
    st.sampled_from(["", "abc", "1.5", "1 2", "-1", "+1", "١٢٣", "v0=", "v0=deadbeef", "v0=é", "1" * 40]),
    st.text(alphabet=st.characters(categories=["L", "N", "P", "S"]), max_size=70),
)


@PROPERTY_SETTINGS
@given(timestamp=slack_header_value, signature=slack_header_value)
async def test_a_forged_request_with_any_signature_headers_is_refused_and_answers_nobody(timestamp, signature):
    with ErrorRecords() as errors:
        async with running_bot() as bot:
            payload = {
                "type": "block_actions",
                "team": {"id": "T0001"},
                "user": {"id": "U2", "team_id": "T0001"},
                "channel": {"id": "C1"},
                "response_url": bot.slack.response_url("forged"),
                "actions": [{"action_id": Action.OPEN_FIND.value, "block_id": "b", "type": "button", "value": "x"}],
            }
            body = "payload=" + json.dumps(payload)
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": signature,
            }
            async with httpx.AsyncClient() as client:
                response = await client.post(
                    bot.sender.url, content=body, headers={k: v.encode() for k, v in headers.items()}
                )
            assert response.status_code == 401
            await settle(bot)
            assert bot.slack.calls == [] and not bot.slack.responses.get("forged")
    assert [r.getMessage() for r in errors.records] == []


@PROPERTY_SETTINGS
@given(payload=st.one_of(st.text(max_size=60), json_value.map(json.dumps)))
@example(payload=json.dumps({"type": "block_actions", "actions": None, "team": {"id": "T0001"}}))
@example(payload=json.dumps({"type": "view_submission", "view": None, "team": {"id": "T0001"}}))
@example(payload="null")
async def test_a_signed_request_with_any_payload_field_is_answered_without_a_500(payload):
    with ErrorRecords() as errors:
        async with running_bot() as bot:
            response = await bot.sender.post_form({"payload": payload})
            assert response.status_code < 500
            await settle(bot)
    assert [r.getMessage() for r in errors.records] == []
