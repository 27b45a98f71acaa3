"""Housekeeping in the running bot: old deliveries and event payloads go, de-duplication stays."""

import asyncio
import logging
import time

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bot.crypto import SecretBox
from bot.notify import housekeeping
from bot.notify.worker import OutboxWorker
from bot.storage import Database, NewEvent, schema
from tests.bot.notify.test_pipeline import cards, completed_interview, subscribe, subscribe_test
from tests.support.databases import TEST_DATABASE_URL, fresh_postgres_database
from tests.support.harness import running_bot

DAY = 86400.0


async def make_old(db: Database, *, days: float) -> None:
    """Every event and delivery stored so far was received ``days`` ago."""
    then = time.time() - days * DAY
    async with db.engine.begin() as conn:
        await conn.execute(sa.update(schema.events).values(received_at=then))
        await conn.execute(sa.update(schema.outbox).values(created_at=then))


async def stored(db: Database) -> dict[str, tuple[dict, str | None]]:
    """Each event's payload and the status of its delivery (None: it has none)."""
    ev, ob = schema.events, schema.outbox
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(ev.c.dedup_key, ev.c.payload, ob.c.status).outerjoin(ob, ob.c.event_id == ev.c.id)
            )
        ).all()
    return {key: (payload, status) for key, payload, status in rows}


def new_event(key: str) -> NewEvent:
    return NewEvent(
        dedup_key=key,
        team_id="T0001",
        vendor="wedgehr",
        event_type="completed",
        subject=key,
        payload={"vendor": "wedgehr", "event": "completed", "invite": {"id": key}},
        thread_key=f"wedgehr:invite:{key}",
    )


async def test_the_running_bot_purges_at_start_up_what_is_older_than_the_retention(database_url, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="bot.notify.housekeeping")
    db = Database(url=database_url, secret_box=SecretBox(Fernet.generate_key()))
    await db.migrate()
    await db.subscriptions.add(
        team_id="T0001", channel_id="C1", vendor="wedgehr", events=["completed"], created_by="U1"
    )
    await db.events.record_many([new_event("posted-long-ago"), new_event("still-pending")])
    ob, ev = schema.outbox, schema.events
    async with db.engine.begin() as conn:
        posted = sa.select(ev.c.id).where(ev.c.dedup_key == "posted-long-ago").scalar_subquery()
        await conn.execute(sa.update(ob).where(ob.c.event_id == posted).values(status="sent"))
        # Waiting to be retried (Slack was down, say): the bot's worker leaves them alone meanwhile.
        await conn.execute(sa.update(ob).where(ob.c.status == "pending").values(next_attempt_at=time.time() + DAY))
    await make_old(db, days=40)
    await db.events.record(new_event("recent"))
    async with db.engine.begin() as conn:
        await conn.execute(sa.update(ob).where(ob.c.status == "pending").values(next_attempt_at=time.time() + DAY))
    await db.aclose()

    monkeypatch.setattr(housekeeping, "FIRST_PURGE_DELAY_SECONDS", 0.1)
    async with running_bot(database_url=database_url) as bot:
        for _ in range(100):
            if "Housekeeping: deleted" in caplog.text:
                break
            await asyncio.sleep(0.05)
        after = await stored(bot.services.db)
    assert after["posted-long-ago"] == ({}, None)  # delivery deleted, payload emptied, key kept
    assert after["still-pending"][0]["invite"] == {"id": "still-pending"}  # a delivery still needs it
    assert after["recent"][0]["invite"] == {"id": "recent"}
    assert "deleted 1 finished notification(s) and emptied 1 event payload(s) older than 30 days" in caplog.text


async def test_housekeeping_deletes_the_poll_state_older_versions_left_for_connections_no_longer_there(
    database_url, monkeypatch, caplog
):
    caplog.set_level(logging.INFO, logger="bot.notify.housekeeping")
    db = Database(url=database_url, secret_box=SecretBox(Fernet.generate_key()))
    await db.migrate()
    kept = await db.connections.upsert_workspace(
        "T0001", "wedgehr", "company-token-0123", account_label="WedgeHR company 7", connected_by="U1"
    )
    await db.poll_state.restart_baseline(kept.id, since=time.time())
    gone = await db.connections.upsert_workspace(
        "T0002", "wedgehr", "other-token-0123", account_label="WedgeHR company 8", connected_by="U1"
    )
    await db.poll_state.restart_baseline(gone.id, since=time.time())
    # Deleted as older versions did: the connection only.
    async with db.engine.begin() as conn:
        await conn.execute(sa.delete(schema.connections).where(schema.connections.c.id == gone.id))
    await db.aclose()

    monkeypatch.setattr(housekeeping, "FIRST_PURGE_DELAY_SECONDS", 0.1)
    async with running_bot(database_url=database_url) as bot:
        for _ in range(100):
            if "poll state" in caplog.text:
                break
            await asyncio.sleep(0.05)
        async with bot.services.db.engine.connect() as conn:
            left = (await conn.execute(sa.select(schema.poll_state.c.connection_id))).scalars().all()
    assert left == [kept.id]
    assert "deleted the WedgeHR poll state of 1 connection(s) no longer there" in caplog.text


async def test_housekeeping_deletes_the_rate_limit_holds_that_have_ended(database_url, caplog):
    caplog.set_level(logging.INFO, logger="bot.notify.housekeeping")
    async with running_bot(database_url=database_url) as bot:
        await subscribe(bot)
        # Slack rate-limits a post for 1 s: the workspace is held back, then the card goes.
        bot.slack.fail("chat.postMessage", status=429, error="ratelimited", retry_after=1)
        await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
        await bot.slack.wait_for(lambda: cards(bot), timeout=10)
        db = bot.services.db
        await db.outbox.hold_workspace("T0002", until=time.time() + 3600)  # another workspace, still held
        await asyncio.sleep(0.2)
        async with db.engine.connect() as conn:
            before = (await conn.execute(sa.select(schema.channel_leases.c.channel_key))).scalars().all()
        report = await bot.pipeline.housekeeper.purge()
        async with db.engine.connect() as conn:
            keys = (await conn.execute(sa.select(schema.channel_leases.c.channel_key))).scalars().all()
    assert sorted(before) == ["T0001:*", "T0001:C1", "T0002:*"]
    assert sorted(keys) == ["T0001:C1", "T0002:*"]  # the ended hold went; the one in force and the channel's stay
    assert report.workspace_holds_deleted == 1
    assert "deleted 1 ended Slack rate-limit hold(s)" in caplog.text


async def test_a_resend_of_an_event_whose_payload_was_purged_is_still_not_posted_again(bot):
    await subscribe(bot)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", interview)
    await bot.slack.wait_for(lambda: cards(bot))
    for _ in range(100):  # the card is in Slack; its delivery is recorded a moment later
        if await bot.services.db.outbox.counts() == {"sent": 1}:
            break
        await asyncio.sleep(0.05)
    await make_old(bot.services.db, days=40)
    report = await bot.pipeline.housekeeper.purge()
    assert report.event_payloads_emptied == 1  # (its delivery, the newest, is kept: ids are not reused)
    assert [payload for payload, _ in (await stored(bot.services.db)).values()] == [{}]
    # Spark Hire re-sends the webhook, and the user asks for a replay: the bot still knows the event.
    (delivery,) = await bot.sparkhire.emit("InterviewCompleted", interview)
    assert delivery.status == 200
    assert "already had that event" in await subscribe_test(bot)
    await asyncio.sleep(1.5)  # past the channel's pacing
    assert len(bot.slack.posted("C1")) == 1 and await bot.services.db.events.count() == 1


async def test_a_failing_purge_is_logged_and_the_bot_carries_on(monkeypatch, caplog):
    monkeypatch.setattr(housekeeping, "FIRST_PURGE_DELAY_SECONDS", 0.05)
    monkeypatch.setattr(housekeeping, "PURGE_INTERVAL_SECONDS", 0.1)
    async with running_bot(start_workers=False) as bot:
        db = bot.services.db
        await db.events.record(new_event("old"))
        await make_old(db, days=40)
        async with db.engine.begin() as conn:  # a real failure: the purge's table is not there
            await conn.execute(sa.text("ALTER TABLE outbox RENAME TO outbox_away"))
        # Started only now: a purge while the event was still recent would take it as looked at, and
        # the purges after it would not look again (the test then failed now and then on a busy machine).
        task = asyncio.create_task(bot.pipeline.housekeeper.run(), name="housekeeping")
        try:
            for _ in range(100):
                if "Housekeeping failed" in caplog.text:
                    break
                await asyncio.sleep(0.05)
            async with db.engine.begin() as conn:
                await conn.execute(sa.text("ALTER TABLE outbox_away RENAME TO outbox"))
            for _ in range(100):  # it went on purging after the failure
                if (await stored(db))["old"][0] == {}:
                    break
                await asyncio.sleep(0.05)
            assert (await stored(db))["old"][0] == {}
            assert not task.done()
            assert (await bot.sender.client.get(bot.url + "/healthz")).status_code == 200
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    failures = [r for r in caplog.records if r.name == "bot.notify.housekeeping" and r.levelno == logging.ERROR]
    assert failures and failures[0].getMessage().startswith("Housekeeping failed")


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_a_purge_another_process_is_running_long_is_skipped_quietly(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="bot.notify.housekeeping")
    monkeypatch.setattr(housekeeping, "FIRST_PURGE_DELAY_SECONDS", 0.05)
    monkeypatch.setattr(housekeeping, "PURGE_INTERVAL_SECONDS", 0.2)
    database_url, cleanup = await fresh_postgres_database()
    other = Database(url=database_url, secret_box=SecretBox(Fernet.generate_key()))
    try:
        await other.migrate()
        # The other process's purge, running longer than this one's DATABASE_TIMEOUT_SECONDS (1 s, not less: a
        # loaded machine's PostgreSQL connects in more than a few tenths, an error log this test forbids).
        async with (
            other.exclusive(housekeeping.EXCLUSIVE_NAME),
            running_bot(database_url=database_url, database_timeout_seconds=1.0),
        ):
            for _ in range(100):
                if "Housekeeping skipped" in caplog.text:
                    break
                await asyncio.sleep(0.05)
        assert "Housekeeping skipped: another process is purging" in caplog.text
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot")]
    finally:
        await other.aclose()
        await cleanup()


async def test_a_pending_delivery_whose_event_payload_is_gone_is_skipped_with_the_reason():
    async with running_bot(start_workers=False) as bot:
        await subscribe(bot)
        await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
        async with bot.services.db.engine.begin() as conn:
            await conn.execute(sa.update(schema.events).values(payload={}))
        worker = OutboxWorker(services=bot.services, slack_client_for=bot.pipeline.worker.slack_client_for)
        task = asyncio.create_task(worker.run())
        try:
            for _ in range(100):
                if await bot.services.db.outbox.counts() == {"skipped": 1}:
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        async with bot.services.db.engine.connect() as conn:
            (status, reason) = (await conn.execute(sa.select(schema.outbox.c.status, schema.outbox.c.last_error))).one()
        assert status == "skipped" and "purged" in reason
        assert bot.slack.posted("C1") == []
