"""Every storage test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import create_async_engine

from bot.crypto import SecretBox
from bot.settings import normalize_database_url
from bot.storage import Database
from tests.conftest import TEST_DATABASE_URL

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


async def fresh_postgres_database() -> tuple[str, object]:
    """CREATE DATABASE per test: isolated, and the shared ``test`` database stays clean."""
    base = normalize_database_url(TEST_DATABASE_URL)
    name = "t_" + secrets.token_hex(6)
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f"CREATE DATABASE {name}"))

    async def cleanup() -> None:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await admin.dispose()

    return base.rsplit("/", 1)[0] + "/" + name, cleanup


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
