"""Run aiohttp applications on 127.0.0.1 for tests (fake Slack, vendor sandboxes, the bot)."""

from __future__ import annotations

import itertools
import os
import random
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer

#: Ports handed out for a server started later (a bot process, a PUBLIC_URL known in advance). They
#: lie below Linux's ephemeral range (32768 and up), so no outgoing connection takes one between
#: the check and the start, and each pytest-xdist worker has its own block of them.
_FIRST_PORT, _LAST_PORT = 20000, 32000


def _worker_ports() -> Iterator[int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), index + 1)
    block = (_LAST_PORT - _FIRST_PORT) // workers
    first = _FIRST_PORT + index * block
    start = random.randrange(block)  # a new run does not start where the last one's sockets linger
    return itertools.cycle([first + (start + n) % block for n in range(block)])


_ports = _worker_ports()


def free_port() -> int:
    """A loopback port nothing listens on now, for a server this test starts in a moment."""
    for port in _ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("unreachable: the ports cycle")


@asynccontextmanager
async def serve(app: web.Application, *, port: int | None = None) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL (no trailing slash)."""
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
