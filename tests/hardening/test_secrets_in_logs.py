"""No token, key or webhook password in any log line, at any level, over a full run of the real process."""

import base64
from contextlib import AsyncExitStack

import httpx
from cryptography.fernet import Fernet

from blocks.ids import Action, Block, Callback
from bot.sparkhire.sandbox import SparkHireSandbox
from bot.wedgehr.sandbox import WedgeHRSandbox
from tests.handlers.test_socket_mode import socket_env
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.process import BotProcess
from tests.support.servers import free_port, serve
from tests.support.slack_requests import SIGNING_SECRET, TEAM, SlackSender, slash_command_form

WEDGEHR_TOKEN = "wedge-secret-token-4242424242"
SPARKHIRE_KEY = "spark-secret-key-4242424242"
USER_KEY = "mo-personal-key-4242424242"


def connect_forms(slack: FakeSlack) -> list:
    """The views.update calls that filled the connect form in (views.open shows "Loading…" first)."""
    return [c for c in slack.calls_to("views.update") if c.args["view"]["callback_id"] == Callback.CONNECT]


def http_env(slack_url: str, wedgehr_url: str, sparkhire_url: str, tmp_path) -> dict[str, str]:
    """HTTP mode with both vendors' keys in the environment, each fake at its own URL."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_url + "/api/",
        "WEDGEHR_TOKEN": WEDGEHR_TOKEN,
        "WEDGEHR_API_URL": wedgehr_url,
        "SPARKHIRE_API_KEY": SPARKHIRE_KEY,
        "SPARKHIRE_API_URL": sparkhire_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
        "BOT_SECRET_KEY": Fernet.generate_key().decode(),
    }


async def test_a_full_debug_run_logs_no_secret(tmp_path):
    secret_key = Fernet.generate_key().decode()
    async with AsyncExitStack() as stack:
        slack, wedgehr, sparkhire = FakeSlack(), WedgeHRSandbox(tokens={WEDGEHR_TOKEN}), SparkHireSandbox()
        slack.base_url = await stack.enter_async_context(serve(slack.app))
        wedgehr_url = await stack.enter_async_context(serve(wedgehr.app))
        sparkhire_url = await stack.enter_async_context(serve(sparkhire.app))
        port = free_port()
        bot = BotProcess(
            env={
                **http_env(slack.base_url, wedgehr_url, sparkhire_url, tmp_path),
                "BOT_SECRET_KEY": secret_key,
                "PUBLIC_URL": f"http://127.0.0.1:{port}",
                "LOG_LEVEL": "DEBUG",
                "WEDGEHR_POLL_SECONDS": "1",
            },
            port=port,
            workdir=tmp_path,
        )
        await bot.start()
        sender = SlackSender(bot.url)
        stack.push_async_callback(sender.aclose)
        try:
            # A member connects their own Spark Hire key through the modal.
            await sender.command("connect", user="U2")
            # views.open shows "Loading…" at once; the form follows in the same modal.
            (filled, *_) = await slack.wait_for(lambda: connect_forms(slack))
            view = slack.views[filled.args["view_id"]]
            state = {Block.SPARKHIRE_USER_KEY: {Action.INPUT: {"type": "plain_text_input", "value": USER_KEY}}}
            assert (await sender.view_submission(view, state, user="U2")).json() == {"response_action": "clear"}
            assert any(r.api_key == USER_KEY for r in sparkhire.requests)

            # The channel subscribes: a webhook with a generated password is registered.
            await sender.command("subscribe all", channel="C1", response_url=slack.response_url("sub"))
            await slack.wait_for(lambda: slack.responses.get("sub"), timeout=10)
            (hook,) = sparkhire.webhooks.values()
            password = hook["_auth"].split(":", 1)[1]

            # Deliveries with good and bad credentials; Slack rate-limits one post.
            slack.fail("chat.postMessage", status=429, retry_after=1)
            job = next(iter(sparkhire.jobs.values()))
            interview = sparkhire.add_interview(job_uuid=job["uuid"], name="Ann Lee", email="ann@example.io")
            (delivery,) = await sparkhire.emit(
                "InterviewCompleted", sparkhire.set_status(interview["uuid"], "completed")
            )
            assert delivery.status == 200
            async with httpx.AsyncClient() as client:
                wrong = base64.b64encode(b"interview-bot:" + password[::-1].encode()).decode()
                refused = await client.post(hook["url"], json={}, headers={"Authorization": f"Basic {wrong}"})
            assert refused.status_code == 401
            await slack.wait_for(lambda: slack.posted("C1"), timeout=10)

            # Lookups call both vendors with their credentials; a bad vendor token is reported.
            await sender.command("find ann@example.io", response_url=slack.response_url("find"))
            await slack.wait_for(lambda: slack.responses.get("find"), timeout=10)
            wedgehr.tokens = {"rotated-elsewhere"}
            await sender.command("resend ann@example.io", response_url=slack.response_url("resend"))
            await slack.wait_for(lambda: slack.responses.get("resend"), timeout=10)
        finally:
            await bot.stop()

    log = bot.log.read_text()
    assert log.count("DEBUG") > 50, "the run should have logged at DEBUG"
    assert "HTTP Request: GET " + sparkhire_url in log, "vendor calls should be in the DEBUG log"
    for secret in (BOT_TOKEN, SIGNING_SECRET, WEDGEHR_TOKEN, SPARKHIRE_KEY, USER_KEY, password, secret_key):
        assert secret not in log, f"a secret ({secret[:4]}...) appears in the log"
    assert base64.b64encode(hook["_auth"].encode()).decode() not in log


async def test_at_the_default_level_a_lookup_logs_no_candidate_email_and_polls_log_no_request_lines(tmp_path):
    # The vendors' HTTP client logs each request line at INFO, query string (a candidate's email) included.
    async with AsyncExitStack() as stack:
        slack, wedgehr, sparkhire = FakeSlack(), WedgeHRSandbox(tokens={WEDGEHR_TOKEN}), SparkHireSandbox()
        slack.base_url = await stack.enter_async_context(serve(slack.app))
        wedgehr_url = await stack.enter_async_context(serve(wedgehr.app))
        sparkhire_url = await stack.enter_async_context(serve(sparkhire.app))
        bot = BotProcess(
            env={
                **http_env(slack.base_url, wedgehr_url, sparkhire_url, tmp_path),
                "WEDGEHR_POLL_SECONDS": "1",
            },
            port=free_port(),
            workdir=tmp_path,
        )
        await bot.start()
        sender = SlackSender(bot.url)
        stack.push_async_callback(sender.aclose)
        try:
            await sender.command("subscribe wedgehr", channel="C1", response_url=slack.response_url("sub"))
            await slack.wait_for(lambda: slack.responses.get("sub"), timeout=10)
            await sender.command("find ann@example.com", response_url=slack.response_url("find"))
            found = await slack.wait_for(
                lambda: [r for r in slack.responses.get("find", []) if "interview(s)" in str(r)], timeout=10
            )
            assert "Ann Lee" in str(found[-1])
            asked = [r for r in wedgehr.requests + sparkhire.requests if "ann@example.com" in str(r.query)]
            assert asked, "the lookup should send the email in a query string"
            polled = len(wedgehr.requests)
            await slack.wait_for(lambda: len(wedgehr.requests) >= polled + 4, timeout=10)  # polls go on
        finally:
            await bot.stop()

    log = bot.log.read_text()
    assert "ann@example.com" not in log and "ann%40example.com" not in log
    assert "HTTP Request:" not in log


async def test_in_socket_mode_a_debug_run_logs_no_key_typed_into_the_connect_form(tmp_path):
    typed_wedgehr = "admin-typed-wedgehr-token-9999999999"
    async with AsyncExitStack() as stack:
        slack, sparkhire = FakeSlack(), SparkHireSandbox()
        slack.base_url = await stack.enter_async_context(serve(slack.app))
        sparkhire_url = await stack.enter_async_context(serve(sparkhire.app))
        bot = BotProcess(
            env={
                **socket_env(slack.base_url, tmp_path),
                "SPARKHIRE_API_URL": sparkhire_url,
                "WEDGEHR_API_URL": "http://127.0.0.1:9/unused",
                "LOG_LEVEL": "DEBUG",
            },
            port=free_port(),
            workdir=tmp_path,
        )
        await bot.start()
        try:
            # An admin opens the connect form and types a personal Spark Hire key and a WedgeHR token.
            await slack.send_envelope("slash_commands", slash_command_form("connect", trigger_id="t1", user="U1"))
            (filled, *_) = await slack.wait_for(lambda: connect_forms(slack), timeout=10)
            view = slack.views[filled.args["view_id"]]
            state = {
                Block.SPARKHIRE_USER_KEY: {Action.INPUT: {"type": "plain_text_input", "value": USER_KEY}},
                Block.WEDGEHR_TOKEN: {Action.INPUT: {"type": "plain_text_input", "value": typed_wedgehr}},
            }
            envelope = await slack.send_envelope(
                "interactive",
                {
                    "type": "view_submission",
                    "team": TEAM,
                    "api_app_id": "A1",
                    "user": {"id": "U1", "team_id": TEAM["id"]},
                    "trigger_id": "t2",
                    "view": {**view, "state": {"values": state}},
                },
            )
            await slack.wait_for(lambda: slack.socket_acks.get(envelope), timeout=10)
        finally:
            await bot.stop()
    log = bot.log.read_text()
    assert "Received message (type: TEXT, data: [redacted]" in log  # the envelopes were logged, and scrubbed
    for typed in (USER_KEY, typed_wedgehr):
        assert typed not in log, [line[:160] for line in log.splitlines() if typed in line]
