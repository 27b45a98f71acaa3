"""In OAuth mode, the environment's vendor keys serve only the workspaces VENDOR_KEYS_TEAM_IDS names."""

import asyncio
import base64
import logging
from urllib.parse import urlparse

import httpx
from cryptography.fernet import Fernet

from tests.support.harness import OAUTH, install_workspace, running_bot

OTHER_COMPANY = "T0002"


async def install(bot, *team_ids):
    for team_id in team_ids:
        await install_workspace(bot, team_id=team_id)


async def subscribe(bot, *, team_id, channel):
    key = f"sub-{team_id}-{len(bot.slack.calls)}"
    bot.slack.add_channel(channel, name=f"hiring-{team_id.lower()}")
    await bot.sender.command(
        "subscribe sparkhire", team_id=team_id, channel=channel, response_url=bot.slack.response_url(key)
    )
    return str((await bot.slack.wait_for(lambda: bot.slack.responses.get(key)))[-1])


async def test_a_workspace_left_out_gets_no_vendor_account_and_is_told_to_connect_its_own():
    async with running_bot(**OAUTH, vendor_keys_team_ids="T0001") as bot:
        await install(bot, "T0001", OTHER_COMPANY)

        refused = await subscribe(bot, team_id=OTHER_COMPANY, channel="C2")
        assert "Subscribed" not in refused and "/interview connect" in refused
        assert not await bot.services.db.connections.list_for_team(OTHER_COMPANY)
        assert not await bot.services.db.subscriptions.list_for_team(OTHER_COMPANY)

        assert "Subscribed" in await subscribe(bot, team_id="T0001", channel="C1")
        (hook,) = bot.sparkhire.webhooks.values()  # the operator's account calls one workspace only
        assert "T0001" in {c.team_id for c in await bot.services.db.connections.list_for_team("T0001")}
        assert hook["url"].startswith(bot.settings.public_url)


async def test_a_workspace_left_out_later_loses_the_copy_and_its_subscriptions_at_the_next_start(tmp_path, caplog):
    database = {"database_url": f"sqlite:///{tmp_path}/bot.sqlite3", "secret_key": Fernet.generate_key().decode()}
    async with running_bot(**OAUTH, **database) as before:
        await install(before, "T0001", OTHER_COMPANY)
        assert "Subscribed" in await subscribe(before, team_id=OTHER_COMPANY, channel="C2")
        assert "Subscribed" in await subscribe(before, team_id="T0001", channel="C1")
        hooks = {urlparse(h["url"]).path: h["_auth"] for h in before.sparkhire.webhooks.values()}
        interview = next(i for i in before.sparkhire.interviews.values() if i["status"] == "completed")

    caplog.set_level(logging.WARNING, logger="bot")
    async with running_bot(**OAUTH, **database, vendor_keys_team_ids="T0001") as after:
        for _ in range(100):  # withdrawn in the background, once the port is served
            if not await after.services.db.connections.list_for_team(OTHER_COMPANY):
                break
            await asyncio.sleep(0.05)
        assert not await after.services.db.connections.list_for_team(OTHER_COMPANY)
        assert not await after.services.db.subscriptions.list_for_team(OTHER_COMPANY)
        assert await after.services.db.subscriptions.list_for_team("T0001")  # the named workspace keeps its own
        assert any(OTHER_COMPANY in r.getMessage() and "VENDOR_KEYS_TEAM_IDS" in r.getMessage() for r in caplog.records)

        # Spark Hire calling the withdrawn connection's webhook is refused; the named one's still posts.
        async with httpx.AsyncClient(base_url=after.url) as http:
            statuses = {}
            for path, auth in hooks.items():
                basic = "Basic " + base64.b64encode(auth.encode()).decode()
                response = await http.post(
                    path,
                    json=interview,
                    headers={"Authorization": basic, "X-SparkHire-Event": "InterviewCompleted"},
                )
                statuses[response.status_code < 300] = path
        assert set(statuses) == {True, False}
        await after.slack.wait_for(lambda: after.slack.posted("C1"))
        assert not after.slack.posted("C2")


async def test_oauth_mode_with_env_keys_for_everyone_warns_at_start(caplog):
    caplog.set_level(logging.WARNING, logger="bot")
    async with running_bot(**OAUTH):
        pass
    assert any("VENDOR_KEYS_TEAM_IDS" in r.getMessage() for r in caplog.records)
    caplog.clear()
    async with running_bot(**OAUTH, vendor_keys_team_ids="T0001, T0003"):
        pass
    assert not any("VENDOR_KEYS_TEAM_IDS" in r.getMessage() for r in caplog.records)
