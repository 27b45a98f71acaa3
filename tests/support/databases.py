"""Throw-away databases for tests."""

from __future__ import annotations

import os
import secrets

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.settings import normalize_database_url

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


async def fresh_postgres_database() -> tuple[str, object]:
    """CREATE DATABASE per test: isolated, and the shared ``test`` database stays clean."""
    assert TEST_DATABASE_URL
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


def statements_on(engine: AsyncEngine, verb: str, table: sa.Table) -> list[str]:
    """Every ``verb`` (SELECT, INSERT, ...) statement touching ``table`` that ``engine`` runs from now on."""
    seen: list[str] = []

    @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(verb) and table.name in statement:
            seen.append(statement)

    return seen
