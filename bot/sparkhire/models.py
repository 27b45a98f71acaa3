"""Spark Hire v1.0 models. Unknown fields are kept; the reference's inconsistencies are tolerated (ERRATA)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from bot.vendors.times import VendorTime

WATCH_URL = "https://www.sparkhire.com/interview/{uuid}/watch"
TIME_LIMITS = (30, 60, 90, 120, 160, 180)  # seconds; 160 is what the API accepts (sic)
MAX_TAKES = 5
UNLIMITED_TAKES = -1


class SparkModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Person(SparkModel):
    uuid: str | None = None
    name: str | None = None
    email: str | None = None
    avatar: str | None = None


class CompanyRef(SparkModel):
    uuid: str | None = None
    name: str | None = None
    avatar: str | None = None


class Quota(SparkModel):
    remaining: int | None = None
    limit: int | None = None
    paid: int | None = None


class Plan(SparkModel):
    name: str
    started_at: VendorTime | None = None
    renews_at: VendorTime | None = None
    jobs: Quota | None = None
    users: Quota | None = None
    downgrades_to: dict[str, Any] | None = None
    features: dict[str, bool] = Field(default_factory=dict)


class MeCompany(CompanyRef):
    plan: Plan | None = None


class Me(SparkModel):
    uuid: str | None = None
    name: str | None = None
    email: str | None = None
    avatar: str | None = None
    type: str | None = None
    company: MeCompany | None = None

    @property
    def display_name(self) -> str:
        who = self.name or self.email or "Spark Hire user"
        if self.company and self.company.name:
            return f"{who} at {self.company.name}"
        return who


class Company(SparkModel):
    uuid: str
    name: str | None = None
    website: str | None = None
    summary: str | None = None
    avatar: str | None = None
    horizontal_logo: str | None = None
    social: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    video: dict[str, Any] | None = None
    industry: dict[str, Any] | None = None
    created_at: VendorTime | None = None
    updated_at: VendorTime | None = None


class User(Person):
    active: bool | None = None
    role: str | None = None
    company: CompanyRef | None = None
    created_at: VendorTime | None = None
    updated_at: VendorTime | None = None


class IntegrationKey(SparkModel):
    key: SecretStr  # a credential: hidden in str() and repr()
    description: str | None = None
    type: str | None = None
    last_used_at: VendorTime | None = None
    created_at: VendorTime | None = None
    updated_at: VendorTime | None = None
    user: Person | None = None


class Job(SparkModel):
    uuid: str
    status: str | None = None
    title: str | None = None
    description: str | None = None
    created_at: VendorTime | None = None
    updated_at: VendorTime | None = None
    status_updated_at: VendorTime | None = None
    created_by: Person | None = None
    status_updated_by: Person | None = None
    company: CompanyRef | None = None
    location: dict[str, Any] | None = None
    open_interview: dict[str, Any] | None = None


class JobPost(Job):
    """The job an interview names. Only its title is shown and its uuid filtered on, so neither is required:
    a delivery naming its job oddly still gets its card."""

    uuid: str | None = None  # type: ignore[assignment]


class Takes(SparkModel):
    completed: int | None = None
    remaining: int | None = None
    limit: int | None = None


class InterviewQuestion(SparkModel):
    uuid: str | None = None
    text: str | None = None  # no card or form reads it back: a question without one must not hide the interview
    completed: bool | None = None
    skipped: bool | None = None
    time_limit: int | None = None
    # An int in requests and question sets, an object in an interview's questions (ERRATA).
    takes: int | Takes | None = None
    think_time: str | int | None = None
    started_at: VendorTime | None = None


class QuestionSet(SparkModel):
    uuid: str
    name: str | None = None
    questions: list[InterviewQuestion] = Field(default_factory=list)


class ShareLink(SparkModel):
    uuid: str
    url: str | None = None
    status: str | None = None
    type: str | None = None
    updated_by: Person | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


class AdvancedShareLink(ShareLink):
    reviewer: Person | None = None
    created_by: Person | None = None
    job: dict[str, Any] | None = None
    interviews: list[dict[str, Any]] = Field(default_factory=list)


class Interview(SparkModel):
    uuid: str
    rating: float | None = None  # 0..5, may be fractional
    type: str | None = None
    status: str | None = None
    created_at: VendorTime | None = None
    updated_at: VendorTime | None = None
    scheduled_at: VendorTime | None = None
    completed_at: VendorTime | None = None
    job_post: JobPost | None = None
    assigned_to: Person | None = None
    company: CompanyRef | None = None
    created_by: Person | None = None
    questions: list[InterviewQuestion] | None = None
    share_link: ShareLink | None = None

    @property
    def watch_url(self) -> str:
        return WATCH_URL.format(uuid=self.uuid)

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
    uuid: str
    description: str | None = None
    url: str | None = None
    http_auth: bool | str | None = None  # answered as a boolean (ERRATA)


class Candidate(SparkModel):
    """Who to invite: ``phone`` and ``phone_parsed`` (E.164) come together or not at all."""

    name: str
    email: str
    phone: str | None = None
    phone_parsed: str | None = None


class NewQuestion(SparkModel):
    text: str
    time_limit: int = 60
    takes: int = UNLIMITED_TAKES
