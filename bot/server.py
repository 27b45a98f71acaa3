"""Run the bot until SIGINT/SIGTERM: HTTP server, plus Socket Mode when configured."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

from aiohttp import web

from bot.app import BOLT_KEY, create_web_app
from bot.settings import Settings, SlackMode

logger = logging.getLogger(__name__)


async def serve_forever(settings: Settings, *, sandbox: bool = False) -> None:
    web_app = create_web_app(settings, sandbox=sandbox)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    # Everything alive now (imports, settings, listeners, pools) lives as long as the process.
    # Frozen, the cyclic GC stops re-scanning it: a full collection then took 25-35 ms with the
    # event loop stopped, a stall every request in flight paid (docs/PERFORMANCE.md).
    gc.collect()
    gc.freeze()
    socket_handler = None
    if settings.slack_mode is SlackMode.socket:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        socket_handler = AsyncSocketModeHandler(
            web_app[BOLT_KEY],
            settings.slack_app_token.get_secret_value(),  # type: ignore[union-attr]
        )
        await socket_handler.connect_async()
    # Only now: /healthz answering means Slack's requests can be answered, Socket Mode included.
    site = web.TCPSite(runner, host="0.0.0.0", port=settings.port)  # noqa: S104 - a server
    await site.start()
    logger.info(
        "Interview Bot listening on port %d (%s mode%s)",
        settings.port,
        settings.slack_mode.value,
        ", vendor sandboxes" if sandbox else "",
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        logger.info("Shutting down")
        if socket_handler is not None:
            await socket_handler.close_async()
        await runner.cleanup()
