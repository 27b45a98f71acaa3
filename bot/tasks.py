"""Background work started after ``ack()``, kept referenced and logged on failure."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Coroutine, Iterator
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


async def _after(sent: asyncio.Event, coro: Coroutine[Any, Any, Any]) -> Any:
    await sent.wait()
    return await coro


class BackgroundTasks:
    """A set of running tasks that outlive the request that started them.

    asyncio only keeps weak references to tasks, so a fire-and-forget task can be
    garbage-collected mid-flight; this set keeps each one alive until it ends,
    logs any failure with its traceback, and lets shutdown wait for them.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str | None = None) -> asyncio.Task[Any]:
        sent = _answer_sent.get()
        if sent is not None and not sent.is_set():
            coro = _after(sent, coro)
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

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
