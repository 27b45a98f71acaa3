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
