"""Spark Hire v1.0 models.

Unknown fields are kept (``extra="allow"``) and every field the reference does not
promise is optional, so a payload that differs from the examples still parses.
The reference's own inconsistencies are handled as ERRATA.md says: ``takes`` is an
integer or an object, ``think_time`` a string, ``http_auth`` a boolean in answers,
``rating`` a float, and the ``Rating`` webhook payload is an undocumented object.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

WATCH_URL = "https://www.sparkhire.com/interview/{uuid}/watch"
TIME_LIMITS = (30, 60, 90, 120, 160, 180)  # seconds; 160 is what the API accepts (sic)
MAX_TAKES = 5
UNLIMITED_TAKES = -1
NO_THINK_TIME = "-1"

INTERVIEW_TYPES = ("one_way", "live")
INTERVIEW_STATUSES = ("accepted", "requested", "completed", "expired", "canceled")
INTERVIEW_ORDERBY = (
    "scheduled_desc",
    "scheduled_asc",
    "completed_desc",
    "completed_asc",
    "updated_desc",
    "updated_asc",
    "candidate_desc",
    "candidate_asc",
    "company_desc",
    "company_asc",
    "job_desc",
    "job_asc",
)
JOB_STATUSES = ("active", "inactive")
JOB_ORDERBY = (
    "title_desc",
    "title_asc",
    "updated_desc",
    "updated_asc",
    "created_desc",
    "created_asc",
    "location_desc",
    "location_asc",
)
USER_ROLES = ("administrator", "standard")
SHARE_LINK_STATUSES = ("active", "inactive")

#: Webhook event type -> payload type (the ``X-SparkHire-Payload`` header).
WEBHOOK_EVENTS: dict[str, str] = {
    "InterviewCreated": "Interview",
    "InterviewAccepted": "Interview",
    "InterviewDeleted": "Interview",
    "InterviewCompleted": "Interview",
    "InterviewExpired": "Interview",
    "InterviewRescheduled": "Interview",
    "InterviewReset": "Interview",
    "JobCreated": "Job",
    "JobDeleted": "Job",
    "JobUpdated": "Job",
    "InterviewRated": "Rating",
}

_DATETIME = TypeAdapter(datetime)


def _lenient_datetime(value: Any) -> Any:
    """RFC 3339 per the reference; an empty or unparseable timestamp becomes None, not an error."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str) and not value.strip():
        return None
    try:
        return _DATETIME.validate_python(value)
    except ValidationError:
        return None


Timestamp = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]


class SparkModel(BaseModel):
    """Base of every Spark Hire model: unknown fields are kept, names populate by alias too."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Person(SparkModel):
    """A user as embedded in other objects (``created_by``, ``assigned_to``, ``reviewer``)."""

    uuid: str | None = None
    name: str | None = None
    email: str | None = None
    avatar: str | None = None
    phone: str | None = None
    phone_parsed: str | None = None


class CompanyRef(SparkModel):
    """The "basic company object" embedded in users, jobs and interviews."""

    uuid: str | None = None
    name: str | None = None
    avatar: str | None = None


class Location(SparkModel):
    """A job's or company's location as answered (requests send city/state/country)."""

    uuid: str | None = None
    formatted_address: str | None = None
    google_place_id: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None


class Quota(SparkModel):
    """Remaining and limit of a plan allowance; -1 means unlimited."""

    remaining: int | None = None
    limit: int | None = None
    paid: int | None = None


class PlanChange(SparkModel):
    """A scheduled downgrade: the plan ``name`` switched to ``at`` the end of the period."""

    name: str | None = None
    at: Timestamp = None


class Plan(SparkModel):
    """The company plan (``GET /plan`` answers it wrapped as ``{"plan": {...}}``)."""

    name: str | None = None
    started_at: Timestamp = None
    renews_at: Timestamp = None
    jobs: Quota | None = None
    users: Quota | None = None
    downgrades_to: PlanChange | None = None
    features: dict[str, bool] = Field(default_factory=dict)

    def has_feature(self, feature: str) -> bool:
        """Whether ``feature`` (e.g. ``interview_sms_notifications``) is enabled."""
        return bool(self.features.get(feature))


class MeCompany(CompanyRef):
    plan: Plan | None = None


class Me(SparkModel):
    """The user an API key belongs to (``GET /me``)."""

    uuid: str | None = None
    name: str | None = None
    email: str | None = None
    avatar: str | None = None
    type: str | None = None  # company_user or job_seeker
    company: MeCompany | None = None

    @property
    def display_name(self) -> str:
        """"Name at Company", to label a connected account."""
        who = self.name or self.email or "Spark Hire user"
        if self.company and self.company.name:
            return f"{who} at {self.company.name}"
        return who


class Company(SparkModel):
    """A company profile (``GET /companies/:uuid``), read only."""

    uuid: str
    name: str | None = None
    website: str | None = None
    summary: str | None = None
    avatar: str | None = None
    horizontal_logo: str | None = None
    social: dict[str, str | None] | None = None
    location: Location | None = None
    video: dict[str, Any] | None = None
    industry: dict[str, Any] | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None


class User(Person):
    """A company user (``/users``)."""

    active: bool | None = None
    role: str | None = None
    company: CompanyRef | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None


class IntegrationKey(SparkModel):
    """A user's API key for a custom integration. ``key`` is a credential: kept as a SecretStr."""

    key: SecretStr
    description: str | None = None
    type: str | None = None
    last_used_at: Timestamp = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    user: Person | None = None


class Takes(SparkModel):
    """Takes of an interview's question: used, left and allowed (-1 = unlimited)."""

    completed: int | None = None
    remaining: int | None = None
    limit: int | None = None


class InterviewQuestion(SparkModel):
    """A question of an interview, a question set or a job's open interview."""

    uuid: str | None = None
    text: str = ""
    completed: bool | None = None
    skipped: bool | None = None
    time_limit: int | None = None
    # An int in requests and question sets, an object in an interview's questions (ERRATA).
    takes: int | Takes | None = None
    think_time: str | None = None  # a string, "-1" when unlimited
    created_at: Timestamp = None
    updated_at: Timestamp = None
    started_at: Timestamp = None

    @field_validator("think_time", mode="before")
    @classmethod
    def _think_time_as_string(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @property
    def takes_limit(self) -> int | None:
        """The number of takes allowed, whichever shape ``takes`` came in."""
        return self.takes.limit if isinstance(self.takes, Takes) else self.takes


class OpenInterview(SparkModel):
    """A job post's open interview link."""

    uuid: str | None = None
    link: str | None = None
    expires_at: Timestamp = None
    status: str | None = None
    questions: list[InterviewQuestion] = Field(default_factory=list)


class Job(SparkModel):
    """A job post (``/jobs``)."""

    uuid: str
    status: str | None = None  # active or inactive
    title: str | None = None
    description: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    status_updated_at: Timestamp = None
    created_by: Person | None = None
    status_updated_by: Person | None = None
    company: CompanyRef | None = None
    location: Location | None = None
    locality: dict[str, Any] | None = None
    open_interview: OpenInterview | None = None
    job_video: dict[str, Any] | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


class JobRef(SparkModel):
    """The short job object embedded in share links."""

    uuid: str | None = None
    title: str | None = None


class QuestionSet(SparkModel):
    """A saved question template; its questions' ``takes`` are integers."""

    uuid: str
    name: str | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    questions: list[InterviewQuestion] = Field(default_factory=list)


class ShareLink(SparkModel):
    """An interview's basic share link."""

    uuid: str
    url: str | None = None
    status: str | None = None  # active or inactive
    type: str | None = None  # collaborative or open
    created_at: Timestamp = None
    updated_at: Timestamp = None
    updated_by: Person | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


class SharedInterview(SparkModel):
    """One interview attached to an advanced share link."""

    uuid: str | None = None
    interview_uuid: str | None = None
    type: str | None = None
    scheduled_at: Timestamp = None
    completed_at: Timestamp = None
    job: JobRef | None = None


class AdvancedShareLink(ShareLink):
    """A showcase link for one reviewer over several interviews (``/share_links``)."""

    reviewer: Person | None = None
    created_by: Person | None = None
    company: CompanyRef | None = None
    job: JobRef | None = None
    interviews: list[SharedInterview] = Field(default_factory=list)


class Interview(SparkModel):
    """A one-way or live interview (``/interviews``); list answers omit ``questions``."""

    uuid: str
    rating: float | None = None  # 0 to 5, may be fractional: 3.4
    type: str | None = None  # one_way or live
    status: str | None = None  # accepted, requested, completed, expired, canceled
    created_at: Timestamp = None
    updated_at: Timestamp = None
    scheduled_at: Timestamp = None  # the deadline (one-way) or the meeting time (live)
    completed_at: Timestamp = None
    job_post: Job | None = None
    assigned_to: Person | None = None
    company: CompanyRef | None = None
    created_by: Person | None = None
    questions: list[InterviewQuestion] | None = None
    share_link: ShareLink | None = None

    @property
    def watch_url(self) -> str:
        """Where a company user watches the interview on Spark Hire."""
        return WATCH_URL.format(uuid=self.uuid)

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def candidate_name(self) -> str:
        person = self.assigned_to
        return (person.name or person.email or "Candidate") if person else "Candidate"

    @property
    def candidate_email(self) -> str | None:
        return self.assigned_to.email if self.assigned_to else None

    @property
    def job_title(self) -> str | None:
        return self.job_post.title if self.job_post else None


class Webhook(SparkModel):
    """A webhook registration. ``http_auth`` only says whether basic auth is used."""

    uuid: str
    description: str | None = None
    url: str | None = None
    http_auth: bool = False

    @field_validator("http_auth", mode="before")
    @classmethod
    def _auth_as_flag(cls, value: Any) -> Any:
        # Answers say true/false; a server echoing "user:pass" must not leave a password here.
        if value is None:
            return False
        if isinstance(value, str) and value.strip().lower() not in ("true", "false", "1", "0", ""):
            return True
        return value


_INTERVIEW_KEYS = ("interview_uuid", "interviewUuid", "interview_id")
_RATING_KEYS = ("rating", "score", "value", "stars")


class Rating(SparkModel):
    """The ``InterviewRated`` payload. Undocumented: any JSON object is accepted as is.

    Use :attr:`interview_uuid` to find the interview, then fetch it for the rest.
    """

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def interview_uuid(self) -> str | None:
        """The rated interview's uuid, wherever the payload carries it, or None."""
        return _find_interview_uuid(self.data, depth=0)

    @property
    def score(self) -> float | None:
        """The rating value (0-5) if the payload carries a number under a usual name."""
        for key in _RATING_KEYS:
            value = self.data.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, Mapping):
                nested = Rating.model_validate(value).score
                if nested is not None:
                    return nested
        return None


def _find_interview_uuid(data: Mapping[str, Any], *, depth: int) -> str | None:
    if depth > 4:
        return None
    for key in _INTERVIEW_KEYS:
        if isinstance(data.get(key), str) and data[key]:
            return data[key]
    nested = data.get("interview")
    if isinstance(nested, str) and nested:
        return nested
    if isinstance(nested, Mapping) and isinstance(nested.get("uuid"), str):
        return nested["uuid"]
    # The payload may be the interview itself (it has the interview's own fields).
    if isinstance(data.get("uuid"), str) and ("job_post" in data or "assigned_to" in data):
        return data["uuid"]
    for key, value in data.items():
        if "interview" in key.lower() and isinstance(value, Mapping):
            found = _find_interview_uuid(value, depth=depth + 1)
            if found:
                return found
    return None


class Candidate(SparkModel):
    """Who to invite. ``phone`` and ``phone_parsed`` (E.164) come together or not at all."""

    name: str
    email: str
    phone: str | None = None
    phone_parsed: str | None = None

    @model_validator(mode="after")
    def _phones_together(self) -> Candidate:
        if bool(self.phone) != bool(self.phone_parsed):
            raise ValueError("phone and phone_parsed must be given together")
        return self


class NewQuestion(SparkModel):
    """A question to send: for an interview, a new interview question or a question set.

    Attributes:
        time_limit: Seconds, one of :data:`TIME_LIMITS`.
        takes: At most :data:`MAX_TAKES`, or -1 for unlimited.
        think_time: Question sets only; a string ("-1" for none).
        uuid: Set when updating an existing question of a question set.
    """

    text: str
    time_limit: int = 60
    takes: int = UNLIMITED_TAKES
    think_time: str | None = None
    uuid: str | None = None
