"""Async client for the Spark Hire API v1.0."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.sparkhire.models import (
    AdvancedShareLink,
    Candidate,
    Company,
    IntegrationKey,
    Interview,
    InterviewQuestion,
    Job,
    Me,
    NewQuestion,
    Plan,
    QuestionSet,
    ShareLink,
    User,
    Webhook,
)
from bot.sparkhire.ratelimit import KeyRateLimiters
from bot.vendors.errors import NotFoundError, ServerError
from bot.vendors.http import BaseVendorClient, path_segment

DEFAULT_PAGE_SIZE = 50
QUESTION_SET_PATHS = ("/question_sets", "/interview_question_sets")

M = TypeVar("M", bound=BaseModel)


def _query(**values: Any) -> list[tuple[str, str]]:
    """Query pairs; sequences repeat the key as ``key[]`` (``status[]=a&status[]=b``)."""
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple, set)):
            pairs.extend((f"{key}[]", str(v)) for v in value)
        else:
            pairs.append((key, str(value)))
    return pairs


def _iso(value: datetime | str) -> str:
    return value.isoformat() if isinstance(value, datetime) else value


class SparkHireClient(BaseVendorClient):
    """Spark Hire v1.0.

    Args:
        api_key: A user's API key (HTTP basic user name, empty password).
        base_url: API root, e.g. ``https://api.sparkhire.com/v1.0``.
        limiters: Shared per-key rate limiters (400/min); a private one when omitted.
        **kwargs: ``timeout``, ``transport``, ``http_client``, ``retry`` (see BaseVendorClient).
    """

    vendor_name = "Spark Hire"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        limiters: KeyRateLimiters | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(base_url=base_url, **kwargs)
        token = base64.b64encode(f"{api_key}:".encode()).decode()
        self._authorization = f"Basic {token}"
        self._api_key = api_key
        self._limiters = limiters or KeyRateLimiters()
        self._limiter = self._limiters.for_key(api_key)

    def __repr__(self) -> str:
        return f"SparkHireClient(base_url={self.base_url!r})"

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": self._authorization, "Accept": "application/json"}

    async def _before_request(self) -> None:
        await self._limiter.acquire()

    def _credentials(self) -> tuple[str, ...]:
        # The header's encoded form too: a vendor echoing the header it refused sends that.
        return (self._api_key, self._authorization.removeprefix("Basic "))

    def _error_message(self, response: httpx.Response, body: Any) -> tuple[str | None, str | None]:
        if isinstance(body, dict):
            reason = body.get("reason") or body.get("message")
            return (str(reason) if reason else None), body.get("code")
        return None, None

    # -- plumbing ------------------------------------------------------------------------
    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._request(method, path, **kwargs)
        assert response is not None
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ServerError(
                "Spark Hire answered with something that is not JSON.",
                vendor=self.vendor_name,
                status_code=response.status_code,
            ) from None

    def _validate(self, adapter: Any, data: Any) -> Any:
        try:
            return adapter.validate_python(data)
        except ValidationError as exc:
            raise ServerError(
                f"Spark Hire answered in an unexpected shape ({exc.error_count()} problems).", vendor=self.vendor_name
            ) from None

    async def _one(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        return self._validate(TypeAdapter(model), await self._json(method, path, **kwargs))

    async def _list(self, model: type[M], path: str, params: list[tuple[str, str]]) -> list[M]:
        return self._listed(model, await self._json("GET", path, params=params) or [])

    async def _pages(
        self,
        model: type[M],
        path: str,
        params: list[tuple[str, str]],
        page_size: int,
    ) -> AsyncIterator[M]:
        """Walk ``range=1-N`` pages (1-based, inclusive) until a page comes back short."""
        start = 1
        while True:
            items = await self._json("GET", path, params=[*params, ("range", f"{start}-{start + page_size - 1}")])
            for item in self._listed(model, items or []):
                yield item
            # A short page ends the list; a long one means the server ignored `range`
            # and sent everything, so asking for the next range would repeat it. (Counted as
            # sent: a record left out as unreadable does not make a full page short.)
            if len(items or []) != page_size:
                return
            start += page_size

    # -- account ---------------------------------------------------------------------------
    async def me(self) -> Me:
        return await self._one(Me, "GET", "/me")

    async def verify(self) -> Me:
        """Check the key (``GET /me``) and describe whose it is."""
        return await self.me()

    async def plan(self) -> Plan:
        data = await self._json("GET", "/plan")
        return Plan.model_validate(data.get("plan", data) if isinstance(data, dict) else data)

    async def get_company(self, uuid: str) -> Company:
        return await self._one(Company, "GET", f"/companies/{path_segment(uuid)}")

    # -- users -----------------------------------------------------------------------------
    async def list_users(self, *, range: str | None = None) -> list[User]:
        return await self._list(User, "/users", _query(range=range))

    async def iter_users(self, *, page_size: int = DEFAULT_PAGE_SIZE) -> AsyncIterator[User]:
        async for user in self._pages(User, "/users", [], page_size):
            yield user

    async def create_user(self, *, name: str, email: str, role: str = "standard") -> User:
        return await self._one(
            User,
            "POST",
            "/users",
            json={"name": name, "email": email, "role": role},
            idempotent=False,
        )

    async def get_user(self, uuid: str) -> User:
        return await self._one(User, "GET", f"/users/{path_segment(uuid)}")

    async def update_user(self, uuid: str, *, name: str | None = None, email: str | None = None) -> User:
        body = {k: v for k, v in {"name": name, "email": email}.items() if v is not None}
        return await self._one(User, "PUT", f"/users/{path_segment(uuid)}", json=body)

    async def delete_user(self, uuid: str) -> None:
        await self._json("DELETE", f"/users/{path_segment(uuid)}")

    async def create_user_integration_key(self, uuid: str) -> IntegrationKey:
        return await self._one(IntegrationKey, "POST", f"/users/{path_segment(uuid)}/integration_key", idempotent=False)

    async def get_user_integration_key(self, uuid: str) -> IntegrationKey:
        return await self._one(IntegrationKey, "GET", f"/users/{path_segment(uuid)}/integration_key")

    async def update_user_integration_key(self, uuid: str, **fields: Any) -> IntegrationKey:
        return await self._one(
            IntegrationKey, "PUT", f"/users/{path_segment(uuid)}/integration_key", json=fields or None
        )

    async def delete_user_integration_key(self, uuid: str) -> None:
        await self._json("DELETE", f"/users/{path_segment(uuid)}/integration_key")

    # -- jobs ------------------------------------------------------------------------------
    async def list_jobs(
        self,
        *,
        status: Sequence[str] | None = None,
        orderby: str | None = None,
        range: str | None = None,
    ) -> list[Job]:
        return await self._list(Job, "/jobs", _query(status=status, orderby=orderby, range=range))

    async def iter_jobs(
        self,
        *,
        status: Sequence[str] | None = None,
        orderby: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Job]:
        async for job in self._pages(Job, "/jobs", _query(status=status, orderby=orderby), page_size):
            yield job

    async def get_job(self, uuid: str) -> Job:
        return await self._one(Job, "GET", f"/jobs/{path_segment(uuid)}")

    async def create_job(
        self,
        *,
        title: str,
        description: str | None = None,
        status: str = "inactive",
        location: dict[str, str] | None = None,
        locality: dict[str, str] | None = None,
    ) -> Job:
        body = {
            "title": title,
            "description": description,
            "status": status,
            "location": location,
            "locality": locality,
        }
        return await self._one(
            Job,
            "POST",
            "/jobs",
            json={k: v for k, v in body.items() if v is not None},
            idempotent=False,
        )

    async def update_job(self, uuid: str, **fields: Any) -> Job:
        return await self._one(
            Job, "PUT", f"/jobs/{path_segment(uuid)}", json={k: v for k, v in fields.items() if v is not None}
        )

    async def delete_job(self, uuid: str) -> None:
        await self._json("DELETE", f"/jobs/{path_segment(uuid)}")

    # -- interviews ----------------------------------------------------------------------
    async def list_interviews(
        self,
        *,
        type: Sequence[str] | None = None,
        status: Sequence[str] | None = None,
        orderby: str | None = None,
        range: str | None = None,
    ) -> list[Interview]:
        return await self._list(
            Interview, "/interviews", _query(type=type, status=status, orderby=orderby, range=range)
        )

    async def iter_interviews(
        self,
        *,
        type: Sequence[str] | None = None,
        status: Sequence[str] | None = None,
        orderby: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[Interview]:
        params = _query(type=type, status=status, orderby=orderby)
        async for interview in self._pages(Interview, "/interviews", params, page_size):
            yield interview

    async def get_interview(self, uuid: str) -> Interview:
        return await self._one(Interview, "GET", f"/interviews/{path_segment(uuid)}")

    async def create_interview(
        self,
        *,
        job_uuid: str,
        assigned_to: Candidate | Sequence[Candidate],
        scheduled_at: datetime | str,
        has_sms_consent: bool,
        type: str = "one_way",
        email_message: str | None = None,
        questions: Iterable[NewQuestion] | None = None,
        question_set_uuid: str | None = None,
        timezone: str | None = None,
    ) -> Interview | list[Interview]:
        """Invite one candidate (returns an Interview) or several (returns a list).

        ``has_sms_consent`` must come from the recruiter's explicit action; it is
        only sent when a candidate has a phone. Never retried on 5xx: a retry
        could invite twice.
        """
        single = isinstance(assigned_to, Candidate)
        people = [assigned_to] if single else list(assigned_to)  # type: ignore[list-item]
        body: dict[str, Any] = {
            "type": type,
            "scheduled_at": _iso(scheduled_at),
            "job_post": {"uuid": job_uuid},
        }
        body["assigned_to"] = (
            people[0].model_dump(exclude_none=True) if single else [p.model_dump(exclude_none=True) for p in people]
        )
        if any(p.phone for p in people):
            body["has_sms_consent"] = has_sms_consent
        if email_message:
            body["email_message"] = email_message
        if question_set_uuid:
            body["interview_question_set"] = question_set_uuid
        elif questions:
            body["questions"] = [q.model_dump() for q in questions]
        if timezone:
            body["timezone"] = timezone
        data = await self._json("POST", "/interviews", json=body, idempotent=False)
        if isinstance(data, list):
            return TypeAdapter(list[Interview]).validate_python(data)
        return Interview.model_validate(data)

    async def update_interview(
        self,
        uuid: str,
        *,
        status: str | None = None,
        scheduled_at: datetime | str | None = None,
    ) -> Interview:
        body: dict[str, Any] = {}
        if status:
            body["status"] = status
        if scheduled_at:
            body["scheduled_at"] = _iso(scheduled_at)
        return await self._one(Interview, "PUT", f"/interviews/{path_segment(uuid)}", json=body)

    async def delete_interview(self, uuid: str) -> None:
        await self._json("DELETE", f"/interviews/{path_segment(uuid)}")

    # -- interview questions -------------------------------------------------------------
    async def list_interview_questions(self, uuid: str) -> list[InterviewQuestion]:
        return await self._list(InterviewQuestion, f"/interviews/{path_segment(uuid)}/questions", [])

    async def get_interview_question(self, uuid: str, question_uuid: str) -> InterviewQuestion:
        return await self._one(
            InterviewQuestion, "GET", f"/interviews/{path_segment(uuid)}/questions/{path_segment(question_uuid)}"
        )

    async def create_interview_question(self, uuid: str, question: NewQuestion) -> InterviewQuestion:
        return await self._one(
            InterviewQuestion,
            "POST",
            f"/interviews/{path_segment(uuid)}/questions",
            json=question.model_dump(),
            idempotent=False,
        )

    async def update_interview_question(self, uuid: str, question_uuid: str, *, text: str) -> InterviewQuestion:
        return await self._one(
            InterviewQuestion,
            "PUT",
            f"/interviews/{path_segment(uuid)}/questions/{path_segment(question_uuid)}",
            json={"text": text},
        )

    async def delete_interview_question(self, uuid: str, question_uuid: str) -> None:
        await self._json("DELETE", f"/interviews/{path_segment(uuid)}/questions/{path_segment(question_uuid)}")

    # -- question sets (two documented paths: try the heading's, remember what answered) --
    async def _question_sets(self, method: str, suffix: str = "", **kwargs: Any) -> Any:
        remembered = self._limiters.question_set_paths.get(self.base_url)
        paths = [remembered] if remembered else list(QUESTION_SET_PATHS)
        last: NotFoundError | None = None
        for path in paths:
            try:
                data = await self._json(method, path + suffix, **kwargs)
            except NotFoundError as exc:
                if remembered:
                    raise
                last = exc
                continue
            self._limiters.question_set_paths[self.base_url] = path
            return data
        assert last is not None
        raise last

    async def list_question_sets(self) -> list[QuestionSet]:
        return self._listed(QuestionSet, await self._question_sets("GET") or [])

    async def get_question_set(self, uuid: str) -> QuestionSet:
        return QuestionSet.model_validate(await self._question_sets("GET", f"/{path_segment(uuid)}"))

    async def create_question_set(self, *, name: str, questions: Iterable[NewQuestion]) -> QuestionSet:
        body = {
            "name": name,
            "questions": [{**q.model_dump(), "think_time": "-1"} for q in questions],
        }
        return QuestionSet.model_validate(await self._question_sets("POST", json=body, idempotent=False))

    async def update_question_set(self, uuid: str, *, name: str, questions: list[dict[str, Any]]) -> QuestionSet:
        return QuestionSet.model_validate(
            await self._question_sets("PUT", f"/{path_segment(uuid)}", json={"name": name, "questions": questions})
        )

    async def delete_question_set(self, uuid: str) -> None:
        await self._question_sets("DELETE", f"/{path_segment(uuid)}")

    # -- share links -----------------------------------------------------------------------
    async def create_share_link(self, interview_uuid: str) -> ShareLink:
        """Create the basic share link of a completed interview (POST with no body)."""
        return await self._one(
            ShareLink, "POST", f"/interviews/{path_segment(interview_uuid)}/share_link", idempotent=False
        )

    async def get_share_link(self, interview_uuid: str) -> ShareLink | None:
        """The interview's basic link, or None if it has none yet."""
        response = await self._request(
            "GET", f"/interviews/{path_segment(interview_uuid)}/share_link", empty_on_404=True
        )
        return ShareLink.model_validate(response.json()) if response is not None else None

    async def set_share_link_status(self, interview_uuid: str, link_uuid: str, *, active: bool) -> ShareLink:
        return await self._one(
            ShareLink,
            "PUT",
            f"/interviews/{path_segment(interview_uuid)}/share_link/{path_segment(link_uuid)}",
            json={"status": "active" if active else "inactive"},
        )

    async def list_advanced_share_links(self) -> list[AdvancedShareLink]:
        return await self._list(AdvancedShareLink, "/share_links", [])

    async def get_advanced_share_link(self, uuid: str) -> AdvancedShareLink:
        return await self._one(AdvancedShareLink, "GET", f"/share_links/{path_segment(uuid)}")

    async def create_advanced_share_links(
        self,
        *,
        interview_uuids: Sequence[str],
        reviewers: Sequence[tuple[str, str]],
        send_email: bool = True,
    ) -> list[AdvancedShareLink]:
        """One link per reviewer ``(name, email)``; ``send_email`` must be true for them to get mail."""
        body = {
            "status": "active",
            "send_email": send_email,
            "reviewers": [{"name": name, "email": email} for name, email in reviewers],
            "interviews": [{"uuid": u} for u in interview_uuids],
        }
        data = await self._json("POST", "/share_links", json=body, idempotent=False)
        items = data if isinstance(data, list) else [data]
        return TypeAdapter(list[AdvancedShareLink]).validate_python(items)

    async def set_advanced_share_link_status(self, uuid: str, *, active: bool) -> AdvancedShareLink:
        return await self._one(
            AdvancedShareLink,
            "PUT",
            f"/share_links/{path_segment(uuid)}",
            json={"status": "active" if active else "inactive"},
        )

    async def delete_advanced_share_link(self, uuid: str) -> None:
        await self._json("DELETE", f"/share_links/{path_segment(uuid)}")

    # -- webhooks ------------------------------------------------------------------------
    async def list_webhooks(self) -> list[Webhook]:
        return await self._list(Webhook, "/webhooks", [])

    async def create_webhook(self, *, description: str, url: str, http_auth: str | None = None) -> Webhook:
        """Register ``url``; ``http_auth`` is ``"user:pass"`` Spark Hire will send as basic auth."""
        body = {"description": description, "url": url}
        if http_auth:
            body["http_auth"] = http_auth
        return await self._one(Webhook, "POST", "/webhooks", json=body, idempotent=False)

    async def delete_webhook(self, uuid: str) -> None:
        await self._json("DELETE", f"/webhooks/{path_segment(uuid)}")

    async def replay_webhook(self, event: str) -> None:
        """Ask Spark Hire to re-send the last delivery of ``event`` (e.g. InterviewCompleted)."""
        await self._json("GET", f"/webhooks/replay/{path_segment(event)}")
