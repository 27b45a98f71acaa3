"""The database (server or file) goes away for a moment: webhooks get a 503 so the sender retries, and the
bot recovers by itself."""

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bot.settings import normalize_database_url
from tests.support.databases import TEST_DATABASE_URL, fresh_postgres_database
from tests.support.harness import running_bot
from tests.support.tcp_proxy import stalling_proxy

needs_postgres = pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")


async def set_database_reachable(database_url: str, reachable: bool) -> None:
    """Refuse new connections to the database and cut the open ones, as a failover or restart would."""
    name = database_url.rsplit("/", 1)[1]
    admin = create_async_engine(normalize_database_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(reachable).lower()}"))
            if not reachable:
                await conn.execute(
                    sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                    {"name": name},
                )
    finally:
        await admin.dispose()


async def subscribed_with_completed_interviews(bot, *names: str) -> list[dict]:
    """Subscribe C1 to Spark Hire; one completed interview per name, not yet delivered."""
    await bot.sender.command("subscribe sparkhire", response_url=bot.slack.response_url("sub"))
    await bot.slack.wait_for(lambda: bot.slack.responses.get("sub"), timeout=10)
    job = next(iter(bot.sparkhire.jobs.values()))
    return [
        bot.sparkhire.set_status(
            bot.sparkhire.add_interview(job_uuid=job["uuid"], name=name, email=f"{name.lower()}@example.io")["uuid"],
            "completed",
        )
        for name in names
    ]


async def outage_gets_503s_and_retries_are_posted_once(
    bot, outage: contextlib.AbstractAsyncContextManager, *, reads_fail: bool = True
) -> None:
    """Ann is posted before the outage. During it, Bo's delivery gets a 503 well within Spark Hire's 10 s
    (so Spark Hire retries) and a user's command is acknowledged and answered. After it, the same process
    takes the retry and posts Bo once; a second retry adds nothing."""
    before, during = await subscribed_with_completed_interviews(bot, "Ann", "Bo")
    (delivery,) = await bot.sparkhire.emit("InterviewCompleted", before)
    assert delivery.status == 200
    await bot.slack.wait_for(lambda: len(bot.slack.posted("C1")) == 1, timeout=10)

    async with outage:
        (refused,) = await bot.sparkhire.emit("InterviewCompleted", during)
        assert refused.status == 503  # not acknowledged: Spark Hire will retry
        command = await bot.sender.command("subscriptions", response_url=bot.slack.response_url("down"))
        assert command.status_code == 200  # Slack still gets its acknowledgement
        (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("down"), timeout=15)
        if reads_fail:
            assert "cannot reach its database" in told["text"]
        else:
            assert told["text"] == "1 subscription(s) in this channel"  # reads work: it is listed

    (retried,) = await bot.sparkhire.emit("InterviewCompleted", during)
    assert retried.status == 200
    # A stalled server's connections end only at DATABASE_TIMEOUT_SECONDS, and a lease taken during
    # the outage lapses after 20 s: recovery, not its speed, is what is asserted.
    await bot.slack.wait_for(lambda: len(bot.slack.posted("C1")) == 2, timeout=40)
    assert [m.text for m in bot.slack.posted("C1")] == [
        "Ann completed the interview (Spark Hire)",
        "Bo completed the interview (Spark Hire)",
    ]
    (again,) = await bot.sparkhire.emit("InterviewCompleted", during)
    assert again.status == 200
    assert (await bot.sender.command("subscriptions")).status_code == 200
    # The second retry queued nothing (recorded before the 200) and Bo is not posted again.
    assert sum((await bot.services.db.outbox.counts()).values()) == 2
    await asyncio.sleep(1.5)  # a duplicate would be posted within the channel's one-second pacing
    assert len(bot.slack.posted("C1")) == 2


@contextlib.asynccontextmanager
async def database_refusing(database_url: str) -> AsyncIterator[None]:
    await set_database_reachable(database_url, False)
    try:
        yield
    finally:
        await set_database_reachable(database_url, True)


@needs_postgres
async def test_webhooks_get_503_while_the_database_is_gone_and_flow_again_after():
    database_url, cleanup = await fresh_postgres_database()
    try:
        async with running_bot(database_url=database_url) as bot:
            await outage_gets_503s_and_retries_are_posted_once(bot, database_refusing(database_url))
    finally:
        await cleanup()


@needs_postgres
async def test_a_message_posted_as_the_database_goes_away_is_recorded_once_it_returns():
    database_url, cleanup = await fresh_postgres_database()
    try:
        async with running_bot(database_url=database_url) as bot:
            first, second = await subscribed_with_completed_interviews(bot, "Ann", "Bo")
            restored = asyncio.Event()

            async def outage_while_posting() -> None:
                # Slack has the message; the database goes away before the bot can record that.
                await set_database_reachable(database_url, False)

                async def restore() -> None:
                    await asyncio.sleep(2)
                    await set_database_reachable(database_url, True)
                    restored.set()

                asyncio.get_running_loop().create_task(restore())

            bot.slack.before_answering["chat.postMessage"] = outage_while_posting
            (delivery,) = await bot.sparkhire.emit("InterviewCompleted", first)
            assert delivery.status == 200
            await asyncio.wait_for(restored.wait(), timeout=10)

            # The channel is not left waiting for a lease to run out, and nothing is posted twice.
            (delivery,) = await bot.sparkhire.emit("InterviewCompleted", second)
            assert delivery.status == 200
            await bot.slack.wait_for(lambda: len(bot.slack.posted("C1")) == 2, timeout=15)
            await asyncio.sleep(1)
            assert [m.text for m in bot.slack.posted("C1")] == [
                "Ann completed the interview (Spark Hire)",
                "Bo completed the interview (Spark Hire)",
            ]
    finally:
        await cleanup()


@needs_postgres
async def test_a_database_server_that_stops_answering_gets_503s_not_a_hang_and_the_bot_recovers():
    """A failover or partition: connections stay open and nothing comes back, so only a timeout ends the wait."""
    database_url, cleanup = await fresh_postgres_database()
    server = sa.make_url(database_url)
    try:
        async with stalling_proxy(target_host=server.host or "127.0.0.1", target_port=server.port or 5432) as proxy:
            through_proxy = server.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
            async with running_bot(database_url=through_proxy, database_timeout_seconds=2) as bot:
                await outage_gets_503s_and_retries_are_posted_once(bot, proxy.stalled())
    finally:
        await cleanup()


@contextlib.asynccontextmanager
async def sqlite_write_locked(path: str) -> AsyncIterator[None]:
    """Another process's write transaction on the file (a VACUUM, a manual sqlite3 session)."""
    holder = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_a_sqlite_file_locked_by_another_process_gets_503s_and_the_bot_recovers():
    async with running_bot(database_timeout_seconds=2) as bot:
        path = bot.settings.database_url.removeprefix("sqlite:///")
        # WAL: readers are not held by another writer, so commands still answer in full.
        await outage_gets_503s_and_retries_are_posted_once(bot, sqlite_write_locked(path), reads_fail=False)
