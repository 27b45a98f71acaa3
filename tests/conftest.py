"""Shared fixtures. PostgreSQL tests run when TEST_DATABASE_URL is set, else they skip."""

from __future__ import annotations

import os

import pytest

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
        }:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
