"""Repositories: small typed operations over the tables, returning frozen dataclasses."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Hashable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.crypto import SecretBox, SecretKeyMismatchError, constant_time_equals
from bot.errors import ConnectionGoneError
from bot.storage import schema

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.storage.database import BatchWriter

#: Outbox statuses a row never leaves: the worker posted it, skipped it, or gave up on it.
FINISHED_STATUSES = ("sent", "skipped", "failed")
#: What an event's payload becomes once no delivery needs it (the row and its dedup_key stay).
PURGED_PAYLOAD_JSON = "{}"
#: Rows per statement when purging: a first purge of a large old database holds SQLite's write lock
#: for milliseconds at a time, never for the whole job.
PURGE_BATCH_SIZE = 2000


#: Execution options of read-only work: on SQLite it begins a deferred transaction, which under WAL
#: neither waits for nor blocks the writer (writes take the write lock at BEGIN IMMEDIATE).
READ_ONLY = {"interview_bot_read_only": True}


class _Repo:
    """A repository: writes through the engine, reads through its read-only view."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reads = engine.execution_options(**READ_ONLY)


def _insert(conn: AsyncConnection | sa.Connection, table: sa.Table):
    """Dialect-specific INSERT (both support ON CONFLICT … RETURNING)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# -- connections ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Connection:
    """A vendor account connected in a workspace, or by one user."""

    id: str
    team_id: str
    vendor: str
    scope: str
    user_id: str | None
    credential: SecretStr = field(repr=False)
    environment: str | None
    account_label: str
    connected_by: str
    webhook_uuid: str | None
    has_webhook_auth: bool
    created_at: float
    #: False when the current BOT_SECRET_KEY cannot read the credential (listed, never used).
    readable: bool = True


_ResolveKey = tuple[str, str, str | None]

#: How long a resolved connection is reused without reading it again. Every Slack flow resolves
#: one or two; a change made by this process is seen at once, one made by another within this long
#: (plus at most RESOLVE_STALE_SECONDS, see below).
RESOLVE_CACHE_SECONDS = 5.0
#: For this long after that, the old answer is still given while one read refreshes it in the
#: background: under load no request waits for the refresh, and none starts a read of its own.
RESOLVE_STALE_SECONDS = 5.0
#: The PostgreSQL notification channel a write of the connections signals on: every process sharing
#: the database drops its cached answers at once (``Database.follow_changes``), so a key disconnected
#: or replaced through one process is not used by another for the seconds its cache would last.
CONNECTIONS_CHANGED = "interview_bot_connections_changed"
#: How long a webhook password that matched is trusted without reading it again.
WEBHOOK_AUTH_CACHE_SECONDS = 30.0
#: A password that matches nothing cached is checked against the database, at most this often per
#: connection: a webhook registered again (with a new password) by another process is accepted
#: within this long, and a sender guessing passwords costs one read a second, not one per request.
WEBHOOK_AUTH_RECHECK_SECONDS = 1.0
#: Cached answers kept at most, per cache. Webhook misses (unknown connection ids, which anyone may
#: send) have a cache of their own, bounded by dropping its oldest: they never evict a real
#: connection's answer.
MAX_CACHED_ANSWERS = 10_000

_Key = TypeVar("_Key", bound=Hashable)
_Value = TypeVar("_Value")


class _SingleFlight(Generic[_Key, _Value]):
    """At most one read per key at a time: callers that arrive while it runs share its result.

    Callers should ``asyncio.shield`` the future, so that one giving up (its request cancelled) does
    not cancel the others' read.
    """

    def __init__(self) -> None:
        self._running: dict[_Key, asyncio.Future[_Value]] = {}

    def __call__(self, key: _Key, read: Callable[[], Coroutine[Any, Any, _Value]]) -> asyncio.Future[_Value]:
        running = self._running.get(key)
        if running is None:
            running = self._running[key] = asyncio.ensure_future(read())
            running.add_done_callback(partial(self._finished, key))
        return running

    def _finished(self, key: _Key, done: asyncio.Future[_Value]) -> None:
        if self._running.get(key) is done:
            del self._running[key]
        if not done.cancelled():
            done.exception()  # retrieved: waiters report it, and a read nobody waits for must not log it

    def clear(self) -> None:
        """New callers start a new read (the running ones still answer their own waiters)."""
        self._running.clear()


#: Ids are ``secrets.token_hex(16)``, in a column no longer than this: a longer one is unknown unread.
_CONNECTION_ID_LENGTH = schema.connections.c.id.type.length


class ConnectionRepo(_Repo):
    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        super().__init__(engine)
        self._box = box
        self.fresh_seconds = RESOLVE_CACHE_SECONDS
        self.stale_seconds = RESOLVE_STALE_SECONDS
        self.webhook_auth_trust_seconds = WEBHOOK_AUTH_CACHE_SECONDS
        self.webhook_auth_recheck_seconds = WEBHOOK_AUTH_RECHECK_SECONDS
        self._resolved: dict[_ResolveKey, tuple[float, Connection | None]] = {}
        # One read per key at a time: the requests that find nothing cached wait for the same read
        # instead of each starting its own (a burst of identical reads on a cold cache).
        self._resolving: _SingleFlight[_ResolveKey, Connection | None] = _SingleFlight()
        # connection id -> (when read, (connection, "user:pass")): connections that have a password.
        self._webhook_auths: dict[str, tuple[float, tuple[Connection, str]]] = {}
        # connection id -> when read: ids with no readable password (unknown ones, in any number).
        self._webhook_misses: dict[str, float] = {}
        self._reading_webhook_auth: _SingleFlight[str, tuple[Connection, str] | None] = _SingleFlight()
        self._generation = 0

    def _forget(self) -> None:
        self._resolved.clear()
        self._webhook_auths.clear()
        self._webhook_misses.clear()  # a connection (or password) just written must work at once
        # A read begun before a write must not answer requests made after it.
        self._resolving.clear()
        self._reading_webhook_auth.clear()
        self._generation += 1

    def forget(self) -> None:
        """Drop every cached answer: another process changed the connections (``Database.follow_changes``)."""
        self._forget()

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction; resolutions cached before or during it are dropped, in this process
        and (PostgreSQL: told when it commits) in every other one sharing the database."""
        self._forget()
        try:
            async with self._engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    await conn.execute(sa.text("SELECT pg_notify(:channel, '')"), {"channel": CONNECTIONS_CHANGED})
                yield conn
        finally:
            self._forget()

    def _row(self, row: sa.Row, *, strict: bool = True) -> Connection:
        """``strict=False``: a credential saved under another key is listed as unreadable, not raised."""
        readable = True
        try:
            credential = self._box.decrypt(row.credential)
        except SecretKeyMismatchError:
            if strict:
                raise
            credential, readable = "", False
        return Connection(
            readable=readable,
            id=row.id,
            team_id=row.team_id,
            vendor=row.vendor,
            scope=row.scope,
            user_id=row.user_id or None,
            credential=SecretStr(credential),
            environment=row.environment,
            account_label=row.account_label,
            connected_by=row.connected_by,
            webhook_uuid=row.webhook_uuid,
            has_webhook_auth=row.webhook_auth is not None,
            created_at=row.created_at,
        )

    async def _upsert(
        self,
        team_id: str,
        vendor: str,
        scope: str,
        user_id: str,
        credential: str,
        *,
        account_label: str,
        connected_by: str,
        environment: str | None,
    ) -> Connection:
        now = time.time()
        t = schema.connections
        async with self._write() as conn:
            stmt = _insert(conn, t).values(
                id=secrets.token_hex(16),
                team_id=team_id,
                vendor=vendor,
                scope=scope,
                user_id=user_id,
                credential=self._box.encrypt(credential),
                environment=environment,
                account_label=account_label,
                connected_by=connected_by,
                created_at=now,
                updated_at=now,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["team_id", "vendor", "scope", "user_id"],
                set_={
                    "credential": stmt.excluded.credential,
                    "environment": stmt.excluded.environment,
                    "account_label": stmt.excluded.account_label,
                    "connected_by": stmt.excluded.connected_by,
                    "updated_at": now,
                },
            ).returning(*t.c)
            row = (await conn.execute(stmt)).one()
        return self._row(row)

    async def upsert_workspace(
        self,
        team_id: str,
        vendor: str,
        credential: str,
        *,
        account_label: str,
        connected_by: str,
        environment: str | None = None,
    ) -> Connection:
        """Set the workspace's credential for a vendor (replacing any previous one)."""
        return await self._upsert(
            team_id,
            vendor,
            "workspace",
            "",
            credential,
            account_label=account_label,
            connected_by=connected_by,
            environment=environment,
        )

    async def upsert_user(
        self,
        team_id: str,
        user_id: str,
        vendor: str,
        credential: str,
        *,
        account_label: str,
    ) -> Connection:
        """Set one user's own credential (Spark Hire keys are per user)."""
        return await self._upsert(
            team_id,
            vendor,
            "user",
            user_id,
            credential,
            account_label=account_label,
            connected_by=user_id,
            environment=None,
        )

    async def get(self, connection_id: str, *, strict: bool = True) -> Connection | None:
        """``strict=False``: one whose credential another key sealed comes back unreadable, not raised."""
        async with self._reads.connect() as conn:
            row = (
                await conn.execute(sa.select(schema.connections).where(schema.connections.c.id == connection_id))
            ).first()
        return self._row(row, strict=strict) if row else None

    async def resolve(self, team_id: str, vendor: str, user_id: str | None = None) -> Connection | None:
        """The user's own connection, else the workspace's, else None (cached briefly)."""
        key = (team_id, vendor, user_id)
        cached = self._resolved.get(key)
        if cached is not None:
            fresh_until, connection = cached
            now = time.monotonic()
            if now < fresh_until:
                return connection
            if now < fresh_until + self.stale_seconds:
                self._read(key)  # refreshed in the background; this request goes on with what it has
                return connection
        # Shielded: one waiter giving up (its request cancelled) must not cancel the others' read.
        return await asyncio.shield(self._read(key))

    def _read(self, key: _ResolveKey) -> asyncio.Future[Connection | None]:
        return self._resolving(key, partial(self._resolve_and_cache, key))

    async def _resolve_and_cache(self, key: _ResolveKey) -> Connection | None:
        generation = self._generation
        try:
            connection = await self._resolve(*key)
        except Exception as error:
            # Waiters get the error themselves; a refresh nobody waits for keeps the old answer until
            # the stale window closes, after which the next request reads (and reports) again.
            logger.warning("Reading vendor connections failed (%s); will read again", type(error).__name__)
            raise
        if generation == self._generation:  # no write of ours overlapped the read
            if len(self._resolved) > MAX_CACHED_ANSWERS:
                self._resolved.clear()
            self._resolved[key] = (time.monotonic() + self.fresh_seconds, connection)
        return connection

    async def _resolve(self, team_id: str, vendor: str, user_id: str | None) -> Connection | None:
        t = schema.connections
        async with self._reads.connect() as conn:
            rows = (await conn.execute(sa.select(t).where(t.c.team_id == team_id, t.c.vendor == vendor))).all()
        own = [r for r in rows if r.scope == "user" and user_id and r.user_id == user_id]
        workspace = [r for r in rows if r.scope == "workspace"]
        chosen = (own or workspace or [None])[0]
        return self._row(chosen) if chosen is not None else None

    async def list_for_team(self, team_id: str) -> list[Connection]:
        t = schema.connections
        async with self._reads.connect() as conn:
            rows = (await conn.execute(sa.select(t).where(t.c.team_id == team_id).order_by(t.c.created_at))).all()
        # Listing must survive a credential another key sealed: App Home, /interview connect (the way
        # to replace it) and uninstall all start here.
        return [self._row(r, strict=False) for r in rows]

    async def list_connected_by(self, connected_by: str) -> list[Connection]:
        """The connections ``connected_by`` made (e.g. copied from the environment), readable or not."""
        t = schema.connections
        async with self._reads.connect() as conn:
            rows = (await conn.execute(sa.select(t).where(t.c.connected_by == connected_by))).all()
        return [self._row(r, strict=False) for r in rows]

    async def delete(self, connection_id: str) -> None:
        """Delete a connection and, in the same transaction, its WedgeHR poll state: nothing polls it again."""
        async with self._write() as conn:
            await conn.execute(sa.delete(schema.connections).where(schema.connections.c.id == connection_id))
            await conn.execute(sa.delete(schema.poll_state).where(schema.poll_state.c.connection_id == connection_id))

    async def set_webhook(self, connection_id: str, *, webhook_uuid: str | None, webhook_auth: str) -> None:
        """Store the webhook's password (and, once Spark Hire has answered, its registration)."""
        async with self._write() as conn:
            await conn.execute(
                sa.update(schema.connections)
                .where(schema.connections.c.id == connection_id)
                .values(
                    webhook_uuid=webhook_uuid,
                    webhook_auth=self._box.encrypt(webhook_auth),
                    updated_at=time.time(),
                )
            )

    async def clear_webhook(self, connection_id: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                sa.update(schema.connections)
                .where(schema.connections.c.id == connection_id)
                .values(webhook_uuid=None, webhook_auth=None, updated_at=time.time())
            )

    async def has_webhook_auth(self, connection_id: str) -> bool:
        """Whether the connection has webhook credentials stored (readable or not)."""
        t = schema.connections
        async with self._reads.connect() as conn:
            stored = (await conn.execute(sa.select(t.c.webhook_auth).where(t.c.id == connection_id))).scalar()
        return stored is not None

    async def webhook_auth(self, connection_id: str) -> tuple[Connection, str] | None:
        """The connection and its webhook ``user:pass`` (decrypted), if it has one."""
        t = schema.connections
        async with self._reads.connect() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.id == connection_id))).first()
        if row is None or row.webhook_auth is None:
            return None
        try:
            return self._row(row), self._box.decrypt(row.webhook_auth)
        except SecretKeyMismatchError:
            # Saved under another BOT_SECRET_KEY: no delivery can be checked, so each gets 401 (not a
            # 500); `/interview subscribe` registers the webhook again with a password this key reads.
            logger.error(
                "The Spark Hire webhook password of connection %s was saved under another BOT_SECRET_KEY; "
                "run /interview subscribe in a subscribed channel to register the webhook again",
                connection_id,
            )
            return None

    async def webhook_auth_readable(self, connection_id: str) -> bool:
        """False when the connection's webhook password was saved under another BOT_SECRET_KEY."""
        t = schema.connections
        async with self._reads.connect() as conn:
            stored = (await conn.execute(sa.select(t.c.webhook_auth).where(t.c.id == connection_id))).scalar()
        if stored is None:
            return True
        try:
            self._box.decrypt(stored)
        except SecretKeyMismatchError:
            return False
        return True

    async def verify_webhook_auth(self, connection_id: str, presented: str) -> Connection | None:
        """The connection when ``presented`` equals its webhook ``user:pass`` (constant time).

        Every delivery asks, so answers are cached: a password that matched for
        WEBHOOK_AUTH_CACHE_SECONDS, anything else (a wrong password, an unknown connection) for
        WEBHOOK_AUTH_RECHECK_SECONDS. A write by this process drops the cache at once. Unknown
        connection ids are cached apart, so that any number of them evicts no real connection's answer.
        """
        now = time.monotonic()
        cached = self._webhook_auths.get(connection_id)
        if cached is not None:
            read_at, found = cached
            connection = _matching(found, presented)
            trusted_for = self.webhook_auth_trust_seconds if connection else self.webhook_auth_recheck_seconds
            if now - read_at < trusted_for:
                return connection
        else:
            missed_at = self._webhook_misses.get(connection_id)
            if missed_at is not None and now - missed_at < self.webhook_auth_recheck_seconds:
                return _matching(None, presented)
        if len(connection_id) > _CONNECTION_ID_LENGTH or "\x00" in connection_id:
            # No connection has such an id: nothing to read, or cache (PostgreSQL refuses a NUL outright).
            return _matching(None, presented)
        reading = self._reading_webhook_auth(connection_id, partial(self._webhook_auth_and_cache, connection_id))
        return _matching(await asyncio.shield(reading), presented)

    async def _webhook_auth_and_cache(self, connection_id: str) -> tuple[Connection, str] | None:
        generation = self._generation
        found = await self.webhook_auth(connection_id)
        if generation == self._generation:
            if found is None:
                self._webhook_auths.pop(connection_id, None)
                self._webhook_misses.pop(connection_id, None)  # re-inserted last: dropped last
                while len(self._webhook_misses) >= MAX_CACHED_ANSWERS:
                    del self._webhook_misses[next(iter(self._webhook_misses))]  # the oldest
                self._webhook_misses[connection_id] = time.monotonic()
            else:
                self._webhook_misses.pop(connection_id, None)
                # Only connections with a password come here: outsiders cannot fill this map.
                if len(self._webhook_auths) >= MAX_CACHED_ANSWERS and connection_id not in self._webhook_auths:
                    self._webhook_auths.clear()
                self._webhook_auths[connection_id] = (time.monotonic(), found)
        return found


def _matching(found: tuple[Connection, str] | None, presented: str) -> Connection | None:
    """The connection if ``presented`` is its password; the same work whether or not it exists."""
    expected = found[1] if found else "\0" * max(1, len(presented))
    matches = constant_time_equals(presented, expected)
    return found[0] if matches and found else None


# -- subscriptions --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Subscription:
    id: int
    team_id: str
    channel_id: str
    vendor: str
    events: tuple[str, ...]
    job_filter: str | None
    excludes: tuple[str, ...]
    compact: bool
    connection_id: str | None
    created_by: str
    paused: bool
    paused_reason: str | None
    created_at: float
    #: When it was paused (None while active, and for pauses recorded before the column existed).
    paused_at: float | None = None
    #: The vendor's id of the job ``job_filter`` names, when subscribe found it at the vendor.
    job_id: str | None = None
    #: When the job had the name ``job_filter`` shows (None: not known): only a newer name replaces it.
    job_named_at: float | None = None
    #: When `subscribe … shared` confirmed its channel may be read by another organisation.
    shared_confirmed_at: float | None = None

    def matches(
        self,
        event: str,
        *,
        job_name: str | None = None,
        job_id: str | None = None,
        candidate_email: str | None = None,
        deferred: bool = False,
    ) -> bool:
        """Whether an event passes this subscription's event, job and exclude filters.

        ``deferred``: the event does not say its job or candidate yet (a rating); only the event
        filter applies now, the others once the worker has fetched the interview.
        """
        if self.paused or event not in self.events:
            return False
        if deferred:
            return True
        if self.job_filter and not self._job_matches(job_name, job_id):
            return False
        if candidate_email:
            email = candidate_email.casefold()
            domain = email.rpartition("@")[2]
            for exclude in self.excludes:
                ex = exclude.casefold()
                if ex == email or (ex.startswith("@") and ex[1:] == domain):
                    return False
        return True

    def _job_matches(self, job_name: str | None, job_id: str | None) -> bool:
        """The job filter: by the job's id when subscribe found it (a job renamed at the vendor is
        still the job, and another job given its old name is not), else by name or id as typed."""
        if self.job_id and job_id:
            return str(job_id).casefold() == self.job_id.casefold()
        wanted = (self.job_filter or "").casefold()
        return wanted in {str(v).casefold() for v in (job_name, job_id) if v}

    def takes(self, event: NewEvent) -> bool:
        """Whether this subscription gets ``event``: its team, vendor and connection, then :meth:`matches`."""
        if self.team_id != event.team_id or self.vendor != event.vendor:
            return False
        if event.connection_id and self.connection_id and self.connection_id != event.connection_id:
            return False
        return self.matches(
            event.event_type,
            job_name=event.job_name,
            job_id=event.job_id,
            candidate_email=event.candidate_email,
            deferred=event.filters_deferred,
        )

    @property
    def has_filters(self) -> bool:
        return bool(self.job_filter or self.excludes)


def _subscription(row: sa.Row) -> Subscription:
    return Subscription(
        id=row.id,
        team_id=row.team_id,
        channel_id=row.channel_id,
        vendor=row.vendor,
        events=tuple(row.events or ()),
        job_filter=row.job_filter,
        excludes=tuple(row.excludes or ()),
        compact=bool(row.compact),
        connection_id=row.connection_id,
        created_by=row.created_by,
        paused=bool(row.paused),
        paused_reason=row.paused_reason,
        created_at=row.created_at,
        paused_at=row.paused_at,
        job_id=row.job_id,
        job_named_at=row.job_named_at,
        shared_confirmed_at=row.shared_confirmed_at,
    )


def _heir(heirs: Sequence[Subscription], event_type: str, connection_id: str | None) -> Subscription | None:
    """The first of a channel's other active subscriptions that takes a row its own no longer does.

    Its filters are not checked again: better a post it might have filtered out than one it
    wanted lost.
    """
    for heir in heirs:
        if event_type in heir.events and not (
            connection_id and heir.connection_id and heir.connection_id != connection_id
        ):
            return heir
    return None


def _handed_to(heir: Subscription, payload: dict[str, Any] | None, *, gone_id: int) -> dict[str, Any]:
    """A pending row's own payload once ``heir`` takes it over from subscription ``gone_id``."""
    payload = {**(payload or {}), "compact": heir.compact}
    if payload.get("filters_deferred"):  # a rating whose filters the worker checks
        if heir.has_filters:
            kept = [i for i in payload.get("subscription_ids", []) if i != gone_id]
            payload["subscription_ids"] = [*kept, heir.id] if heir.id not in kept else kept
        else:  # the heir takes it whatever its job and candidate
            payload.pop("filters_deferred")
            payload.pop("subscription_ids", None)
    return payload


async def _heirs_of(
    conn: AsyncConnection, *, team_id: str, channel_id: str, vendor: str, gone_id: int
) -> list[Subscription]:
    t = schema.subscriptions
    rows = await conn.execute(
        sa.select(t)
        .where(
            t.c.team_id == team_id,
            t.c.channel_id == channel_id,
            t.c.vendor == vendor,
            t.c.paused == sa.false(),
            t.c.id != gone_id,
        )
        .order_by(t.c.id)
    )
    return [_subscription(r) for r in rows]


#: How the outbox rows a pause stopped are marked (``last_error``): a Re-enable queues them again.
PAUSED_ROWS = "subscription paused: "
#: What such a row says once a Re-enable found it too old to post.
TOO_OLD_TO_CATCH_UP = "missed while its subscription was paused; too old to post when it was re-enabled"
#: Why the worker skips a rating once it has fetched its interview (``last_error``): the filters of
#: the subscriptions its row was checked against refused it, or it could not be checked. Nothing is
#: in the channel: a subscription paused meanwhile, not checked, still takes it on Re-enable.
DEFERRED_FILTERS_REFUSED = "filtered out by the channel's job and exclude filters, or its subscriptions were removed"
DEFERRED_FILTERS_UNCHECKED = "its interview could not be fetched to check the filters"
#: Events recorded this long before a pause's recorded start are still looked at when catching up
#: (the processes' clocks may differ); those the channel already has are left out whatever their time.
PAUSE_CLOCK_MARGIN_SECONDS = 60.0
#: Arbitrary constant (an int4): the class of the PostgreSQL advisory locks, one per workspace
#: (``hashtext(team_id)``), a recording of events holds shared from before it reads the subscriptions
#: until it commits, and a re-enable exclusive (``resume_catching_up``).
RECORDING_LOCK_CLASS = 714_203_111
#: A catch-up reads at most this many times ``most`` events that may post (the page it is on
#: finishes): a job or exclude filter may leave most of them out, and recordings of the workspace
#: wait for it. What lies beyond is said to exist, not counted.
CATCH_UP_READ_PAGES = 5
#: Older events a catch-up counts exactly, at most; beyond, it says "some".
CATCH_UP_COUNT_MOST = 10_000


def _recording_locks(dialect: str, team_ids: Iterable[str], *, shared: bool) -> list[sa.TextClause]:
    """The statements taking each workspace's recording lock until the transaction ends, in sorted
    order (two transactions taking several never wait for each other in a circle). None on SQLite,
    whose write transactions (BEGIN IMMEDIATE) already exclude each other."""
    if dialect != "postgresql":
        return []
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    statement = sa.text(f"SELECT {function}(:lock_class, hashtext(:team_id))")
    return [statement.bindparams(lock_class=RECORDING_LOCK_CLASS, team_id=t) for t in sorted(set(team_ids))]


def _paused_since(now: float) -> Any:
    """``paused_at`` on pausing: now, or when the pause began if it is paused already."""
    t = schema.subscriptions
    return sa.case((t.c.paused == sa.true(), sa.func.coalesce(t.c.paused_at, now)), else_=now)


@dataclass(frozen=True, kw_only=True)
class StoredEvent:
    """A recorded event, as ``SubscriptionRepo.resume_catching_up`` hands it to its ``route``."""

    id: int
    team_id: str
    vendor: str
    event_type: str
    payload: dict[str, Any]
    received_at: float


@dataclass(frozen=True, kw_only=True)
class CatchUp:
    """What ``SubscriptionRepo.resume_catching_up`` did."""

    #: The subscriptions it re-enabled, as they were (paused): another request may have done the rest.
    resumed: list[Subscription]
    #: Deliveries queued: those the pause stopped and the events recorded while paused.
    queued: int
    #: Missed, but not queued: recorded before ``not_before``, beyond the ``most`` newest, or
    #: their details already purged.
    too_old: int
    #: Older ones than ``too_old`` counts may have been missed too, how many is not known: events it
    #: did not read of subscriptions with a job or exclude filter (checked only once read), or more
    #: than a catch-up reads or counts.
    older_uncounted: bool = False


class _Missed(NamedTuple):
    """What a catch-up may queue, in the order it would have been posted."""

    received_at: float
    event_id: int
    #: A row the pause failed, queued again; None for an event read that was never queued.
    failed_row: int | None
    #: The outbox rows such an event gets (none for a failed row).
    rows: list[dict[str, Any]]
    #: The event routed again (None for a failed row): its thread may continue a legacy key's card.
    event: NewEvent | None = None


@dataclass(frozen=True, kw_only=True)
class _EventsRead:
    """What ``_read_missed_events`` read: the events that would post, and how far it went."""

    missed: list[_Missed]
    #: The (received_at, id) of the oldest event read; None if none was.
    oldest_read: tuple[float, int] | None
    #: How many events it read (those a filter left out too).
    read: int


async def _catch_up(
    conn: AsyncConnection,
    team_id: str,
    channel_id: str,
    subs: list[Subscription],
    *,
    not_before: float,
    most: int,
    route: Callable[[StoredEvent], NewEvent | None],
) -> tuple[int, int, bool]:
    """``resume_catching_up`` for one channel's re-enabled subscriptions, in its transaction:
    (queued, too old, whether older ones may have been missed uncounted). Reads the ``most`` newest
    of what can post, and counts the rest when it can tell them."""
    ob = schema.outbox
    now = time.time()
    stopped = sa.and_(
        ob.c.subscription_id.in_([s.id for s in subs]),
        ob.c.status == "failed",
        ob.c.last_error.like(PAUSED_ROWS + "%"),
    )
    missed = await _read_stopped(conn, stopped, not_before=not_before, most=most)
    old, uncounted = 0, False
    if (missed_events := _missed_events(team_id, channel_id, subs)) is not None:
        read = await _read_missed_events(
            conn, missed_events, subs, not_before=not_before, most=most, route=route, now=now
        )
        missed += read.missed
        # Each of the rest would post unless a filter leaves it out: counted only where none can,
        # and only while the reads stopped short of their cap.
        exact = not any(s.has_filters for s in subs) and read.read < CATCH_UP_READ_PAGES * most
        old, uncounted = await _count_unread(conn, missed_events, oldest_read=read.oldest_read, exact=exact)
    missed.sort(key=lambda m: (m.received_at, m.event_id))
    if len(missed) > most:
        old += sum(1 for m in missed[:-most] if m.failed_row is None)  # the stopped rows are counted below
        missed = missed[-most:]
    requeue = [m.failed_row for m in missed if m.failed_row is not None]
    if requeue:
        await conn.execute(
            sa.update(ob)
            .where(ob.c.id.in_(requeue), ob.c.status == "failed")
            .values(status="pending", attempts=0, next_attempt_at=now, last_error=None)
        )
    # Stopped rows not queued again (too old, purged, or beyond the newest): no longer counted as missed.
    old += (await conn.execute(sa.update(ob).where(stopped).values(last_error=TOO_OLD_TO_CATCH_UP))).rowcount or 0
    for m in missed:
        if m.event is not None and m.event.legacy_thread_keys:
            await conn.run_sync(_continue_legacy_threads, m.event, m.rows)
    new_rows = [d for m in missed for d in m.rows]
    if new_rows:
        await conn.execute(ob.insert(), new_rows)
    return len(missed), old, uncounted


async def _read_stopped(
    conn: AsyncConnection, stopped: sa.ColumnElement[bool], *, not_before: float, most: int
) -> list[_Missed]:
    """The ``most`` newest of the rows the pause stopped, by the time their event was recorded
    (a row waits no matter how long), since ``not_before`` and their details kept."""
    ob, ev = schema.outbox, schema.events
    rows = await conn.execute(
        sa.select(ob.c.id, ob.c.event_id, ev.c.received_at)
        .join(ev, ev.c.id == ob.c.event_id)
        .where(stopped, ev.c.received_at >= not_before, _payload_not_purged())
        .order_by(ev.c.received_at.desc(), ob.c.id.desc())
        .limit(most)
    )
    return [_Missed(row.received_at, row.event_id, row.id, []) for row in rows]


async def _read_missed_events(
    conn: AsyncConnection,
    missed_events: sa.ColumnElement[bool],
    subs: list[Subscription],
    *,
    not_before: float,
    most: int,
    route: Callable[[StoredEvent], NewEvent | None],
    now: float,
) -> _EventsRead:
    """The newest missed events since ``not_before``, a page at a time, until ``most`` of them post.

    A job or exclude filter is checked once read, and may leave some out. Recordings of the
    workspace wait meanwhile: at most ``CATCH_UP_READ_PAGES`` pages are read.
    """
    ev = schema.events
    missed: list[_Missed] = []
    oldest_read: tuple[float, int] | None = None
    posting = read = 0
    while posting < most and read < CATCH_UP_READ_PAGES * most:
        page = (
            await conn.execute(
                sa.select(ev.c.id, ev.c.team_id, ev.c.vendor, ev.c.event_type, ev.c.payload, ev.c.received_at)
                .where(missed_events, ev.c.received_at >= not_before, *_before(oldest_read))
                .order_by(ev.c.received_at.desc(), ev.c.id.desc())
                .limit(most)
            )
        ).all()
        read += len(page)
        for row in page:
            oldest_read = (row.received_at, row.id)
            event, deliveries = _missed_deliveries(row, subs, route, now)
            if deliveries:
                missed.append(_Missed(row.received_at, row.id, None, deliveries, event))
                posting += 1
                if posting == most:
                    break
        if len(page) < most:
            break
    return _EventsRead(missed=missed, oldest_read=oldest_read, read=read)


async def _count_unread(
    conn: AsyncConnection,
    missed_events: sa.ColumnElement[bool],
    *,
    oldest_read: tuple[float, int] | None,
    exact: bool,
) -> tuple[int, bool]:
    """The missed events not read (older, or beyond the newest read): (how many, whether there are
    some uncounted). ``exact``: count them, up to ``CATCH_UP_COUNT_MOST``; else, or beyond that,
    only whether there are any is told."""
    ev = schema.events
    rest = sa.select(ev.c.id).where(missed_events, *_before(oldest_read))
    if not exact:
        return 0, (await conn.execute(rest.limit(1))).first() is not None
    counted = sa.select(sa.func.count()).select_from(rest.limit(CATCH_UP_COUNT_MOST + 1).subquery())
    unread = (await conn.execute(counted)).scalar_one()
    if unread > CATCH_UP_COUNT_MOST:
        return 0, True
    return unread, False


def _missed_events(team_id: str, channel_id: str, subs: list[Subscription]) -> sa.ColumnElement[bool] | None:
    """The events re-enabled ``subs`` may have missed, as far as the database can tell: of their
    types and account, recorded since each was paused, their details kept, and not delivered in the
    channel (a rating the filters of other subscriptions refused was not). None for subscriptions
    paused before their pauses' start was recorded."""
    ev, ob = schema.events, schema.outbox
    takes = []
    for s in subs:
        if s.paused_at is None:
            continue
        # Allowing for clocks of processes that differ a little: what the channel has is left out.
        condition = [
            ev.c.vendor == s.vendor,
            ev.c.event_type.in_(list(s.events)),
            ev.c.received_at >= s.paused_at - PAUSE_CLOCK_MARGIN_SECONDS,
        ]
        if s.connection_id:
            condition.append(ev.c.payload["connection_id"].as_string() == s.connection_id)
        takes.append(sa.and_(*condition))
    if not takes:
        return None
    since = min(s.paused_at for s in subs if s.paused_at is not None) - PAUSE_CLOCK_MARGIN_SECONDS
    in_channel = sa.and_(ob.c.team_id == team_id, ob.c.channel_id == channel_id, ob.c.created_at >= since)
    # A rating skipped by the filters it was checked against is not in the channel: theirs were not these.
    refused = sa.and_(
        ob.c.status == "skipped", ob.c.last_error.in_([DEFERRED_FILTERS_REFUSED, DEFERRED_FILTERS_UNCHECKED])
    )
    delivered = sa.select(ob.c.id).where(ob.c.event_id == ev.c.id, in_channel, ~refused).exists()
    return sa.and_(
        ev.c.team_id == team_id, ev.c.received_at >= since, sa.or_(*takes), _payload_not_purged(), ~delivered
    )


def _before(oldest_read: tuple[float, int] | None) -> list[sa.ColumnElement[bool]]:
    """The conditions of events recorded before ``oldest_read`` (received_at, id), in the order the
    newest-first reads go (none: nothing read yet). The plain bound lets the index on received_at
    start there, rather than every page scanning again from the newest."""
    if oldest_read is None:
        return []
    received_at, event_id = oldest_read
    ev = schema.events
    return [
        ev.c.received_at <= received_at,
        sa.or_(ev.c.received_at < received_at, sa.and_(ev.c.received_at == received_at, ev.c.id < event_id)),
    ]


def _missed_deliveries(
    row: sa.Row, subs: list[Subscription], route: Callable[[StoredEvent], NewEvent | None], now: float
) -> tuple[NewEvent | None, list[dict[str, Any]]]:
    """A recorded event routed again, and the outbox rows it would have got from re-enabled
    ``subs``, had they been active."""
    event = route(
        StoredEvent(
            id=row.id,
            team_id=row.team_id,
            vendor=row.vendor,
            event_type=row.event_type,
            payload=row.payload,
            received_at=row.received_at,
        )
    )
    if event is None:
        return None, []
    # Only a subscription paused by then missed it; one still active then took or left it.
    missing = [
        dataclasses.replace(s, paused=False)
        for s in subs
        if s.paused_at is not None and s.paused_at - PAUSE_CLOCK_MARGIN_SECONDS <= row.received_at
    ]
    return event, _deliveries(event, row.id, missing, now)


class SubscriptionRepo(_Repo):
    async def add(
        self,
        *,
        team_id: str,
        channel_id: str,
        vendor: str,
        events: Sequence[str],
        created_by: str,
        job_filter: str | None = None,
        excludes: Sequence[str] = (),
        compact: bool = False,
        connection_id: str | None = None,
        job_id: str | None = None,
        job_named_at: float | None = None,
    ) -> Subscription:
        t, c = schema.subscriptions, schema.connections
        async with self._engine.begin() as conn:
            if connection_id is not None:
                # The account must still be connected, and stays so until this commits (PostgreSQL: its
                # row locked; SQLite: the write lock): a Disconnect, in this process or another, deletes
                # it before (this raises) or after (and finds this subscription to settle), never between.
                found = sa.select(c.c.id).where(c.c.id == connection_id)
                if conn.dialect.name == "postgresql":
                    found = found.with_for_update(read=True)
                if (await conn.execute(found)).first() is None:
                    raise ConnectionGoneError(vendor)
            row = (
                await conn.execute(
                    t.insert()
                    .values(
                        team_id=team_id,
                        channel_id=channel_id,
                        vendor=vendor,
                        events=list(events),
                        job_filter=job_filter,
                        job_id=job_id,
                        job_named_at=job_named_at,
                        excludes=list(excludes),
                        compact=compact,
                        connection_id=connection_id,
                        created_by=created_by,
                        paused=False,
                        created_at=time.time(),
                    )
                    .returning(*t.c)
                )
            ).one()
        return _subscription(row)

    async def get(self, subscription_id: int) -> Subscription | None:
        t = schema.subscriptions
        async with self._reads.connect() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.id == subscription_id))).first()
        return _subscription(row) if row else None

    async def list_for_channel(self, team_id: str, channel_id: str) -> list[Subscription]:
        t = schema.subscriptions
        return await self._list(sa.and_(t.c.team_id == team_id, t.c.channel_id == channel_id))

    async def list_for_channel_of_any_team(self, channel_id: str) -> list[Subscription]:
        """Every workspace's subscriptions of a channel (a Slack Connect channel has one id for all)."""
        return await self._list(schema.subscriptions.c.channel_id == channel_id)

    async def confirm_shared(self, team_id: str, channel_id: str) -> None:
        """Record that `subscribe … shared` confirmed the channel may be read outside the organisation."""
        t = schema.subscriptions
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(t)
                .where(t.c.team_id == team_id, t.c.channel_id == channel_id)
                .values(shared_confirmed_at=time.time())
            )

    async def list_for_team(self, team_id: str, vendor: str | None = None) -> list[Subscription]:
        t = schema.subscriptions
        cond = t.c.team_id == team_id
        if vendor:
            cond = sa.and_(cond, t.c.vendor == vendor)
        return await self._list(cond)

    async def list_active(self, vendor: str | None = None) -> list[Subscription]:
        t = schema.subscriptions
        cond = t.c.paused == sa.false()
        if vendor:
            cond = sa.and_(cond, t.c.vendor == vendor)
        return await self._list(cond)

    async def _list(self, condition: Any) -> list[Subscription]:
        t = schema.subscriptions
        async with self._reads.connect() as conn:
            rows = (await conn.execute(sa.select(t).where(condition).order_by(t.c.id))).all()
        return [_subscription(r) for r in rows]

    async def update(self, subscription_id: int, **values: Any) -> None:
        if "events" in values:
            values["events"] = list(values["events"])
        if "excludes" in values:
            values["excludes"] = list(values["excludes"])
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(schema.subscriptions).where(schema.subscriptions.c.id == subscription_id).values(**values)
            )

    async def remove(self, subscription_id: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(sa.delete(schema.subscriptions).where(schema.subscriptions.c.id == subscription_id))

    async def unsubscribe(self, subscription_id: int, *, keep_events: Sequence[str] = ()) -> None:
        """Remove the subscription, or narrow it to ``keep_events``, and settle what it had queued.

        In one transaction, so no delivery sees the subscription gone with its rows still pending.
        Its pending rows of the events it no longer takes go to another active subscription of the
        channel that takes them (whose filters are not checked again: a post it might have filtered
        out beats one it wanted lost), else are skipped. A row whose reply is posted and only its
        card's refresh owed (``REFRESH_OWED``) stays as it is: the worker makes the refresh.
        """
        t, ob, ev, threads = schema.subscriptions, schema.outbox, schema.events, schema.slack_messages
        async with self._engine.begin() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.id == subscription_id))).first()
            if row is None:
                return
            gone = _subscription(row)
            if keep_events:
                await conn.execute(sa.update(t).where(t.c.id == gone.id).values(events=list(keep_events)))
            else:
                await conn.execute(sa.delete(t).where(t.c.id == gone.id))
            dropped = [e for e in gone.events if e not in keep_events]
            heirs = await _heirs_of(
                conn, team_id=gone.team_id, channel_id=gone.channel_id, vendor=gone.vendor, gone_id=gone.id
            )
            pending = await conn.execute(
                sa.select(ob.c.id, ob.c.payload, ev.c.event_type, threads.c.card)
                .join(ev, ev.c.id == ob.c.event_id)
                .outerjoin(threads, _thread_of(ob))
                .where(ob.c.subscription_id == gone.id, ob.c.status == "pending", ev.c.event_type.in_(dropped))
            )
            for outbox_id, payload, event_type, card in pending.all():
                if any(str(e["outbox_id"]) == str(outbox_id) for e in owed_refreshes(card)):
                    continue  # the channel has its reply: the card is brought up to date all the same
                heir = _heir(heirs, event_type, gone.connection_id)
                if heir is None:
                    values: dict[str, Any] = {"status": "skipped", "last_error": "unsubscribed", "posting_since": None}
                else:
                    values = {"subscription_id": heir.id, "payload": _handed_to(heir, payload, gone_id=gone.id)}
                # Only while still pending: a worker may have posted it meanwhile (PostgreSQL checks
                # the condition again once it has the row).
                await conn.execute(sa.update(ob).where(ob.c.id == outbox_id, ob.c.status == "pending").values(**values))

    async def pause(self, subscription_id: int, reason: str) -> None:
        """Pause it with ``reason``; one already paused keeps the time its pause began."""
        t = schema.subscriptions
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(t)
                .where(t.c.id == subscription_id)
                .values(paused=True, paused_reason=reason[:200], paused_at=_paused_since(time.time()))
            )

    async def pause_channel(self, team_id: str, channel_id: str, reason: str, *, error: str) -> list[Subscription]:
        """Pause every subscription of a channel the bot may no longer post in, in one transaction.

        What the channel still had queued fails with them (marked ``PAUSED_ROWS``, so a Re-enable
        queues it again). Returns the subscriptions this paused (as they were): those already
        paused are not, and their creators were told before.
        """
        t, ob = schema.subscriptions, schema.outbox
        now = time.time()
        async with self._engine.begin() as conn:
            in_channel = sa.and_(t.c.team_id == team_id, t.c.channel_id == channel_id)
            rows = (await conn.execute(sa.select(t).where(in_channel, t.c.paused == sa.false()).order_by(t.c.id))).all()
            if rows:
                await conn.execute(
                    sa.update(t)
                    .where(t.c.id.in_([r.id for r in rows]), t.c.paused == sa.false())
                    .values(paused=True, paused_reason=reason[:200], paused_at=now)
                )
            await conn.execute(
                sa.update(ob)
                .where(ob.c.team_id == team_id, ob.c.channel_id == channel_id, ob.c.status == "pending")
                .values(status="failed", last_error=(PAUSED_ROWS + error)[:500])
            )
        return [_subscription(r) for r in rows]

    async def resume_catching_up(
        self,
        subscription_ids: Sequence[int],
        *,
        not_before: float,
        most: int,
        route: Callable[[StoredEvent], NewEvent | None],
    ) -> CatchUp:
        """Re-enable paused subscriptions and queue what they missed while paused, oldest first.

        What they missed: the deliveries their pause failed (``PAUSED_ROWS``), then the events
        recorded since each was paused that it takes (``route`` rebuilds what its filters look at
        from the stored event), each once per channel, as when it is recorded: none that the
        channel already has a delivery of. Only what can be queued is read: since ``not_before``,
        the ``most`` newest, of ``CATCH_UP_READ_PAGES`` times ``most`` read at most. The rest is
        counted in ``CatchUp.too_old``, or said to exist (``older_uncounted``).

        A subscription another request re-enabled meanwhile is left to that one. The flag changes
        and the catch-up reads in one transaction, under their workspaces' recording locks (SQLite:
        the write lock): it waits for every recording under way there, which is then committed and
        read here, and every later recording there waits for it, then reads the subscriptions
        active and queues the event itself. On PostgreSQL without it, a recording that read the
        subscription still paused but committed after the catch-up had read the events was posted
        by neither.
        """
        if not subscription_ids:  # nothing to wait for recordings for
            return CatchUp(resumed=[], queued=0, too_old=0)
        t = schema.subscriptions
        async with self._engine.begin() as conn:
            # Only their workspaces' recordings wait (a subscription never changes workspace).
            teams = (await conn.execute(sa.select(t.c.team_id).where(t.c.id.in_(list(subscription_ids))))).scalars()
            for lock in _recording_locks(conn.dialect.name, teams, shared=False):
                await conn.execute(lock)
            rows = (
                await conn.execute(
                    sa.select(t).where(t.c.id.in_(list(subscription_ids)), t.c.paused == sa.true()).order_by(t.c.id)
                )
            ).all()
            flipped = set()
            if rows:
                # Only where still paused: of two clicks at once, one catches up (PostgreSQL checks again).
                flipped = set(
                    (
                        await conn.execute(
                            sa.update(t)
                            .where(t.c.id.in_([r.id for r in rows]), t.c.paused == sa.true())
                            .values(paused=False, paused_reason=None, paused_at=None)
                            .returning(t.c.id)
                        )
                    ).scalars()
                )
            resumed = [_subscription(r) for r in rows if r.id in flipped]
            done = CatchUp(resumed=resumed, queued=0, too_old=0)
            by_channel: dict[tuple[str, str], list[Subscription]] = {}
            for subscription in resumed:
                by_channel.setdefault((subscription.team_id, subscription.channel_id), []).append(subscription)
            for (team_id, channel_id), subs in by_channel.items():
                queued, old, uncounted = await _catch_up(
                    conn, team_id, channel_id, subs, not_before=not_before, most=most, route=route
                )
                done = dataclasses.replace(
                    done,
                    queued=done.queued + queued,
                    too_old=done.too_old + old,
                    older_uncounted=done.older_uncounted or uncounted,
                )
        return done

    async def rename_job(self, team_id: str, vendor: str, job_id: str, name: str, *, as_of: float | None = None) -> int:
        """Store ``name`` as the name of the job every subscription following ``job_id`` shows (the
        vendor's current name, learned from a lookup); returns how many showed another name.

        ``as_of``: when the vendor last changed the job (None: it does not say; the name is stored and
        the time known is kept). A lookup's name is the vendor's current one: it replaces a name of
        the same time too (a Job* event only an older one).
        """
        async with self._engine.begin() as conn:
            return await conn.run_sync(
                lambda sync: _rename_job(sync, team_id, vendor, job_id, name, as_of=as_of, current=True)
            )

    async def list_using_connection(self, connection_id: str) -> list[Subscription]:
        """The subscriptions reading through a connection, paused or not."""
        return await self._list(schema.subscriptions.c.connection_id == connection_id)

    async def count_using_connection(self, connection_id: str, *, active_only: bool = False) -> int:
        """Subscriptions reading through a connection (``active_only``: not paused)."""
        t = schema.subscriptions
        where = [t.c.connection_id == connection_id] + ([t.c.paused.is_(False)] if active_only else [])
        async with self._reads.connect() as conn:
            return (await conn.execute(sa.select(sa.func.count()).select_from(t).where(*where))).scalar_one()


# -- events and outbox ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NewEvent:
    """An event to record, with what subscription filters look at and what to render."""

    dedup_key: str
    team_id: str
    vendor: str
    event_type: str
    subject: str
    payload: dict[str, Any]
    thread_key: str
    #: Keys earlier releases gave this event's thread: a card posted under one of them in a
    #: channel is continued there (its key renamed to ``thread_key``), not started again.
    legacy_thread_keys: tuple[str, ...] = ()
    #: Keys earlier releases gave this event: one already recorded under any of them is a duplicate.
    legacy_dedup_keys: tuple[str, ...] = ()
    job_name: str | None = None
    job_id: str | None = None
    candidate_email: str | None = None
    #: Only subscriptions using this connection receive the event (None: any of the team's).
    connection_id: str | None = None
    #: The job and candidate are not known until the worker fetches them (``Subscription.matches``).
    filters_deferred: bool = False
    #: The event is about the job itself, so its name is the job's as of now (Spark Hire's Job*
    #: deliveries). Only such an event renames a followed job: an interview's copy of its job's
    #: name may be older than a rename (built before it, delivered late).
    describes_job: bool = False
    #: For an event that ``describes_job``: when the vendor last changed the job, as the event says
    #: (UNIX seconds; None: it does not say, then when it arrived). Only a newer one renames:
    #: deliveries retried out of order must not bring an older name back.
    job_as_of: float | None = None


def _deliveries(e: NewEvent, event_id: int, subs: Sequence[Subscription], now: float) -> list[dict[str, Any]]:
    """The outbox rows of a recorded event: one per channel whose active ``subs`` take it."""
    # One message per event per channel, however many of the channel's subscriptions match:
    # the one that needs no later check, then a full card over a compact line, then the oldest.
    chosen: dict[str, tuple[tuple[bool, bool], Subscription]] = {}
    # A rating's filters are checked by the worker: it posts if any of these passes.
    deferred_ids: dict[str, list[int]] = {}
    for s in subs:
        if not s.takes(e):
            continue
        rank = (e.filters_deferred and s.has_filters, s.compact)
        if rank[0]:
            deferred_ids.setdefault(s.channel_id, []).append(s.id)
        if s.channel_id not in chosen or rank < chosen[s.channel_id][0]:
            chosen[s.channel_id] = (rank, s)
    rows = []
    for (deferred, _), s in chosen.values():
        check = {"filters_deferred": True, "subscription_ids": deferred_ids[s.channel_id]} if deferred else {}
        rows.append(
            {
                "event_id": event_id,
                "subscription_id": s.id,
                "team_id": s.team_id,
                "channel_id": s.channel_id,
                "thread_key": e.thread_key,
                # Only what is the subscription's; the event's payload is joined
                # in when leased, so it is encoded and written once, not per channel.
                "payload": {"compact": s.compact} | check,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    return rows


def _continue_legacy_threads(conn: sa.Connection, e: NewEvent, rows: Iterable[dict[str, Any]]) -> None:
    """Continue, in each channel of ``e``'s outbox ``rows``, the thread an earlier release started
    for ``e``'s candidate under a legacy key (``NewEvent.legacy_thread_keys``).

    The channel's rows still waiting under an old key (queued before an upgrade, paused, or being
    posted now) take the event's key, so they and the event share one card; then a card posted
    under an old key is renamed, unless one is under the new key already. Renamed rather than
    copied: one row holds the card's state. Rows first: on PostgreSQL their update waits for a
    worker posting one of them to commit, so the card it wrote is seen here (the worker writes
    the card under its row's key as it is then: ``OutboxRepo._finish``).
    """
    if not e.legacy_thread_keys:
        return
    threads, ob = schema.slack_messages, schema.outbox
    for channel_id in sorted({row["channel_id"] for row in rows}):
        conn.execute(
            sa.update(ob)
            .where(
                ob.c.team_id == e.team_id,
                ob.c.channel_id == channel_id,
                ob.c.thread_key.in_(e.legacy_thread_keys),
                ob.c.status.in_(("pending", "failed")),
            )
            .values(thread_key=e.thread_key)
        )
        in_channel = (threads.c.team_id == e.team_id, threads.c.channel_id == channel_id)
        found = set(
            conn.execute(
                sa.select(threads.c.thread_key).where(
                    *in_channel, threads.c.thread_key.in_([e.thread_key, *e.legacy_thread_keys])
                )
            ).scalars()
        )
        legacy = next((key for key in e.legacy_thread_keys if key in found), None)
        if e.thread_key not in found and legacy is not None:
            conn.execute(
                sa.update(threads).where(*in_channel, threads.c.thread_key == legacy).values(thread_key=e.thread_key)
            )


def _rename_job(
    conn: sa.Connection,
    team_id: str,
    vendor: str,
    job_id: str,
    name: str,
    *,
    as_of: float | None,
    current: bool = False,
    connection_id: str | None = None,
) -> int:
    """The statement of ``SubscriptionRepo.rename_job`` (synchronous: the event path runs it too);
    returns how many subscriptions showed another name.

    ``as_of``: when the job had that name; a subscription showing a name known to be newer (or as
    new, unless ``current``: the vendor's name now) keeps it, and one showing this name learns how
    recent it is. None (the vendor did not say): the name is stored, the time known kept (a time
    of our clock must not hold back the vendor's later ones). ``connection_id``: only the
    subscriptions reading it (or none), as its events reach only those.
    """
    t = schema.subscriptions
    name = name[: schema.JOB_FILTER_MAX]  # as subscribe stores a name it found (bot/notify/jobs.py)
    if not name.strip():
        return 0
    where = [t.c.team_id == team_id, t.c.vendor == vendor, t.c.job_id == job_id]
    if as_of is not None:
        newer = t.c.job_named_at <= as_of if current else t.c.job_named_at < as_of
        where.append(sa.or_(t.c.job_named_at.is_(None), newer))
    if connection_id is not None:
        where.append(sa.or_(t.c.connection_id == connection_id, t.c.connection_id.is_(None)))
    count = sa.select(sa.func.count()).select_from(t).where(*where, t.c.job_filter.is_distinct_from(name))
    renamed = conn.execute(count).scalar_one()
    values = {"job_filter": name} | ({} if as_of is None else {"job_named_at": as_of})
    conn.execute(sa.update(t).where(*where).values(**values))
    return renamed


def _renamed_jobs(
    events: Sequence[NewEvent], subs: Sequence[Subscription]
) -> dict[tuple[str, str, str, str | None], tuple[float | None, str]]:
    """The jobs whose recorded events about the job itself are newer than the name a subscription
    following the job by its id, and taking the event's connection, shows (renamed at the vendor, or
    the same name known from longer ago): (team, vendor, job id, connection) to the time and name
    of the newest such event. An event that gives no time renames a subscription showing another
    name, keeping the time it knows (our clock is not the vendor's), and is the oldest of a batch."""
    following: dict[tuple[str, str, str], list[Subscription]] = {}
    for s in subs:
        if s.job_id:
            following.setdefault((s.team_id, s.vendor, s.job_id), []).append(s)
    renamed: dict[tuple[str, str, str, str | None], tuple[float | None, str]] = {}
    for e in events:
        name = (e.job_name or "")[: schema.JOB_FILTER_MAX]
        if not e.describes_job or not name.strip():
            continue
        as_of = e.job_as_of
        key = (e.team_id, e.vendor, e.job_id or "")
        reading = [
            s
            for s in following.get(key, ())
            if not (e.connection_id and s.connection_id and s.connection_id != e.connection_id)
        ]
        if as_of is None:
            newer = any(s.job_filter != name for s in reading)
        else:
            newer = any(s.job_named_at is None or s.job_named_at < as_of for s in reading)
        held = renamed.get((*key, e.connection_id))
        if newer and (held is None or _oldest_if_none(as_of) >= _oldest_if_none(held[0])):
            renamed[(*key, e.connection_id)] = (as_of, name)
    return renamed


def _oldest_if_none(as_of: float | None) -> float:
    return -math.inf if as_of is None else as_of


def _record_many(conn: sa.Connection, batch: list[NewEvent], now: float) -> list[bool]:
    """``EventRepo.record_many`` inside its transaction (synchronous: run by the batch writer)."""
    first_index: dict[str, int] = {}
    for index, item in enumerate(batch):
        first_index.setdefault(item.dedup_key, index)
    ev = schema.events
    legacy = {key for item in batch for key in item.legacy_dedup_keys}
    if legacy:
        # Recorded by an earlier release under the key it gave the event: not recorded again. Only
        # if it is this object, or no longer says (its payload purged): an earlier key could be
        # shared by two (two reviewers' ratings of one interview in the same second).
        rows = conn.execute(sa.select(ev.c.dedup_key, ev.c.payload).where(ev.c.dedup_key.in_(sorted(legacy)))).all()
        seen = {row.dedup_key: row.payload if isinstance(row.payload, dict) else {} for row in rows}
        for key, index in list(first_index.items()):
            item = batch[index]
            for old in item.legacy_dedup_keys:
                if old in seen and seen[old].get("object", item.payload.get("object")) == item.payload.get("object"):
                    first_index[key] = -1
                    break
    unique = [batch[i] for i in sorted(first_index.values()) if i >= 0]
    if not unique:
        return [False] * len(batch)
    # executemany form: the statement compiles once and is cached, whatever the batch size
    # (a multi-row VALUES clause would be compiled anew for every batch).
    stmt = _insert(conn, ev).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(ev.c.id, ev.c.dedup_key)
    params = [
        {
            "dedup_key": e.dedup_key,
            "team_id": e.team_id,
            "vendor": e.vendor,
            "event_type": e.event_type,
            "subject": e.subject[:128],
            "payload": e.payload,
            "received_at": now,
        }
        for e in unique
    ]
    inserted = {row.dedup_key: row.id for row in conn.execute(stmt, params).all()}
    if inserted:
        teams = {(e.team_id, e.vendor) for e in unique if e.dedup_key in inserted}
        # Before reading which subscriptions are active: a re-enable in one of these workspaces
        # waits for this transaction to commit, or this one for it (SubscriptionRepo.resume_catching_up).
        for lock in _recording_locks(conn.dialect.name, (team for team, _ in teams), shared=True):
            conn.execute(lock)
        sub = schema.subscriptions
        rows = conn.execute(
            sa.select(sub).where(sa.tuple_(sub.c.team_id, sub.c.vendor).in_(list(teams))).order_by(sub.c.id)
        ).all()
        subs = [_subscription(r) for r in rows]
        active = [s for s in subs if not s.paused]  # a paused one's Re-enable queues what it missed
        outbox_rows = []
        for e in unique:
            event_id = inserted.get(e.dedup_key)
            if event_id is not None:
                rows = _deliveries(e, event_id, active, now)
                _continue_legacy_threads(conn, e, rows)
                outbox_rows += rows
        if outbox_rows:
            conn.execute(schema.outbox.insert(), outbox_rows)
        # A job renamed at the vendor: the lists show the name its own events now carry, a paused
        # subscription's too (shown again once re-enabled). Only new events count (a replay of an
        # old one is not news), only the newest name wins (Spark Hire retries deliveries out of
        # order), and only a newer one than shown costs a statement.
        renamed = _renamed_jobs([e for e in unique if e.dedup_key in inserted], subs)
        for (team_id, vendor, job_id, connection_id), (as_of, name) in sorted(renamed.items(), key=lambda r: str(r[0])):
            _rename_job(conn, team_id, vendor, job_id, name, as_of=as_of, connection_id=connection_id)
    return [first_index[item.dedup_key] == i and item.dedup_key in inserted for i, item in enumerate(batch)]


class EventRepo(_Repo):
    def __init__(self, engine: AsyncEngine, writer: BatchWriter) -> None:
        super().__init__(engine)
        self._writer = writer

    async def record(self, event: NewEvent) -> bool:
        """Store one event and its outbox rows; False when it was already recorded."""
        return (await self.record_many([event]))[0]

    async def record_many(self, batch: Sequence[NewEvent]) -> list[bool]:
        """Store events and one outbox row per matching subscription, in ONE transaction.

        Returns, per item, True if it was new; duplicates (already stored, or
        repeated within the batch) create no outbox rows.
        """
        if not batch:
            return []
        return await self._writer.run(_record_many, list(batch), time.time())

    async def count(self) -> int:
        async with self._reads.connect() as conn:
            return (await conn.execute(sa.select(sa.func.count()).select_from(schema.events))).scalar_one()

    async def purge_payloads(
        self, *, received_before: float, after: float | None = None, batch_size: int = PURGE_BATCH_SIZE
    ) -> PayloadPurge:
        """Empty the payload of events received before ``received_before`` that no pending delivery needs.

        The row and its ``dedup_key`` stay, so a vendor re-sending the event long after is still not
        recorded (nor posted) again. A pending outbox row reads its event's payload when leased, so
        those events are left as they are until it finishes. Events are taken in ``received_at``
        order (its index), ``batch_size`` per transaction, starting after ``after`` (None: the first).

        Returns:
            How many were emptied, and the ``after`` from which the next purge need look: just
            before the first event left for a pending delivery, else just before ``received_before``.
        """
        ev = schema.events
        # Events with a delivery still to make. An old event never gets new outbox rows (they are
        # written with it) and a finished row never becomes pending again: this set only shrinks.
        pending, not_purged = _pending_event_ids(), _payload_not_purged()
        purged = 0
        resume_after: float | None = None
        while True:
            async with self._reads.connect() as conn:
                # The received_at of the batch's last event (ties stay in the batch: a batch of webhooks
                # shares one); None when fewer are left.
                since = [] if after is None else [ev.c.received_at > after]
                last = (
                    await conn.execute(
                        sa.select(ev.c.received_at)
                        .where(*since, ev.c.received_at < received_before)
                        .order_by(ev.c.received_at)
                        .offset(batch_size - 1)
                        .limit(1)
                    )
                ).scalar()
                in_batch = sa.and_(
                    *since, ev.c.received_at <= last if last is not None else ev.c.received_at < received_before
                )
                # Read-only first: after a restart every old event is looked at again, and ones
                # already emptied must not take the write lock for nothing.
                work = (await conn.execute(sa.select(ev.c.id).where(in_batch, not_purged).limit(1))).first()
            if work is not None:
                async with self._engine.begin() as conn:
                    result = await conn.execute(
                        sa.update(ev).where(in_batch, not_purged, ev.c.id.not_in(pending)).values(payload={})
                    )
                    purged += result.rowcount or 0
                    if resume_after is None:
                        first_waiting = sa.select(sa.func.min(ev.c.received_at)).where(in_batch, ev.c.id.in_(pending))
                        waiting = (await conn.execute(first_waiting)).scalar()
                        if waiting is not None:
                            resume_after = math.nextafter(waiting, -math.inf)
            if last is None:
                break
            after = last
        if resume_after is None:  # everything received before then is done
            resume_after = math.nextafter(received_before, -math.inf)
        return PayloadPurge(purged=purged, resume_after=resume_after)

    async def purge_team_payloads(self, team_id: str) -> int:
        """Empty the payload of every event of workspace ``team_id`` that no pending delivery needs.

        For an uninstall: the candidates' details go, the ``dedup_key`` stays (a late re-send of an
        old event must still not post once the workspace installs the app again). One statement: a
        workspace's events are few next to the table's. Returns how many were emptied.
        """
        ev = schema.events
        pending, not_purged = _pending_event_ids(), _payload_not_purged()
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sa.update(ev).where(ev.c.team_id == team_id, not_purged, ev.c.id.not_in(pending)).values(payload={})
            )
        return result.rowcount or 0


def _pending_event_ids() -> sa.Select:
    """The events a delivery still has to make: their payload is read when the row is leased."""
    return sa.select(schema.outbox.c.event_id).where(schema.outbox.c.status == "pending")


def _payload_not_purged() -> sa.ColumnElement[bool]:
    return sa.cast(schema.events.c.payload, sa.Text) != PURGED_PAYLOAD_JSON


@dataclass(frozen=True, kw_only=True)
class PayloadPurge:
    """What ``EventRepo.purge_payloads`` did."""

    purged: int
    #: Every event received up to this time is done with: the next purge may start after it.
    resume_after: float


@dataclass(frozen=True, kw_only=True)
class OutboxItem:
    id: int
    team_id: str
    channel_id: str
    thread_key: str
    subscription_id: int
    payload: dict[str, Any]
    attempts: int
    #: The candidate's card in this channel, if one was posted: later events reply in its thread.
    thread_ts: str | None = None
    #: Set when an earlier attempt may have reached Slack unrecorded (since this Unix time): the
    #: worker looks for that message in the channel before posting again.
    maybe_posted_since: float | None = None
    #: What the candidate's card records of itself (``ThreadMessage.card``): ``as_of``, the vendor's
    #: time of the state it shows, keeps a late delivery from taking it back to an older one.
    thread_card: dict[str, Any] | None = None
    #: Why the row's subscription no longer wants it (removed, paused, or narrowed to other events
    #: since the row was queued), as read with the lease; None while it does.
    unwanted: str | None = None


@dataclass(frozen=True, kw_only=True)
class ThreadMessage:
    ts: str
    card: dict[str, Any] | None


def workspace_hold_key(team_id: str) -> str:
    """The ``channel_leases`` key that holds back every channel of a workspace (no channel id has a ``*``)."""
    return f"{team_id}:*"


# The oldest pending row of each channel that is neither held (by anyone, this worker included:
# its message is still in flight) nor paced, nor in a workspace held back by Slack's rate limit
# (``OutboxRepo.hold_workspace``), if it is due (not waiting to be retried). Channels are found by
# skipping through the (status, team_id, channel_id, id) index one channel at a time, so the cost
# grows with the number of channels, not with the backlog (a paced channel may hold thousands of
# pending rows).
_DUE_HEADS = sa.text(
    """
WITH RECURSIVE waiting(channel_key) AS (
    SELECT channel_key FROM channel_leases WHERE expires_at > :now OR next_post_at > :now
),
pending_channels(team_id, channel_id) AS (
    SELECT t.team_id, (SELECT min(o.channel_id) FROM outbox o WHERE o.status = 'pending' AND o.team_id = t.team_id)
    FROM (SELECT min(team_id) AS team_id FROM outbox WHERE status = 'pending') AS t
    UNION ALL
    SELECT
        CASE WHEN (
            SELECT min(o.channel_id) FROM outbox o
            WHERE o.status = 'pending' AND o.team_id = p.team_id AND o.channel_id > p.channel_id
        ) IS NOT NULL THEN p.team_id ELSE (
            SELECT min(o.team_id) FROM outbox o WHERE o.status = 'pending' AND o.team_id > p.team_id
        ) END,
        COALESCE((
            SELECT min(o.channel_id) FROM outbox o
            WHERE o.status = 'pending' AND o.team_id = p.team_id AND o.channel_id > p.channel_id
        ), (
            SELECT min(o.channel_id) FROM outbox o
            WHERE o.status = 'pending' AND o.team_id = (
                SELECT min(n.team_id) FROM outbox n WHERE n.status = 'pending' AND n.team_id > p.team_id
            )
        ))
    FROM pending_channels p
    WHERE p.team_id IS NOT NULL
),
heads AS (
    SELECT p.team_id, p.channel_id,
        (SELECT min(o.id) FROM outbox o
         WHERE o.status = 'pending' AND o.team_id = p.team_id AND o.channel_id = p.channel_id) AS head
    FROM pending_channels p
    WHERE p.team_id IS NOT NULL
      AND p.team_id || ':' || p.channel_id NOT IN (SELECT channel_key FROM waiting)
      AND p.team_id || ':*' NOT IN (SELECT channel_key FROM waiting)
)
SELECT h.team_id, h.channel_id, h.head FROM heads h JOIN outbox o ON o.id = h.head
WHERE o.next_attempt_at <= :now
ORDER BY h.head LIMIT :limit
"""
)


SUBSCRIPTION_REMOVED = "its subscription was removed"

#: In a candidate's card record (``ThreadMessage.card``): the outbox rows whose reply is in the thread
#: but whose refresh of the card Slack rate-limited, each with its reply's ts (a list; one such
#: entry alone, as first written). Such a row waits for Slack and, leased again, only refreshes the
#: card. It need not be the channel's next row: one queued again by a Re-enable under its old, smaller
#: id, or on PostgreSQL one committed after it under a smaller id, goes first, and keeps the entry.
REFRESH_OWED = "refresh_owed"


def owed_refreshes(card: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The ``REFRESH_OWED`` entries of a card record: ``{"outbox_id": ..., "reply_ts": ...}`` each."""
    owed = (card or {}).get(REFRESH_OWED)
    entries = owed if isinstance(owed, list) else []
    return [e for e in entries if isinstance(e, dict) and e.get("outbox_id") is not None and e.get("reply_ts")]


def _thread_of(ob: sa.Table) -> sa.ColumnElement[bool]:
    """The join condition of an outbox row's candidate's card (``slack_messages``)."""
    threads = schema.slack_messages
    return sa.and_(
        threads.c.team_id == ob.c.team_id,
        threads.c.channel_id == ob.c.channel_id,
        threads.c.thread_key == ob.c.thread_key,
    )


def _unwanted(row: sa.Row) -> str | None:
    """Why a leased row's subscription no longer wants it, if it does not (``OutboxItem.unwanted``)."""
    if row.subscription_found is None:
        return SUBSCRIPTION_REMOVED
    # A paused subscription's rows still go (the pause stops new ones): those it must not post are
    # failed where it is paused (a channel gone, the app uninstalled).
    if row.event_type not in (row.subscription_events or ()):
        return f"its subscription no longer takes {row.event_type} events"
    return None


async def _hand_back(conn: AsyncConnection, item: OutboxItem, worker_id: str, *, next_post_at: float) -> None:
    """End ``worker_id``'s lease of the item's channel, its next post not before ``next_post_at``."""
    cl = schema.channel_leases
    await conn.execute(
        sa.update(cl)
        .where(cl.c.channel_key == f"{item.team_id}:{item.channel_id}", cl.c.holder == worker_id)
        .values(expires_at=time.time(), next_post_at=next_post_at)
    )


class OutboxRepo(_Repo):
    """Durable queue of Slack deliveries, leased per channel to keep order and pacing."""

    async def lease(
        self,
        worker_id: str,
        *,
        limit: int = 20,
        lease_seconds: float = 30.0,
        expect_due: bool = False,
    ) -> list[OutboxItem]:
        """Lease up to ``limit`` channels with due work; return each one's oldest pending row.

        A channel is held by one worker at a time (an expired lease is taken over,
        so a dead process's channels resume), and only its head row is returned,
        so messages to a channel go out in the order they were recorded.

        Args:
            expect_due: The caller knows a channel's pacing has just ended: skip the read-only check
                for due work and take the write lock at once.
        """
        now = time.time()
        ob, cl, threads, subs = schema.outbox, schema.channel_leases, schema.slack_messages, schema.subscriptions
        if not expect_due:
            # Most polls find nothing due (every channel with work is paced or in flight): learn
            # that without the write lock, so the webhook writer never queues behind an empty lease.
            async with self._reads.connect() as conn:
                if not (await conn.execute(_DUE_HEADS, {"now": now, "limit": 1})).first():
                    return []
        async with self._engine.begin() as conn:
            heads = (await conn.execute(_DUE_HEADS, {"now": now, "limit": limit})).all()
            if not heads:
                return []
            # The thread is read with the row: while the channel is held, no one else posts to it.
            head_rows = (
                await conn.execute(
                    sa.select(
                        ob,
                        schema.events.c.payload.label("event_payload"),
                        schema.events.c.event_type,
                        threads.c.ts.label("thread_ts"),
                        threads.c.card.label("thread_card"),
                        subs.c.id.label("subscription_found"),
                        subs.c.events.label("subscription_events"),
                    )
                    .join(schema.events, schema.events.c.id == ob.c.event_id)
                    # Read with the row: a subscription removed or narrowed after it was queued
                    # (by a user, or in another process) no longer gets it.
                    .outerjoin(subs, subs.c.id == ob.c.subscription_id)
                    .outerjoin(threads, _thread_of(ob))
                    .where(ob.c.id.in_([h.head for h in heads]))
                )
            ).all()
            items: list[OutboxItem] = []
            for row in sorted(head_rows, key=lambda r: r.id):
                key = f"{row.team_id}:{row.channel_id}"
                stmt = _insert(conn, cl).values(
                    channel_key=key,
                    holder=worker_id,
                    expires_at=now + lease_seconds,
                    next_post_at=0,
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=["channel_key"],
                    set_={"holder": worker_id, "expires_at": now + lease_seconds},
                    where=sa.and_(cl.c.expires_at <= now, cl.c.next_post_at <= now),
                ).returning(cl.c.channel_key)
                if (await conn.execute(stmt)).first() is None:
                    continue  # another worker took the channel meanwhile
                items.append(
                    OutboxItem(
                        id=row.id,
                        team_id=row.team_id,
                        channel_id=row.channel_id,
                        thread_key=row.thread_key,
                        subscription_id=row.subscription_id,
                        payload={**row.event_payload, **row.payload},
                        attempts=row.attempts,
                        thread_ts=row.thread_ts,
                        maybe_posted_since=row.posting_since,
                        thread_card=row.thread_card,
                        unwanted=_unwanted(row),
                    )
                )
            if items:
                # Written before the post goes out: if this attempt never gets recorded, whoever
                # delivers the row next knows since when to look for it in the channel.
                await conn.execute(
                    sa.update(ob)
                    .where(ob.c.id.in_([item.id for item in items]))
                    .values(posting_since=sa.func.coalesce(ob.c.posting_since, now))
                )
            return items

    async def _finish(
        self,
        item: OutboxItem,
        worker_id: str,
        *,
        values: dict[str, Any],
        next_post_in: float,
        since: float | None = None,
        thread: ThreadMessage | None = None,
    ) -> None:
        now = time.time()
        async with self._engine.begin() as conn:
            # The row's key as it is now: a recording may have moved it from a legacy key to its
            # candidate's (``_continue_legacy_threads``) while it was being posted.
            thread_key = (
                await conn.execute(
                    sa.update(schema.outbox)
                    .where(schema.outbox.c.id == item.id)
                    .values(**values)
                    .returning(schema.outbox.c.thread_key)
                )
            ).scalar_one_or_none() or item.thread_key
            if thread is not None:
                await conn.execute(_thread_upsert(conn, item.team_id, item.channel_id, thread_key, thread))
            await _hand_back(conn, item, worker_id, next_post_at=(since or now) + next_post_in)

    async def mark_sent(
        self,
        item: OutboxItem,
        worker_id: str,
        *,
        pace_seconds: float = 1.0,
        paced_from: float | None = None,
        thread: ThreadMessage | None = None,
    ) -> None:
        """Record the delivery and hold the channel until ``pace_seconds`` after ``paced_from`` (Slack's pacing).

        Pacing from when Slack counted the post, not from now, keeps the time spent recording it
        from adding up message after message. ``thread``: the candidate's card in the channel,
        stored in the same transaction, so a later event replies in its thread.
        """
        await self._finish(
            item,
            worker_id,
            values={"status": "sent", "sent_at": time.time(), "attempts": item.attempts + 1, "posting_since": None},
            next_post_in=pace_seconds,
            since=paced_from,
            thread=thread,
        )

    async def reschedule(
        self,
        item: OutboxItem,
        worker_id: str,
        *,
        delay: float,
        error: str,
        maybe_posted: bool = False,
        counted: bool = True,
        thread: ThreadMessage | None = None,
    ) -> None:
        """Try again after ``delay`` seconds; the channel waits too, so order is kept.

        ``maybe_posted``: the attempt may have reached Slack (no answer came back), so the next one
        looks for the message first; otherwise Slack refused it and the next one just posts.
        ``counted``: the attempt counts toward the worker's ``max_attempts`` (not so for Slack's
        rate limit: it only said "not yet"). ``thread``: the candidate's card record, stored in the
        same transaction (a reply posted whose card refresh is still owed).
        """
        values: dict[str, Any] = {
            "attempts": item.attempts + (1 if counted else 0),
            "next_attempt_at": time.time() + delay,
            "last_error": error[:500],
        }
        if not maybe_posted:
            values["posting_since"] = None
        await self._finish(item, worker_id, values=values, next_post_in=delay, thread=thread)

    async def hold_workspace(self, team_id: str, *, until: float) -> None:
        """Lease none of the workspace's channels before ``until`` (Unix time); a later hold stands.

        Slack answered a post in one of its channels with a 429 and Retry-After: every worker, in
        every process, then leaves the workspace alone until then (``_DUE_HEADS``). Posts already
        under way still finish.
        """
        cl = schema.channel_leases
        async with self._engine.begin() as conn:
            stmt = _insert(conn, cl).values(
                channel_key=workspace_hold_key(team_id), holder="", expires_at=0, next_post_at=until
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["channel_key"], set_={"next_post_at": until}, where=cl.c.next_post_at < until
                )
            )

    async def delete_ended_workspace_holds(self) -> int:
        """Delete the workspace holds (``hold_workspace``) that have ended; returns how many.

        Nothing reads one once it has ended, and a workspace's next 429 writes it anew; without
        this every workspace ever rate-limited kept its row. A hold extended meanwhile stays
        (PostgreSQL checks the condition again once it has the row).
        """
        cl = schema.channel_leases
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sa.delete(cl).where(cl.c.channel_key.endswith(":*", autoescape=True), cl.c.next_post_at <= time.time())
            )
        return result.rowcount or 0

    async def skip(self, item: OutboxItem, worker_id: str, *, reason: str) -> None:
        """Done without a post (the event turned out not to pass the subscription's filters)."""
        await self._finish(
            item,
            worker_id,
            values={"status": "skipped", "last_error": reason[:500], "posting_since": None},
            next_post_in=0,
        )

    async def hold_for_paused(self, item: OutboxItem, worker_id: str, subscription_id: int) -> None:
        """Fail the item with the rows of paused subscription ``subscription_id`` (under it, marked
        ``PAUSED_ROWS``), so that its Re-enable queues it again; left pending, to be tried again at
        once, if it was re-enabled meanwhile."""
        t, ob = schema.subscriptions, schema.outbox
        async with self._engine.begin() as conn:
            # Locked until this commits (PostgreSQL): a Re-enable flipping it meanwhile waits for
            # this row to be failed and then finds it with the others, or this waits for the flip.
            paused = (
                await conn.execute(
                    sa.select(t.c.paused_reason)
                    .where(t.c.id == subscription_id, t.c.paused == sa.true())
                    .with_for_update()
                )
            ).first()
            if paused is not None:
                values = {
                    "status": "failed",
                    "subscription_id": subscription_id,
                    "last_error": (PAUSED_ROWS + (paused.paused_reason or ""))[:500],
                    "posting_since": None,
                }
                await conn.execute(sa.update(ob).where(ob.c.id == item.id, ob.c.status == "pending").values(**values))
            await _hand_back(conn, item, worker_id, next_post_at=time.time())

    async def fail(self, item: OutboxItem, worker_id: str, *, error: str) -> None:
        await self._finish(
            item,
            worker_id,
            values={
                "status": "failed",
                "last_error": error[:500],
                "attempts": item.attempts + 1,
                "posting_since": None,
            },
            next_post_in=0,
        )

    async def renew(self, item: OutboxItem, worker_id: str, *, lease_seconds: float) -> bool:
        """Extend ``worker_id``'s hold on the item's channel (its delivery is taking long).

        False when the channel is no longer held by ``worker_id``: the delivery finished, or the
        lease ran out and another worker may have taken it.
        """
        now = time.time()
        cl = schema.channel_leases
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sa.update(cl)
                .where(
                    cl.c.channel_key == f"{item.team_id}:{item.channel_id}",
                    cl.c.holder == worker_id,
                    cl.c.expires_at > now,
                )
                .values(expires_at=now + lease_seconds)
            )
        return bool(result.rowcount)

    async def release_channels(self, worker_id: str) -> int:
        """Hand back every channel ``worker_id`` holds (it is stopping); returns how many.

        Another worker, or this process once restarted, may lease them at once instead of when the
        lease would have ended; the pacing already set for each channel still holds.
        """
        now = time.time()
        cl = schema.channel_leases
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sa.update(cl).where(cl.c.holder == worker_id, cl.c.expires_at > now).values(expires_at=now)
            )
        return result.rowcount or 0

    async def hand_to_heir(self, outbox_id: int) -> tuple[int, dict[str, Any]] | None:
        """A pending row whose subscription is gone goes to another that takes it: (its id, the row's payload).

        ``SubscriptionRepo.unsubscribe`` settles a subscription's rows as it removes it, but on
        PostgreSQL an event stored while it ran can still have been queued under it. None when no
        other subscription of the channel takes the row (it is then skipped as unwanted).
        """
        ob, ev, t = schema.outbox, schema.events, schema.subscriptions
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(ob, ev.c.event_type, ev.c.vendor, ev.c.payload.label("event_payload"))
                    .join(ev, ev.c.id == ob.c.event_id)
                    .where(ob.c.id == outbox_id, ob.c.status == "pending")
                )
            ).first()
            if row is None or (await conn.execute(sa.select(t.c.id).where(t.c.id == row.subscription_id))).first():
                return None
            heirs = await _heirs_of(
                conn, team_id=row.team_id, channel_id=row.channel_id, vendor=row.vendor, gone_id=row.subscription_id
            )
            heir = _heir(heirs, row.event_type, (row.event_payload or {}).get("connection_id"))
            if heir is None:
                return None
            payload = _handed_to(heir, row.payload, gone_id=row.subscription_id)
            await conn.execute(
                sa.update(ob)
                .where(ob.c.id == outbox_id, ob.c.status == "pending")
                .values(subscription_id=heir.id, payload=payload)
            )
        return heir.id, payload

    async def fail_pending_for_subscription(self, subscription_id: int, reason: str) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sa.update(schema.outbox)
                .where(
                    schema.outbox.c.subscription_id == subscription_id,
                    schema.outbox.c.status == "pending",
                )
                .values(status="failed", last_error=reason[:500])
            )
        return result.rowcount or 0

    async def delete_finished(self, *, created_before: float, batch_size: int = PURGE_BATCH_SIZE) -> int:
        """Delete rows created before ``created_before`` that are finished (``FINISHED_STATUSES``).

        Nothing reads a finished row: a candidate's thread is found in ``slack_messages``, and the
        look for an unrecorded post concerns the row being delivered. Pending rows are never
        touched. Deletes ``batch_size`` rows per transaction, in id order, and never the newest row:
        SQLite gives a new row the largest id plus one, and an id used again would name an old
        message's metadata (``POST_METADATA_EVENT``). Returns how many were deleted.
        """
        ob = schema.outbox
        finished_before = sa.and_(ob.c.status.in_(FINISHED_STATUSES), ob.c.created_at < created_before)
        async with self._reads.connect() as conn:
            newest = (await conn.execute(sa.select(sa.func.max(ob.c.id)))).scalar()
            # Ids grow with created_at: past the first recent row there is (almost) nothing old, and
            # the scan stops there rather than reading every recent row each time.
            first_recent = (
                await conn.execute(
                    sa.select(ob.c.id).where(ob.c.created_at >= created_before).order_by(ob.c.id).limit(1)
                )
            ).scalar()
        if newest is None:
            return 0
        stop = newest if first_recent is None else min(first_recent, newest)
        deleted, after = 0, 0  # ids start at 1 on both databases
        while True:
            async with self._reads.connect() as conn:
                batch = (
                    sa.select(ob.c.id)
                    .where(ob.c.id > after, ob.c.id < stop, finished_before)
                    .order_by(ob.c.id)
                    .limit(batch_size)
                )
                ids = (await conn.execute(batch)).scalars().all()
            if not ids:
                return deleted
            async with self._engine.begin() as conn:
                # By range (no list of thousands of bound ids); the conditions are checked again.
                result = await conn.execute(sa.delete(ob).where(ob.c.id.between(ids[0], ids[-1]), finished_before))
            deleted += result.rowcount or 0
            if len(ids) < batch_size:
                return deleted
            after = ids[-1]

    async def counts(self) -> dict[str, int]:
        ob = schema.outbox
        async with self._reads.connect() as conn:
            rows = (await conn.execute(sa.select(ob.c.status, sa.func.count()).group_by(ob.c.status))).all()
        return {status: count for status, count in rows}

    async def pending_count(self) -> int:
        return (await self.counts()).get("pending", 0)


# -- threads ---------------------------------------------------------------------------------


class ThreadRepo(_Repo):
    """The Slack message (the card) posted per candidate interview per channel."""

    async def get(self, team_id: str, channel_id: str, thread_key: str) -> ThreadMessage | None:
        t = schema.slack_messages
        async with self._reads.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(t).where(
                        t.c.team_id == team_id,
                        t.c.channel_id == channel_id,
                        t.c.thread_key == thread_key,
                    )
                )
            ).first()
        return ThreadMessage(ts=row.ts, card=row.card) if row else None

    async def set(
        self,
        team_id: str,
        channel_id: str,
        thread_key: str,
        *,
        ts: str,
        card: dict[str, Any] | None,
    ) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_thread_upsert(conn, team_id, channel_id, thread_key, ThreadMessage(ts=ts, card=card)))


def _thread_upsert(conn: Any, team_id: str, channel_id: str, thread_key: str, thread: ThreadMessage) -> Any:
    t = schema.slack_messages
    stmt = _insert(conn, t).values(
        team_id=team_id,
        channel_id=channel_id,
        thread_key=thread_key,
        ts=thread.ts,
        card=thread.card,
        updated_at=time.time(),
    )
    return stmt.on_conflict_do_update(
        index_elements=["team_id", "channel_id", "thread_key"],
        set_={"ts": stmt.excluded.ts, "card": stmt.excluded.card, "updated_at": stmt.excluded.updated_at},
    )


# -- audit -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    id: int
    team_id: str
    user_id: str
    action: str
    vendor: str | None
    target: str | None
    detail: dict[str, Any] | None
    created_at: float


class AuditRepo(_Repo):
    """Who did what, when, through which vendor."""

    async def add(
        self,
        *,
        team_id: str,
        user_id: str,
        action: str,
        vendor: str | None = None,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                schema.audit_log.insert().values(
                    team_id=team_id,
                    user_id=user_id,
                    action=action,
                    vendor=vendor,
                    target=(target or "")[:320] or None,
                    detail=detail,
                    created_at=time.time(),
                )
            )

    async def recent(
        self,
        team_id: str,
        *,
        user_id: str | None = None,
        action_prefix: str | None = None,
        since: float | None = None,
        limit: int = 10,
    ) -> list[AuditEntry]:
        """The team's latest entries, newest first; ``since`` (UNIX seconds) leaves older ones out."""
        t = schema.audit_log
        cond = [t.c.team_id == team_id]
        if user_id:
            cond.append(t.c.user_id == user_id)
        if action_prefix:
            cond.append(t.c.action.startswith(action_prefix))
        if since is not None:
            cond.append(t.c.created_at >= since)
        async with self._reads.connect() as conn:
            rows = (await conn.execute(sa.select(t).where(*cond).order_by(t.c.id.desc()).limit(limit))).all()
        return [
            AuditEntry(
                id=r.id,
                team_id=r.team_id,
                user_id=r.user_id,
                action=r.action,
                vendor=r.vendor,
                target=r.target,
                detail=r.detail,
                created_at=r.created_at,
            )
            for r in rows
        ]


# -- poll state ------------------------------------------------------------------------------


class PollStateRepo(_Repo):
    """Per-connection poller state, with a lease so one process polls a connection at a time."""

    async def try_lease(self, connection_id: str, holder: str, seconds: float) -> bool:
        now = time.time()
        t = schema.poll_state
        async with self._engine.begin() as conn:
            stmt = _insert(conn, t).values(
                connection_id=connection_id,
                state=None,
                holder=holder,
                lease_expires_at=now + seconds,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["connection_id"],
                set_={"holder": holder, "lease_expires_at": now + seconds},
                where=sa.or_(t.c.lease_expires_at <= now, t.c.holder == holder),
            ).returning(t.c.connection_id)
            return (await conn.execute(stmt)).first() is not None

    async def renew(self, connection_id: str, holder: str, seconds: float) -> bool:
        """Extend a lease ``holder`` still holds; False once it lost it (expired and taken, or restarted)."""
        t = schema.poll_state
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sa.update(t)
                .where(t.c.connection_id == connection_id, t.c.holder == holder)
                .values(lease_expires_at=time.time() + seconds)
            )
        return bool(result.rowcount)

    async def release(self, connection_id: str, holder: str, *, until: float = 0, for_everyone: bool = False) -> None:
        """End the lease; ``until`` (a Unix time) keeps other processes off it until then, and
        ``holder`` too with ``for_everyone`` (a wait the vendor asked for: ``try_lease`` lets a
        holder take its own lease again at once)."""
        t = schema.poll_state
        values: dict[str, Any] = {"lease_expires_at": until}
        if for_everyone:
            values["holder"] = ""
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.update(t).where(t.c.connection_id == connection_id, t.c.holder == holder).values(**values)
            )

    async def load(self, connection_id: str) -> dict[str, Any] | None:
        t = schema.poll_state
        async with self._reads.connect() as conn:
            row = (await conn.execute(sa.select(t.c.state).where(t.c.connection_id == connection_id))).first()
        return row.state if row else None

    async def restart_baseline(self, connection_id: str, *, since: float | None = None) -> None:
        """Make the next poll a new baseline that still posts completions from ``since`` (Unix time) on.

        For a connection whose account may have changed (a new token) or that nobody watched for a
        while (its first subscription): what the account already holds is not news, but what was
        completed since then is. ``since`` defaults to the last poll (a new token of the same
        account misses nothing), else now. A poll running meanwhile loses its lease, so it cannot
        save the state it read with the old token over this one.
        """
        t = schema.poll_state
        last = await self.load(connection_id) or {}
        if since is None:
            polled_at = last.get("polled_at")
            # WedgeHR stamps whole seconds: from the second before the last poll began (what it found
            # again is de-duplicated by its key).
            since = math.floor(polled_at) - 1 if polled_at else last.get("baseline_after") or time.time()
        state: dict[str, Any] = {"baseline_after": since}
        if "completions" in last:  # which recording of a wedge was its first: a retake since is posted as one
            state["completions"] = last["completions"]
        if "occurrences" in last:  # how often an invite bounced or was canceled: a later time is posted as one
            state["occurrences"] = last["occurrences"]
        if "outage" in last:  # polls failing, maybe told of: the next that works says it is back
            state["outage"] = last["outage"]
        async with self._engine.begin() as conn:
            stmt = _insert(conn, t).values(connection_id=connection_id, state=state, holder="", lease_expires_at=0)
            stmt = stmt.on_conflict_do_update(
                index_elements=["connection_id"], set_={"state": state, "holder": "", "lease_expires_at": 0}
            )
            await conn.execute(stmt)

    async def save(self, connection_id: str, holder: str, state: dict[str, Any]) -> bool:
        """Save only while still holding the lease; False if another process took it."""
        t = schema.poll_state
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sa.update(t).where(t.c.connection_id == connection_id, t.c.holder == holder).values(state=state)
            )
        return bool(result.rowcount)

    async def delete_orphans(self) -> int:
        """Delete the state of connections that no longer exist; returns how many rows went.

        ``ConnectionRepo.delete`` takes a connection's state with it. Older versions left it behind,
        and a poll that leased a connection as it was being deleted writes its row again.
        """
        t, c = schema.poll_state, schema.connections
        async with self._engine.begin() as conn:
            result = await conn.execute(sa.delete(t).where(~sa.exists().where(c.c.id == t.c.connection_id)))
        return result.rowcount or 0
