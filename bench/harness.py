"""Shared pieces of the benchmarks: the bot and its baselines as real processes, fakes, load, statistics."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import psutil
from cryptography.fernet import Fernet

from bot.sparkhire.sandbox import SparkHireSandbox
from bot.wedgehr.sandbox import WedgeHRSandbox
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.process import BotProcess
from tests.support.servers import free_port, serve
from tests.support.slack_requests import SIGNING_SECRET, TEAM, sign

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "performance.json"


@dataclass
class Fakes:
    slack: FakeSlack
    wedgehr: WedgeHRSandbox
    sparkhire: SparkHireSandbox
    wedgehr_url: str
    sparkhire_url: str


@asynccontextmanager
async def fakes() -> AsyncIterator[Fakes]:
    """Fake Slack Web API and both vendor sandboxes on loopback, in this process."""
    slack, wedgehr, sparkhire = FakeSlack(), WedgeHRSandbox(), SparkHireSandbox()
    async with AsyncExitStack() as stack:
        slack.base_url = await stack.enter_async_context(serve(slack.app))
        wedgehr_url = await stack.enter_async_context(serve(wedgehr.app))
        sparkhire_url = await stack.enter_async_context(serve(sparkhire.app))
        yield Fakes(slack, wedgehr, sparkhire, wedgehr_url, sparkhire_url)


@asynccontextmanager
async def bot_process(f: Fakes, *, database_url: str | None = None) -> AsyncIterator[BotProcess]:
    """``python -m bot`` configured only through its environment, as an operator would."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-bot-"))
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f.slack.base_url + "/api/",
        "WEDGEHR_TOKEN": "bench-wedge-token",
        "WEDGEHR_API_URL": f.wedgehr_url,
        "SPARKHIRE_API_KEY": "bench-spark-key",
        "SPARKHIRE_API_URL": f.sparkhire_url,
        "DATABASE_URL": database_url or f"sqlite:///{workdir}/bot.sqlite3",
        "BOT_SECRET_KEY": Fernet.generate_key().decode(),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    bot = BotProcess(env=env, port=port, workdir=workdir)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


@asynccontextmanager
async def module_process(module: str, *args: str) -> AsyncIterator[str]:
    """A baseline server (``python -m bench.<module> --port N``); yields its base URL once healthy."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        "--port",
        str(port),
        *args,
        cwd=ROOT,
        env={**os.environ, "SLACK_SIGNING_SECRET": SIGNING_SECRET},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    async with session.get(url + "/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
            else:
                raise RuntimeError(f"{module} did not start")
        yield url
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


# -- Slack requests ---------------------------------------------------------------------------------
def command_form(text: str, *, n: int) -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": TEAM["id"],
            "team_domain": TEAM["domain"],
            "channel_id": "C1",
            "channel_name": "hiring",
            "user_id": "U1",
            "user_name": "rita",
            "command": "/interview",
            "text": text,
            "api_app_id": "A1",
            "response_url": "",
            "trigger_id": f"trigger-{n}",
        }
    )


def view_submission_form(*, n: int) -> str:
    """A WedgeHR invite with a bad email: the bot answers with a field error inside the ack."""
    values = {
        "wedgehr_interview": {"input": {"type": "external_select", "selected_option": {"value": "1"}}},
        "email": {"input": {"type": "plain_text_input", "value": "ann@"}},
    }
    payload = {
        "type": "view_submission",
        "team": TEAM,
        "user": {"id": "U1", "team_id": TEAM["id"]},
        "api_app_id": "A1",
        "trigger_id": f"trigger-{n}",
        "view": {
            "id": f"V{n}",
            "type": "modal",
            "callback_id": "invite_wedgehr",
            "private_metadata": "{}",
            "team_id": TEAM["id"],
            "blocks": [],
            "state": {"values": values},
        },
    }
    return urlencode({"payload": json.dumps(payload)})


REQUEST_KINDS: dict[str, Callable[[int], str]] = {
    "help": lambda n: command_form("help", n=n),
    "invite": lambda n: command_form("invite", n=n),
    "view_submission": lambda n: view_submission_form(n=n),
}


def signed_slack_headers(body: str) -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}


# -- load and statistics -------------------------------------------------------------------------------
Send = Callable[[aiohttp.ClientSession, int], Awaitable[int]]


async def run_load(send: Send, *, total: int, concurrency: int) -> tuple[list[float], list[int], float]:
    """``total`` requests from ``concurrency`` workers; per-request latencies (s), statuses, wall time."""
    latencies: list[float] = []
    statuses: list[int] = []
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def worker() -> None:
            for n in counter:
                start = time.perf_counter()
                status = await send(session, n)
                latencies.append(time.perf_counter() - start)
                statuses.append(status)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - began
    return latencies, statuses, wall


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
    }


def rss_mb(pid: int) -> float:
    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def save(section: str, data: Any) -> None:
    """Merge one benchmark's results into docs/performance.json."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[section] = data
    results.setdefault("machine", {}).update(
        {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform}
    )
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
