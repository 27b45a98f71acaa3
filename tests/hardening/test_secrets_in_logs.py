"""No token, key or webhook password in any log line, at any level, over a full run of the real process."""

import base64
import logging
import time
from contextlib import AsyncExitStack
from urllib.parse import parse_qs, urlparse

import httpx
from cryptography.fernet import Fernet

from blocks.ids import Action, Block, Callback
from bot.sparkhire.sandbox import SparkHireSandbox
from bot.wedgehr.sandbox import WedgeHRSandbox
from tests.handlers.test_socket_mode import socket_env
from tests.support.fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.support.harness import running_bot
from tests.support.process import BotProcess
from tests.support.servers import free_port, serve
from tests.support.slack_requests import SIGNING_SECRET, TEAM, SlackSender, slash_command_form

WEDGEHR_TOKEN = "wedge-secret-token-4242424242"
SPARKHIRE_KEY = "spark-secret-key-4242424242"
USER_KEY = "mo-personal-key-4242424242"
#: Typed into the connect form by an admin: the workspace's WedgeHR token and Spark Hire key.
TYPED_WEDGEHR = "rita-typed-wedgehr-token-5151515151"
TYPED_SPARKHIRE = "rita-typed-sparkhire-key-5151515151"


def leaks(log: str, secrets) -> dict[str, list[str]]:
    """Each secret found in the log, with the start of every line (of any logger, at any level) holding it."""
    lines = log.splitlines()
    found = {secret: [line[:200] for line in lines if secret in line] for secret in secrets}
    return {secret: where for secret, where in found.items() if where}


def typed_into_connect_form(**fields: str) -> dict:
    """The connect form's state with ``fields`` (block id -> value) typed in."""
    return {block: {Action.INPUT: {"type": "plain_text_input", "value": value}} for block, value in fields.items()}


def connect_confirmed(slack: FakeSlack):
    """The calls telling the user what the connect form saved (ephemeral or DM)."""
    return [c for c in slack.calls if c.method.startswith("chat.") and "Connected" in str(c.args.get("text"))]


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
        slack, sparkhire = FakeSlack(), SparkHireSandbox()
        wedgehr = WedgeHRSandbox(tokens={WEDGEHR_TOKEN, TYPED_WEDGEHR})
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
        sender = SlackSender(bot.url, trigger_ids=slack.issue_trigger_id)
        stack.push_async_callback(sender.aclose)
        try:
            # A member connects their own Spark Hire key through the modal.
            await sender.command("connect", user="U2")
            # views.open shows "Loading…" at once; the form follows in the same modal.
            (filled, *_) = await slack.wait_for(lambda: connect_forms(slack))
            view = slack.views[mo_form := filled.args["view_id"]]
            state = typed_into_connect_form(**{Block.SPARKHIRE_USER_KEY: USER_KEY})
            assert (await sender.view_submission(view, state, user="U2")).json() == {"response_action": "clear"}
            assert any(r.api_key == USER_KEY for r in sparkhire.requests)
            await slack.wait_for(lambda: connect_confirmed(slack), timeout=10)

            # An admin replaces the workspace's WedgeHR token and Spark Hire key the same way.
            await sender.command("connect", user="U1")
            (filled, *_) = await slack.wait_for(
                lambda: [c for c in connect_forms(slack) if c.args["view_id"] != mo_form], timeout=10
            )
            view = slack.views[filled.args["view_id"]]
            state = typed_into_connect_form(
                **{Block.WEDGEHR_TOKEN: TYPED_WEDGEHR, Block.SPARKHIRE_WORKSPACE_KEY: TYPED_SPARKHIRE}
            )
            assert (await sender.view_submission(view, state, user="U1")).json() == {"response_action": "clear"}
            assert any(r.api_key == TYPED_SPARKHIRE for r in sparkhire.requests)
            await slack.wait_for(lambda: connect_confirmed(slack)[1:], timeout=10)
            wedgehr.tokens = {TYPED_WEDGEHR}  # from now on, only the typed token reads WedgeHR

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
            lookups = [r for r in wedgehr.requests if "ann@example.io" in str(r.query)]
            assert lookups and all(r.authorized for r in lookups), "WedgeHR should be read with the typed token"
            wedgehr.tokens = {"rotated-elsewhere"}
            await sender.command("resend ann@example.io", response_url=slack.response_url("resend"))
            await slack.wait_for(lambda: slack.responses.get("resend"), timeout=10)
        finally:
            await bot.stop()

    log = bot.log.read_text()
    assert log.count("DEBUG") > 50, "the run should have logged at DEBUG"
    assert "HTTP Request: GET " + sparkhire_url in log, "vendor calls should be in the DEBUG log"
    assert "DEBUG slack_sdk.web" in log and "DEBUG slack_bolt" in log, "Slack calls should be in the DEBUG log"
    basic = base64.b64encode(hook["_auth"].encode()).decode()
    secrets = (BOT_TOKEN, SIGNING_SECRET, WEDGEHR_TOKEN, SPARKHIRE_KEY, USER_KEY, TYPED_WEDGEHR, TYPED_SPARKHIRE)
    assert leaks(log, (*secrets, password, basic, secret_key)) == {}


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
        sender = SlackSender(bot.url, trigger_ids=slack.issue_trigger_id)
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
        slack, wedgehr, sparkhire = FakeSlack(), WedgeHRSandbox(tokens={typed_wedgehr}), SparkHireSandbox()
        slack.base_url = await stack.enter_async_context(serve(slack.app))
        wedgehr_url = await stack.enter_async_context(serve(wedgehr.app))
        sparkhire_url = await stack.enter_async_context(serve(sparkhire.app))
        bot = BotProcess(
            env={
                **socket_env(slack.base_url, tmp_path),
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,  # may be set in Socket Mode too (HTTP requests are checked)
                "SPARKHIRE_API_URL": sparkhire_url,
                "WEDGEHR_API_URL": wedgehr_url,
                "LOG_LEVEL": "DEBUG",
            },
            port=free_port(),
            workdir=tmp_path,
        )
        await bot.start()
        try:
            # An admin opens the connect form and types a personal Spark Hire key and a WedgeHR token.
            await slack.send_envelope(
                "slash_commands", slash_command_form("connect", trigger_id=slack.issue_trigger_id(), user="U1")
            )
            (filled, *_) = await slack.wait_for(lambda: connect_forms(slack), timeout=10)
            view = slack.views[filled.args["view_id"]]
            state = typed_into_connect_form(**{Block.SPARKHIRE_USER_KEY: USER_KEY, Block.WEDGEHR_TOKEN: typed_wedgehr})
            envelope = await slack.send_envelope(
                "interactive",
                {
                    "type": "view_submission",
                    "team": TEAM,
                    "api_app_id": "A1",
                    "user": {"id": "U1", "team_id": TEAM["id"]},
                    "trigger_id": slack.issue_trigger_id(),
                    "view": {**view, "state": {"values": state}},
                },
            )
            ack = await slack.wait_for(lambda: slack.socket_acks.get(envelope), timeout=10)
            assert ack["payload"] == {"response_action": "clear"}  # both checked with the vendors
            await slack.wait_for(lambda: connect_confirmed(slack), timeout=10)  # and saved
        finally:
            await bot.stop()
    log = bot.log.read_text()
    assert "Received message (type: TEXT, data: [redacted]" in log  # the envelopes were logged, and scrubbed
    assert "apps.connections.open" in log, "the app-level token's call should be in the DEBUG log"
    secret_key = bot.env["BOT_SECRET_KEY"]
    assert leaks(log, (USER_KEY, typed_wedgehr, APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, secret_key)) == {}


async def test_an_oauth_debug_run_with_token_rotation_logs_no_token_or_secret(tmp_path):
    # Many workspaces: the install exchanges a code for a bot token that expires (token rotation on),
    # Bolt refreshes it for Slack's requests, the outbox worker when Slack says it has expired. Each
    # exchange sends the client secret and gets a new access token and refresh token back.
    async with AsyncExitStack() as stack:
        slack, wedgehr, sparkhire = FakeSlack(), WedgeHRSandbox(tokens={TYPED_WEDGEHR}), SparkHireSandbox()
        slack.base_url = await stack.enter_async_context(serve(slack.app))
        wedgehr_url = await stack.enter_async_context(serve(wedgehr.app))
        sparkhire_url = await stack.enter_async_context(serve(sparkhire.app))
        slack.install_token_expires_in = 3600  # within the refresh window: refreshed at first use
        port = free_port()
        bot = BotProcess(
            env={
                "SLACK_CLIENT_ID": slack.client_id,
                "SLACK_CLIENT_SECRET": slack.client_secret,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.base_url + "/api/",
                "WEDGEHR_API_URL": wedgehr_url,
                "SPARKHIRE_API_URL": sparkhire_url,
                "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
                "BOT_SECRET_KEY": Fernet.generate_key().decode(),
                "PUBLIC_URL": f"http://127.0.0.1:{port}",
                "LOG_LEVEL": "DEBUG",
            },
            port=port,
            workdir=tmp_path,
        )
        await bot.start()
        sender = SlackSender(bot.url, trigger_ids=slack.issue_trigger_id)
        stack.push_async_callback(sender.aclose)
        try:
            # The admin installs the app: /slack/install, Slack's consent, /slack/oauth_redirect.
            async with httpx.AsyncClient(base_url=bot.url) as http:
                page = await http.get("/slack/install")
                authorize = next(link for link in page.text.split('"') if "/oauth/v2/authorize" in link)
                state = parse_qs(urlparse(authorize.replace("&amp;", "&")).query)["state"][0]
                slack.oauth_codes.add("install-code")
                done = await http.get(
                    "/slack/oauth_redirect",
                    params={"code": "install-code", "state": state},
                    headers={"Cookie": f"slack-app-oauth-state={state}"},
                )
            assert done.status_code == 200
            installed = next(iter(slack.expiring_tokens))  # the token the install granted

            # The admin connects the workspace's accounts (Bolt refreshes the token on the way in).
            await sender.command("connect", user="U1")
            (filled, *_) = await slack.wait_for(lambda: connect_forms(slack), timeout=10)
            assert filled.token != installed
            view = slack.views[filled.args["view_id"]]
            state = typed_into_connect_form(
                **{Block.WEDGEHR_TOKEN: TYPED_WEDGEHR, Block.SPARKHIRE_WORKSPACE_KEY: TYPED_SPARKHIRE}
            )
            assert (await sender.view_submission(view, state, user="U1")).json() == {"response_action": "clear"}
            await slack.wait_for(lambda: connect_confirmed(slack), timeout=10)
            await sender.command("subscribe all", channel="C1", response_url=slack.response_url("sub"))
            assert "Subscribed" in str(await slack.wait_for(lambda: slack.responses.get("sub"), timeout=10))
            (hook,) = sparkhire.webhooks.values()

            # Half a day later Slack says the token has expired; its first post is rate-limited too.
            current = filled.token
            slack.expiring_tokens[current] = time.time() - 1
            slack.fail("chat.postMessage", status=429, retry_after=1)
            job = next(iter(sparkhire.jobs.values()))
            interview = sparkhire.add_interview(job_uuid=job["uuid"], name="Ann Lee", email="ann@example.io")
            (delivery,) = await sparkhire.emit(
                "InterviewCompleted", sparkhire.set_status(interview["uuid"], "completed")
            )
            assert delivery.status == 200
            (card,) = await slack.wait_for(lambda: slack.posted("C1"), timeout=15)
            assert "Ann Lee" in card.text
            assert slack.calls_to("chat.postMessage")[-1].token not in (installed, current)  # a refreshed one

            # Lookups read both vendors with the typed credentials; then WedgeHR refuses the token.
            await sender.command("find ann@example.io", response_url=slack.response_url("find"))
            await slack.wait_for(lambda: slack.responses.get("find"), timeout=10)
            wedgehr.tokens = {"rotated-elsewhere"}
            await sender.command("resend ann@example.io", response_url=slack.response_url("resend"))
            await slack.wait_for(lambda: slack.responses.get("resend"), timeout=10)
        finally:
            await bot.stop()

    refreshes = [c for c in slack.calls_to("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"]
    assert len(refreshes) >= 2 and len(slack.granted_refresh_tokens) == len(refreshes) + 1
    log = bot.log.read_text()
    assert "oauth.v2.access" in log and "DEBUG slack_sdk.web" in log, "the exchanges should be in the DEBUG log"
    password = hook["_auth"].split(":", 1)[1]
    secrets = (
        *slack.expiring_tokens,  # every access token: the install's and each refresh's
        *slack.granted_refresh_tokens,
        slack.client_secret,
        SIGNING_SECRET,
        bot.env["BOT_SECRET_KEY"],
        TYPED_WEDGEHR,
        TYPED_SPARKHIRE,
        password,
        base64.b64encode(hook["_auth"].encode()).decode(),
        base64.b64encode(f"{slack.client_id}:{slack.client_secret}".encode()).decode(),
    )
    assert leaks(log, secrets) == {}


async def test_requests_signed_with_another_secret_are_logged_without_their_body(caplog):
    # SLACK_SIGNING_SECRET not the app's (regenerated in Slack, say): Bolt logged each of Slack's own
    # requests whole at INFO, the command's response_url (URL-encoded, past the redaction) and the
    # keys typed into the connect form with it.
    caplog.set_level(logging.INFO)  # LOG_LEVEL as it comes
    response_url = "https://hooks.slack.com/commands/T0001/1234/response-url-secret-part"
    async with running_bot() as bot:
        slack = SlackSender(bot.url, secret="the-secret-before-it-was-regenerated")
        try:
            answered = [
                await slack.command("find ann@example.com", response_url=response_url),
                await slack.view_submission(
                    {"id": "V1", "callback_id": Callback.CONNECT, "private_metadata": ""},
                    typed_into_connect_form(**{Block.SPARKHIRE_WORKSPACE_KEY: TYPED_SPARKHIRE}),
                ),
            ]
        finally:
            await slack.aclose()
    assert [r.status_code for r in answered] == [401, 401]
    assert not leaks(caplog.text, ["response-url-secret-part", TYPED_SPARKHIRE, "ann%40example.com"])
    said = [r.getMessage() for r in caplog.records if "SLACK_SIGNING_SECRET" in r.getMessage()]
    assert len(said) == 2 and "Basic Information" in said[0]
