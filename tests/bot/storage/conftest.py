"""Every storage test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set (``database_url``)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.crypto import SecretBox
from bot.storage import Database


@pytest.fixture
def secret_box():
    return SecretBox(Fernet.generate_key())


@pytest.fixture
async def db(database_url, secret_box):
    database = Database(url=database_url, secret_box=secret_box)
    await database.migrate()
    yield database
    await database.aclose()
