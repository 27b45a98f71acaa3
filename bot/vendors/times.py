"""Times as the vendors write them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def as_utc(value: datetime) -> datetime:
    """The time in UTC. One written without a zone is UTC, as the vendors keep their times: left
    naive, it would take the bot's own zone when turned into a Unix time, and fail compared with a
    zoned one. One written with another offset is the same instant, and is stored (and compared, as
    a recording's completion time is) as one."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: A vendor model's time field: always zoned.
VendorTime = Annotated[datetime, AfterValidator(as_utc)]
