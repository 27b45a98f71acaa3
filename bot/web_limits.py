"""Limits that keep clients which never finish a request from taking the server down.

aiohttp by itself keeps a connection that sends nothing, half its headers or half its body for an
hour or forever; enough of them use up the process's file descriptors, and then nothing (Slack,
Spark Hire, ``/healthz``) gets in. What is here bounds each of those:

- request headers and idle keep-alive: aiohttp's own ``keepalive_timeout``, which (from aiohttp
  3.14.5 at least) also runs from the moment a connection opens (``server_options``);
- a body: ``read_within`` / ``body_timed_out`` (408, then the connection closes);
- the number of connections: ``ConnectionLimit``, with the soft open-file limit raised to the hard
  one (``raise_open_file_limit``);
- asyncio's "out of system resource" log line, which it writes once per refused ``accept()``:
  ``ThrottledAcceptErrors``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Connections allowed when HTTP_MAX_CONNECTIONS is not set (fewer if the open-file limit is low).
DEFAULT_MAX_CONNECTIONS = 1000
#: What a connection beyond the limit is told before it is closed; sent before any request is read.
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 26\r\n\r\ntoo many open connections\n"
)
ACCEPT_ERROR = "socket.accept() out of system resource"


def server_options(*, idle_timeout: float, body_timeout: float) -> dict[str, Any]:
    """Keyword arguments for ``web.AppRunner`` that bound how long aiohttp waits on a client.

    Args:
        idle_timeout: ``keepalive_timeout``: a connection that has not sent a complete request's
            headers this long after it opened, or after its last answer, is closed.
        body_timeout: ``lingering_time``: how long a body the handler did not read (a 404, a 408)
            is still read and thrown away before the connection closes.
    """
    return {"keepalive_timeout": idle_timeout, "lingering_time": body_timeout}


async def read_within(
    request: web.Request, seconds: float, read: Callable[[], Awaitable[T]] | None = None
) -> T | bytes:
    """The request's whole body within ``seconds``: ``request.read()`` (so read once), or ``read()``.

    Raises:
        TimeoutError: the body did not arrive in time; answer ``body_timed_out()``.
    """
    read_body = read or request.read
    if request.content.is_eof():  # it came with the headers, as small bodies do: nothing to wait for
        return await read_body()
    async with asyncio.timeout(seconds):
        return await read_body()


def body_timed_out() -> web.Response:
    """408 for a body that did not arrive in time; the connection is closed after it."""
    response = web.json_response({"error": "the request body did not arrive in time"}, status=408)
    response.force_close()
    return response


class _Refused(asyncio.Protocol):
    """A connection beyond the limit: told 503, then closed, without reading anything."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(REFUSAL)  # type: ignore[attr-defined]
        transport.close()


class ConnectionLimit:
    """The listening socket's protocol factory: aiohttp's server until ``limit`` connections are open.

    A connection beyond the limit is accepted, answered 503 and closed at once, so the process keeps
    file descriptors for its database, Slack and the vendors. The count is aiohttp's own list of
    open connections; connections accepted in the same event-loop tick are counted only once they
    are set up, so a burst can pass the limit by one accept batch (``backlog``), no more.

    Args:
        server: ``web.AppRunner.server``.
        limit: Most connections open at once.
        now: Clock for the rate of the "refusing" warning (tests).
    """

    def __init__(self, server: web.Server, limit: int, *, now: Callable[[], float] = time.monotonic) -> None:
        self._server = server
        self.limit = limit
        self._now = now
        self._warned_at = -1e9
        self._refused = 0

    def __call__(self) -> asyncio.BaseProtocol:
        if len(self._server.connections) < self.limit:
            return self._server()
        self._refused += 1
        now = self._now()
        if now - self._warned_at >= 60:
            logger.warning(
                "Refusing connections: %d are open, HTTP_MAX_CONNECTIONS is %d (%d refused in the last minute)",
                len(self._server.connections),
                self.limit,
                self._refused,
            )
            self._warned_at, self._refused = now, 0
        return _Refused()


def raise_open_file_limit() -> int | None:
    """Raise the soft open-file limit to the hard one; the limit now in force (``None``: unknown).

    The soft limit is often 1024 while the hard one allows far more; each connection is a file.
    """
    try:
        import resource
    except ImportError:  # not on Unix
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # some platforms cap it below "unlimited"
            pass
    return None if soft == resource.RLIM_INFINITY else soft


def connection_limit(configured: int | None, open_files: int | None) -> int:
    """HTTP_MAX_CONNECTIONS as set, else the default within half the open-file limit.

    The other half is for the database, the HTTP clients, log files and a burst of accepts.
    """
    if configured is not None:
        if open_files is not None and configured > open_files // 2:
            logger.warning(
                "HTTP_MAX_CONNECTIONS=%d leaves too few of the %d open files this process may have; "
                "a flood of connections can then stop it answering anyone",
                configured,
                open_files,
            )
        return configured
    if open_files is None:
        return DEFAULT_MAX_CONNECTIONS
    return max(1, min(DEFAULT_MAX_CONNECTIONS, open_files // 2))


class ThrottledAcceptErrors:
    """Event-loop exception handler: asyncio's "out of system resource" at most once per ``interval``.

    asyncio logs an ERROR, with a traceback, for every ``accept()`` refused for lack of file
    descriptors, up to a backlog's worth per second: tens of thousands of lines a minute, enough
    to fill a disk. Here the first is logged and the rest counted into the next one. Everything else
    goes to the loop's default handler.

    Args:
        interval: Seconds between two of these lines.
        now: Clock (tests).
    """

    def __init__(self, *, interval: float = 60.0, now: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._now = now
        self._logged_at = -1e9
        self._suppressed = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != ACCEPT_ERROR:
            loop.default_exception_handler(context)
            return
        now = self._now()
        if now - self._logged_at < self._interval:
            self._suppressed += 1
            return
        logger.error(
            "%s (%s): new connections wait until files are free (%d more like it in the last %g s); "
            "lower HTTP_MAX_CONNECTIONS or raise the open-file limit",
            ACCEPT_ERROR,
            context.get("exception"),
            self._suppressed,
            self._interval,
        )
        self._logged_at, self._suppressed = now, 0
