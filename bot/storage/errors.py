"""Telling a database that is briefly unreachable from a bug in a query, and the operator what is wrong at start."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from asyncpg.exceptions import ClientConfigurationError
from sqlalchemy import exc
from sqlalchemy.engine import make_url

from bot.errors import StartupFailed, raised_inside
from bot.settings import masked_database_url

if TYPE_CHECKING:
    from bot.settings import Settings

# SQLSTATE classes that mean "the server is not there right now": connection exceptions (08),
# operator intervention such as a shutdown or restart (57P), a database not accepting connections (55000),
# insufficient resources (53), a server that became a read-only standby in a failover (25006).
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "57P", "55000", "53", "25006")


def is_database_unavailable(error: BaseException) -> bool:
    """True when retrying later should work: the server or file was unreachable, not the query wrong."""
    if isinstance(error, exc.OperationalError | exc.InterfaceError | exc.DisconnectionError | exc.TimeoutError):
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        orig = error.orig
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES):
            return True
        return isinstance(orig, OSError) or isinstance(getattr(orig, "__cause__", None), OSError)
    if isinstance(error, TimeoutError):
        # asyncpg's connect and SQLAlchemy's pre-ping let a bare TimeoutError through (a server that
        # stopped answering); one from anywhere else (a Slack or vendor call) is not about the database.
        return raised_inside(error, "asyncpg", "sqlalchemy")
    return isinstance(error, ConnectionError)


#: The SQLite file of the default DATABASE_URL (bot/settings.py), to suggest a name.
DEFAULT_SQLITE_NAME = "interview-bot.sqlite3"


#: SQLSTATE classes of a value the database will never store: data exceptions (22: a NUL character
#: or a lone surrogate in text, a string too long for its column) and integrity constraint violations (23).
_REFUSED_VALUE_SQLSTATE_PREFIXES = ("22", "23")


def is_refused_value(error: BaseException) -> bool:
    """True when the database refused what it was given, so the same write will always fail.

    Not a deadlock or a serialization failure (class 40): those pass when tried again. A string no
    driver can encode (a lone surrogate, which JSON's ``\\ud800`` spells) is refused before the
    database sees it: SQLite's driver raises the bare UnicodeEncodeError.
    """
    if isinstance(error, exc.DataError | exc.IntegrityError | UnicodeEncodeError):
        return True
    if isinstance(error, exc.DBAPIError):
        orig = error.orig
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        return isinstance(sqlstate, str) and sqlstate.startswith(_REFUSED_VALUE_SQLSTATE_PREFIXES)
    return False


def describe_database_error(error: BaseException) -> str:
    """One line for an operator: the driver's own message, without SQLAlchemy's statement and link.

    SQLAlchemy wraps the driver's exception (``.orig``) and appends the SQL and a
    "(Background on this error at: ...)" line; the driver's first line says what went wrong.
    """
    cause = error.orig if isinstance(error, exc.DBAPIError) and error.orig is not None else error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("(Background on this error")]
    # asyncpg's errors reach SQLAlchemy through an adapter class named plain "Error"; the original names it.
    name = type(cause.__cause__ or cause).__name__
    return f"{name}: {lines[0]}" if lines else name


DOCTOR_HINT = "check it with `python -m bot doctor`"


def sqlite_file_problem(settings: Settings) -> str | None:
    """The line ``Setting DATABASE_URL: …`` when a SQLite ``DATABASE_URL`` names a file this process
    cannot make, open or write; ``None`` if it can (or the database is not SQLite).

    SQLite says only "unable to open database file" or "attempt to write a readonly database",
    which read as an outage (exit code 1) though no restart gets through.
    """
    if not settings.sqlalchemy_url.startswith("sqlite"):
        return None
    url = masked_database_url(settings.database_url)
    file = Path(make_url(settings.sqlalchemy_url).database or ".")
    directory = file.parent
    if not directory.is_dir():
        return (
            f"Setting DATABASE_URL: {url}: the directory {directory} does not exist: create it, or name a "
            "file in one that does"
        )
    if file.is_dir():
        return (
            f"Setting DATABASE_URL: {url}: {file} is a directory: name a file in it, as in "
            f"sqlite:///{file / DEFAULT_SQLITE_NAME}"
        )
    # SQLite writes its journal (the -wal and -shm files) beside the database: the directory too.
    effective = os.access in os.supports_effective_ids
    cannot = [
        what
        for what, path, mode in (
            (f"the file {file}", file, os.R_OK | os.W_OK),
            (f"in the directory {directory}", directory, os.W_OK | os.X_OK),
        )
        if path.exists() and not os.access(path, mode, effective_ids=effective)
    ]
    if not cannot:
        return None
    return (
        f"Setting DATABASE_URL: {url}: this process cannot write {', nor '.join(cannot)} (where SQLite keeps "
        "the database and its journal): let the user the bot runs as write there, or name a file in a "
        "directory it can write"
    )


def database_start_failure(
    settings: Settings, error: BaseException, *, hint: str | None = DOCTOR_HINT
) -> StartupFailed | None:
    """The one-line failure for a database that could not be opened at start; ``None`` if ``error`` is another.

    ``python -m bot``, ``migrate`` and ``doctor`` (without ``hint``: it is the check) say the same.
    """
    if not isinstance(error, exc.SQLAlchemyError | OSError | TimeoutError):
        return None
    url = masked_database_url(settings.database_url)
    reason = describe_database_error(error)

    def failure(message: str, exit_code: int) -> StartupFailed:
        return StartupFailed(f"{message}; {hint}" if hint else message, exit_code)

    if problem := sqlite_file_problem(settings):
        return failure(problem, 2)
    if (lookup := _caused_by(error, socket.gaierror)) is not None:
        host = make_url(settings.sqlalchemy_url).host
        if lookup.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            # DNS answered: there is no such host. Retrying will not make one.
            return failure(
                f"Setting DATABASE_URL: {url}: the host name {host} could not be resolved (DNS knows no such host)",
                2,
            )
        return failure(
            f"Cannot reach the database at DATABASE_URL {url}: the host name {host} could not be resolved "
            f"({lookup.strerror}: check this machine's DNS)",
            1,
        )
    if _caused_by(error, ClientConfigurationError) is not None:
        # asyncpg refused an option before connecting: the URL is wrong, not the server away.
        return failure(f"Setting DATABASE_URL: {url}: an option of the URL is wrong ({reason})", 2)
    if is_database_unavailable(error):
        return failure(f"Cannot reach the database at DATABASE_URL {url} ({reason})", 1)
    # Reached, and refused: a database, role or password the server does not know.
    return failure(f"Setting DATABASE_URL: {url}: the database refused it ({reason})", 2)


E = TypeVar("E", bound=BaseException)


def _caused_by(error: BaseException, kind: type[E]) -> E | None:
    """``error`` or the first exception of ``kind`` it was raised from (SQLAlchemy and asyncpg wrap theirs)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        todo += [current.__cause__, current.__context__, getattr(current, "orig", None)]
    return None
