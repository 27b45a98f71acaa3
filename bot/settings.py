"""Operator settings, read from the environment and an optional ``.env`` file.

The names are a public contract (operators script against them): add, never rename.
"""

from __future__ import annotations

import logging
import os
import re
import time
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

WEDGEHR_URLS = {
    "production": "https://api.wedgehr.com/connect/v2",
    "staging": "https://api.wedgebeta.com/connect/v2",
}
SPARKHIRE_DEFAULT_URL = "https://api.sparkhire.com/v1.0"
DEV_SECRET_KEY_FILE = ".interview-bot-secret-key"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A workspace; not an Enterprise Grid organisation (E…): a request names its workspace.
SLACK_TEAM_ID = re.compile(r"T[A-Z0-9]{2,}")
NEW_KEY_HINT = 'make one with python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


class WedgeHREnv(StrEnum):
    production = "production"
    staging = "staging"


class SlackMode(StrEnum):
    """How the bot talks to Slack, chosen from which credentials are set."""

    socket = "socket"
    oauth = "oauth"
    http = "http"


class Settings(BaseSettings):
    """All operator settings. Secrets are ``SecretStr`` so they never print."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    #: Longest wait for one Slack Web API call (slack-sdk's own default is 30 s; Slack answers in well
    #: under one). A user waiting on a form is told after this long that Slack did not answer.
    slack_timeout_seconds: float = Field(default=15, gt=0)

    wedgehr_token: SecretStr | None = None
    wedgehr_env: WedgeHREnv = WedgeHREnv.production
    wedgehr_api_url: str | None = None
    sparkhire_api_key: SecretStr | None = None
    sparkhire_api_url: str = SPARKHIRE_DEFAULT_URL
    #: The Slack workspaces (team ids, comma- or space-separated) that may use ``WEDGEHR_TOKEN`` and
    #: ``SPARKHIRE_API_KEY``; empty, every one. In OAuth mode a stranger's workspace could otherwise
    #: install the app and read the operator's candidates.
    vendor_keys_team_ids: str = ""

    database_url: str = "sqlite+aiosqlite:///interview-bot.sqlite3"
    #: Longest wait for the database: on PostgreSQL to connect, for one statement, or for a pooled
    #: connection; on SQLite for the file's write lock. A server that stops answering (failover,
    #: partition) keeps its connections open; without a limit every request and the outbox would
    #: wait on them for as long as TCP takes to notice (hours).
    database_timeout_seconds: float = Field(default=15, gt=0)
    port: int = Field(default=3000, ge=1, le=65535)
    #: Longest wait for a request's body once its headers are in: a client trickling it holds a
    #: connection open. Past it the answer is 408 and the connection closes (bot/web_limits.py).
    http_body_timeout_seconds: float = Field(default=10, gt=0)
    #: A connection that has not sent a complete request's headers this long after it opened, or
    #: after its last answer, is closed. Behind a proxy that reuses connections, set it above the
    #: proxy's own idle timeout, or the proxy may send a request just as the bot closes.
    http_idle_timeout_seconds: float = Field(default=620, gt=0)
    #: Most HTTP connections open at once; more are answered 503 and closed. Unset: 1000, or half
    #: the process's open-file limit if that is lower (the rest is for the database and clients).
    http_max_connections: int | None = Field(default=None, ge=1)
    public_url: str | None = None
    bot_secret_key: SecretStr | None = None
    wedgehr_poll_seconds: float = Field(default=60, gt=0)
    #: Days finished deliveries and received events' bodies are kept (bot/notify/housekeeping.py);
    #: an event's de-duplication key is kept for good. At least 3: events were always kept 72 hours.
    event_retention_days: float = Field(default=30, ge=3)
    log_level: str = "INFO"

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # slack-sdk joins base_url and method name by plain concatenation.
        return value if value.endswith("/") else value + "/"

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        # Spark Hire refuses a webhook URL without a scheme ("A valid url is required"), and only
        # when a recruiter subscribes: say so at start instead.
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} is not an absolute URL: give the bot's public address with its scheme, "
                "as in https://bot.example.com"
            )
        return value.strip().rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        level = "WARNING" if level == "WARN" else level
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("bot_secret_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                Fernet(value.get_secret_value().encode())
            except (ValueError, TypeError):
                raise ValueError(f"must be a Fernet key (44 characters of url-safe base64): {NEW_KEY_HINT}") from None
        return value

    @field_validator("vendor_keys_team_ids")
    @classmethod
    def _team_ids(cls, value: str) -> str:
        ids = value.replace(",", " ").split()
        if bad := [team_id for team_id in ids if not SLACK_TEAM_ID.fullmatch(team_id)]:
            raise ValueError(
                f"{', '.join(bad)} is not a Slack workspace id (T followed by capitals and digits, as in "
                "the workspace's URL app.slack.com/client/T…; in Enterprise Grid, list each workspace, "
                "not the organisation's E… id); separate several with commas"
            )
        return ",".join(ids)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        check_database_url(value)  # raises with what is wrong and the accepted forms
        return value

    @model_validator(mode="after")
    def _oauth_pair(self) -> Settings:
        # One of the pair alone used to fall back to HTTP mode without a word.
        for name, other, value, other_value in (
            ("SLACK_CLIENT_SECRET", "SLACK_CLIENT_ID", self.slack_client_secret, self.slack_client_id),
            ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", self.slack_client_id, self.slack_client_secret),
        ):
            if other_value and not value:
                raise ValueError(
                    f"Setting {name}: not set, but {other} is; OAuth (many workspaces) needs both, "
                    "from the app's Basic Information page"
                )
        return self

    @property
    def slack_mode(self) -> SlackMode:
        if self.slack_app_token:
            return SlackMode.socket
        if self.slack_client_id and self.slack_client_secret:
            return SlackMode.oauth
        return SlackMode.http

    @property
    def wedgehr_base_url(self) -> str:
        return (self.wedgehr_api_url or WEDGEHR_URLS[self.wedgehr_env]).rstrip("/")

    @property
    def sparkhire_base_url(self) -> str:
        return self.sparkhire_api_url.rstrip("/")

    @property
    def env_vendor_keys(self) -> list[str]:
        """The names of the vendor keys set in the environment (``WEDGEHR_TOKEN``, ``SPARKHIRE_API_KEY``)."""
        keys = {"WEDGEHR_TOKEN": self.wedgehr_token, "SPARKHIRE_API_KEY": self.sparkhire_api_key}
        return [name for name, value in keys.items() if value]

    def vendor_keys_serve(self, team_id: str) -> bool:
        """Whether workspace ``team_id`` may use the vendor keys set in the environment."""
        allowed = self.vendor_keys_team_ids.split(",") if self.vendor_keys_team_ids else None
        return allowed is None or team_id in allowed

    @property
    def sqlalchemy_url(self) -> str:
        """``DATABASE_URL`` rewritten to the async driver SQLAlchemy needs."""
        return normalize_database_url(self.database_url)

    def missing_slack_settings(self) -> list[str]:
        """Names an operator must still set before the bot can talk to Slack."""
        missing: list[str] = []
        if self.slack_mode is SlackMode.oauth:
            if not self.slack_signing_secret:
                missing.append("SLACK_SIGNING_SECRET")
            return missing
        if not self.slack_bot_token:
            missing.append("SLACK_BOT_TOKEN")
        if self.slack_mode is SlackMode.http and not self.slack_signing_secret:
            missing.append("SLACK_SIGNING_SECRET")
        return missing

    def fernet_key(self, *, workdir: Path | None = None) -> bytes:
        """The Fernet key for secrets at rest.

        Without ``BOT_SECRET_KEY`` a development key is generated once into a
        0600 file in the working directory, with a warning: losing that file
        makes stored vendor credentials unreadable.
        """
        if self.bot_secret_key:
            return self.bot_secret_key.get_secret_value().encode()
        path = (workdir or Path.cwd()) / DEV_SECRET_KEY_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made earlier, or just now by a process started beside this one
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
            logger.warning(
                "BOT_SECRET_KEY is not set: generated a development key in %s. "
                "Set BOT_SECRET_KEY in production, or stored credentials are lost with that file.",
                path,
            )
        if self.shares_its_database:
            logger.warning(
                "BOT_SECRET_KEY is not set and DATABASE_URL is PostgreSQL: processes on other machines "
                "(other dynos) make keys of their own and cannot read the credentials this one saves. "
                "Set BOT_SECRET_KEY (%s).",
                NEW_KEY_HINT,
            )
        for _ in range(200):  # an empty file: the process creating it has not written it yet
            if key := path.read_bytes().strip():
                return key
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty: delete it, or set BOT_SECRET_KEY")

    @property
    def shares_its_database(self) -> bool:
        """PostgreSQL: the database other processes, on other machines, may use too."""
        return self.sqlalchemy_url.startswith("postgresql")


def check_database_url(url: str) -> None:
    """Raise ``ValueError`` saying what is wrong with ``DATABASE_URL`` on its face, before anything opens it."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(normalize_database_url(url))
    except ValueError as exc:  # the ValueError of normalize_database_url, or an unparsable URL
        if "DATABASE_URL" in str(exc):
            raise
        # The message may quote the URL, password included: say what is wrong without it.
        what = "its port is not a number" if "int()" in str(exc) else "it cannot be parsed"
        raise ValueError(
            f"not a database URL ({what}): the form is postgresql://user:password@host:5432/name"
        ) from None
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        # Each connection would get a database of its own, empty, without the schema.
        raise ValueError(
            "names no file: an in-memory SQLite database is not supported; give a file path, "
            "as in sqlite:///interview-bot.sqlite3"
        )


def normalize_database_url(url: str) -> str:
    """Accept ``sqlite:///``, ``sqlite+aiosqlite:///``, ``postgres://`` and ``postgresql://``.

    Heroku and most hosts give ``?sslmode=require``, libpq's name; asyncpg calls it ``ssl``.
    """
    for prefix, replacement in (
        ("sqlite+aiosqlite://", "sqlite+aiosqlite://"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql+asyncpg://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
    ):
        if url.startswith(prefix):
            normalized = replacement + url[len(prefix) :]
            if replacement.startswith("postgresql"):
                normalized = re.sub(r"([?&])sslmode=", r"\1ssl=", normalized)
            return normalized
    raise ValueError("DATABASE_URL must start with sqlite:///, sqlite+aiosqlite:///, postgres:// or postgresql://")


def masked_database_url(url: str) -> str:
    """``DATABASE_URL`` as it may be printed: the password replaced by ``***``."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ValueError:  # unparsable: keep the scheme only, the rest may hold the password
        return url.split("://", 1)[0] + "://***"
