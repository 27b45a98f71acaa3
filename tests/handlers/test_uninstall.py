"""Uninstalling the app: Spark Hire stops calling, pending notifications are dropped, credentials deleted."""

import asyncio
import time

import pytest
import sqlalchemy as sa

from tests.handlers.test_connect import connect_own_key, subscribe_channel
from tests.support.harness import OAUTH, install_workspace, running_bot


async def eventually(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_uninstalling_deletes_the_webhook_the_keys_and_the_pending_notifications():
    async with running_bot(env_credentials=False, start_workers=False) as bot:
        await connect_own_key(bot, "shermer-key-123456")
        await subscribe_channel(bot)
        interview = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
        (delivery,) = await bot.sparkhire.emit("InterviewCompleted", interview)
        assert delivery.status == 200  # stored; no worker runs to post it

        response = await bot.sender.event({"type": "app_uninstalled"})
        assert response.status_code == 200

        db = bot.services.db
        await eventually(lambda: _nothing_left(bot))
        assert bot.sparkhire.webhooks == {}  # deleted with the workspace's own key
        deleted = [r for r in bot.sparkhire.requests if r.method == "DELETE"]
        assert [r.api_key for r in deleted] == ["shermer-key-123456"]
        assert (await db.outbox.counts()).get("pending", 0) == 0
        assert await bot.sparkhire.emit("InterviewCompleted", interview) == []  # Spark Hire has no one to call


async def test_uninstalling_removes_the_candidates_details_from_the_stored_events_and_posts():
    import sqlalchemy as sa

    from bot.storage import schema

    async with running_bot(env_credentials=False) as bot:
        await connect_own_key(bot, "shermer-key-123456")
        await subscribe_channel(bot)
        posted = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
        job = next(iter(bot.sparkhire.jobs.values()))
        made = bot.sparkhire.add_interview(job_uuid=job["uuid"], name="Wai Ting", email="wai@example.io")
        waiting = bot.sparkhire.set_status(made["uuid"], "completed")
        await bot.sparkhire.emit("InterviewCompleted", posted)
        await bot.slack.wait_for(lambda: bot.slack.posted())
        bot.slack.fail("chat.postMessage", error="internal_error", times=100)  # the next one stays pending
        await bot.sparkhire.emit("InterviewCompleted", waiting)
        emails = {posted["assigned_to"]["email"], waiting["assigned_to"]["email"]}

        async def stored_text():
            async with bot.services.db.engine.connect() as conn:
                rows = [*await conn.execute(sa.select(schema.events)), *await conn.execute(sa.select(schema.outbox))]
            return str([r._mapping for r in rows])

        before = await stored_text()
        assert all(email in before for email in emails)
        await bot.sender.event({"type": "app_uninstalled"})
        await eventually(lambda: _nothing_left(bot))
        await eventually(lambda: _no_email_in(stored_text, emails))
        async with bot.services.db.engine.connect() as conn:  # each event's de-duplication key is kept
            assert len((await conn.execute(sa.select(schema.events.c.dedup_key))).all()) == 2


async def _no_email_in(read, emails):
    text = await read()
    return not any(email in text for email in emails)


async def _nothing_left(bot):
    db = bot.services.db
    return (
        not (await db.connections.list_for_team("T0001") or await db.subscriptions.list_for_team("T0001"))
        and not bot.sparkhire.webhooks
    )


async def test_a_late_uninstall_event_keeps_a_newer_installation_and_its_subscriptions():
    async with running_bot(**OAUTH) as bot:
        uninstalled_at = time.time() - 30
        store = await install_workspace(bot, at=uninstalled_at + 10)  # installed again after the uninstall
        await subscribe_channel(bot, user="U1")
        response = await bot.sender.event({"type": "app_uninstalled"}, event_time=uninstalled_at)
        assert response.status_code == 200
        await asyncio.sleep(0.5)  # the uninstall work runs after the answer
        assert await store.async_find_bot(enterprise_id=None, team_id="T0001") is not None
        assert await bot.services.db.subscriptions.list_for_team("T0001")
        assert bot.sparkhire.webhooks


async def reinstalled_after_an_uninstall(bot, uninstalled_at):
    """Installed, uninstalled at ``uninstalled_at`` (whose events Slack has yet to deliver), installed again."""
    store = await install_workspace(bot, at=uninstalled_at - 3600)
    await install_workspace(bot, at=uninstalled_at + 10)
    return store


async def answers_commands(bot, key) -> bool:
    """Whether ``/interview help`` is answered with its usage; False when the user is asked to install."""
    response = await bot.sender.command("help", response_url=bot.slack.response_url(key))
    assert response.status_code == 200
    if "/interview invite" in response.text:
        return True
    (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get(key))
    assert "/slack/install" in told["text"]
    return False


async def test_a_late_tokens_revoked_event_keeps_the_installation_made_since():
    # The admin uninstalled while the bot was deploying; Slack delivered tokens_revoked once the bot
    # was back, after the admin had installed the app again.
    async with running_bot(**OAUTH) as bot:
        uninstalled_at = time.time() - 60
        store = await reinstalled_after_an_uninstall(bot, uninstalled_at)
        await subscribe_channel(bot, user="U1")
        response = await bot.sender.event(
            {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}, event_time=uninstalled_at
        )
        assert response.status_code == 200

        assert await answers_commands(bot, "after"), "the new installation was deleted: asked to install again"
        interview = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
        await bot.sparkhire.emit("InterviewCompleted", interview)
        (card,) = await bot.slack.wait_for(lambda: bot.slack.posted("C1"))  # the channel still gets its cards
        assert interview["assigned_to"]["name"] in str(card.blocks)
        (subscription,) = await bot.services.db.subscriptions.list_for_team("T0001")
        assert not subscription.paused
        # The revoked installation's rows went; the new one's stayed.
        assert await stored_rows(bot) == {"slack_bots": 1, "slack_installations": 1}
        new = await store.async_find_installation(enterprise_id=None, team_id="T0001")
        assert new is not None and new.installed_at == pytest.approx(uninstalled_at + 10)


async def stored_rows(bot) -> dict[str, int]:
    async with bot.services.db.engine.connect() as conn:
        return {
            table: (await conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE team_id = 'T0001'"))).scalar()
            for table in ("slack_bots", "slack_installations")
        }


async def test_late_revoke_and_uninstall_events_keep_what_was_set_up_after_the_reinstall(database_url):
    async with running_bot(database_url=database_url, **OAUTH) as bot:
        uninstalled_at = time.time() - 60
        await reinstalled_after_an_uninstall(bot, uninstalled_at)
        await connect_own_key(bot, "shermer-key-123456")
        await subscribe_channel(bot, user="U1")
        hooks = dict(bot.sparkhire.webhooks)
        assert hooks

        await bot.sender.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}, event_time=uninstalled_at)
        await bot.sender.event({"type": "app_uninstalled"}, event_time=uninstalled_at)
        await asyncio.sleep(0.5)  # the uninstall work runs after the answer

        assert await bot.services.db.subscriptions.list_for_team("T0001"), "the recruiters' subscriptions went"
        assert await bot.services.db.connections.list_for_team("T0001"), "the connected vendor key went"
        assert bot.sparkhire.webhooks == hooks, "Spark Hire's webhook was deleted"
        assert await answers_commands(bot, "after")


async def test_a_tokens_revoked_event_deletes_the_installation_it_revoked(database_url):
    async with running_bot(database_url=database_url, **OAUTH) as bot:
        store = await install_workspace(bot, at=time.time() - 60)
        response = await bot.sender.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}})
        assert response.status_code == 200

        assert await store.async_find_bot(enterprise_id=None, team_id="T0001") is None
        assert await stored_rows(bot) == {"slack_bots": 0, "slack_installations": 0}  # no revoked token kept
        assert not await answers_commands(bot, "after")  # asked to install again


async def installers(bot) -> list[str]:
    async with bot.services.db.engine.connect() as conn:
        query = sa.text("SELECT user_id FROM slack_installations WHERE team_id = 'T0001' ORDER BY user_id")
        return list((await conn.execute(query)).scalars())


async def test_a_revoked_user_token_deletes_that_users_installation_and_with_the_bot_token_all_of_them(database_url):
    async with running_bot(database_url=database_url, **OAUTH) as bot:
        await install_workspace(bot, at=time.time() - 3600, installer="U1")
        await install_workspace(bot, at=time.time() - 1800, installer="U2")
        await bot.sender.event({"type": "tokens_revoked", "tokens": {"oauth": ["U2"]}})
        assert await installers(bot) == ["U1"]
        assert (await stored_rows(bot))["slack_bots"] == 2  # the bot's token was not revoked
        assert await answers_commands(bot, "user-revoked")

        await bot.sender.event({"type": "tokens_revoked", "tokens": {"oauth": ["U1"], "bot": ["UBOT"]}})
        assert await stored_rows(bot) == {"slack_bots": 0, "slack_installations": 0}
        assert not await answers_commands(bot, "bot-revoked")


async def test_tokens_revoked_is_answered_without_installations():
    async with running_bot() as bot:
        response = await bot.sender.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}})
        assert response.status_code == 200 and response.text == ""


async def test_uninstalling_an_oauth_workspace_deletes_its_installation():
    async with running_bot(**OAUTH) as bot:
        store = await install_workspace(bot, at=time.time() - 60)

        response = await bot.sender.event({"type": "app_uninstalled"})
        assert response.status_code == 200

        async def gone():
            return await store.async_find_bot(enterprise_id=None, team_id="T0001") is None

        await eventually(gone)
        await bot.sender.command("help", response_url=bot.slack.response_url("after"))
        (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("after"))
        assert "/slack/install" in told["text"]  # asked to install again


async def test_uninstalling_with_a_key_saved_under_another_bot_secret_key_still_deletes_everything(tmp_path):
    # The key cannot be read to delete the Spark Hire webhook; the rest must go all the same.
    from cryptography.fernet import Fernet

    database = f"sqlite:///{tmp_path}/bot.sqlite3"
    async with running_bot(database_url=database, secret_key=Fernet.generate_key().decode()) as bot:
        await subscribe_channel(bot)
    async with running_bot(
        database_url=database, secret_key=Fernet.generate_key().decode(), env_credentials=False, start_workers=False
    ) as bot:
        response = await bot.sender.event({"type": "app_uninstalled"})
        assert response.status_code == 200
        await eventually(lambda: _nothing_left(bot))


async def test_uninstalling_deletes_the_wedgehr_poll_state_of_its_connections():
    from tests.bot.notify.test_poller import connect_token, poll_states, watched

    async with running_bot(env_credentials=False, wedgehr_poll_seconds=3600) as bot:
        await connect_token(bot, "company-token-0123")
        await watched(bot)
        assert len(await poll_states(bot)) == 1
        await bot.sender.event({"type": "app_uninstalled"})
        await eventually(lambda: _nothing_left(bot))
        assert await poll_states(bot) == []
