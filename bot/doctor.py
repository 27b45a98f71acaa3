"""``python -m bot doctor``: check the configuration and each connection, one line per check."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from cryptography.fernet import Fernet
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url

from bot.crypto import SecretBox
from bot.errors import StartupFailed
from bot.settings import DEV_SECRET_KEY_FILE, Settings, SlackMode, masked_database_url
from bot.storage import Database
from bot.storage.errors import database_start_failure, describe_database_error, sqlite_file_problem
from bot.vendors.errors import APIConnectionError, AuthenticationError, VendorError
from bot.vendors.http import RetryPolicy

QUICK = RetryPolicy(max_retries=0)


class CheckFailed(Exception):
    """A failure the operator can act on; its message is the whole line."""


class CheckWarning(Exception):
    """Works, but needs the operator's attention; its message is the whole line."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: skipped
    detail: str
    warning: bool = False  # works, but not as it should in production

    def line(self) -> str:
        mark = "warn" if self.warning else {True: "ok  ", False: "FAIL", None: "skip"}[self.ok]
        return f"{mark}  {self.name:<10} {self.detail}"


def _sqlite_file(settings: Settings) -> Path | None:
    """The file a SQLite ``DATABASE_URL`` names; None for another database."""
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _vendor_unreachable(url: str, setting: str) -> CheckFailed:
    return CheckFailed(f"cannot reach {url}: check this machine's network, or {setting}")


async def _guard(name: str, check: Callable[[], Awaitable[str]]) -> Check:
    try:
        return Check(name, True, await check())
    except CheckWarning as exc:
        return Check(name, True, str(exc), warning=True)
    except (VendorError, CheckFailed) as exc:
        return Check(name, False, str(exc))
    except Exception as exc:  # doctor reports every failure as a line, never a traceback
        return Check(name, False, f"{type(exc).__name__}: {exc}")


def _scopes_check(granted: str | None) -> Check:
    """Whether the bot token has every scope manifest.yml asks for (Slack lists them on auth.test)."""
    from bot.app import BOT_SCOPES

    if granted is None:
        return Check("scopes", None, "Slack did not list the token's scopes")
    missing = [scope for scope in BOT_SCOPES if scope not in {s.strip() for s in granted.split(",")}]
    if not missing:
        return Check("scopes", True, f"all {len(BOT_SCOPES)} scopes of manifest.yml granted")
    detail = f"the token lacks {', '.join(missing)}: add them to the app (manifest.yml) and reinstall it"
    if {"channels:history", "groups:history"} & set(missing):
        detail += "; until then a notification whose post was cut short may be posted twice"
    return Check("scopes", False, detail)


def _slack_error(exc: SlackApiError, settings: Settings) -> str:
    """Slack's error code; raises CheckFailed blaming SLACK_API_URL when the answer is not Slack's JSON."""
    body = exc.response.data if isinstance(exc.response.data, dict) else {}
    if "ok" not in body:
        # A proxy's or a wrong SLACK_API_URL's page: no token was even looked at.
        raise CheckFailed(
            f"SLACK_API_URL answered HTTP {exc.response.status_code} from {settings.slack_api_url}, not Slack's "
            "Web API: set it to https://slack.com/api/ (or leave it unset)"
        ) from exc
    return str(body.get("error") or f"HTTP {exc.response.status_code}")


def _unreachable(exc: Exception, settings: Settings) -> CheckFailed:
    if isinstance(exc, TimeoutError):
        return CheckFailed(
            f"{settings.slack_api_url} did not answer within SLACK_TIMEOUT_SECONDS "
            f"({settings.slack_timeout_seconds:g} s): check this machine's network and HTTPS_PROXY, or SLACK_API_URL"
        )
    return CheckFailed(
        f"cannot reach {settings.slack_api_url} ({type(exc).__name__}): check this machine's network, "
        "DNS and HTTPS_PROXY, or SLACK_API_URL"
    )


async def collect_checks(settings: Settings, *, sandbox: bool = False) -> list[Check]:
    """Run every check; never raises."""
    checks: list[Check] = []
    missing = settings.missing_slack_settings()
    # The lines `python -m bot` refuses to start with, one check's line here.
    malformed = settings.slack_token_problems()
    problems = list(malformed.values())
    if missing:
        problems.insert(0, "missing " + ", ".join(missing) + " (see README: create the app from manifest.yml)")
    checks.append(Check("config", not problems, "; ".join(problems) or f"Slack {settings.slack_mode.value} mode"))
    if mistyped := settings.mistyped_names():
        checks.append(Check("names", True, "; ".join(mistyped), warning=True))
    if unused := settings.unused_slack_settings():
        checks.append(Check("unused", True, "; ".join(unused), warning=True))
    oauth = settings.slack_mode is SlackMode.oauth
    if not settings.public_url:
        needed_for = "Spark Hire events and the install link" if oauth else "Spark Hire events"
        checks.append(
            Check("public", None, f"PUBLIC_URL not set: set it to the bot's public https address for {needed_for}")
        )
    elif not settings.public_url.startswith("https://"):
        checks.append(
            Check(
                "public",
                True,
                f"{settings.public_url} is not https: Spark Hire would send candidates' events (and the "
                "webhook's password) unencrypted; use an https address in production",
                warning=True,
            )
        )
    else:
        # In OAuth mode the address a workspace installs from, as the bot's messages give it.
        said = f"{settings.public_url}; install at {settings.slack_install_url}" if oauth else settings.public_url
        checks.append(Check("public", True, said))
    if settings.bot_secret_key:
        checks.append(Check("key", True, "BOT_SECRET_KEY set"))
    elif dev_key_problem := settings.dev_key_problem():
        checks.append(Check("key", False, dev_key_problem))
    elif settings.shares_its_database:
        checks.append(
            Check(
                "key",
                None,
                "BOT_SECRET_KEY not set while DATABASE_URL is PostgreSQL: processes on other machines cannot "
                "read each other's credentials; set it",
                warning=True,
            )
        )
    else:
        checks.append(Check("key", None, f"BOT_SECRET_KEY not set: a development key is kept in {DEV_SECRET_KEY_FILE}"))

    if oauth and settings.env_vendor_keys:
        if settings.vendor_keys_team_ids:
            names = " and ".join(settings.env_vendor_keys)
            checks.append(Check("vendors", True, f"{names} serve {settings.vendor_keys_team_ids} only"))
        else:
            checks.append(
                Check(
                    "vendors",
                    None,
                    f"{' and '.join(settings.env_vendor_keys)} serve every workspace that installs the app: "
                    "set VENDOR_KEYS_TEAM_IDS to the workspaces that may use them",
                    warning=True,
                )
            )

    schema_current = False  # the database answered, at this release's schema: its secrets can be read

    async def database() -> str:
        lost = settings.lost_database()
        try:
            said = await database_state()
        except CheckWarning as exc:
            raise CheckWarning(f"{exc}; {lost}" if lost else str(exc)) from None
        if lost:
            raise CheckWarning(f"{said}; but {lost}")
        return said

    async def database_state() -> str:
        # Read only: doctor run from another directory must not leave a database file there, nor
        # upgrade a shared schema under processes still running the release before.
        file = _sqlite_file(settings)
        if problem := sqlite_file_problem(settings):
            raise CheckFailed(problem)
        if file is not None and not file.exists():
            raise CheckWarning(f"no database at {file} yet: `python -m bot` or `python -m bot migrate` makes it")
        try:
            db = open_database(settings)  # inside the guard: a missing driver is a line, not a traceback
            try:
                version = await db.schema_version()
            finally:
                await db.aclose()
        except Exception as exc:
            # What `python -m bot` would say (without "run doctor": this is it).
            if failure := database_start_failure(settings, exc, hint=None):
                raise CheckFailed(str(failure)) from exc
            # The driver's first line: SQLAlchemy's own adds the SQL and a link on lines of their own.
            raise CheckFailed(
                f"{describe_database_error(exc)}: check DATABASE_URL ({masked_database_url(settings.database_url)})"
            ) from exc
        latest = Database.latest_schema_version()
        if version < latest:
            pending = "never migrated" if version == 0 else f"at schema version {version} of {latest}"
            raise CheckWarning(
                f"{db.dialect_name} reachable, {pending}: `python -m bot` applies the migrations as it starts, "
                "or run `python -m bot migrate`"
            )
        if version > latest:
            raise CheckWarning(
                f"{db.dialect_name} reachable, at schema version {version}, newer than this release's {latest}: "
                "a newer release migrated it; run that one"
            )
        nonlocal schema_current
        schema_current = True
        return f"{db.dialect_name} reachable, schema up to date"

    checks.append(await _guard("database", database))

    async def stored_secrets() -> str:
        # Read only, as the database check: the development key file is read, never made.
        if settings.bot_secret_key:
            key, named = settings.bot_secret_key.get_secret_value().encode(), "BOT_SECRET_KEY"
        else:
            file = Path.cwd() / DEV_SECRET_KEY_FILE
            key = file.read_bytes().strip() if file.is_file() else None
            named = f"the development key in {file}"
        db = open_database(settings)
        try:
            # The copies of WEDGEHR_TOKEN and SPARKHIRE_API_KEY are saved again under the key at start.
            resealed = frozenset(
                v
                for v, set_ in (("wedgehr", settings.wedgehr_token), ("sparkhire", settings.sparkhire_api_key))
                if set_
            )
            counted = await db.secrets_opened(
                SecretBox(key or Fernet.generate_key()),
                slack_client_id=settings.slack_client_id if oauth else None,
                resealed_vendors=resealed,
            )
        finally:
            await db.aclose()
        what = f"stored credential{'s' if counted.tried != 1 else ''}"
        they, them = ("they were", "them") if counted.tried != 1 else ("it was", "it")
        if not counted.tried:
            return "no stored credentials yet"
        if key is None:
            raise CheckFailed(
                f"BOT_SECRET_KEY is not set and there is no development key in {Path.cwd()}: the "
                f"{counted.tried} {what} cannot be read; set BOT_SECRET_KEY to the key {they} saved "
                f"with, or reconnect {them} with /interview connect"
            )
        if counted.all:
            return f"{named} opens all {counted.tried} {what}"
        said = f"{named} opens {counted.opened} of {counted.tried} {what}"
        if not counted.opened:
            raise CheckFailed(
                f"{said}: it is not the key {they} saved with; set the one {they} saved with, or "
                f"reconnect {them} with /interview connect"
            )
        # Some open: two processes once ran with keys of their own (no shared BOT_SECRET_KEY).
        raise CheckWarning(
            f"{said}: the others were saved under another key; reconnect them with /interview connect "
            "(App Home lists them), or set the key they were saved with"
        )

    if schema_current:
        checks.append(await _guard("secrets", stored_secrets))

    granted_scopes: str | None = None  # auth.test's x-oauth-scopes header, once it answered

    async def slack() -> str:
        nonlocal granted_scopes
        from slack_sdk.web.async_client import AsyncWebClient

        from bot.app import configure_web_client

        if settings.slack_bot_token is None:
            raise RuntimeError("SLACK_BOT_TOKEN not set (OAuth installs are checked per workspace)")
        client = configure_web_client(AsyncWebClient(token=settings.slack_bot_token.get_secret_value()), settings)
        try:
            response = await client.auth_test()
        except SlackApiError as exc:
            raise CheckFailed(
                f"Slack refused SLACK_BOT_TOKEN ({_slack_error(exc, settings)}): copy the Bot User OAuth Token "
                "(xoxb-...) again from the app's OAuth & Permissions page, and reinstall the app if it was removed"
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _unreachable(exc, settings) from exc
        granted_scopes = response.headers.get("x-oauth-scopes")
        return f"auth.test ok: team {response['team']} ({response['team_id']}) as @{response['user']}"

    async def socket() -> str:
        from slack_sdk.web.async_client import AsyncWebClient

        from bot.app import configure_web_client

        token = settings.slack_app_token.get_secret_value()  # type: ignore[union-attr]
        client = configure_web_client(AsyncWebClient(), settings)
        try:
            # Only asks for a socket URL; nothing connects to it.
            await client.apps_connections_open(app_token=token)
        except SlackApiError as exc:
            raise CheckFailed(
                f"Slack refused SLACK_APP_TOKEN ({_slack_error(exc, settings)}): copy the app-level token "
                "(xapp-..., with connections:write) again from the app's Basic Information page"
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _unreachable(exc, settings) from exc
        return "apps.connections.open ok: Socket Mode can connect"

    if settings.slack_app_token:
        if "SLACK_APP_TOKEN" in malformed:
            checks.append(Check("socket", None, "not tested: SLACK_APP_TOKEN is not an app-level token (see config)"))
        else:
            checks.append(await _guard("socket", socket))

    if not settings.slack_bot_token:
        checks.append(Check("slack", None, "no SLACK_BOT_TOKEN to test"))
    elif "SLACK_BOT_TOKEN" in malformed:
        checks.append(Check("slack", None, "not tested: SLACK_BOT_TOKEN is not a bot token (see config)"))
    elif oauth:
        checks.append(Check("slack", None, "not tested: SLACK_BOT_TOKEN is not used in OAuth mode (see unused)"))
    else:
        slack_check = await _guard("slack", slack)
        checks.append(slack_check)
        if slack_check.ok:
            checks.append(_scopes_check(granted_scopes))

    if sandbox:
        checks.append(Check("wedgehr", None, "sandbox mode: the fake API is served by the bot itself"))
        checks.append(Check("sparkhire", None, "sandbox mode: the fake API is served by the bot itself"))
        return checks

    from bot.sparkhire.client import SparkHireClient
    from bot.wedgehr.client import WedgeHRClient

    async def wedgehr() -> str:
        async with WedgeHRClient(
            token=settings.wedgehr_token.get_secret_value(),  # type: ignore[union-attr]
            base_url=settings.wedgehr_base_url,
            retry=QUICK,
        ) as client:
            try:
                account = await client.verify()
            except AuthenticationError as exc:
                raise CheckFailed(
                    f"{settings.wedgehr_base_url} refused WEDGEHR_TOKEN ({exc.status_code}): set it to a current "
                    "company integration token, and WEDGEHR_ENV to the environment it belongs to"
                ) from exc
            except APIConnectionError as exc:
                raise _vendor_unreachable(settings.wedgehr_base_url, "WEDGEHR_API_URL (or WEDGEHR_ENV)") from exc
        return f"{settings.wedgehr_base_url}: token accepted ({account})"

    async def sparkhire() -> str:
        async with SparkHireClient(
            api_key=settings.sparkhire_api_key.get_secret_value(),  # type: ignore[union-attr]
            base_url=settings.sparkhire_base_url,
            retry=QUICK,
        ) as client:
            try:
                me = await client.verify()
            except AuthenticationError as exc:
                raise CheckFailed(
                    f"{settings.sparkhire_base_url} refused SPARKHIRE_API_KEY ({exc.status_code}): set it to a "
                    "current key from Spark Hire's API settings"
                ) from exc
            except APIConnectionError as exc:
                raise _vendor_unreachable(settings.sparkhire_base_url, "SPARKHIRE_API_URL") from exc
        return f"{settings.sparkhire_base_url}: key accepted ({me.display_name})"

    if not settings.wedgehr_token:  # unset, or set empty (which is unset)
        checks.append(Check("wedgehr", None, "WEDGEHR_TOKEN not set (workspaces may connect in Slack)"))
    else:
        checks.append(await _guard("wedgehr", wedgehr))
    if not settings.sparkhire_api_key:
        checks.append(Check("sparkhire", None, "SPARKHIRE_API_KEY not set (users connect their own keys)"))
    else:
        checks.append(await _guard("sparkhire", sparkhire))
    return checks


async def run_doctor(settings: Settings, *, sandbox: bool = False) -> int:
    checks = await collect_checks(settings, sandbox=sandbox)
    for check in checks:
        print(check.line())
    failed = [c for c in checks if c.ok is False]
    return 1 if failed else 0


def open_database(settings: Settings) -> Database:
    """The database for ``doctor`` and ``migrate``, under a throwaway key.

    Neither command reads or writes a secret (migrations change the schema), so neither needs
    ``BOT_SECRET_KEY`` or makes the development key file: made here, the start would not warn that
    it made it (the only warning about it). doctor reports the key as a check of its own.
    """
    return Database.for_settings(settings, secret_box=SecretBox(Fernet.generate_key()))


async def migrate(settings: Settings) -> int:
    """``python -m bot migrate``: apply the migrations, then say in one line what was done."""
    url = masked_database_url(settings.database_url)
    applied: list[int] = []
    try:
        db = open_database(settings)
    except Exception as exc:
        print(f"Migration failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    try:
        version = await db.migrate(applied=applied)
    except Exception as exc:
        # What `python -m bot` says of the same database, with its exit code.
        failure = database_start_failure(settings, exc) or StartupFailed(
            f"Migration failed: {describe_database_error(exc)}: check DATABASE_URL ({url}) with `python -m bot doctor`",
            1,
        )
        print(failure, file=sys.stderr)
        return failure.exit_code
    finally:
        await db.aclose()
    latest = Database.latest_schema_version()
    if version > latest:
        # It said "up to date (schema version <latest>)" of a database a newer release had migrated.
        print(
            f"The database at {url} is at schema version {version}, newer than this release's {latest}: "
            "a newer release migrated it, so there is nothing to apply; run that release."
        )
    elif not applied:
        print(f"The database at {url} is up to date (schema version {version}): nothing to apply.")
    else:
        steps = f"migration {applied[0]}" if len(applied) == 1 else f"migrations {applied[0]} to {applied[-1]}"
        print(f"Applied database {steps} to {url}: the schema is up to date (version {version}).")
    return 0
