import asyncio
import dataclasses
import time

import pytest
import sqlalchemy as sa

from bot.errors import BusyError
from bot.storage import Database, NewEvent, Subscription, ThreadMessage, repos, schema
from tests.support.databases import statements_on


def event(
    key: str,
    *,
    team="T1",
    vendor="sparkhire",
    kind="completed",
    email="ann@acme.io",
    job="Barista",
    thread="sparkhire:interview:i1",
) -> NewEvent:
    return NewEvent(
        dedup_key=key,
        team_id=team,
        vendor=vendor,
        event_type=kind,
        subject=key,
        payload={"key": key},
        thread_key=thread,
        job_name=job,
        candidate_email=email,
    )


async def subscribe(db, **settings) -> Subscription:
    """A subscription of channel C1 of team T1 to Spark Hire's completions, unless ``settings`` say otherwise."""
    return await db.subscriptions.add(
        **{"team_id": "T1", "channel_id": "C1", "vendor": "sparkhire", "events": ["completed"], "created_by": "U1"}
        | settings
    )


async def test_migrations_are_idempotent_and_concurrent(database_url, secret_box):
    first, second = (Database(url=database_url, secret_box=secret_box) for _ in range(2))
    versions = await asyncio.gather(first.migrate(), second.migrate())
    assert versions[0] == versions[1] >= 1
    assert await first.migrate() == versions[0]
    async with first.engine.connect() as conn:
        rows = (await conn.execute(sa.select(schema.schema_version.c.version))).scalars().all()
    assert sorted(rows) == list(range(1, versions[0] + 1))
    await first.aclose()
    await second.aclose()


async def test_credentials_are_encrypted_at_rest(db):
    await db.connections.upsert_workspace(
        "T1",
        "wedgehr",
        "wedge-secret-token",
        account_label="Acme",
        connected_by="U1",
        environment="staging",
    )
    async with db.engine.connect() as conn:
        raw = (await conn.execute(sa.select(schema.connections.c.credential))).scalar_one()
    assert "wedge-secret-token" not in raw
    connection = await db.connections.resolve("T1", "wedgehr")
    assert connection.credential.get_secret_value() == "wedge-secret-token"
    assert "wedge-secret-token" not in repr(connection)
    assert connection.environment == "staging"


async def test_user_key_wins_over_workspace_fallback(db):
    await db.connections.upsert_workspace("T1", "sparkhire", "workspace-key", account_label="Acme", connected_by="U1")
    await db.connections.upsert_user("T1", "U2", "sparkhire", "own-key", account_label="Mo")
    own = await db.connections.resolve("T1", "sparkhire", "U2")
    fallback = await db.connections.resolve("T1", "sparkhire", "U3")
    assert own.credential.get_secret_value() == "own-key"
    assert fallback.credential.get_secret_value() == "workspace-key"
    assert await db.connections.resolve("T2", "sparkhire", "U2") is None
    # Reconnecting replaces, never duplicates.
    await db.connections.upsert_user("T1", "U2", "sparkhire", "newer-key", account_label="Mo")
    assert len(await db.connections.list_for_team("T1")) == 2


async def test_concurrent_resolves_share_one_read(db):
    await db.connections.upsert_workspace("T1", "wedgehr", "wedge-token", account_label="Acme", connected_by="U1")
    reads = statements_on(db.engine, "SELECT", schema.connections)
    # Fifty requests arrive while nothing is cached (a cold start, or the cached entry just expired).
    found = await asyncio.gather(*(db.connections.resolve("T1", "wedgehr", "U1") for _ in range(50)))
    assert {c.credential.get_secret_value() for c in found} == {"wedge-token"}
    assert len(reads) == 1
    # A write is seen at once by the next resolve, which reads again.
    await db.connections.upsert_workspace("T1", "wedgehr", "rotated", account_label="Acme", connected_by="U1")
    assert (await db.connections.resolve("T1", "wedgehr", "U1")).credential.get_secret_value() == "rotated"
    assert len(reads) == 2


async def test_another_process_change_is_seen_after_one_background_refresh(db, database_url, secret_box):
    await db.connections.upsert_workspace("T1", "wedgehr", "old-token", account_label="Acme", connected_by="U1")
    db.connections.fresh_seconds, db.connections.stale_seconds = 0.2, 60
    assert (await db.connections.resolve("T1", "wedgehr")).credential.get_secret_value() == "old-token"
    other_process = Database(url=database_url, secret_box=secret_box)
    try:
        await other_process.connections.upsert_workspace(
            "T1", "wedgehr", "new-token", account_label="Acme", connected_by="U1"
        )
    finally:
        await other_process.aclose()
    reads = statements_on(db.engine, "SELECT", schema.connections)
    await asyncio.sleep(0.25)
    # Past its fresh time the entry still answers at once, and one read refreshes it behind the scenes.
    answers = await asyncio.gather(*(db.connections.resolve("T1", "wedgehr") for _ in range(20)))
    assert {c.credential.get_secret_value() for c in answers} == {"old-token"}
    for _ in range(100):
        if (await db.connections.resolve("T1", "wedgehr")).credential.get_secret_value() == "new-token":
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the change made by the other process was never seen")
    assert len(reads) == 1


async def test_an_entry_past_its_stale_window_is_read_again_before_answering(db, database_url, secret_box):
    await db.connections.upsert_workspace("T1", "wedgehr", "old-token", account_label="Acme", connected_by="U1")
    db.connections.fresh_seconds, db.connections.stale_seconds = 0.1, 0.1
    await db.connections.resolve("T1", "wedgehr")
    other_process = Database(url=database_url, secret_box=secret_box)
    try:
        await other_process.connections.delete((await other_process.connections.resolve("T1", "wedgehr")).id)
    finally:
        await other_process.aclose()
    await asyncio.sleep(0.3)  # idle for longer than fresh + stale: an old answer would be too old
    assert await db.connections.resolve("T1", "wedgehr") is None


async def test_a_cancelled_resolve_does_not_fail_the_others_waiting_on_its_read(db):
    await db.connections.upsert_workspace("T1", "wedgehr", "wedge-token", account_label="Acme", connected_by="U1")
    first = asyncio.create_task(db.connections.resolve("T1", "wedgehr"))
    second = asyncio.create_task(db.connections.resolve("T1", "wedgehr"))
    await asyncio.sleep(0)  # both are now waiting on the one read
    first.cancel()
    assert (await second).credential.get_secret_value() == "wedge-token"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_webhook_credentials_verified(db):
    connection = await db.connections.upsert_workspace("T1", "sparkhire", "k", account_label="A", connected_by="U1")
    await db.connections.set_webhook(connection.id, webhook_uuid="wh-1", webhook_auth="bot:s3cret")
    assert (await db.connections.verify_webhook_auth(connection.id, "bot:s3cret")).id == connection.id
    assert await db.connections.verify_webhook_auth(connection.id, "bot:wrong") is None
    assert await db.connections.verify_webhook_auth("nope", "bot:s3cret") is None


async def test_webhook_passwords_cost_one_read_per_connection_however_many_deliveries(db):
    connection = await db.connections.upsert_workspace("T1", "sparkhire", "k", account_label="A", connected_by="U1")
    await db.connections.set_webhook(connection.id, webhook_uuid="wh-1", webhook_auth="bot:s3cret")
    reads = statements_on(db.engine, "SELECT", schema.connections)
    verify = db.connections.verify_webhook_auth
    # A burst of deliveries on a cold cache, then a sender guessing passwords, then unknown connections.
    assert {c.id for c in await asyncio.gather(*(verify(connection.id, "bot:s3cret") for _ in range(30)))} == {
        connection.id
    }
    assert await asyncio.gather(*(verify(connection.id, f"bot:guess-{n}") for n in range(30))) == [None] * 30
    assert len(reads) == 1
    assert await asyncio.gather(*(verify("unknown", "bot:s3cret") for _ in range(30))) == [None] * 30
    assert len(reads) == 2
    # This process registering the webhook again is seen at once: the old password stops working.
    await db.connections.set_webhook(connection.id, webhook_uuid="wh-2", webhook_auth="bot:n3w")
    assert await verify(connection.id, "bot:s3cret") is None
    assert (await verify(connection.id, "bot:n3w")).id == connection.id


async def test_unknown_webhook_ids_cost_no_memory_past_their_bound_and_long_ones_no_read(db, monkeypatch):
    monkeypatch.setattr(repos, "MAX_CACHED_ANSWERS", 5)
    reads = statements_on(db.engine, "SELECT", schema.connections)
    verify = db.connections.verify_webhook_auth
    # An id longer than the column (a URL can carry kilobytes) is no connection: not read, not kept.
    assert await verify("f" * 33, "bot:s3cret") is None
    assert reads == []
    for n in range(12):
        assert await verify(f"unknown-{n}", "bot:s3cret") is None
    assert len(reads) == 12
    # The newest answers are kept (asked again within the recheck, not read), the oldest let go.
    assert await verify("unknown-11", "bot:s3cret") is None
    assert len(reads) == 12
    assert await verify("unknown-0", "bot:s3cret") is None
    assert len(reads) == 13


async def test_a_webhook_password_set_by_another_process_is_accepted_after_one_recheck(db, database_url, secret_box):
    connection = await db.connections.upsert_workspace("T1", "sparkhire", "k", account_label="A", connected_by="U1")
    await db.connections.set_webhook(connection.id, webhook_uuid="wh-1", webhook_auth="bot:old")
    db.connections.webhook_auth_recheck_seconds = 0.1
    assert (await db.connections.verify_webhook_auth(connection.id, "bot:old")).id == connection.id
    other_process = Database(url=database_url, secret_box=secret_box)
    try:
        await other_process.connections.set_webhook(connection.id, webhook_uuid="wh-2", webhook_auth="bot:new")
    finally:
        await other_process.aclose()
    await asyncio.sleep(0.15)
    # The cached answer knows only the old password; a different one is checked against the database.
    assert (await db.connections.verify_webhook_auth(connection.id, "bot:new")).id == connection.id


async def test_subscription_filters(db):
    await subscribe(db, job_filter="barista", excludes=["@test.io", "qa@acme.io"])
    await db.events.record_many(
        [
            event("a", email="ann@acme.io"),  # delivered
            event("b", email="bob@TEST.io"),  # excluded domain
            event("c", email="qa@acme.io"),  # excluded address
            event("d", job="Chef"),  # other job
            event("e", kind="rated"),  # not subscribed
            event("f", vendor="wedgehr"),  # other vendor
        ]
    )
    items = []
    while batch := await db.outbox.lease("w", lease_seconds=5):
        items += batch
        for item in batch:
            await db.outbox.mark_sent(item, "w", pace_seconds=0)
    assert [i.payload["key"] for i in items] == ["a"]


async def test_only_an_event_about_the_job_itself_renames_it_and_others_cost_no_statement(db):
    await subscribe(db, events=["completed", "jobs"], job_filter="Head Barista", job_id="job-1")
    updates: list[str] = []

    def record(conn, cursor, statement, *_):
        if statement.lstrip().upper().startswith("UPDATE SUBSCRIPTIONS"):
            updates.append(statement)

    # Every engine: on SQLite, events are written by the batch writer's own.
    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        # An interview built before the rename carries the job's old name: not news about the job.
        late = dataclasses.replace(event("late", job="Barista"), job_id="job-1")
        assert await db.events.record(late)
        assert updates == [] and (await db.subscriptions.list_for_team("T1"))[0].job_filter == "Head Barista"
        # The job's own delivery (Spark Hire's JobUpdated) gives its name as it now is.
        updated = dataclasses.replace(
            event("job-updated", kind="jobs", job="Barista (Downtown)"), job_id="job-1", describes_job=True
        )
        assert await db.events.record(updated)
        assert len(updates) == 1
        assert (await db.subscriptions.list_for_team("T1"))[0].job_filter == "Barista (Downtown)"
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)


async def test_rename_job_counts_only_the_subscriptions_whose_name_changed(db):
    await subscribe(db, job_filter="Barista", job_id="job-1", job_named_at=100.0)
    # The same name, known as of later: nothing renamed, the time learnt.
    assert await db.subscriptions.rename_job("T1", "sparkhire", "job-1", "Barista", as_of=200.0) == 0
    (sub,) = await db.subscriptions.list_for_team("T1")
    assert (sub.job_filter, sub.job_named_at) == ("Barista", 200.0)
    assert await db.subscriptions.rename_job("T1", "sparkhire", "job-1", "Head Barista", as_of=300.0) == 1
    # No time given: renamed, the vendor's time kept.
    assert await db.subscriptions.rename_job("T1", "sparkhire", "job-1", "Lead Barista") == 1
    (sub,) = await db.subscriptions.list_for_team("T1")
    assert (sub.job_filter, sub.job_named_at) == ("Lead Barista", 300.0)


async def test_duplicates_create_no_second_delivery(db):
    await subscribe(db)
    assert await db.events.record_many([event("k"), event("k"), event("j")]) == [True, False, True]
    assert await db.events.record(event("k")) is False
    assert await db.events.count() == 2
    assert (await db.outbox.counts())["pending"] == 2


async def test_outbox_keeps_channel_order_and_one_in_flight(db):
    for channel in ("C1", "C2"):
        await subscribe(db, channel_id=channel)
    await db.events.record_many([event(f"e{i}") for i in range(3)])
    first = await db.outbox.lease("w1", lease_seconds=30)
    assert sorted(i.channel_id for i in first) == ["C1", "C2"]
    assert all(i.payload["key"] == "e0" for i in first)
    assert await db.outbox.lease("w2", lease_seconds=30) == []  # both channels held
    c1 = next(i for i in first if i.channel_id == "C1")
    await db.outbox.mark_sent(c1, "w1", pace_seconds=0)
    nxt = await db.outbox.lease("w2", lease_seconds=30)
    assert [(i.channel_id, i.payload["key"]) for i in nxt] == [("C1", "e1")]


async def test_a_card_recorded_with_its_delivery_is_leased_with_the_candidates_next_event(db):
    await subscribe(db)
    await db.events.record_many([event("ann-1"), event("bob-1", thread="sparkhire:interview:i2"), event("ann-2")])
    (first,) = await db.outbox.lease("w", lease_seconds=30)
    assert first.payload["key"] == "ann-1" and first.thread_ts is None  # nothing posted for Ann yet
    await db.outbox.mark_sent(first, "w", pace_seconds=0, thread=ThreadMessage(ts="1700000000.000100", card=None))
    (bob,) = await db.outbox.lease("w", lease_seconds=30)
    assert bob.thread_ts is None  # another candidate: a card of its own
    await db.outbox.mark_sent(bob, "w", pace_seconds=0, thread=ThreadMessage(ts="1700000000.000200", card=None))
    (second,) = await db.outbox.lease("w", lease_seconds=30, expect_due=True)
    assert second.payload["key"] == "ann-2" and second.thread_ts == "1700000000.000100"


async def test_an_attempt_never_recorded_is_reported_to_the_next_lease_from_when_it_began(db):
    await subscribe(db)
    await db.events.record_many([event("ann-1")])
    before = time.time()
    (first,) = await db.outbox.lease("dead", lease_seconds=0.05)
    assert first.maybe_posted_since is None  # never attempted
    await asyncio.sleep(0.1)  # "dead" never records its post; its lease runs out
    second_lease_at = time.time()
    (again,) = await db.outbox.lease("w", lease_seconds=0.05)
    assert before <= again.maybe_posted_since < second_lease_at  # when the first attempt began
    await asyncio.sleep(0.1)
    (third,) = await db.outbox.lease("w2", lease_seconds=30)
    assert third.maybe_posted_since == again.maybe_posted_since  # the first attempt's time, not a later one
    # Refused by Slack: the next attempt just posts. Sent: the row is done.
    await db.outbox.reschedule(third, "w2", delay=0, error="ratelimited")
    (fourth,) = await db.outbox.lease("w2", lease_seconds=30)
    assert fourth.maybe_posted_since is None
    await db.outbox.reschedule(fourth, "w2", delay=0, error="ServerDisconnectedError", maybe_posted=True)
    (fifth,) = await db.outbox.lease("w2", lease_seconds=30)
    assert fifth.maybe_posted_since is not None
    await db.outbox.mark_sent(fifth, "w2", pace_seconds=0)
    assert await db.outbox.counts() == {"sent": 1}


async def upgraded_from(db, version: int, *then) -> list[int]:
    """Take a migrated database back to how ``version`` left it and migrate it again.

    Args:
        db: The migrated database.
        version: The schema version to go back to.
        then: Statements (SQL text or SQLAlchemy) that undo what later versions made, or store rows
            as that version would have; run in the same transaction.

    Returns:
        The versions the second migration applied.
    """
    async with db.engine.begin() as conn:
        for statement in then:
            await conn.execute(sa.text(statement) if isinstance(statement, str) else statement)
        await conn.execute(sa.delete(schema.schema_version).where(schema.schema_version.c.version > version))
    applied: list[int] = []
    await db.migrate(applied=applied)
    return applied


async def test_a_database_from_before_posting_since_gains_it(db):
    assert (await upgraded_from(db, 2, "ALTER TABLE outbox DROP COLUMN posting_since"))[0] == 3
    await subscribe(db)
    await db.events.record_many([event("ann-1")])
    (item,) = await db.outbox.lease("w", lease_seconds=30)
    assert item.maybe_posted_since is None


async def test_a_database_from_before_job_ids_gains_them_and_its_job_filters_still_match_by_name(db):
    # With a subscription of then.
    applied = await upgraded_from(
        db,
        4,
        "ALTER TABLE subscriptions DROP COLUMN job_id",
        "INSERT INTO subscriptions (team_id, channel_id, vendor, events, job_filter, excludes, compact,"
        " created_by, paused, created_at) VALUES ('T1', 'C1', 'sparkhire', '[\"completed\"]', 'Barista',"
        " '[]', false, 'U1', false, 1.0)",
    )
    assert applied[0] == 5
    (old,) = await db.subscriptions.list_for_channel("T1", "C1")
    assert old.job_id is None
    assert old.matches("completed", job_name="barista", job_id="job-1")
    assert not old.matches("completed", job_name="Chef", job_id="job-2")
    # One saved with the job's id follows the job, whatever it is called now.
    new = await subscribe(db, channel_id="C2", job_filter="Barista", job_id="job-1")
    assert new.matches("completed", job_name="Barista (Downtown)", job_id="job-1")
    assert not new.matches("completed", job_name="Barista", job_id="job-9")
    assert new.matches("completed", job_name="Barista")  # a delivery that names no job id


async def test_spark_hire_dedup_keys_from_before_v4_lose_the_webhook_uuid(db):
    # Stored with the webhook that delivered them: after the upgrade, the same event through a new
    # registration must still be recognised as already posted.
    old = {
        "sparkhire:conn1:hook-a:InterviewCompleted:uuid-1:2026-11-20T10:00:00Z": "rewritten",
        "sparkhire:conn1:hook-b:InterviewCompleted:uuid-1:2026-11-20T10:00:00Z": "a twin: kept",
        "sparkhire:" + "f" * 64: "hashed: kept",
        "wedgehr:conn2:invite:7:complete": "other vendor: kept",
    }
    stored = [
        schema.events.insert().values(
            dedup_key=key, team_id="T1", vendor="sparkhire", event_type="completed", payload={}, received_at=1.0
        )
        for key in old
    ]
    # As version 3 left it (later steps find their work done and leave it).
    assert (await upgraded_from(db, 3, *stored))[0] == 4
    async with db.engine.connect() as conn:
        keys = set((await conn.execute(sa.select(schema.events.c.dedup_key))).scalars())
    assert keys == {
        "sparkhire:conn1:InterviewCompleted:uuid-1:2026-11-20T10:00:00Z",
        "sparkhire:conn1:hook-b:InterviewCompleted:uuid-1:2026-11-20T10:00:00Z",
        "sparkhire:" + "f" * 64,
        "wedgehr:conn2:invite:7:complete",
    }


async def test_lease_finds_the_head_of_every_channel_of_every_team(db):
    # Channels spread over teams, one with a deep backlog: each channel's oldest row is found once,
    # and a held channel's backlog never hides the channels after it.
    layout = {"T1": ["C1", "C2"], "T2": ["C1"], "T3": ["C7", "C8", "C9"]}
    for team, channels in layout.items():
        for channel in channels:
            await subscribe(db, team_id=team, channel_id=channel)
        await db.events.record_many([event(f"{team}-{n}", team=team) for n in range(40 if team == "T1" else 2)])
    first = await db.outbox.lease("w1", limit=50, lease_seconds=30)
    assert sorted((i.team_id, i.channel_id, i.payload["key"]) for i in first) == [
        ("T1", "C1", "T1-0"),
        ("T1", "C2", "T1-0"),
        ("T2", "C1", "T2-0"),
        ("T3", "C7", "T3-0"),
        ("T3", "C8", "T3-0"),
        ("T3", "C9", "T3-0"),
    ]
    held = {(i.team_id, i.channel_id): i for i in first}
    await db.outbox.mark_sent(held["T2", "C1"], "w1", pace_seconds=0)
    await db.outbox.mark_sent(held["T3", "C9"], "w1", pace_seconds=0)
    nxt = await db.outbox.lease("w2", limit=50, lease_seconds=30)
    assert sorted((i.team_id, i.channel_id, i.payload["key"]) for i in nxt) == [
        ("T2", "C1", "T2-1"),
        ("T3", "C9", "T3-1"),
    ]
    assert await db.outbox.lease("w3", limit=50, lease_seconds=30) == []  # every channel held


async def test_expired_lease_is_taken_over(db):
    await subscribe(db)
    await db.events.record(event("x"))
    dead = await db.outbox.lease("dead-worker", lease_seconds=0.05)
    assert len(dead) == 1
    await asyncio.sleep(0.1)
    again = await db.outbox.lease("live-worker", lease_seconds=30)
    assert [i.id for i in again] == [dead[0].id]


async def test_a_released_channel_is_leased_again_at_once_but_stays_paced(db):
    await subscribe(db)
    await db.events.record_many([event("1"), event("2")])
    (first,) = await db.outbox.lease("stopping-worker", lease_seconds=60)
    assert await db.outbox.lease("other-worker", lease_seconds=60) == []
    assert await db.outbox.release_channels("stopping-worker") == 1
    (again,) = await db.outbox.lease("other-worker", lease_seconds=60)
    assert again.id == first.id  # the unsent head, first in order
    await db.outbox.mark_sent(again, "other-worker", pace_seconds=30)
    assert await db.outbox.release_channels("other-worker") == 0  # nothing held any more
    assert await db.outbox.lease("third-worker", lease_seconds=60) == []  # the next one waits for its pace


async def test_a_renewed_lease_outlives_its_first_expiry_until_the_delivery_is_recorded(db):
    await subscribe(db)
    await db.events.record(event("x"))
    # A first lease long enough that a loaded machine still renews it in time, short enough to wait out.
    (item,) = await db.outbox.lease("slow-worker", lease_seconds=1.0)
    assert await db.outbox.renew(item, "slow-worker", lease_seconds=30)
    await asyncio.sleep(1.1)
    assert await db.outbox.lease("other-worker", lease_seconds=30) == []  # still held
    assert not await db.outbox.renew(item, "other-worker", lease_seconds=30)
    await db.outbox.mark_sent(item, "slow-worker", pace_seconds=0)
    assert not await db.outbox.renew(item, "slow-worker", lease_seconds=30)  # nothing left to hold


async def test_reschedule_delays_the_channel(db):
    await subscribe(db)
    await db.events.record_many([event("1"), event("2")])
    (item,) = await db.outbox.lease("w")
    await db.outbox.reschedule(item, "w", delay=1.0, error="ratelimited")
    assert await db.outbox.lease("w") == []  # the later row must not overtake
    await asyncio.sleep(1.05)
    (retry,) = await db.outbox.lease("w")
    assert retry.id == item.id and retry.attempts == 1


async def test_a_rate_limited_retry_is_not_counted_and_a_held_workspace_leases_none_of_its_channels(db):
    for team, channel in (("T1", "C1"), ("T1", "C2"), ("T2", "C1")):
        await subscribe(db, team_id=team, channel_id=channel)
    for team in ("T1", "T2"):
        await db.events.record(event(f"{team}-1", team=team))
    leased = {(i.team_id, i.channel_id): i for i in await db.outbox.lease("w", limit=10)}
    # Slack rate-limited T1/C1's post: T1's other channel waits as long, T2 does not.
    await db.outbox.hold_workspace("T1", until=time.time() + 0.4)
    await db.outbox.hold_workspace("T1", until=time.time() + 0.1)  # an earlier end does not shorten it
    await db.outbox.reschedule(leased["T1", "C1"], "w", delay=0.4, error="ratelimited", counted=False)
    for key in (("T1", "C2"), ("T2", "C1")):
        await db.outbox.reschedule(leased[key], "w", delay=0, error="internal_error")
    (other,) = await db.outbox.lease("w", limit=10)
    assert (other.team_id, other.channel_id, other.attempts) == ("T2", "C1", 1)
    await asyncio.sleep(0.45)
    again = sorted((i.channel_id, i.attempts) for i in await db.outbox.lease("w", limit=10))
    assert again == [("C1", 0), ("C2", 1)]  # T1's channels, the rate-limited one's attempt not counted


async def test_concurrent_leasers_never_share_a_row(db):
    for n in range(10):
        await subscribe(db, channel_id=f"C{n}")
    await db.events.record(event("only"))
    results = await asyncio.gather(*(db.outbox.lease(f"w{n}", lease_seconds=30) for n in range(4)))
    leased = [i.id for batch in results for i in batch]
    assert len(leased) == len(set(leased)) == 10


DAY = 86400.0


async def recorded(db, key: str, *, status: str = "pending", age_days: float = 0.0) -> int:
    """Record ``key`` (one delivery to C1's subscription), set that delivery's status, and make
    both the event and the delivery ``age_days`` old; returns the event's id."""
    await db.events.record(event(key))
    ev, ob = schema.events, schema.outbox
    async with db.engine.begin() as conn:
        event_id = (await conn.execute(sa.select(ev.c.id).where(ev.c.dedup_key == key))).scalar_one()
        then = time.time() - age_days * DAY
        await conn.execute(sa.update(ev).where(ev.c.id == event_id).values(received_at=then))
        await conn.execute(sa.update(ob).where(ob.c.event_id == event_id).values(status=status, created_at=then))
    return event_id


async def outbox_by_key(db) -> dict[str, str]:
    ev, ob = schema.events, schema.outbox
    async with db.engine.connect() as conn:
        rows = (await conn.execute(sa.select(ev.c.dedup_key, ob.c.status).join(ev, ev.c.id == ob.c.event_id))).all()
    return dict(rows)


async def payloads(db) -> dict[str, dict]:
    ev = schema.events
    async with db.engine.connect() as conn:
        return dict((await conn.execute(sa.select(ev.c.dedup_key, ev.c.payload))).all())


async def test_old_finished_deliveries_are_deleted_and_pending_and_recent_ones_kept(db):
    await subscribe(db)
    for n in range(5):  # more than a batch of two
        await recorded(db, f"old-sent-{n}", status="sent", age_days=40)
    await recorded(db, "old-skipped", status="skipped", age_days=40)
    await recorded(db, "old-failed", status="failed", age_days=40)
    await recorded(db, "old-pending", status="pending", age_days=40)
    await recorded(db, "recent-sent", status="sent", age_days=1)
    deleted = await db.outbox.delete_finished(created_before=time.time() - 30 * DAY, batch_size=2)
    assert deleted == 7
    assert await outbox_by_key(db) == {"old-pending": "pending", "recent-sent": "sent"}
    assert await db.outbox.delete_finished(created_before=time.time() - 30 * DAY) == 0


async def test_the_newest_delivery_is_kept_so_no_outbox_id_is_given_again(db):
    # SQLite numbers a new row after the largest id left: a deleted newest row's id would come back,
    # and with it a match for that old message's metadata when looking for an unrecorded post.
    await subscribe(db)
    await recorded(db, "first", status="sent", age_days=40)
    await recorded(db, "second", status="sent", age_days=40)
    assert await db.outbox.delete_finished(created_before=time.time() - 30 * DAY) == 1
    async with db.engine.connect() as conn:
        (newest,) = (await conn.execute(sa.select(schema.outbox.c.id))).scalars().all()
    await db.events.record(event("third"))
    (item,) = await db.outbox.lease("w", lease_seconds=30)
    assert item.id > newest


async def test_old_event_payloads_are_emptied_and_a_resend_is_still_not_recorded_again(db):
    await subscribe(db)
    for n in range(5):  # more than a batch of two
        await recorded(db, f"old-{n}", status="sent", age_days=40 + n)
    await recorded(db, "old-unmatched", age_days=40)
    async with db.engine.begin() as conn:  # an event no subscription wanted has no delivery at all
        await conn.execute(sa.delete(schema.outbox).where(schema.outbox.c.status == "pending"))
    pending_id = await recorded(db, "old-pending", status="pending", age_days=35)
    await recorded(db, "recent", status="sent", age_days=1)
    cutoff = time.time() - 30 * DAY
    done = await db.events.purge_payloads(received_before=cutoff, batch_size=2)
    assert done.purged == 6
    stored = await payloads(db)
    assert {key for key, payload in stored.items() if payload == {}} == {
        *(f"old-{n}" for n in range(5)),
        "old-unmatched",
    }
    assert stored["old-pending"] == {"key": "old-pending"} and stored["recent"] == {"key": "recent"}
    # The de-duplication key outlives the payload: a vendor re-sending the event adds nothing.
    outbox_before = await db.outbox.counts()
    assert await db.events.record_many([event("old-0"), event("old-unmatched")]) == [False, False]
    assert await db.events.count() == 8 and await db.outbox.counts() == outbox_before
    # The next purge starts at the event a pending delivery held back, and empties it once delivered.
    async with db.engine.begin() as conn:
        await conn.execute(sa.update(schema.outbox).where(schema.outbox.c.event_id == pending_id).values(status="sent"))
    again = await db.events.purge_payloads(received_before=time.time() - 30 * DAY, after=done.resume_after)
    assert again.purged == 1 and (await payloads(db))["old-pending"] == {}
    assert again.resume_after >= cutoff


async def test_a_purge_with_nothing_left_to_empty_writes_nothing(db):
    # Several processes purge in turn, and each new process looks at every old event once: only reads.
    await subscribe(db)
    for n in range(5):
        await recorded(db, f"old-{n}", status="sent", age_days=40)
    assert (await db.events.purge_payloads(received_before=time.time() - 30 * DAY, batch_size=2)).purged == 5
    updates = statements_on(db.engine, "UPDATE", schema.events)
    assert (await db.events.purge_payloads(received_before=time.time() - 30 * DAY, batch_size=2)).purged == 0
    assert updates == []


async def test_threads_audit_and_poll_leases(db):
    await db.threads.set("T1", "C1", "k", ts="1.1", card={"status": "completed"})
    await db.threads.set("T1", "C1", "k", ts="1.1", card={"status": "rated"})
    assert (await db.threads.get("T1", "C1", "k")).card == {"status": "rated"}
    await db.audit.add(team_id="T1", user_id="U1", action="invite.sent", vendor="wedgehr", target="a@b.co")
    await db.audit.add(team_id="T1", user_id="U2", action="share.created", vendor="sparkhire")
    assert [e.action for e in await db.audit.recent("T1", user_id="U1")] == ["invite.sent"]
    assert await db.poll_state.try_lease("c", "p1", 30)
    assert not await db.poll_state.try_lease("c", "p2", 30)
    assert await db.poll_state.save("c", "p1", {"baseline": True})
    assert not await db.poll_state.save("c", "p2", {"baseline": False})
    await db.poll_state.release("c", "p1")
    assert await db.poll_state.try_lease("c", "p2", 30)
    assert await db.poll_state.load("c") == {"baseline": True}


async def test_a_restarted_baseline_takes_the_lease_from_a_running_poll_for_good(db):
    assert await db.poll_state.try_lease("c", "poll-with-old-token", 30)
    await db.poll_state.save("c", "poll-with-old-token", {"baseline": True, "polled_at": 1000.5})
    await db.poll_state.restart_baseline("c")  # a new token, while that poll runs
    # The running poll can neither keep the lease nor save what it read with the old token.
    assert not await db.poll_state.renew("c", "poll-with-old-token", 30)
    assert not await db.poll_state.save("c", "poll-with-old-token", {"baseline": True})
    assert await db.poll_state.load("c") == {"baseline_after": 999}  # from the second before it began
    assert await db.poll_state.try_lease("c", "next-poll", 30)


async def test_slack_installation_store_round_trip(db):
    from slack_sdk.oauth.installation_store import Installation

    store = db.installation_store("123.456")
    await store.async_save(
        Installation(
            app_id="A1",
            team_id="T9",
            user_id="U1",
            bot_token="xoxb-9",
            bot_id="B1",
            bot_user_id="UB",
        )
    )
    bot = await store.async_find_bot(enterprise_id=None, team_id="T9")
    assert bot.bot_token == "xoxb-9"


async def test_slack_tokens_are_encrypted_at_rest(db):
    from slack_sdk.oauth.installation_store import Installation

    token, refresh = "xoxb-" + "7" * 60, "xoxe-1-" + "r" * 150  # rotated tokens are long
    store = db.installation_store("123.456")
    await store.async_save(
        Installation(
            app_id="A1",
            team_id="T8",
            user_id="U1",
            bot_token=token,
            bot_refresh_token=refresh,
            bot_id="B1",
            bot_user_id="UB",
            user_token="xoxp-" + "5" * 60,
        )
    )
    async with db.engine.connect() as conn:
        rows = [
            row
            for table in ("slack_installations", "slack_bots")
            for row in (await conn.execute(sa.text(f"SELECT * FROM {table}"))).all()
        ]
    stored = " ".join(str(value) for row in rows for value in row)
    assert "xoxb-" not in stored and "xoxe-" not in stored and "xoxp-" not in stored
    bot = await store.async_find_bot(enterprise_id=None, team_id="T8")
    assert (bot.bot_token, bot.bot_refresh_token) == (token, refresh)
    installation = await store.async_find_installation(enterprise_id=None, team_id="T8", user_id="U1")
    assert installation.user_token == "xoxp-" + "5" * 60


async def test_exclusive_gives_up_with_busy_after_the_database_timeout_then_serves_the_next_caller(
    database_url, secret_box
):
    # Two processes' pools on one database (on SQLite, one process's two requests).
    first = Database(url=database_url, secret_box=secret_box, timeout=0.5)  # DATABASE_TIMEOUT_SECONDS
    second = (
        first if database_url.startswith("sqlite") else Database(url=database_url, secret_box=secret_box, timeout=0.5)
    )
    await first.migrate()
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold():
        async with first.exclusive("sparkhire-webhook:c1"):
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    try:
        await holding.wait()
        began = time.monotonic()
        with pytest.raises(BusyError, match="Try again in a minute"):
            async with second.exclusive("sparkhire-webhook:c1"):
                pytest.fail("ran beside the holder")
        assert 0.4 < time.monotonic() - began < 3
        async with second.exclusive("sparkhire-webhook:other"):  # another name is not held
            pass
        release.set()
        await holder
        async with asyncio.timeout(3), second.exclusive("sparkhire-webhook:c1"):  # free again
            pass
    finally:
        release.set()
        await holder
        await first.aclose()
        if second is not first:
            await second.aclose()


async def test_a_database_from_before_paused_at_gains_it(db):
    assert (await upgraded_from(db, 4, "ALTER TABLE subscriptions DROP COLUMN paused_at"))[0] == 5
    subscription = await subscribe(db)
    await db.subscriptions.pause(subscription.id, "is archived")
    assert (await db.subscriptions.get(subscription.id)).paused_at is not None


async def test_a_database_from_before_the_outbox_event_index_gains_it(db):
    assert (await upgraded_from(db, 6, "DROP INDEX IF EXISTS ix_outbox_event_id"))[0] == 7
    async with db.engine.connect() as conn:
        indexes = await conn.run_sync(lambda sync: sa.inspect(sync).get_indexes("outbox"))
    assert ["event_id"] in [i["column_names"] for i in indexes]


async def test_a_database_from_before_job_named_at_gains_it_and_its_names_are_renamed_as_before(db):
    subscription_of_then = schema.subscriptions.insert().values(
        team_id="T1",
        channel_id="C1",
        vendor="sparkhire",
        events=["completed"],
        excludes=[],
        created_by="U1",
        created_at=0.0,
        job_filter="Barista",
        job_id="job-1",
    )
    applied = await upgraded_from(db, 7, "ALTER TABLE subscriptions DROP COLUMN job_named_at", subscription_of_then)
    assert applied[0] == 8
    (saved,) = await db.subscriptions.list_for_team("T1")
    assert saved.job_named_at is None
    updated = dataclasses.replace(
        event("job-updated", kind="jobs", job="Head Barista"), job_id="job-1", describes_job=True, job_as_of=1.0
    )
    assert await db.events.record(updated)
    (renamed,) = await db.subscriptions.list_for_team("T1")
    assert renamed.job_filter == "Head Barista" and renamed.job_named_at == 1.0


async def test_a_database_from_before_shared_confirmations_gains_the_column_and_confirms_a_channel_later(db):
    subscription_of_then = schema.subscriptions.insert().values(
        team_id="T1",
        channel_id="C1",
        vendor="sparkhire",
        events=["completed"],
        excludes=[],
        created_by="U1",
        created_at=0.0,
    )
    applied = await upgraded_from(
        db, 8, "ALTER TABLE subscriptions DROP COLUMN shared_confirmed_at", subscription_of_then
    )
    assert applied[0] == 9
    (saved,) = await db.subscriptions.list_for_channel_of_any_team("C1")
    assert saved.shared_confirmed_at is None  # asked again: nobody confirmed it then
    await db.subscriptions.confirm_shared("T1", "C1")
    (confirmed,) = await db.subscriptions.list_for_channel("T1", "C1")
    assert confirmed.shared_confirmed_at is not None


def router(*events: NewEvent):
    """``route`` for ``resume_catching_up``: the stored events of this test back as recorded."""
    by_key = {e.dedup_key: e for e in events}
    return lambda stored: by_key.get(stored.payload.get("key"))


async def pending_keys(db, channel):
    ob, ev = schema.outbox, schema.events
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(ev.c.dedup_key)
            .join(ob, ob.c.event_id == ev.c.id)
            .where(ob.c.channel_id == channel, ob.c.status == "pending")
            .order_by(ob.c.id)
        )
        return list(rows.scalars())


async def test_a_re_enabled_channel_gets_what_it_missed_once_in_order_and_only_what_it_takes(db):
    paused = await subscribe(db, excludes=["@rival.io"])
    await subscribe(db, channel_id="C2")
    queued = event("queued", thread="t0")
    await db.events.record_many([queued])  # queued for both channels, not yet posted in C1
    assert [s.id for s in await db.subscriptions.pause_channel("T1", "C1", "is archived", error="is_archived")] == [
        paused.id
    ]
    assert await pending_keys(db, "C1") == []
    assert await db.subscriptions.pause_channel("T1", "C1", "is archived", error="is_archived") == []  # told once
    missed = [event("missed-1", thread="t1"), event("rival", email="eve@rival.io", thread="t2"), event("missed-2")]
    await db.events.record_many(missed)

    route = router(queued, *missed)
    done = await asyncio.gather(
        *(db.subscriptions.resume_catching_up([paused.id], not_before=0, most=100, route=route) for _ in range(2))
    )
    assert sorted((d.queued, len(d.resumed)) for d in done) == [(0, 0), (3, 1)]  # one click catches up
    assert await pending_keys(db, "C1") == ["queued", "missed-1", "missed-2"]
    assert await pending_keys(db, "C2") == ["queued", "missed-1", "rival", "missed-2"]
    assert not (await db.subscriptions.get(paused.id)).paused
    again = await db.subscriptions.resume_catching_up([paused.id], not_before=0, most=100, route=route)
    assert (again.queued, again.resumed) == (0, [])


async def test_a_re_enable_leaves_out_what_is_older_than_the_cutoff_or_beyond_the_most_and_counts_it(db):
    subscription = await subscribe(db)
    first = event("first", thread="t0")
    await db.events.record_many([first])
    await db.subscriptions.pause_channel("T1", "C1", "channel not found", error="channel_not_found")
    later = [event(f"later-{n}", thread=f"t{n}") for n in range(1, 4)]
    await db.events.record_many(later)
    async with db.engine.begin() as conn:  # the first two were received long ago
        ev = schema.events
        await conn.execute(
            sa.update(ev).where(ev.c.dedup_key.in_(["first", "later-1"])).values(received_at=time.time() - 30 * DAY)
        )
        await conn.execute(sa.update(ev).where(ev.c.dedup_key == "later-2").values(received_at=time.time() - 2 * DAY))
        await conn.execute(sa.update(schema.subscriptions).values(paused_at=time.time() - 30 * DAY))

    done = await db.subscriptions.resume_catching_up(
        [subscription.id], not_before=time.time() - 7 * DAY, most=1, route=router(first, *later)
    )
    assert (done.queued, done.too_old) == (1, 3)
    assert await pending_keys(db, "C1") == ["later-3"]
    # Counted once: paused and re-enabled again, the old rows are not missed a second time.
    await db.subscriptions.pause_channel("T1", "C1", "channel not found", error="channel_not_found")
    done = await db.subscriptions.resume_catching_up(
        [subscription.id], not_before=time.time() - 7 * DAY, most=100, route=router(first, *later)
    )
    assert (done.queued, done.too_old) == (1, 0)  # later-3, which that pause failed again


async def test_a_re_enable_of_a_job_filtered_channel_reads_a_bounded_number_of_events_and_counts_none_it_did_not(db):
    """Recordings of the workspace wait while a Re-enable reads: a backlog of other jobs' events,
    which only reading tells apart, is not read to its end."""
    subscription = await subscribe(db, job_filter="Barista")
    await db.subscriptions.pause_channel("T1", "C1", "is archived", error="is_archived")
    others = [event(f"chef-{n}", job="Chef", thread=f"c{n}") for n in range(300)]
    await db.events.record_many(others)
    baristas = [event(f"barista-{n}", thread=f"b{n}") for n in range(2)]
    await db.events.record_many(baristas)
    read = []
    route = router(*others, *baristas)

    def counted(stored):
        read.append(stored.id)
        return route(stored)

    done = await db.subscriptions.resume_catching_up([subscription.id], not_before=0, most=10, route=counted)
    assert await pending_keys(db, "C1") == ["barista-0", "barista-1"]
    assert len(read) <= 5 * 10  # CATCH_UP_READ_PAGES pages of ``most``, not the 302 since the pause
    # Unread, the rest may be the channel's job or not: said to exist, not counted as missed.
    assert (done.queued, done.too_old, done.older_uncounted) == (2, 0, True)


async def test_a_card_posted_under_an_older_key_while_its_candidates_next_event_is_recorded_keeps_one_record(
    db, secret_box
):
    from bot.notify.events import wedgehr_event

    def invite_event(invite_id: int, status: str) -> NewEvent:
        invite = {"id": invite_id, "interviewId": 7, "email": "ann@acme.io", "status": status}
        wedge = {"id": 99, "interviewId": 7, "candidateEmail": "ann@acme.io", "completedAt": None}
        return wedgehr_event(
            team_id="T1", connection_id="c1", invite=invite, wedge=wedge, status=status, candidate_tag=secret_box.tag
        )

    await subscribe(db, vendor="wedgehr", events=["canceled", "send_failure"])
    assert await db.events.record(invite_event(1, "canceled"))
    async with db.engine.begin() as conn:  # queued by the release before the candidate key
        await conn.execute(sa.update(schema.outbox).values(thread_key="wedgehr:wedge:99"))
    (item,) = await db.outbox.lease("w1", limit=10, lease_seconds=30, expect_due=True)
    assert item.thread_key == "wedgehr:wedge:99" and item.thread_ts is None
    # While its card is being posted, another process records her next event.
    assert await db.events.record(invite_event(2, "send_failure"))
    await db.outbox.mark_sent(item, "w1", thread=ThreadMessage(ts="100.1", card={"event": "canceled", "as_of": 5}))

    async with db.engine.begin() as conn:  # past the channel's pacing
        await conn.execute(sa.update(schema.channel_leases).values(expires_at=0, next_post_at=0))
    (next_row,) = await db.outbox.lease("w2", limit=10, lease_seconds=30, expect_due=True)
    assert next_row.thread_ts == "100.1"  # a reply in her thread, not a second card
    async with db.engine.begin() as conn:
        keys = (await conn.execute(sa.select(schema.slack_messages.c.thread_key))).scalars().all()
    assert keys == [next_row.thread_key]
