"""Socket Mode (SLACK_APP_TOKEN): the real process connects out to Slack and answers over the socket."""

from contextlib import AsyncExitStack

from cryptography.fernet import Fernet

from tests.support.fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.support.process import BotProcess
from tests.support.servers import free_port, serve


def slash(text: str, n: int) -> dict:
    return {
        "token": "legacy",
        "team_id": "T0001",
        "team_domain": "acme",
        "channel_id": "C1",
        "channel_name": "hiring",
        "user_id": "U1",
        "user_name": "rita",
        "command": "/interview",
        "text": text,
        "api_app_id": "A1",
        "response_url": "",
        "trigger_id": f"trigger-socket-{n}",
    }


async def test_socket_mode_answers_commands_without_a_public_url(tmp_path):
    async with AsyncExitStack() as stack:
        slack = FakeSlack()
        slack.base_url = await stack.enter_async_context(serve(slack.app))
        bot = BotProcess(
            env={
                "SLACK_APP_TOKEN": APP_TOKEN,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_API_URL": slack.base_url + "/api/",
                "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3",
                "BOT_SECRET_KEY": Fernet.generate_key().decode(),
                "WEDGEHR_TOKEN": "socket-wedge-token",
                "WEDGEHR_API_URL": "http://127.0.0.1:9/unused",
            },
            port=free_port(),
            workdir=tmp_path,
        )
        await bot.start()
        try:
            assert [c.token for c in slack.calls_to("apps.connections.open")] == [APP_TOKEN]
            help_id = await slack.send_envelope("slash_commands", slash("help", 1))
            ack = await slack.wait_for(lambda: slack.socket_acks.get(help_id), timeout=10)
            assert "/interview invite" in str(ack["payload"])

            invite_id = await slack.send_envelope("slash_commands", slash("invite", 2))
            await slack.wait_for(lambda: slack.socket_acks.get(invite_id), timeout=10)
            (opened,) = await slack.wait_for(lambda: slack.calls_to("views.open"), timeout=10)
            assert opened.token == BOT_TOKEN and opened.args["trigger_id"] == "trigger-socket-2"
        finally:
            await bot.stop()
