"""Background work started after ``ack()``, kept referenced and logged on failure."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)

# Set while a Slack request is being answered: work spawned then waits until the answer is sent.
_answer_sent: contextvars.ContextVar[asyncio.Event | None] = contextvars.ContextVar("answer_sent", default=None)


@contextmanager
def answered_first() -> Iterator[asyncio.Event]:
    """Hold back work spawned inside the block until the returned event is set (the HTTP answer left).

    Without it, the slow work a listener hands off after ``ack()`` starts on the event loop before
    the acknowledgement is written, and Slack waits for the bytes that matter most.
    """
    sent = asyncio.Event()
    token = _answer_sent.set(sent)
    try:
        yield sent
    finally:
        sent.set()
        _answer_sent.reset(token)


class BackgroundTasks:
    """A set of running tasks that outlive the request that started them.

    asyncio only keeps weak references to tasks, so a fire-and-forget task can be
    garbage-collected mid-flight; this set keeps each one alive until it ends,
    logs any failure with its traceback, and lets shutdown wait for them.
    """

    def __init__(self, *, max_running: int = 100) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        # A flood of requests must not become a flood of concurrent vendor and database calls:
        # past this many, work waits its turn (and work with a deadline may lapse, see spawn).
        self._slots = asyncio.Semaphore(max_running)

    def spawn(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        name: str | None = None,
        start_within: float | None = None,
        on_late: Callable[[], Coroutine[Any, Any, Any]] | None = None,
    ) -> asyncio.Task[Any]:
        """Run ``coro`` in the background.

        Args:
            coro: The work.
            name: Task name, for logs.
            start_within: Seconds within which the work must start; if it could not (the bot
                was saturated), ``coro`` is dropped and ``on_late`` runs instead. For work
                bound to a Slack ``trigger_id``, which expires 3 s after the request.
            on_late: What to do instead of lapsed work (tell the user).
        """
        deadline = asyncio.get_running_loop().time() + start_within if start_within is not None else None
        sent = _answer_sent.get()
        task = asyncio.create_task(
            self._run(
                coro, sent=sent if sent is not None and not sent.is_set() else None, deadline=deadline, on_late=on_late
            ),
            name=name,
        )
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    async def _run(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        sent: asyncio.Event | None,
        deadline: float | None,
        on_late: Callable[[], Coroutine[Any, Any, Any]] | None,
    ) -> Any:
        try:
            if sent is not None:
                await sent.wait()
            async with self._slots:
                if deadline is not None and asyncio.get_running_loop().time() > deadline:
                    coro.close()
                    logger.warning("Dropped lapsed background work %s", asyncio.current_task().get_name())
                    if on_late is not None:
                        await on_late()
                    return None
                return await coro
        finally:
            coro.close()  # never awaited when cancelled early: no "never awaited" warning

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            logger.error("Background task %s failed", task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, grace_seconds: float = 10.0) -> None:
        """Wait for running tasks (graceful shutdown), cancelling what is left after ``grace_seconds``."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
