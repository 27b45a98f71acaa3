"""Clients that open connections and never finish a request cannot take the bot down (python -m bot)."""

import asyncio
import base64
from contextlib import AsyncExitStack
from urllib.parse import urlparse

import httpx

from tests.bot.notify.test_processes import fakes, sqlite_bot, subscribe_channels

#: Long enough for a server that closes after 1 s on a loaded machine; the old bot never closed.
CLOSED_WITHIN = 8.0
HEALTH = b"GET /healthz HTTP/1.1\r\nHost: bot\r\n\r\n"


async def sent_until_closed(port: int, data: bytes) -> bytes | None:
    """Send ``data`` and nothing more: what the bot answered before closing; None if it kept it open."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    received = b""
    try:
        async with asyncio.timeout(CLOSED_WITHIN):
            while chunk := await reader.read(65536):
                received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    finally:
        writer.close()
    return received


async def kept_alive(port: int) -> asyncio.StreamWriter:
    """A connection that asked for /healthz, got its answer and now sits idle (keep-alive)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEALTH)
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    (length,) = (line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    await reader.readexactly(int(length))
    return writer


async def started_bot(stack: AsyncExitStack, tmp_path, *, open_files: int | None = None, **env: str):
    """The real process on SQLite with ``env`` added, stopped with ``stack``: (bot, fake Slack, Spark Hire)."""
    slack, sparkhire, sparkhire_url = await fakes(stack)
    bot = sqlite_bot(slack, sparkhire_url, tmp_path)
    if open_files is not None:
        bot.open_files = open_files
    bot.env |= env
    await bot.start()
    stack.push_async_callback(bot.stop)
    return bot, slack, sparkhire


async def healthy(url: str) -> bool:
    """Whether /healthz answers 200 within a few seconds (the bot frees closed connections by itself)."""
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(20):
            try:
                if (await client.get(url + "/healthz")).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.25)
    return False


async def test_connections_that_stop_before_the_end_of_a_request_are_closed(tmp_path):
    async with AsyncExitStack() as stack:
        bot, slack, sparkhire = await started_bot(
            stack, tmp_path, HTTP_IDLE_TIMEOUT_SECONDS="1", HTTP_BODY_TIMEOUT_SECONDS="1"
        )
        await subscribe_channels(bot.url, slack, ["C1"])
        (hook,) = sparkhire.webhooks.values()
        auth = base64.b64encode(hook["_auth"].encode()).decode()
        signed = b"X-Slack-Request-Timestamp: 1700000000\r\nX-Slack-Signature: v0=" + b"0" * 64 + b"\r\n"
        attempts = {
            "nothing": b"",
            "half the headers": b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n",
            "half a Slack body": b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n" + signed + b"Content-Type: "
            b"application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ntoken=",
            "half a webhook body": f"POST {urlparse(hook['url']).path} HTTP/1.1\r\nHost: bot\r\n"
            f"Authorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            '{"interview": '.encode(),
        }
        answered = await asyncio.gather(*(sent_until_closed(bot.port, data) for data in attempts.values()))
        answers = dict(zip(attempts, answered, strict=True))

        # Each one closed by the bot, the bodies with a 408 first.
        assert answers["nothing"] == b"" and answers["half the headers"] == b"", answers
        for name in ("half a Slack body", "half a webhook body"):
            assert answers[name] is not None and answers[name].startswith(b"HTTP/1.1 408"), (name, answers[name])
        assert await healthy(bot.url)


async def test_connections_beyond_http_max_connections_are_refused_and_the_bot_recovers(tmp_path):
    async with AsyncExitStack() as stack:
        bot, _, _ = await started_bot(stack, tmp_path, HTTP_MAX_CONNECTIONS="20", HTTP_IDLE_TIMEOUT_SECONDS="60")

        idle = [await kept_alive(bot.port) for _ in range(20)]
        # The 21st is told so and closed at once, whatever it sends.
        refused = await sent_until_closed(bot.port, HEALTH)
        assert refused is not None and refused.startswith(b"HTTP/1.1 503"), refused
        assert b"too many open connections" in refused

        for writer in idle:
            writer.close()
        assert await healthy(bot.url)
        assert "Refusing connections: 20 are open, HTTP_MAX_CONNECTIONS is 20" in bot.log.read_text()


async def test_running_out_of_open_files_logs_one_line_not_thousands_and_the_bot_recovers(tmp_path):
    async with AsyncExitStack() as stack:
        # Set above what 128 files allow (the bot warns), so that accept() itself runs out of them.
        bot, _, _ = await started_bot(
            stack, tmp_path, open_files=128, HTTP_MAX_CONNECTIONS="10000", HTTP_IDLE_TIMEOUT_SECONDS="60"
        )

        flood = [await asyncio.open_connection("127.0.0.1", bot.port) for _ in range(200)]
        log = ""
        for _ in range(100):  # until the bot has run out (it logs the first time at once)
            log = bot.log.read_text()
            if "out of system resource" in log:
                break
            await asyncio.sleep(0.1)
        assert "out of system resource" in log
        await asyncio.sleep(2)  # asyncio retries accept() every second, logging each time it fails
        assert bot.log.read_text().count("out of system resource") == 1

        for _, writer in flood:
            writer.close()
        assert await healthy(bot.url)
        assert "HTTP_MAX_CONNECTIONS=10000 leaves too few of the 128 open files" in bot.log.read_text()
