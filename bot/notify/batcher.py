"""Group commit: concurrent deliveries share one transaction, each answered after its commit."""

from __future__ import annotations

import asyncio
import logging

from bot.storage import Database, NewEvent, is_database_unavailable
from bot.storage.errors import is_refused_value

logger = logging.getLogger(__name__)

MAX_BATCH = 500


class UnstorableEvent(Exception):
    """The database refuses to store this event, not for a moment but whatever the retry: a bad delivery."""


class EventBatcher:
    """Queues events and writes whatever has gathered in one ``record_many`` call.

    One commit per request cannot reach thousands of deliveries a second on
    SQLite; a single writer loop that drains the queue makes the batch as large
    as the concurrency, and each caller still waits for its own commit.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._queue: asyncio.Queue[tuple[NewEvent, asyncio.Future[bool]]] = asyncio.Queue()
        # SQLite has one writer at a time, so a second batch would only queue on its lock. PostgreSQL
        # takes two: one batch gathers and is sent while the other commits.
        self._writers = 2 if db.dialect_name == "postgresql" else 1
        self._tasks: list[asyncio.Task[None]] = []

    async def record(self, event: NewEvent) -> bool:
        """Durably store ``event`` (and its outbox rows); True if new, False if a duplicate."""
        self._tasks = [task for task in self._tasks if not task.done()]
        while len(self._tasks) < self._writers:
            self._tasks.append(asyncio.create_task(self._run(), name="event-batcher"))
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._queue.put((event, future))
        return await future

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await self._db.events.record_many([event for event, _ in batch])
            except Exception as exc:
                if is_database_unavailable(exc):  # every waiter learns it was not stored, and retries
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                # The database refused something in the batch (a value PostgreSQL will not store):
                # one at a time, the others are stored and only the one refused is told so.
                await self._record_one_by_one(batch)
                continue
            for (_, future), inserted in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(inserted)

    async def _record_one_by_one(self, batch: list[tuple[NewEvent, asyncio.Future[bool]]]) -> None:
        """Store each event of a refused batch in a transaction of its own, as ``record`` would."""
        for event, future in batch:
            if future.done():  # its caller went away
                continue
            try:
                inserted = await self._db.events.record(event)
            except Exception as exc:
                if not is_refused_value(exc):  # an outage, a deadlock: the sender's retry will do
                    future.set_exception(exc)
                    continue
                logger.warning(
                    "Event %r cannot be stored (%s: %s)", event.dedup_key[:80], type(exc).__name__, str(exc)[:300]
                )
                error = UnstorableEvent(f"the database refused this delivery ({type(exc).__name__})")
                error.__cause__ = exc
                future.set_exception(error)
                continue
            future.set_result(inserted)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
