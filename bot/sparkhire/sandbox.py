"""A stateful in-memory Spark Hire v1.0, as an aiohttp application.

Routes are relative to the API root, so the app can be served on its own (tests)
or mounted under the bot's server (``python -m bot --sandbox``). It checks basic
auth, pages bare arrays with ``range``, filters with repeated ``key[]`` params,
validates what the reference requires, and delivers webhooks with basic auth
and the ``X-SparkHire-*`` headers (``emit``; ``GET /webhooks/replay/:event``).
"""

from __future__ import annotations

import asyncio
import base64
import re
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from bot.sparkhire.models import MAX_TAKES, TIME_LIMITS, UNLIMITED_TAKES
from bot.vendors.sandbox import InjectedFailures

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
JSON_BODY: web.RequestKey[Any] = web.RequestKey("json_body", object)
API_KEY: web.RequestKey[str] = web.RequestKey("api_key", str)
EVENT_PAYLOAD = {
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


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _ts(value: datetime | None = None) -> str:
    return (value or _now()).isoformat()


def _uuid() -> str:
    return str(uuidlib.uuid4())


def _error(status: int, reason: str, code: str) -> web.Response:
    return web.json_response({"reason": reason, "code": code}, status=status)


@dataclass
class SandboxRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    json: Any
    api_key: str | None


@dataclass
class Delivery:
    url: str
    event: str
    status: int | None


class SparkHireSandbox:
    """Fake Spark Hire.

    Args:
        api_keys: Accepted keys; None accepts any non-empty key not starting with "invalid".
        seed: Start with a company user, two active jobs, a question set and a few interviews.
        question_set_path: Which of the two documented question-set paths answers
            (the other 404s), to exercise the client's fallback.

    Every key belongs to the default company unless ``add_account`` gave it another one.
    """

    def __init__(
        self,
        *,
        api_keys: Iterable[str] | None = None,
        seed: bool = True,
        question_set_path: str = "/interview_question_sets",
    ) -> None:
        self.api_keys = set(api_keys) if api_keys is not None else None
        self.company = {"uuid": _uuid(), "name": "Shermer Staffing", "avatar": None}
        self._company_of_key: dict[str, dict[str, Any]] = {}
        #: Interviews only one account's key may read (``keep_to``): others' reads get 404.
        self._read_only_by: dict[str, str] = {}
        self.me = {
            "uuid": _uuid(),
            "name": "Company User",
            "email": "example@company.com",
            "type": "company_user",
            "avatar": None,
        }
        self.users: dict[str, dict[str, Any]] = {self.me["uuid"]: {**self.me, "active": True, "role": "administrator"}}
        self.integration_keys: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.interviews: dict[str, dict[str, Any]] = {}
        self.question_sets: dict[str, dict[str, Any]] = {}
        self.share_links: dict[str, dict[str, Any]] = {}  # interview uuid -> basic link
        self.advanced_links: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.last_delivery: dict[str, dict[str, Any]] = {}
        self.deliveries: list[Delivery] = []
        self.requests: list[SandboxRequest] = []
        self.payment_required = False
        #: One-shot hooks keyed by "METHOD /path", awaited once the request has been handled and
        #: before it is answered: what Spark Hire does meanwhile (deliver to a webhook just created).
        self.after_handling: dict[str, Callable[[], Awaitable[None]]] = {}
        self.question_set_path = question_set_path
        #: Set when the app is mounted under a prefix (``python -m bot --sandbox``).
        self.mount_prefix = ""
        self._failures = InjectedFailures(default_body={"reason": "Sandbox failure", "code": "api.error"})
        self.fail_next = self._failures.add  # the test knob: answer the next requests with a failure
        self.slow_next = self._failures.slow  # and the next one only after a while
        #: Seconds every answer takes (a slow network; widens the window of a race).
        self.latency_seconds = 0.0
        #: The job statuses ``GET /jobs`` lists when no ``status[]`` is asked for. The reference does
        #: not say (its example lists an active job only); None lists every job, ``("active",)``
        #: makes the sandbox a server that leaves inactive jobs out unless they are asked for.
        self.unfiltered_job_statuses: tuple[str, ...] | None = None
        self._replays: set[asyncio.Task[Any]] = set()
        if seed:
            barista = self.add_job("Barista")
            self.add_job("Sr. Account Executive")
            self.add_question_set("Basics", ["What do you know about our company?", "Why this career?"])
            self.add_interview(job_uuid=barista["uuid"], name="Job Seeker", email="jobseeker@example.com")
            done = self.add_interview(job_uuid=barista["uuid"], name="Ann Lee", email="ann@example.com")
            self.set_status(done["uuid"], "completed")
            done["rating"] = 4.5
        self.app = web.Application(middlewares=[self._middleware])
        r = self.app.router
        r.add_get("/me", self._get_me)
        r.add_get("/plan", self._get_plan)
        r.add_get("/companies/{uuid}", self._get_company)
        r.add_get("/users", self._list_users)
        r.add_post("/users", self._create_user)
        r.add_get("/users/{uuid}", self._get_user)
        r.add_put("/users/{uuid}", self._update_user)
        r.add_delete("/users/{uuid}", self._delete_user)
        r.add_route("*", "/users/{uuid}/integration_key", self._integration_key)
        r.add_get("/jobs", self._list_jobs)
        r.add_post("/jobs", self._create_job)
        r.add_get("/jobs/{uuid}", self._get_job)
        r.add_put("/jobs/{uuid}", self._update_job)
        r.add_delete("/jobs/{uuid}", self._delete_job)
        r.add_get("/interviews", self._list_interviews)
        r.add_post("/interviews", self._create_interview)
        r.add_get("/interviews/{uuid}", self._get_interview)
        r.add_put("/interviews/{uuid}", self._update_interview)
        r.add_delete("/interviews/{uuid}", self._delete_interview)
        r.add_get("/interviews/{uuid}/questions", self._list_questions)
        r.add_post("/interviews/{uuid}/questions", self._create_question)
        r.add_route("*", "/interviews/{uuid}/questions/{q}", self._question)
        r.add_post("/interviews/{uuid}/share_link", self._create_share_link)
        r.add_get("/interviews/{uuid}/share_link", self._get_share_link)
        r.add_get("/interviews/{uuid}/share_link/{link}", self._get_share_link)
        r.add_put("/interviews/{uuid}/share_link/{link}", self._update_share_link)
        for base in ("/question_sets", "/interview_question_sets"):
            r.add_route("*", base, self._question_sets)
            r.add_route("*", base + "/{uuid}", self._question_sets)
        r.add_get("/share_links", self._list_advanced)
        r.add_post("/share_links", self._create_advanced)
        r.add_route("*", "/share_links/{uuid}", self._advanced)
        r.add_get("/webhooks", self._list_webhooks)
        r.add_post("/webhooks", self._create_webhook)
        r.add_delete("/webhooks/{uuid}", self._delete_webhook)
        r.add_get("/webhooks/replay/{event}", self._replay)

    # -- knobs and state helpers -------------------------------------------------------------
    def add_job(self, title: str, *, status: str = "active") -> dict[str, Any]:
        now = _ts()
        job = {
            "uuid": _uuid(),
            "status": status,
            "title": title,
            "description": "",
            "created_at": now,
            "updated_at": now,
            "status_updated_at": now,
            "company": self.company,
            "created_by": self.me,
            "location": {"formatted_address": "Chicago, IL, USA"},
        }
        self.jobs[job["uuid"]] = job
        return job

    def add_question_set(self, name: str, texts: list[str]) -> dict[str, Any]:
        qs = {
            "uuid": _uuid(),
            "name": name,
            "questions": [
                {"uuid": _uuid(), "time_limit": 60, "takes": 3, "think_time": "-1", "text": t} for t in texts
            ],
        }
        self.question_sets[qs["uuid"]] = qs
        return qs

    def add_interview(
        self,
        *,
        job_uuid: str,
        name: str,
        email: str,
        status: str = "requested",
        scheduled_at: datetime | None = None,
        questions: list[dict[str, Any]] | None = None,
        phone: str | None = None,
    ) -> dict[str, Any]:
        job = self.jobs[job_uuid]
        now = _ts()
        person = {"uuid": _uuid(), "name": name, "email": email, "avatar": None}
        if phone:
            person["phone"] = phone
        interview = {
            "uuid": _uuid(),
            "rating": 0,
            "type": "one_way",
            "status": status,
            "created_at": now,
            "updated_at": now,
            "scheduled_at": _ts(scheduled_at or _now() + timedelta(days=7)),
            "completed_at": None,
            "job_post": {k: job[k] for k in ("uuid", "title", "status", "created_at", "updated_at")},
            "assigned_to": person,
            "company": self.company,
            "created_by": self.me,
            "questions": [
                {
                    "uuid": _uuid(),
                    "text": q["text"],
                    "completed": False,
                    "skipped": False,
                    "time_limit": q.get("time_limit", 60),
                    "takes": {
                        "completed": 0,
                        "remaining": q.get("takes", -1),
                        "limit": q.get("takes", -1),
                    },
                    "started_at": None,
                }
                for q in (questions or [{"text": "Why do you want to work here?"}])
            ],
        }
        self.interviews[interview["uuid"]] = interview
        return interview

    def set_status(self, interview_uuid: str, status: str) -> dict[str, Any]:
        interview = self.interviews[interview_uuid]
        interview["status"] = status
        interview["updated_at"] = _ts()
        if status == "completed":
            interview["completed_at"] = _ts()
        return interview

    async def complete_interview(self, interview_uuid: str) -> list[Delivery]:
        """The candidate finished: mark completed and deliver InterviewCompleted to every webhook."""
        return await self.emit("InterviewCompleted", self.set_status(interview_uuid, "completed"))

    async def rate_interview(
        self, interview_uuid: str, rating: float, *, reviewer: str = "Hiring Manager"
    ) -> list[Delivery]:
        """Rate an interview and deliver InterviewRated (an undocumented Rating object)."""
        interview = self.interviews[interview_uuid]
        interview["rating"] = rating
        interview["updated_at"] = _ts()
        rating_obj = {
            "uuid": _uuid(),
            "rating": rating,
            "interview": {"uuid": interview_uuid},
            "rated_by": {"name": reviewer},
            "created_at": _ts(),
        }
        return await self.emit("InterviewRated", rating_obj)

    def add_account(self, api_key: str, company_name: str) -> dict[str, Any]:
        """Make ``api_key`` a key of another Spark Hire account, which sees only its own webhooks
        and gets only its own events."""
        company = self._company_of_key[api_key] = {"uuid": _uuid(), "name": company_name, "avatar": None}
        return company

    def keep_to(self, interview_uuid: str, api_key: str) -> None:
        """Make an interview ``api_key``'s account's alone: a key of another account reading it gets 404."""
        self._read_only_by[interview_uuid] = api_key

    def company_of(self, api_key: str | None) -> dict[str, Any]:
        """The company (account) an API key belongs to."""
        return self._company_of_key.get(api_key or "", self.company)

    async def emit(self, event: str, obj: dict[str, Any], *, api_key: str | None = None) -> list[Delivery]:
        """POST ``obj`` to the webhooks of ``api_key``'s account (default: the default company's)
        as Spark Hire would; returns the deliveries."""
        body = {k: v for k, v in obj.items() if k != "questions"} if event.startswith("Interview") else obj
        self.last_delivery[event] = body
        return await self._deliver(event, body, company=self.company_of(api_key))

    async def _deliver(self, event: str, body: dict[str, Any], *, company: dict[str, Any]) -> list[Delivery]:
        results: list[Delivery] = []
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            for hook in self._webhooks_of(company).values():
                headers = {
                    "X-SparkHire-Event": event,
                    "X-SparkHire-Payload": EVENT_PAYLOAD.get(event, "Interview"),
                    "X-SparkHire-User-UUID": self.me["uuid"],
                    "X-SparkHire-Webhook-UUID": hook["uuid"],
                }
                if hook["_auth"]:
                    headers["Authorization"] = "Basic " + base64.b64encode(hook["_auth"].encode()).decode()
                try:
                    async with session.post(hook["url"], json=body, headers=headers) as response:
                        status: int | None = response.status
                except (aiohttp.ClientError, TimeoutError):
                    status = None
                delivery = Delivery(url=hook["url"], event=event, status=status)
                self.deliveries.append(delivery)
                results.append(delivery)
        return results

    # -- plumbing ------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.latency_seconds:
            await asyncio.sleep(self.latency_seconds)
        body = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
        key = None
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                key = base64.b64decode(auth[6:]).decode().partition(":")[0]
            except ValueError:
                key = None
        path = request.path.removeprefix(self.mount_prefix)
        self.requests.append(SandboxRequest(request.method, path, list(request.query.items()), body, key))
        await self._failures.wait_if_slowed(request)
        failed = self._failures.next_response(request)
        if failed is not None:
            return failed
        if not key:
            return _error(401, "You must authenticate to access the API.", "api.key_not_set")
        if (key not in self.api_keys) if self.api_keys is not None else key.startswith("invalid"):
            return _error(401, "The API key is invalid.", "api.key_invalid")
        if self.payment_required and path != "/me":
            return _error(402, "Your plan does not include API access.", "api.payment_required")
        request[JSON_BODY] = body
        request[API_KEY] = key
        response = await handler(request)
        hook = self.after_handling.pop(f"{request.method} {path}", None)
        if hook is not None:
            await hook()
        return response

    @staticmethod
    def _page(request: web.Request, items: list[Any]) -> web.Response:
        raw = request.query.get("range")
        if raw:
            match = re.fullmatch(r"(\d+)-(\d+)", raw)
            if not match or int(match[1]) < 1 or int(match[2]) < int(match[1]):
                return _error(400, "Invalid range.", "api.bad_range")
            items = items[int(match[1]) - 1 : int(match[2])]
        else:
            items = items[:20]
        return web.json_response(items)

    def _get(self, table: dict[str, Any], request: web.Request, what: str) -> dict[str, Any]:
        uuid = request.match_info["uuid"]
        found = table.get(uuid)
        if found is None or self._read_only_by.get(uuid, request[API_KEY]) != request[API_KEY]:
            raise web.HTTPNotFound(
                text=f'{{"reason":"{what} not found","code":"api.not_found"}}',
                content_type="application/json",
            )
        return found

    # -- account ----------------------------------------------------------------------------
    def _company(self, request: web.Request) -> dict[str, Any]:
        return self.company_of(request[API_KEY])

    async def _get_me(self, request: web.Request) -> web.Response:
        return web.json_response({**self.me, "company": {**self._company(request), "plan": self._plan()}})

    def _plan(self) -> dict[str, Any]:
        return {
            "name": "gold",
            "started_at": _ts(),
            "renews_at": _ts(_now() + timedelta(days=30)),
            "jobs": {"remaining": -1, "limit": -1},
            "users": {"remaining": 5, "limit": 10, "paid": 0},
            "features": {"advanced_share_links": True, "interview_sms_notifications": True},
        }

    async def _get_plan(self, request: web.Request) -> web.Response:
        return web.json_response({"plan": self._plan()})

    async def _get_company(self, request: web.Request) -> web.Response:
        if request.match_info["uuid"] != self.company["uuid"]:
            return _error(404, "Company not found", "api.not_found")
        return web.json_response({**self.company, "website": "http://example.com", "created_at": _ts()})

    # -- users -----------------------------------------------------------------------------
    async def _list_users(self, request: web.Request) -> web.Response:
        return self._page(request, [{**u, "company": self.company} for u in self.users.values()])

    async def _create_user(self, request: web.Request) -> web.Response:
        body = request[JSON_BODY] or {}
        if not body.get("name") or not EMAIL_RE.match(str(body.get("email", ""))):
            return _error(400, "name and a valid email are required", "api.validation")
        user = {
            "uuid": _uuid(),
            "active": True,
            "name": body["name"],
            "email": body["email"],
            "role": body.get("role", "standard"),
            "avatar": None,
            "created_at": _ts(),
            "updated_at": _ts(),
        }
        self.users[user["uuid"]] = user
        return web.json_response({**user, "company": self.company}, status=201)

    async def _get_user(self, request: web.Request) -> web.Response:
        return web.json_response({**self._get(self.users, request, "User"), "company": self.company})

    async def _update_user(self, request: web.Request) -> web.Response:
        user = self._get(self.users, request, "User")
        body = request[JSON_BODY] or {}
        user.update({k: v for k, v in body.items() if k in ("name", "email")}, updated_at=_ts())
        return web.json_response({**user, "company": self.company}, status=201)

    async def _delete_user(self, request: web.Request) -> web.Response:
        self._get(self.users, request, "User")
        self.users.pop(request.match_info["uuid"])
        return web.Response(status=204)

    async def _integration_key(self, request: web.Request) -> web.Response:
        user = self._get(self.users, request, "User")
        uid = user["uuid"]
        if request.method == "DELETE":
            self.integration_keys.pop(uid, None)
            return web.Response(status=204)
        if request.method == "POST" or (request.method == "PUT" and uid in self.integration_keys):
            self.integration_keys[uid] = {
                "key": _uuid(),
                "description": "Interview Bot",
                "type": "external",
                "last_used_at": None,
                "created_at": _ts(),
                "updated_at": _ts(),
                "user": {k: user.get(k) for k in ("uuid", "email", "name", "avatar")},
            }
            return web.json_response(self.integration_keys[uid], status=201)
        if uid not in self.integration_keys:
            return _error(404, "No API key", "api.not_found")
        return web.json_response(self.integration_keys[uid])

    # -- jobs ------------------------------------------------------------------------------
    async def _list_jobs(self, request: web.Request) -> web.Response:
        statuses = request.query.getall("status[]", []) or self.unfiltered_job_statuses
        items = [j for j in self.jobs.values() if not statuses or j["status"] in statuses]
        if request.query.get("orderby") == "title_asc":
            items.sort(key=lambda j: j["title"])
        return self._page(request, items)

    async def _create_job(self, request: web.Request) -> web.Response:
        body = request[JSON_BODY] or {}
        if not body.get("title"):
            return _error(400, "The job post title is required.", "api.validation")
        job = self.add_job(body["title"], status=body.get("status", "inactive"))
        job["description"] = body.get("description", "")
        return web.json_response(job, status=201)

    async def _get_job(self, request: web.Request) -> web.Response:
        return web.json_response(self._get(self.jobs, request, "Job"))

    async def _update_job(self, request: web.Request) -> web.Response:
        job = self._get(self.jobs, request, "Job")
        body = request[JSON_BODY] or {}
        job.update(
            {k: v for k, v in body.items() if k in ("title", "description", "status")},
            updated_at=_ts(),
        )
        return web.json_response(job, status=201)

    async def _delete_job(self, request: web.Request) -> web.Response:
        self._get(self.jobs, request, "Job")
        self.jobs.pop(request.match_info["uuid"])
        return web.Response(status=204)

    # -- interviews ----------------------------------------------------------------------
    def _summary(self, interview: dict[str, Any]) -> dict[str, Any]:
        """A listed interview: the single one's fields without its questions (the reference:
        "Interview questions are not sent down here"), so with its share link, active or not."""
        return {
            **{k: v for k, v in interview.items() if k != "questions"},
            "share_link": self._share_link_of(interview),
        }

    def _share_link_of(self, interview: dict[str, Any]) -> dict[str, Any] | None:
        return self.share_links.get(interview["uuid"])

    async def _list_interviews(self, request: web.Request) -> web.Response:
        statuses = request.query.getall("status[]", [])
        types = request.query.getall("type[]", [])
        items = [
            self._summary(i)
            for i in self.interviews.values()
            if (not statuses or i["status"] in statuses) and (not types or i["type"] in types)
        ]
        order = re.fullmatch(r"(scheduled|completed|updated)_(asc|desc)", request.query.get("orderby", ""))
        if order:
            # ISO timestamps of one form sort as text; an interview without one goes last either way.
            field, descending = f"{order[1]}_at", order[2] == "desc"
            dated = sorted((i for i in items if i.get(field)), key=lambda i: i[field], reverse=descending)
            items = dated + [i for i in items if not i.get(field)]
        return self._page(request, items)

    def _validate_question(self, q: Any) -> str | None:
        if not isinstance(q, dict) or not q.get("text"):
            return "Each question needs text."
        if q.get("time_limit", 60) not in TIME_LIMITS:
            return f"time_limit must be one of {', '.join(map(str, TIME_LIMITS))}."
        takes = q.get("takes", UNLIMITED_TAKES)
        if not isinstance(takes, int) or not (takes == UNLIMITED_TAKES or 0 <= takes <= MAX_TAKES):
            return "takes cannot be more than 5 (-1 is unlimited)."
        return None

    async def _create_interview(self, request: web.Request) -> web.Response:
        body = request[JSON_BODY] if isinstance(request[JSON_BODY], dict) else {}
        job = self.jobs.get((body.get("job_post") or {}).get("uuid", ""))
        if job is None:
            return _error(400, "A valid job_post uuid is required.", "api.validation")
        if job["status"] != "active":
            return _error(400, "The job post must be active to send interviews.", "api.validation")
        try:
            scheduled = datetime.fromisoformat(str(body.get("scheduled_at")))
        except ValueError:
            return _error(400, "scheduled_at must be an RFC3339 timestamp.", "api.validation")
        if scheduled.tzinfo is None:
            scheduled = scheduled.replace(tzinfo=UTC)
        if not (_now() - timedelta(minutes=5) < scheduled <= _now() + timedelta(days=366)):
            return _error(400, "scheduled_at must be in the future and within 1 year.", "api.validation")
        assigned = body.get("assigned_to")
        people = assigned if isinstance(assigned, list) else [assigned]
        for person in people:
            if (
                not isinstance(person, dict)
                or not person.get("name")
                or not EMAIL_RE.match(str(person.get("email", "")))
            ):
                return _error(400, "Each assigned_to needs a name and a valid email.", "api.validation")
            if bool(person.get("phone")) != bool(person.get("phone_parsed")):
                return _error(400, "phone and phone_parsed must come together.", "api.validation")
            if person.get("phone") and body.get("has_sms_consent") is not True:
                return _error(400, "has_sms_consent is required to send SMS.", "api.validation")
        questions = body.get("questions") or []
        set_uuid = body.get("interview_question_set")
        if set_uuid:
            qs = self.question_sets.get(set_uuid)
            if qs is None:
                return _error(400, "Unknown interview_question_set.", "api.validation")
            questions = qs["questions"]
        if not questions:
            return _error(400, "One-way interviews require questions.", "api.validation")
        for q in questions:
            if problem := self._validate_question(q):
                return _error(400, problem, "api.validation")
        created = [
            self.add_interview(
                job_uuid=job["uuid"],
                name=p["name"],
                email=p["email"],
                scheduled_at=scheduled,
                questions=questions,
                phone=p.get("phone"),
            )
            for p in people
        ]
        for interview in created:
            interview["email_message"] = body.get("email_message")
        out = created if isinstance(assigned, list) else created[0]
        return web.json_response(out, status=201)

    async def _get_interview(self, request: web.Request) -> web.Response:
        interview = self._get(self.interviews, request, "Interview")
        return web.json_response({**interview, "share_link": self._share_link_of(interview)})

    async def _update_interview(self, request: web.Request) -> web.Response:
        interview = self._get(self.interviews, request, "Interview")
        body = request[JSON_BODY] or {}
        status = body.get("status")
        if status == "canceled":
            if interview["status"] == "completed":
                return _error(400, "A completed interview cannot be canceled.", "api.validation")
            interview["status"] = "canceled"
        elif status == "completed":
            if interview["type"] != "live":
                return _error(400, "Only live interviews can be completed by a company.", "api.validation")
            self.set_status(interview["uuid"], "completed")
        elif status:
            return _error(400, "status must be canceled or completed.", "api.validation")
        if body.get("scheduled_at"):
            interview["scheduled_at"] = body["scheduled_at"]
        interview["updated_at"] = _ts()
        return web.json_response(interview, status=201)

    async def _delete_interview(self, request: web.Request) -> web.Response:
        self._get(self.interviews, request, "Interview")
        self.interviews.pop(request.match_info["uuid"])
        return web.Response(status=204)

    async def _list_questions(self, request: web.Request) -> web.Response:
        return web.json_response(self._get(self.interviews, request, "Interview")["questions"])

    async def _create_question(self, request: web.Request) -> web.Response:
        interview = self._get(self.interviews, request, "Interview")
        body = request[JSON_BODY] or {}
        if problem := self._validate_question(body):
            return _error(400, problem, "api.validation")
        if interview["status"] != "requested":
            return _error(403, "Once an interview has been accepted, you cannot modify it.", "api.forbidden")
        question = {
            "uuid": _uuid(),
            "text": body["text"],
            "completed": False,
            "skipped": False,
            "time_limit": body.get("time_limit", 60),
            "takes": {"completed": -1, "remaining": -1, "limit": body.get("takes", -1)},
            "started_at": None,
        }
        interview["questions"].append(question)
        return web.json_response(question)

    async def _question(self, request: web.Request) -> web.Response:
        interview = self._get(self.interviews, request, "Interview")
        question = next((q for q in interview["questions"] if q["uuid"] == request.match_info["q"]), None)
        if question is None:
            return _error(404, "Question not found", "api.not_found")
        if request.method == "GET":
            return web.json_response(question)
        if interview["status"] != "requested":
            return _error(403, "Once an interview has been accepted, you cannot modify it.", "api.forbidden")
        if request.method == "DELETE":
            interview["questions"].remove(question)
            return web.Response(status=204)
        question["text"] = (request[JSON_BODY] or {}).get("text", question["text"])
        return web.json_response(question)

    # -- question sets ---------------------------------------------------------------------
    async def _question_sets(self, request: web.Request) -> web.Response:
        if not request.path.removeprefix(self.mount_prefix).startswith(self.question_set_path):
            return _error(404, "Not found", "api.not_found")
        set_uuid = request.match_info.get("uuid")
        body = request[JSON_BODY] or {}
        if set_uuid is None:
            if request.method == "GET":
                return web.json_response(list(self.question_sets.values()))
            if request.method != "POST":
                return _error(405, "Method not allowed", "api.method_not_allowed")
            if not body.get("name") or not body.get("questions"):
                return _error(400, "name and questions are required.", "api.validation")
            qs = self.add_question_set(body["name"], [])
            qs["questions"] = [{"uuid": _uuid(), "think_time": "-1", **q} for q in body["questions"]]
            return web.json_response(qs)
        qs = self._get(self.question_sets, request, "Question set")
        if request.method == "GET":
            return web.json_response(qs)
        if request.method == "DELETE":
            self.question_sets.pop(set_uuid)
            return web.Response(status=204)
        qs["name"] = body.get("name", qs["name"])
        if "questions" in body:
            qs["questions"] = [{"think_time": "-1", **q, "uuid": q.get("uuid") or _uuid()} for q in body["questions"]]
        return web.json_response(qs)

    # -- share links -----------------------------------------------------------------------
    async def _create_share_link(self, request: web.Request) -> web.Response:
        interview = self._get(self.interviews, request, "Interview")
        if interview["status"] != "completed":
            return _error(400, "Only completed interviews can be shared.", "api.validation")
        link = self.share_links.get(interview["uuid"])
        if link is None:
            link = {
                "uuid": _uuid(),
                "url": f"http://hire.li/{uuidlib.uuid4().hex[:7]}",
                "created_at": _ts(),
                "updated_at": _ts(),
                "status": "active",
                "type": "open",
                "updated_by": self.me,
            }
            self.share_links[interview["uuid"]] = link
        return web.json_response(link, status=201)

    async def _get_share_link(self, request: web.Request) -> web.Response:
        self._get(self.interviews, request, "Interview")
        link = self.share_links.get(request.match_info["uuid"])
        if link is None:
            return _error(404, "No share link", "api.not_found")
        return web.json_response(link)

    async def _update_share_link(self, request: web.Request) -> web.Response:
        self._get(self.interviews, request, "Interview")
        link = self.share_links.get(request.match_info["uuid"])
        if link is None or link["uuid"] != request.match_info["link"]:
            return _error(404, "Share link not found", "api.not_found")
        status = (request[JSON_BODY] or {}).get("status")
        if status not in ("active", "inactive"):
            return _error(400, "status must be active or inactive.", "api.validation")
        self._set_link_status(link, status)
        return web.json_response(link, status=201)

    def _set_link_status(self, link: dict[str, Any], status: str) -> None:
        """A link kept, not deleted, when deactivated: 'inactive' links are not viewable, and it
        is still listed (and read) with that status until set 'active' again."""
        link.update(status=status, updated_at=_ts(), updated_by=self.me)

    async def _list_advanced(self, request: web.Request) -> web.Response:
        return web.json_response(list(self.advanced_links.values()))

    async def _create_advanced(self, request: web.Request) -> web.Response:
        body = request[JSON_BODY] or {}
        reviewers = body.get("reviewers") or []
        interviews = [self.interviews.get((i or {}).get("uuid", "")) for i in body.get("interviews") or []]
        if not reviewers or not interviews or any(i is None for i in interviews):
            return _error(400, "reviewers and existing interviews are required.", "api.validation")
        if any(i["status"] != "completed" for i in interviews):
            return _error(400, "Only completed interviews can be shared.", "api.validation")
        created = []
        for reviewer in reviewers:
            link = {
                "uuid": _uuid(),
                "url": f"http://hire.li/{uuidlib.uuid4().hex[:7]}",
                "created_at": _ts(),
                "updated_at": _ts(),
                "status": body.get("status", "active"),
                "reviewer": reviewer,
                "company": self.company,
                "created_by": self.me,
                "updated_by": self.me,
                "emailed": body.get("send_email") is True,
                "job": {
                    "uuid": interviews[0]["job_post"]["uuid"],
                    "title": interviews[0]["job_post"]["title"],
                },
                "interviews": [
                    {
                        "uuid": _uuid(),
                        "interview_uuid": i["uuid"],
                        "type": i["type"],
                        "completed_at": i["completed_at"],
                    }
                    for i in interviews
                ],
            }
            self.advanced_links[link["uuid"]] = link
            created.append(link)
        return web.json_response(created, status=201)

    async def _advanced(self, request: web.Request) -> web.Response:
        link = self._get(self.advanced_links, request, "Share link")
        if request.method == "DELETE":
            self.advanced_links.pop(link["uuid"])
            return web.Response(status=204)
        if request.method == "PUT":
            status = (request[JSON_BODY] or {}).get("status")
            if status not in ("active", "inactive"):
                return _error(400, "status must be active or inactive.", "api.validation")
            self._set_link_status(link, status)
            return web.json_response(link, status=201)
        return web.json_response(link)

    # -- webhooks ----------------------------------------------------------------------------
    @staticmethod
    def _hook_out(hook: dict[str, Any]) -> dict[str, Any]:
        return {
            "uuid": hook["uuid"],
            "description": hook["description"],
            "url": hook["url"],
            "http_auth": bool(hook["_auth"]),
        }

    def _webhooks_of(self, company: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {uuid: hook for uuid, hook in self.webhooks.items() if hook["_company"] == company["uuid"]}

    async def _list_webhooks(self, request: web.Request) -> web.Response:
        return web.json_response([self._hook_out(h) for h in self._webhooks_of(self._company(request)).values()])

    async def _create_webhook(self, request: web.Request) -> web.Response:
        body = request[JSON_BODY] or {}
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return _error(400, "A valid url is required.", "api.validation")
        auth = body.get("http_auth")
        if auth is not None and (not isinstance(auth, str) or ":" not in auth):
            return _error(400, "http_auth must be formatted like username:password.", "api.validation")
        hook = {
            "uuid": _uuid(),
            "description": body.get("description", ""),
            "url": url,
            "_auth": auth,
            "_company": self._company(request)["uuid"],
        }
        self.webhooks[hook["uuid"]] = hook
        return web.json_response(self._hook_out(hook))

    async def _delete_webhook(self, request: web.Request) -> web.Response:
        self._get(self._webhooks_of(self._company(request)), request, "Webhook")
        self.webhooks.pop(request.match_info["uuid"])
        return web.Response(status=204)

    async def _replay(self, request: web.Request) -> web.Response:
        event = request.match_info["event"]
        if event not in EVENT_PAYLOAD:
            return _error(400, "Unknown event type.", "api.validation")
        body = self.last_delivery.get(event)
        if body is None:
            return _error(404, "Nothing to replay for this event yet.", "api.not_found")
        # Deliver after answering, as a real server would.
        task = asyncio.get_running_loop().create_task(self._deliver(event, body, company=self._company(request)))
        self._replays.add(task)
        task.add_done_callback(self._replays.discard)
        return web.Response(status=204)
