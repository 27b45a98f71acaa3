"""Run aiohttp applications on 127.0.0.1 for tests (fake Slack, vendor sandboxes, the bot)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def serve(app: web.Application, *, port: int | None = None) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL (no trailing slash)."""
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
