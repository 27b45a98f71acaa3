"""Every storage test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.crypto import SecretBox
from bot.storage import Database
from tests.conftest import TEST_DATABASE_URL
from tests.support.databases import fresh_postgres_database

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


@pytest.fixture
def secret_box():
    return SecretBox(Fernet.generate_key())


@pytest.fixture
async def db(database_url, secret_box):
    database = Database(url=database_url, secret_box=secret_box)
    await database.migrate()
    yield database
    await database.aclose()
