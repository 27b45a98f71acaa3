"""Run the bot until SIGINT/SIGTERM: HTTP server, plus Socket Mode when configured."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import signal
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError

from bot.app import BOLT_KEY, READINESS_KEY, Readiness, create_web_app
from bot.errors import StartupFailed
from bot.settings import Settings, SlackMode
from bot.storage.errors import database_start_failure
from bot.web_limits import (
    ConnectionLimit,
    ThrottledAcceptErrors,
    connection_limit,
    raise_open_file_limit,
    server_options,
)

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

logger = logging.getLogger(__name__)

#: What Slack answers apps.connections.open when SLACK_APP_TOKEN itself is wrong: retrying cannot help.
APP_TOKEN_REFUSALS = frozenset(
    {"invalid_auth", "not_authed", "not_allowed_token_type", "token_revoked", "token_expired", "account_inactive"}
)
#: Longest pause between attempts to open the socket while Slack cannot be reached.
SOCKET_RETRY_MAX_SECONDS = 30.0


async def open_socket(handler: AsyncSocketModeHandler, readiness: Readiness) -> None:
    """Connect Socket Mode: fail at once on a refused ``SLACK_APP_TOKEN``, wait out Slack being away.

    slack-sdk retries every failure forever, a wrong token included, logging a traceback each
    time; asking for the socket's URL here first tells the two apart.

    Raises:
        StartupFailed: Slack refused the app-level token.
    """
    client = handler.client
    delay = 1.0
    while True:
        try:
            response = await client.web_client.apps_connections_open(app_token=client.app_token)
            client.wss_uri = response["url"]  # connect() uses it instead of asking again
            break
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            error = data.get("error")
            if error in APP_TOKEN_REFUSALS:
                raise StartupFailed(
                    f"Setting SLACK_APP_TOKEN: Slack refused it ({error}): copy the app-level token (xapp-...) "
                    "with the connections:write scope from the app's Basic Information page; "
                    "check it with `python -m bot doctor`",
                    2,
                ) from None
            reason = error or f"HTTP {exc.response.status_code}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = type(exc).__name__
        logger.warning("Slack did not open a Socket Mode connection (%s); trying again in %.0f s", reason, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, SOCKET_RETRY_MAX_SECONDS)
    await handler.connect_async()
    readiness.waiting_for = None
    logger.info("Socket Mode connected")


def port_unavailable(port: int, exc: OSError) -> StartupFailed:
    """The line for a port the bot cannot listen on (``PORT``), instead of asyncio's traceback."""
    if exc.errno == errno.EADDRINUSE:
        # Perhaps a bot still stopping on the same machine: a restart may get through.
        return StartupFailed(
            f"Cannot listen on PORT {port}: another process is using it (a bot still running?): stop it, "
            "or set PORT to a free port",
            1,
        )
    if exc.errno == errno.EACCES:
        return StartupFailed(
            f"Setting PORT: {port} needs privileges this process does not have: use a port of 1024 or above "
            "(put a reverse proxy in front to serve 80 or 443)",
            2,
        )
    return StartupFailed(f"Cannot listen on PORT {port} ({exc.strerror or exc}): check PORT", 1)


async def serve_forever(settings: Settings, *, sandbox: bool = False) -> None:
    """Serve until SIGINT or SIGTERM.

    Raises:
        StartupFailed: the database could not be opened, ``PORT`` could not be listened on, or Slack
            refused ``SLACK_APP_TOKEN``.
    """
    # A token of the wrong kind (Settings.slack_token_problems) was refused before this, by bot/__main__.py.
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)

    # Before anything opens files: each connection, pooled or served, is one.
    open_files = raise_open_file_limit()
    loop.set_exception_handler(ThrottledAcceptErrors())
    web_app = create_web_app(settings, sandbox=sandbox)
    runner = web.AppRunner(
        web_app,
        access_log=None,
        **server_options(
            idle_timeout=settings.http_idle_timeout_seconds, body_timeout=settings.http_body_timeout_seconds
        ),
    )
    try:
        await runner.setup()
    except Exception as exc:
        await runner.cleanup()
        failure = database_start_failure(settings, exc)
        if failure is None:
            raise
        raise failure from None
    # Everything alive now (imports, settings, listeners, pools) lives as long as the process.
    # Frozen, the cyclic GC stops re-scanning it: a full collection then took 25-35 ms with the
    # event loop stopped, a stall every request in flight paid (docs/PERFORMANCE.md).
    gc.collect()
    gc.freeze()
    readiness = web_app[READINESS_KEY]
    socket_handler = None
    if settings.slack_mode is SlackMode.socket:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        socket_handler = AsyncSocketModeHandler(web_app[BOLT_KEY], app_token)
        readiness.waiting_for = "the Slack Socket Mode connection"
    # The port is served before Slack is: platforms kill a process that has not bound it within a
    # minute, and a Slack outage must not take /healthz with it (it answers 503 until connected).
    # asyncio's own listener rather than web.TCPSite: only its protocol factory can turn away a
    # connection beyond HTTP_MAX_CONNECTIONS before aiohttp sets it up (aiohttp has no such limit).
    assert runner.server is not None
    try:
        listener = await loop.create_server(
            ConnectionLimit(runner.server, connection_limit(settings.http_max_connections, open_files)),
            host="0.0.0.0",  # noqa: S104 - a server
            port=settings.port,
            backlog=128,  # web.TCPSite's
            reuse_address=True,
        )
    except OSError as exc:
        # The workers started with the app: they hand back what they hold before the process ends.
        await runner.cleanup()
        raise port_unavailable(settings.port, exc) from None
    logger.info(
        "Interview Bot listening on port %d (%s mode%s)",
        settings.port,
        settings.slack_mode.value,
        ", vendor sandboxes" if sandbox else "",
    )
    stopping = asyncio.create_task(stop.wait())
    connecting = asyncio.create_task(open_socket(socket_handler, readiness)) if socket_handler else None
    try:
        if connecting is not None:
            await asyncio.wait({stopping, connecting}, return_when=asyncio.FIRST_COMPLETED)
            if connecting.done():
                connecting.result()  # a refused token ends the process here
        await stopping
    finally:
        logger.info("Shutting down")
        for task in (stopping, connecting):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if socket_handler is not None:
            await socket_handler.close_async()
        listener.close()  # no new connections; runner.cleanup() lets those open finish
        await runner.cleanup()
