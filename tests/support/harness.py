"""Start the real bot on 127.0.0.1 against a fake Slack and the vendor sandboxes."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation

from bot.app import PIPELINE_KEY, SERVICES_KEY, create_web_app
from bot.notify import Pipeline
from bot.services import Services
from bot.settings import Settings
from bot.sparkhire.sandbox import SparkHireSandbox
from bot.wedgehr.sandbox import WedgeHRSandbox
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.servers import free_port, serve
from tests.support.slack_requests import SIGNING_SECRET, SlackSender

WEDGEHR_TOKEN = "wedge-token-0123456789abcdef"
SPARKHIRE_KEY = "spark-key-0123456789abcdef"


@dataclass
class Bot:
    """A running bot and the fakes around it."""

    url: str
    slack: FakeSlack
    wedgehr: WedgeHRSandbox
    sparkhire: SparkHireSandbox
    sender: SlackSender
    services: Services
    settings: Settings
    pipeline: Pipeline


#: Settings of OAuth mode (many workspaces); the installations are then in the database.
OAUTH = {
    "slack_bot_token": None,
    "slack_client_id": "1111.2222",
    "slack_client_secret": "fake-client-secret-0123456789",
}


async def install_workspace(
    bot: Bot,
    *,
    team_id: str = "T0001",
    enterprise_id: str | None = None,
    at: float = 0.0,
    bot_token: str = BOT_TOKEN,
    installer: str = "U1",
):
    """The workspace's installation as the OAuth redirect stores it (tests/handlers/test_oauth.py); its store.

    ``bot_token``: another than the fake's own is taken by it too (``FakeSlack.other_bot_tokens``).
    """
    if bot_token != bot.slack.bot_token:
        bot.slack.other_bot_tokens.add(bot_token)
    store = bot.services.db.installation_store(OAUTH["slack_client_id"])
    installation = Installation(
        app_id="A1",
        enterprise_id=enterprise_id,
        team_id=team_id,
        user_id=installer,
        bot_token=bot_token,
        bot_id="B1",
        bot_user_id="UBOT",
        installed_at=at or None,
    )
    await store.async_save(installation)
    return store


@asynccontextmanager
async def running_bot(
    *,
    database_url: str | None = None,
    start_workers: bool = True,
    env_credentials: bool = True,
    secret_key: str | None = None,
    **settings_overrides: Any,
) -> AsyncIterator[Bot]:
    """Serve fakes and the bot; settings reach them only through their base URLs."""
    slack = FakeSlack()
    wedgehr = WedgeHRSandbox()
    sparkhire = SparkHireSandbox()
    async with AsyncExitStack() as stack:
        slack_url = await stack.enter_async_context(serve(slack.app))
        slack.base_url = slack_url
        wedgehr_url = await stack.enter_async_context(serve(wedgehr.app))
        sparkhire_url = await stack.enter_async_context(serve(sparkhire.app))
        if database_url is None:  # a fresh database per bot, even within one test function
            workdir = Path(tempfile.mkdtemp(prefix="bot-"))
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
            database_url = f"sqlite:///{workdir}/bot.sqlite3"
        values: dict[str, Any] = {
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack_url + "/api/",
            "wedgehr_api_url": wedgehr_url,
            "sparkhire_api_url": sparkhire_url,
            "database_url": database_url,
            "bot_secret_key": secret_key or Fernet.generate_key().decode(),
        }
        if env_credentials:
            values |= {"wedgehr_token": WEDGEHR_TOKEN, "sparkhire_api_key": SPARKHIRE_KEY}
        port = free_port()
        values["public_url"] = f"http://127.0.0.1:{port}"
        settings = Settings(**(values | settings_overrides))
        web_app = create_web_app(settings, start_workers=start_workers)
        url = await stack.enter_async_context(serve(web_app, port=port))
        sender = SlackSender(url, trigger_ids=slack.issue_trigger_id)
        stack.push_async_callback(sender.aclose)
        yield Bot(
            url=url,
            slack=slack,
            wedgehr=wedgehr,
            sparkhire=sparkhire,
            sender=sender,
            services=web_app[SERVICES_KEY],
            settings=settings,
            pipeline=web_app[PIPELINE_KEY],  # type: ignore[arg-type]
        )
