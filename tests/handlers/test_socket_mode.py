"""Socket Mode (SLACK_APP_TOKEN): the real process connects out to Slack and answers over the socket."""

import asyncio
import os
import re
import subprocess
import sys
from contextlib import AsyncExitStack
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.support.fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.support.harness import running_bot
from tests.support.process import BotProcess
from tests.support.servers import free_port, serve
from tests.support.slack_requests import SIGNING_SECRET, slash_command_form


async def test_socket_mode_answers_commands_without_a_public_url(tmp_path):
    async with AsyncExitStack() as stack:
        slack = FakeSlack()
        slack.base_url = await stack.enter_async_context(serve(slack.app))
        bot = BotProcess(
            env={
                **socket_env(slack.base_url, tmp_path),
                "WEDGEHR_TOKEN": "socket-wedge-token",
                "WEDGEHR_API_URL": "http://127.0.0.1:9/unused",
            },
            port=free_port(),
            workdir=tmp_path,
        )
        await bot.start()
        try:
            assert [c.token for c in slack.calls_to("apps.connections.open")] == [APP_TOKEN]
            help_form = slash_command_form("help", trigger_id="trigger-socket-1")
            help_id = await slack.send_envelope("slash_commands", help_form)
            ack = await slack.wait_for(lambda: slack.socket_acks.get(help_id), timeout=10)
            assert "/interview invite" in str(ack["payload"])

            trigger_id = slack.issue_trigger_id()
            invite_id = await slack.send_envelope("slash_commands", slash_command_form("invite", trigger_id=trigger_id))
            await slack.wait_for(lambda: slack.socket_acks.get(invite_id), timeout=10)
            (opened,) = await slack.wait_for(lambda: slack.calls_to("views.open"), timeout=10)
            assert opened.token == BOT_TOKEN and opened.args["trigger_id"] == trigger_id
            assert slack.views, "Slack did not open the form"
        finally:
            await bot.stop()


@pytest.mark.parametrize("signing_secret", [SIGNING_SECRET, None], ids=["with-signing-secret", "without"])
async def test_in_socket_mode_an_unsigned_http_request_gets_401_and_causes_nothing(signing_secret):
    # Slack sends nothing over HTTP in Socket Mode, but the port is still open to anyone.
    async with running_bot(slack_app_token=APP_TOKEN, slack_signing_secret=signing_secret) as bot:
        form = urlencode(slash_command_form("invite", trigger_id="forged"))
        async with httpx.AsyncClient() as client:
            response = await client.post(
                bot.url + "/slack/events", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
        await asyncio.sleep(0.5)
        assert response.status_code == 401
        assert bot.slack.calls_to("views.open") == []


async def test_socket_mode_keeps_its_bot_token_when_oauth_credentials_are_in_the_environment(monkeypatch):
    # Bolt turns on its own OAuth when it sees these; the bot then had no installation to act as.
    monkeypatch.setenv("SLACK_CLIENT_ID", "1111.2222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret-0123456789")
    async with running_bot(slack_app_token=APP_TOKEN) as bot:
        response = await bot.sender.command("invite")
        assert response.status_code == 200
        (opened,) = await bot.slack.wait_for(lambda: bot.slack.calls_to("views.open"))
        assert opened.token == BOT_TOKEN


def socket_env(slack_url, tmp_path, app_token=APP_TOKEN):
    return {
        "SLACK_APP_TOKEN": app_token,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack_url + "/api/",
        "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
        "BOT_SECRET_KEY": Fernet.generate_key().decode(),
    }


@pytest.mark.parametrize("app_token", ["xapp-1-A1-revoked-0123456789", BOT_TOKEN], ids=["refused", "a-bot-token"])
async def test_an_app_token_slack_refuses_stops_the_start_with_one_line_naming_it(tmp_path, app_token):
    slack = FakeSlack()
    async with serve(slack.app) as slack_url:
        env = {**os.environ, **socket_env(slack_url, tmp_path, app_token), "PORT": str(free_port())}
        try:
            result = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "bot"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=20,
            )
        except subprocess.TimeoutExpired as exc:
            log = (exc.stderr or b"").decode()[-2000:]
            raise AssertionError(f"the bot kept retrying a token Slack refused: {log}") from None
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if not re.match(r"\d{4}-\d\d-\d\d ", line)]
    assert line.startswith("Setting SLACK_APP_TOKEN:")
    # Refused by Slack: doctor tells more; a bot token is refused on its face, as every wrong setting.
    assert "python -m bot doctor" in line if app_token != BOT_TOKEN else "this is a bot token (xoxb-...)" in line
    assert "Traceback" not in result.stderr and app_token not in result.stderr


async def test_while_slack_is_unreachable_in_socket_mode_the_port_answers_503_then_200_once_connected(tmp_path):
    slack = FakeSlack()
    # Slack's 5xx, more times than one attempt's retries: the bot waits it out with the port served.
    slack.fail("apps.connections.open", status=503, error="service_unavailable", times=6)
    async with serve(slack.app) as slack_url:
        slack.base_url = slack_url
        bot = BotProcess(env=socket_env(slack_url, tmp_path), port=free_port(), workdir=tmp_path)
        starting = asyncio.create_task(bot.start(timeout=30))
        try:
            async with httpx.AsyncClient() as client:
                while True:
                    assert not starting.done(), "the bot connected before Slack answered"
                    try:
                        waiting = await client.get(bot.url + "/healthz", timeout=1)
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            assert waiting.status_code == 503 and "Socket Mode" in waiting.json()["waiting_for"]
            await starting  # /healthz 200: the socket is open
            help_id = await slack.send_envelope("slash_commands", slash_command_form("help", trigger_id="t-1"))
            ack = await slack.wait_for(lambda: slack.socket_acks.get(help_id), timeout=10)
            assert "/interview invite" in str(ack["payload"])
        finally:
            starting.cancel()
            await bot.stop()
    assert "Traceback" not in bot.log.read_text()
