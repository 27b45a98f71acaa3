"""Times as the vendors write them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def as_utc(value: datetime) -> datetime:
    """A vendor time written without a zone is UTC, as the vendors keep their times. Left naive, it
    would take the bot's own zone when turned into a Unix time, and fail compared with a zoned one."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


#: A vendor model's time field: always zoned.
VendorTime = Annotated[datetime, AfterValidator(as_utc)]
