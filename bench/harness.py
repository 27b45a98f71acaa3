"""Shared pieces of the benchmarks: the bot and its baselines as real processes, fakes, statistics, results."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import create_async_engine

from bot.settings import normalize_database_url
from bot.sparkhire.sandbox import SparkHireSandbox
from bot.wedgehr.sandbox import WedgeHRSandbox
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.process import BotProcess
from tests.support.servers import free_port, serve
from tests.support.slack_requests import SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "performance.json"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Fakes:
    slack: FakeSlack
    wedgehr: WedgeHRSandbox
    sparkhire: SparkHireSandbox
    wedgehr_url: str
    sparkhire_url: str


@asynccontextmanager
async def fakes(slack: FakeSlack | None = None) -> AsyncIterator[Fakes]:
    """Fake Slack Web API and both vendor sandboxes on loopback, in this process."""
    slack, wedgehr, sparkhire = slack or FakeSlack(), WedgeHRSandbox(), SparkHireSandbox()
    # The payloads carry made-up trigger_ids (bench/payloads.py), and a form opened late under load
    # is the bot's latency to measure, not a refusal that changes the work it does.
    slack.triggers_enforced = False
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


@dataclass
class Server:
    url: str
    pid: int


@asynccontextmanager
async def module_process(module: str, *args: str) -> AsyncIterator[Server]:
    """A baseline server (``python -m <module> --port N``), once it answers ``/healthz``."""
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
            for _ in range(600):
                try:
                    async with session.get(url + "/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
            else:
                raise RuntimeError(f"{module} did not start")
        yield Server(url, proc.pid)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


@asynccontextmanager
async def fresh_postgres(admin_url: str) -> AsyncIterator[str]:
    """A throw-away database on the server of ``admin_url``; yields its ``postgresql://`` URL."""
    name = "bench_" + secrets.token_hex(4)
    admin = create_async_engine(normalize_database_url(admin_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f"CREATE DATABASE {name}"))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await admin.dispose()


# -- statistics -----------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def idle_cpu_share(pid: int, seconds: float) -> float:
    """Share of one core a process uses while nothing is asked of it (0.01 = 1% of a core)."""
    before, started = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return round((cpu_seconds(pid) - before) / (time.monotonic() - started), 4)


# -- results --------------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _cpuinfo().splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_app_files": _git("status", "--porcelain", "--", "bot", "handlers", "blocks").splitlines(),
    }


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def save(section: str, data: Any, *, path: Path | None = None) -> None:
    """Merge one benchmark's results into docs/performance.json (or ``path``)."""
    path = path or Path(os.environ.get("BENCH_RESULTS", RESULTS))
    results = json.loads(path.read_text()) if path.exists() else {}
    results[section] = data
    results["machine"] = machine()
    path.write_text(json.dumps(results, indent=2) + "\n")


async def py_spy(pid: int, out: Path | str, seconds: float, *, rate: int = 250) -> asyncio.subprocess.Process:
    """Start py-spy sampling ``pid`` (collapsed stacks, ``--format raw``, with idle frames); await ``.wait()``."""
    command = [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--format", "raw"]
    command += [
        "--output",
        str(out),
        "--duration",
        str(round(seconds)),
        "--rate",
        str(rate),
        "--nonblocking",
        "--threads",
    ]
    return await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
