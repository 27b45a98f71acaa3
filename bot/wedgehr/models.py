"""WedgeHR Connect v2 models. Unknown fields are kept; every timestamp is optional (ERRATA)."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from bot.vendors.http import log_unreadable
from bot.vendors.times import VendorTime


class WedgeModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    @field_validator("created_at", "expires_at", "completed_at", mode="before", check_fields=False)
    @classmethod
    def _no_time(cls, value: Any) -> Any:
        """An empty time is no time: read as one, the whole record would be left out (a completion
        or a bounce never posted)."""
        return None if isinstance(value, str) and not value.strip() else value


class InviteStatus(IntEnum):
    """Status labels in the order whose position is their number (ERRATA)."""

    unknown = 0
    invited = 1
    complete = 2
    send_failure = 3
    canceled = 4

    @classmethod
    def parse(cls, value: InviteStatus | str | int) -> InviteStatus:
        if isinstance(value, cls):
            return value
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return cls(int(value))
        return cls[str(value)]


class Invite(WedgeModel):
    id: int
    interview_id: int
    email: str
    unique_id: str | None = None
    invite_url: str | None = None
    result_url: str | None = None
    invite_sent: bool = False
    status: str = "unknown"
    created_at: VendorTime | None = None
    expires_at: VendorTime | None = None
    completed_at: VendorTime | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _status_by_label(cls, value: Any) -> Any:
        """A status given by its number (``filter[status]`` takes either, ERRATA) as its label: the
        poller and the cards know labels. One the bot does not know is kept as sent."""
        if value is None:
            return InviteStatus.unknown.name
        if (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.isdigit()):
            try:
                return InviteStatus(int(value)).name
            except ValueError:
                return str(value)
        return value

    @field_validator("invite_sent", mode="before")
    @classmethod
    def _not_sent(cls, value: Any) -> Any:
        return False if value is None else value


class Wedge(WedgeModel):
    id: int
    candidate_email: str
    candidate_first_name: str | None = None
    candidate_last_name: str | None = None
    interview_id: int
    interview_name: str | None = None
    interview_name_contextualized: str | None = None
    expires_at: VendorTime | None = None
    completed_at: VendorTime | None = None
    created_at: VendorTime | None = None
    result_url: str | None = None
    invites: list[Invite] = Field(default_factory=list)

    @field_validator("invites", mode="before")
    @classmethod
    def _readable_invites(cls, value: Any, info: ValidationInfo) -> list[Invite]:
        """An embedded invite the bot cannot read is left out and logged, as a listed one: the wedge
        (a completion) still counts."""
        if not isinstance(value, list):
            return []
        readable: list[Invite] = []
        for item in value:
            try:
                readable.append(Invite.model_validate(item))
            except ValidationError as exc:
                log_unreadable("WedgeHR", f"Invite in Wedge {info.data.get('id', 'unknown')}", item, exc)
        return readable

    @property
    def candidate_name(self) -> str:
        parts = [self.candidate_first_name, self.candidate_last_name]
        return " ".join(p for p in parts if p) or self.candidate_email


class InterviewProperty(WedgeModel):
    name: str
    value: str | None = None


class Interview(WedgeModel):
    id: int
    company_id: int | None = None
    name: str
    name_contextualized: str | None = None
    properties: list[InterviewProperty] = Field(default_factory=list)
    created_at: VendorTime | None = None


class Pagination(WedgeModel):
    prev: str | None = None
    next: str | None = None


T = TypeVar("T")


class Page(WedgeModel, Generic[T]):
    """A list response; ``meta`` is malformed in the docs and ignored (ERRATA)."""

    data: list[T] = Field(default_factory=list)
    pagination: Pagination = Field(default_factory=Pagination)

    @field_validator("data", "pagination", mode="before")
    @classmethod
    def _null_is_none(cls, value: Any, info: ValidationInfo) -> Any:
        """``null`` for the list or the cursors (wedges are not among the documented paginated
        listings): nothing, not an answer that fails every poll of the account."""
        if value is None:
            return [] if info.field_name == "data" else Pagination()
        return value


class One(WedgeModel, Generic[T]):
    data: T
