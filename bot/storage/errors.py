"""Telling a database that is briefly unreachable from a bug in a query."""

from __future__ import annotations

from sqlalchemy import exc

from bot.errors import raised_inside

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
