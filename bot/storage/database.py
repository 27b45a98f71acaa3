"""The database: engine set-up for SQLite and PostgreSQL, migrations, repositories."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from slack_sdk.oauth.installation_store.sqlalchemy import (
    AsyncSQLAlchemyInstallationStore,
    SQLAlchemyInstallationStore,
)
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bot.crypto import SecretBox, SecretKeyMismatchError
from bot.errors import BusyError
from bot.settings import Settings
from bot.storage import schema
from bot.storage.installations import PLAINTEXT_PREFIXES, EncryptedInstallationStore, SingleUseOAuthStateStore
from bot.storage.repos import (
    CONNECTIONS_CHANGED,
    AuditRepo,
    ConnectionRepo,
    EventRepo,
    OutboxRepo,
    PollStateRepo,
    SubscriptionRepo,
    ThreadRepo,
)

logger = logging.getLogger(__name__)

#: How often the connection that LISTENs for other processes' changes is checked to be alive.
LISTEN_CHECK_SECONDS = 30.0

BUSY_MESSAGE = "Someone else is making the same change right now. Try again in a minute."
LOCK_POLL_SECONDS = 0.1

# Arbitrary constant: the PostgreSQL advisory lock that serialises migrations.
MIGRATION_LOCK_ID = 7_142_031_118


def _slack_tables(connection: sa.Connection) -> None:
    slack_metadata = sa.MetaData()
    SQLAlchemyInstallationStore.build_installations_table(slack_metadata, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(slack_metadata, "slack_bots")
    AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(slack_metadata, "slack_oauth_states")
    slack_metadata.create_all(connection)


def _v1_initial(connection: sa.Connection) -> None:
    schema.metadata.create_all(connection)
    _slack_tables(connection)


# Ordered, append-only: version N is MIGRATIONS[N-1]. Never edit a released step.
def _v2_wide_token_columns(connection: sa.Connection) -> None:
    """Encrypted tokens are longer than slack-sdk's String(200); SQLite does not enforce lengths."""
    if connection.dialect.name != "postgresql":
        return
    for table in ("slack_installations", "slack_bots"):
        columns = ["bot_token", "bot_refresh_token"]
        if table == "slack_installations":
            columns += ["user_token", "user_refresh_token"]
        for column in columns:
            connection.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE TEXT")


def _v3_outbox_posting_since(connection: sa.Connection) -> None:
    """``outbox.posting_since`` (schema.py). A database made by v1 from this schema has it already."""
    if "posting_since" in {c["name"] for c in sa.inspect(connection).get_columns("outbox")}:
        return
    connection.exec_driver_sql("ALTER TABLE outbox ADD COLUMN posting_since FLOAT")


def _v4_sparkhire_dedup_without_webhook(connection: sa.Connection) -> None:
    """Spark Hire de-duplication keys lose the webhook uuid (bot/notify/events.py).

    ``sparkhire:{connection}:{webhook}:{rest}`` becomes ``sparkhire:{connection}:{rest}`` (the rest
    holds colons of its own: a timestamp). A key the new form already has (the same event through
    two registrations) stays as it was; a hashed key (too long to keep whole) cannot be rewritten.
    """
    events = schema.events
    rows = connection.execute(
        sa.select(events.c.id, events.c.dedup_key).where(events.c.dedup_key.like("sparkhire:%"))
    ).all()
    taken = {key for _, key in rows}
    rewrites = []
    for row_id, key in rows:
        parts = key.split(":", 3)
        if len(parts) < 4:
            continue  # sparkhire:{sha256}
        new_key = f"{parts[0]}:{parts[1]}:{parts[3]}"
        if new_key in taken:
            continue
        rewrites.append({"row_id": row_id, "new_key": new_key})
        taken.add(new_key)
    for start in range(0, len(rewrites), 1000):  # batched: a large install starts in seconds, not minutes
        connection.execute(
            sa.update(events).where(events.c.id == sa.bindparam("row_id")).values(dedup_key=sa.bindparam("new_key")),
            rewrites[start : start + 1000],
        )


def _v5_subscription_paused_at(connection: sa.Connection) -> None:
    """``subscriptions.paused_at`` (schema.py). A database made by v1 from this schema has it already.

    Subscriptions paused before it existed keep NULL: a Re-enable then queues again only the
    deliveries the pause failed, not the events recorded since (their start is unknown).
    """
    _add_column(connection, "subscriptions", "paused_at", "FLOAT")


def _v6_subscription_job_id(connection: sa.Connection) -> None:
    """``subscriptions.job_id`` (schema.py). A database made by v1 from this schema has it already."""
    _add_column(connection, "subscriptions", "job_id", f"VARCHAR({schema.JOB_ID_MAX})")


def _v7_outbox_event_id_index(connection: sa.Connection) -> None:
    """``ix_outbox_event_id`` (schema.py): without it a Re-enable's catch-up scanned the outbox once
    per event it read, holding the write lock for tens of seconds. v1 from this schema made it already."""
    connection.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_outbox_event_id ON outbox (event_id)")


def _v8_subscription_job_named_at(connection: sa.Connection) -> None:
    """``subscriptions.job_named_at`` (schema.py). A database made by v1 from this schema has it already.

    Names stored before it keep NULL: the next Job* event or lookup of the job renames them, as before.
    """
    _add_column(connection, "subscriptions", "job_named_at", "FLOAT")


def _v9_subscription_shared_confirmed_at(connection: sa.Connection) -> None:
    """``subscriptions.shared_confirmed_at`` (schema.py). A database made by v1 from this schema has it
    already. Subscriptions saved before keep NULL: their channel's confirmation, if any, is asked again.
    """
    _add_column(connection, "subscriptions", "shared_confirmed_at", "FLOAT")


def _add_column(connection: sa.Connection, table: str, column: str, ddl_type: str) -> None:
    """Add a column a database made by v1 from the current schema has already."""
    if column not in {c["name"] for c in sa.inspect(connection).get_columns(table)}:
        connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {ddl_type}")


MIGRATIONS: list[Callable[[sa.Connection], None]] = [
    _v1_initial,
    _v2_wide_token_columns,
    _v3_outbox_posting_since,
    _v4_sparkhire_dedup_without_webhook,
    _v5_subscription_paused_at,
    _v6_subscription_job_id,
    _v7_outbox_event_id_index,
    _v8_subscription_job_named_at,
    _v9_subscription_shared_confirmed_at,
]


#: Who "made" the connections copied from ``WEDGEHR_TOKEN`` / ``SPARKHIRE_API_KEY`` (bot/services.py).
ENV_CONNECTED_BY = "environment"


@dataclass(frozen=True)
class SecretsOpened:
    """Of the stored secrets tried, how many a key opened (:meth:`Database.secrets_opened`)."""

    opened: int
    tried: int

    @property
    def all(self) -> bool:
        return self.opened == self.tried


class Database:
    """Storage for one process.

    Args:
        url: SQLAlchemy async URL (``sqlite+aiosqlite:///…`` or ``postgresql+asyncpg://…``).
        secret_box: Encrypts credentials at rest.
        echo: Log SQL (debugging).
        timeout: Seconds to wait for the database, after which the call fails as a database that is
            unavailable: on PostgreSQL to connect, to run one statement, or for a pooled
            connection; on SQLite for the file's write lock (another process holding it).
    """

    def __init__(self, *, url: str, secret_box: SecretBox, echo: bool = False, timeout: float = 15.0) -> None:
        self.url = url
        self.secret_box = secret_box
        self.engine: AsyncEngine = _make_engine(url, echo=echo, timeout=timeout)
        self.writer = BatchWriter(self.engine, timeout=timeout)
        self.connections = ConnectionRepo(self.engine, secret_box)
        self.subscriptions = SubscriptionRepo(self.engine)
        self.events = EventRepo(self.engine, self.writer)
        self.outbox = OutboxRepo(self.engine)
        self.threads = ThreadRepo(self.engine)
        self.audit = AuditRepo(self.engine)
        self.poll_state = PollStateRepo(self.engine)
        self._local_locks: dict[str, asyncio.Lock] = {}
        self._timeout = timeout
        self._following: asyncio.Task[None] | None = None
        #: Called, besides dropping the cached connections, whenever another process changed them.
        self.on_connections_changed: list[Callable[[], None]] = []

    @classmethod
    def for_settings(cls, settings: Settings, *, secret_box: SecretBox | None = None) -> Database:
        """The database ``DATABASE_URL`` names, with the operator's timeout; secrets under ``BOT_SECRET_KEY``."""
        return cls(
            url=settings.sqlalchemy_url,
            secret_box=secret_box or SecretBox(settings.fernet_key()),
            timeout=settings.database_timeout_seconds,
        )

    @property
    def dialect_name(self) -> str:
        return self.engine.dialect.name

    @contextlib.asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[None]:
        """Run the block in one process at a time for ``name``, e.g. a read-then-register.

        On PostgreSQL, shared by several web processes, a session advisory lock (freed by the
        server if the process dies); SQLite serves one process, so a lock in this one suffices.

        Raises:
            BusyError: when another holder kept it past the database timeout (its vendor calls can
                take that long). Not an outage: retrying later will work.
        """
        deadline = time.monotonic() + self._timeout
        lock = self._local_locks.setdefault(name, asyncio.Lock())
        # Polled rather than queued on: a wait that gives up must leave nothing behind in the lock.
        while lock.locked():
            if time.monotonic() >= deadline:
                raise BusyError(BUSY_MESSAGE)
            await asyncio.sleep(LOCK_POLL_SECONDS)
        async with lock:
            if self.dialect_name != "postgresql":
                yield
                return
            key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
            async with self.engine.connect() as conn:
                while not (await conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key})).scalar():
                    await conn.commit()  # the lock belongs to the session: no transaction stays open
                    if time.monotonic() >= deadline:
                        raise BusyError(BUSY_MESSAGE)
                    await asyncio.sleep(LOCK_POLL_SECONDS)
                await conn.commit()
                try:
                    yield
                finally:
                    try:
                        await conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                        await conn.commit()
                    except BaseException:
                        # Never back to the pool still holding the lock: closing the session frees it.
                        await conn.invalidate()
                        raise

    async def migrate(self, *, applied: list[int] | None = None) -> int:
        """Apply pending migrations; returns the schema version (above :meth:`latest_schema_version`
        when a newer release migrated the database). Safe to run concurrently.

        Args:
            applied: Given, the versions this call applied are appended to it.
        """
        async with self.engine.begin() as conn:
            if self.dialect_name == "postgresql":
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            await conn.run_sync(lambda c: schema.schema_version.create(c, checkfirst=True))
            current = (await conn.execute(sa.select(sa.func.max(schema.schema_version.c.version)))).scalar() or 0
            for version in range(current + 1, len(MIGRATIONS) + 1):
                logger.info("Applying database migration %d", version)
                await conn.run_sync(MIGRATIONS[version - 1])
                await conn.execute(schema.schema_version.insert().values(version=version, applied_at=time.time()))
                if applied is not None:
                    applied.append(version)
            return max(current, len(MIGRATIONS))

    async def schema_version(self) -> int:
        """The version the schema is at, 0 if it was never migrated; creates and changes nothing."""
        # A read: on SQLite it must not take the write lock from a running bot.
        async with self.engine.execution_options(interview_bot_read_only=True).connect() as conn:
            table = schema.schema_version.name
            if not await conn.run_sync(lambda sync: sa.inspect(sync).has_table(table)):
                return 0
            return (await conn.execute(sa.select(sa.func.max(schema.schema_version.c.version)))).scalar() or 0

    @staticmethod
    def latest_schema_version() -> int:
        """The version :meth:`migrate` brings the schema to."""
        return len(MIGRATIONS)

    async def secrets_opened(
        self,
        box: SecretBox | None = None,
        *,
        slack_client_id: str | None = None,
        resealed_vendors: frozenset[str] = frozenset(),
        most: int | None = None,
    ) -> SecretsOpened:
        """How many stored secrets ``box`` (default: this database's key) opens; reads, writes nothing.

        The secrets are each vendor credential and Spark Hire webhook password, and with
        ``slack_client_id`` (OAuth mode) each workspace's bot token.

        Args:
            box: The key to try.
            slack_client_id: The Slack app whose installations' tokens are tried too.
            resealed_vendors: Vendors whose copies from the environment the start saves again under
                the current key (their variable is set): left out, whatever key sealed them.
            most: At most this many of each kind, the latest first (a start tries a few, doctor all).
        """
        box = box or self.secret_box
        c = schema.connections
        queries = [
            sa.select(c.c.credential).where(
                sa.not_(sa.and_(c.c.connected_by == ENV_CONNECTED_BY, c.c.vendor.in_(sorted(resealed_vendors))))
            ),
            sa.select(c.c.webhook_auth).where(c.c.webhook_auth.is_not(None)),
        ]
        queries = [q.order_by(c.c.updated_at.desc()) for q in queries]
        if slack_client_id is not None:
            bots = AsyncSQLAlchemyInstallationStore(client_id=slack_client_id, engine=self.engine).bots
            queries.append(
                sa.select(bots.c.bot_token)
                .where(bots.c.client_id == slack_client_id, bots.c.bot_token.is_not(None))
                .order_by(bots.c.installed_at.desc())
            )
        sealed: list[str] = []
        # A read: on SQLite it must not take the write lock from a running bot.
        async with self.engine.execution_options(interview_bot_read_only=True).connect() as conn:
            for query in queries:
                rows = (await conn.execute(query.limit(most) if most is not None else query)).scalars()
                # Slack tokens saved before encryption was added are stored as they are: no key needed.
                sealed += [value for value in rows if value and not value.startswith(PLAINTEXT_PREFIXES)]
        opened = 0
        for value in sealed:
            try:
                box.decrypt(value)
            except SecretKeyMismatchError:
                continue
            opened += 1
        return SecretsOpened(opened=opened, tried=len(sealed))

    def follow_changes(self) -> None:
        """On PostgreSQL, from now until :meth:`aclose`, drop the cached connections (keys, tokens,
        webhook passwords) whenever any process writes them: a key disconnected or replaced through
        another process is then not used here for the seconds the cache would have lasted.

        A connection of its own LISTENs; while it is lost, the caches only expire (seconds), and
        are dropped once it is back, for what was missed meanwhile.
        """
        if self.dialect_name == "postgresql" and self._following is None:
            self._following = asyncio.create_task(self._follow_changes(), name="follow-connection-changes")

    def _connections_changed(self, *_: Any) -> None:
        self.connections.forget()
        for callback in self.on_connections_changed:
            callback()

    async def _follow_changes(self) -> None:
        delay = 1.0
        while True:
            try:
                async with self.engine.connect() as conn:
                    driver = (await conn.get_raw_connection()).driver_connection
                    try:
                        await driver.add_listener(CONNECTIONS_CHANGED, self._connections_changed)
                        self._connections_changed()  # what changed while nobody here listened
                        delay = 1.0
                        while True:  # a connection the server or network dropped is noticed, and replaced
                            await asyncio.sleep(LISTEN_CHECK_SECONDS)
                            await driver.execute("SELECT 1", timeout=self._timeout)
                    finally:
                        # Never back to the pool still listening: closing the session ends it.
                        await conn.invalidate()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning(
                    "Not following other processes' changes of the vendor connections (%s); retrying in %g s",
                    type(exc).__name__,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    def installation_store(self, client_id: str) -> EncryptedInstallationStore:
        """slack-sdk's installation store on our engine (tables made by our migrations), tokens encrypted."""
        return EncryptedInstallationStore(
            inner=AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=self.engine), box=self.secret_box
        )

    def oauth_state_store(self, expiration_seconds: int = 600) -> SingleUseOAuthStateStore:
        return SingleUseOAuthStateStore(expiration_seconds=expiration_seconds, engine=self.engine)

    async def delete_expired_oauth_states(self) -> int:
        """Delete the OAuth states past their expiry; how many went.

        slack-sdk deletes a state only when an install completes with it; one for each install page
        never followed (anyone may load it) would stay for good.
        """
        table = self.oauth_state_store().oauth_states
        # The same clock and column format slack-sdk compares with when it consumes a state.
        now = normalize_datetime_for_db(datetime.now(tz=UTC))
        async with self.engine.begin() as conn:
            result = await conn.execute(table.delete().where(table.c.expire_at <= now))
        return result.rowcount or 0

    async def aclose(self) -> None:
        if self._following is not None:
            self._following.cancel()
            await asyncio.gather(self._following, return_exceptions=True)
            self._following = None
        await self.writer.aclose()
        await self.engine.dispose()


T = TypeVar("T")


class BatchWriter:
    """Runs a synchronous function in one write transaction: the hot write path (webhook batches).

    On a SQLite file it runs on a thread of its own with a plain ``sqlite3`` connection, so a
    whole batch (BEGIN, inserts, select, COMMIT) is one hop from the event loop. Through aiosqlite
    every cursor call is a hop, about 17 per batch, and each waits for the busy event loop to
    notice it: most of a batch's time in the ingest profile. Elsewhere (PostgreSQL, in-memory
    SQLite) it is ``AsyncConnection.run_sync`` on the async engine.

    Args:
        engine: The async engine whose database to write.
        timeout: Seconds to wait for SQLite's write lock.
    """

    def __init__(self, engine: AsyncEngine, *, timeout: float = 15.0) -> None:
        self._async_engine = engine
        self._sync_engine: sa.Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            self._sync_engine = sa.create_engine(
                url.set(drivername="sqlite"),
                connect_args={"timeout": timeout, "check_same_thread": False},
                poolclass=StaticPool,  # the one writer thread, the one connection
            )
            _configure_sqlite(self._sync_engine, busy_timeout=timeout)
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)`` inside one transaction; committed when it returns."""
        if self._sync_engine is None:
            async with self._async_engine.begin() as conn:
                return await conn.run_sync(fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._transact, fn, args)

    def _transact(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        assert self._sync_engine is not None
        with self._sync_engine.begin() as conn:
            return fn(conn, *args)

    async def aclose(self) -> None:
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.shutdown)
        if self._sync_engine is not None:
            self._sync_engine.dispose()


def _make_engine(url: str, *, echo: bool, timeout: float) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": timeout})
        _configure_sqlite(engine.sync_engine, busy_timeout=timeout)
        return engine
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        pool_timeout=timeout,
        # A server that stops answering keeps the connection open; asyncpg would wait forever.
        connect_args={"timeout": timeout, "command_timeout": timeout},
    )

    @event.listens_for(engine.sync_engine, "handle_error")
    def _statement_timeout(context: sa.engine.ExceptionContext) -> None:
        # asyncpg raises a bare TimeoutError when a statement outlives command_timeout. As an
        # OperationalError, on a connection SQLAlchemy then discards, it reads as what it is: a
        # database that is unavailable, and the half-finished exchange is never reused.
        if isinstance(context.original_exception, TimeoutError):
            context.is_disconnect = True
            raise sa.exc.OperationalError(
                context.statement, context.parameters, context.original_exception
            ) from context.original_exception

    return engine


def _configure_sqlite(engine: sa.Engine, *, busy_timeout: float) -> None:
    """WAL, a busy timeout, and BEGIN IMMEDIATE so writers queue instead of failing.

    pysqlite/aiosqlite defer BEGIN until the first write, which turns concurrent
    read-then-write transactions (leases, migrations) into 'database is locked';
    taking the write lock at BEGIN serialises them like PostgreSQL row locks would.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Writers of this process queue on the lock for milliseconds; a wait this long means another
        # process holds the file, and the caller is better told (a webhook's 503) than kept waiting.
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        # Switching to WAL needs a moment alone with the file; two processes starting
        # together can see SQLITE_BUSY here even with a busy timeout, so retry briefly.
        for attempt in range(50):
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                break
            except Exception as exc:  # the driver's OperationalError, wrapped by the adapter
                if "locked" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.05)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        # Reads (repos' READ_ONLY connections) must not queue on the write lock.
        conn.exec_driver_sql(
            "BEGIN" if conn.get_execution_options().get("interview_bot_read_only") else "BEGIN IMMEDIATE"
        )


__all__ = ["MIGRATIONS", "AsyncConnection", "BatchWriter", "Database"]
