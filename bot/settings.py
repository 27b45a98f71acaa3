"""Operator settings, read from the environment and an optional ``.env`` file.

The names are a public contract (operators script against them): add, never rename.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import logging
import os
import re
import time
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from dotenv import dotenv_values
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import StartupFailed

logger = logging.getLogger(__name__)

WEDGEHR_URLS = {
    "production": "https://api.wedgehr.com/connect/v2",
    "staging": "https://api.wedgebeta.com/connect/v2",
}
SPARKHIRE_DEFAULT_URL = "https://api.sparkhire.com/v1.0"
SLACK_DEFAULT_URL = "https://slack.com/api/"
DEV_SECRET_KEY_FILE = ".interview-bot-secret-key"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A workspace; not an Enterprise Grid organisation (E…): a request names its workspace.
SLACK_TEAM_ID = re.compile(r"T[A-Z0-9]{2,}")
NEW_KEY_HINT = 'make one with python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
#: What each Slack token setting takes. ``xoxe.xoxb-``: a bot token with token rotation turned on.
BOT_TOKEN_PREFIXES = ("xoxb-", "xoxe.xoxb-")
APP_TOKEN_PREFIX = "xapp-"
BOT_TOKEN_HINT = "not a bot token (xoxb-...): copy the Bot User OAuth Token from the app's OAuth & Permissions page"
APP_TOKEN_HINT = (
    "not an app-level token (xapp-...): make one with the connections:write scope on the app's "
    "Basic Information page (a bot token, xoxb-..., goes in SLACK_BOT_TOKEN)"
)
# The prefix naming a Slack token's kind: all of a token that may be shown.
SLACK_TOKEN_PREFIX = re.compile(r"(?:xoxe\.)?(?:xox[a-z]|xapp)-")
SLACK_TOKEN_KINDS = {
    "xoxb-": "a bot token",
    "xoxp-": "a user token",
    "xoxe-": "a refresh token",
    "xapp-": "an app-level token",
}
#: What no Slack token or secret has in it: it came with the paste (quotes from a .env line, a space).
STRAY_IN_SECRET = re.compile(r"[\s'\"]")
#: Where a workspace installs the app in OAuth mode (served by bot/app.py).
SLACK_INSTALL_PATH = "/slack/install"
#: The bot's routes under its public address (bot/app.py): ``PUBLIC_URL`` ends before them.
PUBLIC_URL_NOT_BASE = ("/slack/events", SLACK_INSTALL_PATH, "/slack/oauth_redirect", "/healthz")
#: Where Spark Hire delivers (bot/notify/receiver.py): a PUBLIC_URL with it in is a webhook's address.
WEBHOOKS_PATH = "/webhooks/sparkhire"
#: libpq's ``sslmode`` values, which asyncpg takes as its ``ssl`` option.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class WedgeHREnv(StrEnum):
    production = "production"
    staging = "staging"


class SlackMode(StrEnum):
    """How the bot talks to Slack, chosen from which credentials are set."""

    socket = "socket"
    oauth = "oauth"
    http = "http"


#: The file settings are read from besides the environment, in the working directory.
ENV_FILE = ".env"
#: The first word of the bot's own setting names: a name starting so that is none is likely mistyped.
OWN_PREFIXES = ("SLACK_", "WEDGEHR_", "SPARKHIRE_", "BOT_", "VENDOR_", "EVENT_", "DATABASE_")


class Settings(BaseSettings):
    """All operator settings. Secrets are ``SecretStr`` so they never print."""

    model_config = SettingsConfigDict(
        env_file=ENV_FILE, env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = SLACK_DEFAULT_URL
    #: Longest wait for one Slack Web API call (slack-sdk's own default is 30 s; Slack answers in well
    #: under one). A user waiting on a form is told after this long that Slack did not answer.
    slack_timeout_seconds: float = Field(default=15, gt=0, allow_inf_nan=False)

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
    database_timeout_seconds: float = Field(default=15, gt=0, allow_inf_nan=False)
    port: int = Field(default=3000, ge=1, le=65535)
    #: Longest wait for a request's body once its headers are in: a client trickling it holds a
    #: connection open. Past it the answer is 408 and the connection closes (bot/web_limits.py).
    http_body_timeout_seconds: float = Field(default=10, gt=0, allow_inf_nan=False)
    #: A connection that has not sent a complete request's headers this long after it opened, or
    #: after its last answer, is closed. Behind a proxy that reuses connections, set it above the
    #: proxy's own idle timeout, or the proxy may send a request just as the bot closes.
    http_idle_timeout_seconds: float = Field(default=620, gt=0, allow_inf_nan=False)
    #: Most HTTP connections open at once; more are answered 503 and closed. Unset: 1000, or half
    #: the process's open-file limit if that is lower (the rest is for the database and clients).
    http_max_connections: int | None = Field(default=None, ge=1)
    public_url: str | None = None
    bot_secret_key: SecretStr | None = None
    wedgehr_poll_seconds: float = Field(default=60, gt=0, allow_inf_nan=False)
    #: Days finished deliveries and received events' bodies are kept (bot/notify/housekeeping.py);
    #: an event's de-duplication key is kept for good. At least 3: events were always kept 72 hours.
    event_retention_days: float = Field(default=30, ge=3, allow_inf_nan=False)
    log_level: str = "INFO"

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, values: Any) -> Any:
        """A setting set but empty, as a .env template or a platform's form leaves it, takes its default.

        Not a secret: an empty ``SPARKHIRE_API_KEY=`` in the environment still turns off the one in
        ``.env`` (unset), rather than letting it through.
        """
        if not isinstance(values, dict):
            return values
        return {
            name: value
            for name, value in values.items()
            if not (value == "" and name in cls.model_fields and not _is_secret(cls.model_fields[name].annotation))
        }

    @field_validator("slack_api_url")
    @classmethod
    def _slack_api_url(cls, value: str) -> str:
        if not value.strip():  # set but empty, as a .env template leaves it: the default
            return SLACK_DEFAULT_URL
        value = absolute_url(value, what="Slack's Web API address", example=f"{SLACK_DEFAULT_URL} (or leave it unset)")
        # slack-sdk joins base_url and method name by plain concatenation.
        return value if value.endswith("/") else value + "/"

    @field_validator("wedgehr_api_url")
    @classmethod
    def _wedgehr_api_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        return absolute_url(
            value,
            what="the WedgeHR API's address",
            example=f"{WEDGEHR_URLS['production']} (or leave it unset to follow WEDGEHR_ENV)",
        )

    @field_validator("sparkhire_api_url")
    @classmethod
    def _sparkhire_api_url(cls, value: str) -> str:
        if not value.strip():
            return SPARKHIRE_DEFAULT_URL
        return absolute_url(
            value, what="the Spark Hire API's address", example=f"{SPARKHIRE_DEFAULT_URL} (or leave it unset)"
        )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        # Spark Hire refuses a webhook URL without a scheme ("A valid url is required"), and only
        # when a recruiter subscribes: say so at start instead.
        url = absolute_url(value, what="the bot's public address", example="https://bot.example.com")
        # The bot's addresses are built by appending to it: a query or fragment ended up before their
        # paths (…/?ref=x/slack/install), and a user and password went into every link it gave.
        parts = urlsplit(url)
        if "@" in parts.netloc:
            shown = f"{parts.scheme}://***@{parts.netloc.rsplit('@', 1)[1]}"
            raise ValueError(
                f"{shown} has a user or password in it: give the bot's public address without them, "
                f"as in {parts.scheme}://{parts.netloc.rsplit('@', 1)[1]}"
            )
        if parts.query or parts.fragment or url.endswith(("?", "#")):
            base = f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
            raise ValueError(
                f"{url} has a query (?…) or a fragment (#…): give the bot's base address alone, as in {base}"
            )
        url = url.rstrip("/")
        # The Request URL from the Slack app's settings, pasted whole: Spark Hire's webhook would be
        # registered under it (…/slack/events/webhooks/…), a path the bot does not serve, and every
        # event it sent answered 404; the install link was …/slack/events/slack/install.
        path = urlsplit(url).path
        route = next((r for r in PUBLIC_URL_NOT_BASE if path == r or path.endswith(r)), None)
        if route is None and WEBHOOKS_PATH in path:  # a webhook's address, id and all, from Spark Hire's settings
            route = WEBHOOKS_PATH
        if route is not None:
            base = url[: url.rindex(route)]
            raise ValueError(
                f"{base}{route} is one of the bot's own addresses, not its base: give the address it is "
                f"served at, without {route}, as in {base}"
            )
        return url

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
    def slack_install_url(self) -> str | None:
        """Where a workspace installs the app (OAuth mode); None without ``PUBLIC_URL``."""
        return f"{self.public_url}{SLACK_INSTALL_PATH}" if self.public_url else None

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

    def unused_slack_settings(self) -> list[str]:
        """A line per Slack setting given that the way of running chosen (:attr:`slack_mode`) does not use.

        Moving a one-workspace bot to OAuth, ``SLACK_BOT_TOKEN`` stays set, but its workspace is served
        only once installed through the bot; nothing said so.
        """
        if self.slack_mode is SlackMode.oauth and self.slack_bot_token:
            return [
                "SLACK_BOT_TOKEN is set but not used: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET run the bot for "
                f"many workspaces (OAuth), each with the token of its install at "
                f"{self.slack_install_url or 'PUBLIC_URL' + SLACK_INSTALL_PATH}, the app's own workspace "
                "included; unset SLACK_BOT_TOKEN, or the two client settings to serve one workspace with it"
            ]
        if self.slack_mode is SlackMode.socket and (self.slack_client_id or self.slack_client_secret):
            return [
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set but not used: SLACK_APP_TOKEN runs the bot in "
                "Socket Mode, for the one workspace of SLACK_BOT_TOKEN; unset them, or SLACK_APP_TOKEN to let "
                "many workspaces install it"
            ]
        return []

    def slack_token_problems(self) -> dict[str, str]:
        """For each Slack token set that is not the kind its setting takes, and each Slack secret that
        cannot be one (spaces or quotes came with the paste): its name, and a line saying so."""
        tokens = {"SLACK_BOT_TOKEN": self.slack_bot_token, "SLACK_APP_TOKEN": self.slack_app_token}
        problems = {
            name: problem
            for name, token in tokens.items()
            if token and (problem := slack_token_problem(name, token.get_secret_value()))
        }
        # A signing secret with a quote or a space in it verifies nothing: every request from Slack
        # was answered 401, and nothing but Slack's "dispatch_failed" said why.
        secrets = {"SLACK_SIGNING_SECRET": self.slack_signing_secret, "SLACK_CLIENT_SECRET": self.slack_client_secret}
        for name, secret in secrets.items():
            if secret and STRAY_IN_SECRET.search(secret.get_secret_value()):
                problems[name] = f"Setting {name}: has spaces or quotes in it: set the secret alone, without them"
        return problems

    def dev_key_problem(self, *, workdir: Path | None = None) -> str | None:
        """Without ``BOT_SECRET_KEY``: the line the start would stop with because it cannot read, or
        make, the development key in ``workdir``; ``None`` if it can (or the key is set). Changes nothing."""
        if self.bot_secret_key:
            return None
        path = (workdir or Path.cwd()) / DEV_SECRET_KEY_FILE
        if path.exists():
            try:
                path.read_bytes()
            except OSError as exc:
                return str(_dev_key_failure("read", path, exc))
            return None
        effective = os.access in os.supports_effective_ids
        if not os.access(path.parent, os.W_OK | os.X_OK, effective_ids=effective):
            denied = PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return str(_dev_key_failure("write", path, denied))
        return None

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
        except OSError as exc:  # a working directory it may not write (an image's, owned by root): a traceback
            raise _dev_key_failure("write", path, exc) from None
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
            try:
                key = path.read_bytes().strip()
            except OSError as exc:  # another user's file (made by a start as root)
                raise _dev_key_failure("read", path, exc) from None
            if key:
                return key
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty: delete it, or set BOT_SECRET_KEY")

    def mistyped_names(self) -> list[str]:
        """A line per name set in the environment or the ``.env`` file that is no setting but close to
        one (``SLACK_SIGNING_SECRT``): ignored, it would leave its setting unset without a word."""
        known = [name.upper() for name in type(self).model_fields]
        given = set(os.environ)
        env_file = Path(ENV_FILE)
        if env_file.is_file():
            # Unreadable: the settings' own read of it said so already.
            with contextlib.suppress(OSError, ValueError):
                given |= {name for name in dotenv_values(env_file, encoding="utf-8") if name}
        lines = []
        for name in sorted(given):
            upper = name.upper()
            if upper in known or not upper.startswith(OWN_PREFIXES):
                continue
            if close := difflib.get_close_matches(upper, known, n=1, cutoff=0.85):
                lines.append(f"{name} is not a setting, so it is ignored: did you mean {close[0]}?")
        return lines

    def lost_database(self) -> str | None:
        """What is wrong when the database does not outlive the process's machine (else ``None``):
        SQLite on a Heroku dyno, whose disk is emptied at every restart."""
        if not self.sqlalchemy_url.startswith("sqlite") or not os.environ.get("DYNO"):
            return None
        return (
            "DATABASE_URL names a SQLite file on a Heroku dyno, whose disk is emptied at every restart and "
            "deploy (at least daily) and is not shared with its other dynos: subscriptions, connected accounts "
            "and notifications not yet posted are lost. Attach Heroku Postgres (it sets DATABASE_URL)"
        )

    @property
    def shares_its_database(self) -> bool:
        """PostgreSQL: the database other processes, on other machines, may use too."""
        return self.sqlalchemy_url.startswith("postgresql")


def _dev_key_failure(doing: str, path: Path, exc: OSError) -> StartupFailed:
    """The line for a development key file (no ``BOT_SECRET_KEY``) this process cannot ``doing``."""
    return StartupFailed(
        f"Setting BOT_SECRET_KEY: not set, and this process cannot {doing} the development key {path} "
        f"({exc.strerror or exc}): set BOT_SECRET_KEY ({NEW_KEY_HINT}), or start the bot in a directory "
        "it can write",
        2,
    )


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in get_args(annotation)


def slack_token_problem(name: str, token: str) -> str | None:
    """The line ``Setting NAME: …`` when ``token`` is not what ``name`` takes on its face; ``None`` if it is.

    Args:
        name: ``SLACK_BOT_TOKEN`` or ``SLACK_APP_TOKEN``.
        token: The setting's value. The line never shows it, at most the prefix naming its kind.
    """
    bot = name == "SLACK_BOT_TOKEN"
    prefixes = BOT_TOKEN_PREFIXES if bot else (APP_TOKEN_PREFIX,)
    stray = STRAY_IN_SECRET.search(token)  # a token has no spaces or quotes: they came with the paste
    if token.startswith(prefixes) and not stray:
        return None
    hint = BOT_TOKEN_HINT if bot else APP_TOKEN_HINT
    if stray:
        return f"Setting {name}: has spaces or quotes in it: set the token alone, without them"
    if found := SLACK_TOKEN_PREFIX.match(token):
        prefix = found.group()
        kind = SLACK_TOKEN_KINDS.get(prefix.removeprefix("xoxe."), "a Slack token of another kind")
        if bot and prefix == APP_TOKEN_PREFIX:
            hint += " (an app-level token, xapp-..., goes in SLACK_APP_TOKEN)"
        return f"Setting {name}: this is {kind} ({prefix}...), {hint}"
    return f"Setting {name}: {hint}"


def absolute_url(value: str, *, what: str, example: str) -> str:
    """``value`` without surrounding spaces if it is an http(s) URL with a host; else ``ValueError`` saying so.

    Args:
        what: What the URL is the address of, for the message.
        example: A URL of the right form, for the message.
    """
    url = value.strip()
    try:
        parts = urlsplit(url)
        absolute = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # "http://[::1": not a URL at all
        absolute = False
    if not absolute:
        # Quoted as given, but for a user and password in it.
        shown = re.sub(r"^([^/?#@]*//)?[^/?#@]*@", lambda m: (m.group(1) or "") + "***@", url)
        raise ValueError(f"{shown!r} is not an absolute URL: give {what} with its scheme, as in {example}")
    return url


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
    if parsed.get_backend_name() == "postgresql":
        _check_postgresql_options(parsed.query, sslmode="sslmode" if re.search(r"[?&]sslmode=", url) else "ssl")
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        # Each connection would get a database of its own, empty, without the schema.
        raise ValueError(
            "names no file: an in-memory SQLite database is not supported; give a file path, "
            "as in sqlite:///interview-bot.sqlite3"
        )


def _check_postgresql_options(query: Mapping[str, str | tuple[str, ...]], *, sslmode: str) -> None:
    """Raise ``ValueError`` for an option of a PostgreSQL ``DATABASE_URL`` the driver would refuse.

    SQLAlchemy hands each option to ``asyncpg.connect`` as a keyword: one it does not take (libpq's
    ``connect_timeout``, ``channel_binding``) was a traceback at the first connection, and a wrong
    ``sslmode`` read as a database that could not be reached.

    Args:
        query: The options of the normalized URL (``sslmode`` already renamed ``ssl``).
        sslmode: The name the operator gave the TLS option (``sslmode`` or ``ssl``), for the message.
    """
    import inspect

    import asyncpg

    # What asyncpg.connect takes, but for what only code can give; and SQLAlchemy's own.
    taken = set(inspect.signature(asyncpg.connect).parameters) - {"dsn", "loop", "connection_class", "record_class"}
    taken.add("prepared_statement_cache_size")
    for name, value in query.items():
        shown = sslmode if name == "ssl" else name
        if name not in taken:
            raise ValueError(
                f"the URL's option {shown} is one the PostgreSQL driver (asyncpg) does not take: remove it from the URL"
            )
        if not isinstance(value, str):
            raise ValueError(f"the URL gives its option {shown} more than once: keep one")
        if name == "ssl" and value.replace("_", "-") not in SSL_MODES:
            raise ValueError(
                f"the URL's option {shown}={value} is not a TLS mode: use one of {', '.join(SSL_MODES)} "
                "(hosts give sslmode=require)"
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
