"""Shared fixtures. PostgreSQL tests run when TEST_DATABASE_URL is set, else they skip."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import threading
from pathlib import Path

import pytest
import pytest_timeout

from tests.support.databases import fresh_postgres_database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads the developer's .env or real credentials; each runs in its own directory."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "WEDGEHR_", "SPARKHIRE_")) or name in {
            "DATABASE_URL",
            "PUBLIC_URL",
            "BOT_SECRET_KEY",
            "PORT",
            "VENDOR_KEYS_TEAM_IDS",
            "DATABASE_TIMEOUT_SECONDS",
            "EVENT_RETENTION_DAYS",
        }:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _asyncio_task_stacks() -> str:
    """Where each task of the running event loop waits; empty when no loop runs."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return ""
    out = io.StringIO()
    for task in asyncio.all_tasks(loop):
        out.write(f"--- {task!r}\n")
        task.print_stack(file=out)
    return out.getvalue()


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item, settings):
    """pytest-timeout's signal method, also telling where every asyncio task waits.

    A test hung in an ``await`` shows only the event loop's ``select()`` in the thread stacks
    pytest-timeout prints. The timer is re-armed once: a teardown that hangs too still ends.
    """
    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None
    fired = 0

    def on_timeout(signum, frame):
        nonlocal fired
        fired += 1
        terminal = item.config.get_terminal_writer()
        if fired > 2:
            terminal.line(f"{item.nodeid} still hung after its timeout; exiting")
            os._exit(1)
        signal.setitimer(signal.ITIMER_REAL, 60)
        terminal.sep("+", title=f"asyncio tasks of {item.nodeid}")
        terminal.line(_asyncio_task_stacks())
        pytest_timeout.timeout_sigalrm(item, settings)

    def cancel():
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    item.cancel_timeout = cancel
    signal.signal(signal.SIGALRM, on_timeout)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that ran the bot as a process shows the end of that process's log."""
    report = yield
    tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
    if report.failed and tmp_path is not None:
        for log in sorted(Path(tmp_path).glob("bot-*.log")):
            report.sections.append((f"{log.name} (last 8000 characters)", log.read_text(errors="replace")[-8000:]))
    return report


BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set"),
    ),
]


async def make_database_url(backend: str, tmp_path) -> tuple[str, object]:
    """A fresh database: a SQLite file, or a throw-away PostgreSQL schema. Returns (url, cleanup)."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/test.sqlite3", None
    return await fresh_postgres_database()


@pytest.fixture(params=BACKENDS)
async def database_url(request, tmp_path):
    url, cleanup = await make_database_url(request.param, tmp_path)
    yield url
    if cleanup:
        await cleanup()
