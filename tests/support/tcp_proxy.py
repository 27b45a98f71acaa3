"""A loopback TCP proxy that can stop forwarding: a server that is there but no longer answers.

That is what a failover or a network partition looks like to a client: the connection stays
open and nothing comes back. Refused connections (``ALLOW_CONNECTIONS false``) fail fast; this
does not, and only a client-side timeout ends the wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class StallingProxy:
    """Forwards 127.0.0.1:<port> to ``target``; while stalled, accepts and holds but forwards nothing.

    Args:
        target_host: Where to forward.
        target_port: Where to forward.
    """

    def __init__(self, *, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def stalled(self) -> AsyncIterator[None]:
        """Inside, no byte goes through, either way, on old or new connections."""
        self._flowing.clear()
        try:
            yield
        finally:
            self._flowing.set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        await self._flowing.wait()
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        for reader, writer in ((client_reader, server_writer), (server_reader, client_writer)):
            task = asyncio.create_task(self._pipe(reader, writer))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._flowing.set()
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


@asynccontextmanager
async def stalling_proxy(*, target_host: str, target_port: int) -> AsyncIterator[StallingProxy]:
    proxy = StallingProxy(target_host=target_host, target_port=target_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
