"""Storage on SQLite (default) or PostgreSQL through one SQLAlchemy async code path."""

from bot.storage.database import Database
from bot.storage.errors import is_database_unavailable
from bot.storage.repos import (
    AuditEntry,
    Connection,
    NewEvent,
    OutboxItem,
    Subscription,
    ThreadMessage,
)

__all__ = [
    "AuditEntry",
    "Connection",
    "Database",
    "NewEvent",
    "OutboxItem",
    "Subscription",
    "ThreadMessage",
    "is_database_unavailable",
]
