"""A stateful in-memory WedgeHR Connect v2, as an aiohttp application.

Routes are relative to the API root, so the app can be served on its own (tests)
or mounted under the bot's server (``python -m bot --sandbox``). It behaves as
the reference and ERRATA say: Bearer auth, 404 for an empty filtered list, 400
for a bad filter, 422 with field errors, cursor pages of at most 100, 201 on the
interviews list.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.vendors.sandbox import InjectedFailures
from bot.wedgehr.models import InviteStatus

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_PAGE_SIZE = 30
JSON_BODY: web.RequestKey[Any] = web.RequestKey("json_body", object)
MAX_PAGE_SIZE = 100


def _label(status: Any) -> str:
    """An invite's status as its label, whether a test stored it by label or by number."""
    try:
        return InviteStatus.parse(status).name
    except (KeyError, ValueError):
        return str(status)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SandboxRequest:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    authorized: bool
    #: Whose account it read (tests tell two connections' polls apart by it).
    token: str = ""


class WedgeHRSandbox:
    """Fake WedgeHR.

    Args:
        tokens: Accepted tokens; None accepts any non-empty token not starting with "invalid".
        seed: Start with two interviews like the reference's examples.
    """

    def __init__(self, *, tokens: Iterable[str] | None = None, seed: bool = True) -> None:
        self.tokens = set(tokens) if tokens is not None else None
        self.company_id = 7182893298555114
        self.interviews: dict[int, dict[str, Any]] = {}
        self.invites: dict[int, dict[str, Any]] = {}
        self.wedges: dict[int, dict[str, Any]] = {}
        self.resends: dict[int, int] = {}
        self.requests: list[SandboxRequest] = []
        #: Seconds every answer takes (an account with many pages, a slow network).
        self.latency_seconds = 0.0
        #: Seconds every answer waits after the work is done (a request that lands, an answer lost).
        self.answer_delay_seconds = 0.0
        #: Close the connection instead of answering, once the work is done.
        self.drop_answers = False
        self._failures = InjectedFailures(default_body={"message": "Something unexpected happened"})
        self.fail_next = self._failures.add  # the test knob: answer the next requests with a failure
        self.slow_next = self._failures.slow  # and the next one only after a while
        self.trickle_next = self._failures.trickle  # or a byte at a time, for ever
        # Steps of 1000 under a random offset below 1000: ids look like WedgeHR's and never repeat.
        self._ids = itertools.count(4_017_600_317_622_000, 1000)
        self._rng = random.Random(7)
        if seed:
            self.add_interview("Movers", properties=[{"name": "Location", "value": "Chicago"}])
            self.add_interview("General Practitioner")
        self.app = web.Application(middlewares=[self._middleware])
        self.app.router.add_post("/invites", self._create_invite)
        self.app.router.add_get("/invites", self._list_invites)
        self.app.router.add_get("/invites/{id}", self._get_invite)
        self.app.router.add_get("/wedges", self._list_wedges)
        self.app.router.add_get("/wedges/{id}", self._get_wedge)
        self.app.router.add_post("/wedges/{id}/resend-invite", self._resend)
        self.app.router.add_get("/interviews", self._list_interviews)

    # -- test knobs and state helpers ------------------------------------------------------
    @property
    def trickling(self) -> int:
        """Answers being trickled now (``trickle_next``); one ends once its client hangs up."""
        return self._failures.trickling

    def _new_id(self) -> int:
        return next(self._ids) + self._rng.randrange(1, 1000)

    def add_interview(self, name: str, *, properties: list[dict[str, str]] | None = None) -> dict[str, Any]:
        interview = {
            "_type": "interview",
            "id": self._new_id(),
            "companyId": self.company_id,
            "name": name,
            "nameContextualized": name,
            "properties": properties or [],
            "createdAt": _now(),
        }
        self.interviews[interview["id"]] = interview
        return interview

    def add_invite(
        self,
        *,
        interview_id: int,
        email: str,
        first_name: str | None = None,
        last_name: str | None = None,
        unique_id: str | None = None,
        send: bool = True,
        status: str = "invited",
    ) -> dict[str, Any]:
        invite_id = self._new_id()
        invite = {
            "id": invite_id,
            "interviewId": interview_id,
            "email": email,
            "uniqueId": unique_id,
            "inviteUrl": f"https://record.wedge.video/{invite_id}.sandbox",
            "resultUrl": None,
            "inviteSent": send,
            "status": status,
            "createdAt": _now(),
            "expiresAt": None,
            "completedAt": None,
        }
        self.invites[invite_id] = invite
        wedge = next(
            (
                w
                for w in self.wedges.values()
                if w["candidateEmail"].lower() == email.lower() and w["interviewId"] == interview_id
            ),
            None,
        )
        if wedge is None:
            wedge = self._new_wedge(interview_id=interview_id, email=email, first_name=first_name, last_name=last_name)
        wedge["inviteIds"].append(invite_id)
        invite["_wedgeId"] = wedge["id"]
        return invite

    def set_invite_status(self, invite_id: int, status: str) -> dict[str, Any]:
        invite = self.invites[invite_id]
        invite["status"] = InviteStatus.parse(status).name
        return invite

    def complete_invite(self, invite_id: int) -> dict[str, Any]:
        """The candidate finished: status complete, completion time and result URL on invite and wedge."""
        invite = self.set_invite_status(invite_id, "complete")
        invite["completedAt"] = _now()
        invite["resultUrl"] = f"https://app.wedgehr.com/results/{invite_id}"
        wedge = self.wedges[invite["_wedgeId"]]
        wedge["completedAt"] = invite["completedAt"]
        wedge["resultUrl"] = invite["resultUrl"]
        return invite

    def add_completed_wedge(
        self, *, interview_id: int, email: str, first_name: str | None = None, last_name: str | None = None
    ) -> dict[str, Any]:
        """A candidate who recorded through the interview's public link: a completed wedge, no invite."""
        wedge = self._new_wedge(interview_id=interview_id, email=email, first_name=first_name, last_name=last_name)
        wedge["completedAt"] = _now()
        wedge["resultUrl"] = f"https://app.wedgehr.com/results/w{wedge['id']}"
        return wedge

    def _new_wedge(
        self, *, interview_id: int, email: str, first_name: str | None, last_name: str | None
    ) -> dict[str, Any]:
        interview = self.interviews.get(interview_id, {"name": "Interview"})
        wedge = {
            "id": self._new_id(),
            "candidateFirstName": first_name,
            "candidateLastName": last_name,
            "candidateEmail": email,
            "interviewId": interview_id,
            "interviewName": interview["name"],
            "interviewNameContextualized": interview["name"],
            "expiresAt": None,
            "completedAt": None,
            "createdAt": _now(),
            "resultUrl": None,
            "inviteIds": [],
        }
        self.wedges[wedge["id"]] = wedge
        return wedge

    # -- plumbing --------------------------------------------------------------------------
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
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        authorized = bool(token) and (
            token in self.tokens if self.tokens is not None else not token.startswith("invalid")
        )
        self.requests.append(
            SandboxRequest(request.method, request.path, dict(request.query), body, authorized, token=token)
        )
        await self._failures.wait_if_slowed(request)
        if (trickled := await self._failures.trickled(request)) is not None:
            return trickled
        failed = self._failures.next_response(request)
        if failed is not None:
            return failed
        if not authorized:
            return web.json_response({"message": "Unauthenticated."}, status=401)
        request[JSON_BODY] = body
        response = await handler(request)
        if self.answer_delay_seconds:  # done, but the answer is late: a client may give up on it
            await asyncio.sleep(self.answer_delay_seconds)
        if self.drop_answers and request.transport is not None:  # done, and the connection drops
            request.transport.close()
        return response

    def _invite_out(self, invite: dict[str, Any], *, embedded: bool = False) -> dict[str, Any]:
        out = {k: v for k, v in invite.items() if not k.startswith("_")}
        if embedded:  # invites embedded in a wedge omit their timestamps (ERRATA)
            for key in ("createdAt", "expiresAt", "completedAt"):
                out.pop(key, None)
        return out

    def _wedge_out(self, wedge: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in wedge.items() if k != "inviteIds"}
        out["invites"] = [self._invite_out(self.invites[i], embedded=True) for i in wedge["inviteIds"]]
        return out

    @staticmethod
    def _paginate(request: web.Request, items: list[Any]) -> tuple[list[Any], dict[str, Any]]:
        try:
            size = int(request.query.get("page[size]", DEFAULT_PAGE_SIZE))
        except ValueError:
            raise web.HTTPBadRequest(text='{"message":"Bad page size"}', content_type="application/json") from None
        size = max(1, min(size, MAX_PAGE_SIZE))
        cursor = request.query.get("page[cursor]")
        start = 0
        if cursor:
            try:
                start = int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode())
            except ValueError:
                raise web.HTTPBadRequest(text='{"message":"Bad cursor"}', content_type="application/json") from None
        page = items[start : start + size]

        def encode(offset: int) -> str:
            return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")

        pagination = {
            "prev": encode(max(0, start - size)) if start > 0 else None,
            "next": encode(start + size) if start + size < len(items) else None,
        }
        return page, pagination

    @staticmethod
    def _int_filter(request: web.Request, name: str) -> int | None:
        value = request.query.get(f"filter[{name}]")
        if value is None:
            return None
        if not value.isdigit():
            raise web.HTTPBadRequest(text='{"message":"Bad filter ID given"}', content_type="application/json")
        return int(value)

    def _list(self, request: web.Request, items: list[Any], *, status: int = 200) -> web.Response:
        filtered = any(k.startswith("filter[") for k in request.query)
        if not items and filtered:
            return web.json_response({"message": "No results found for given filter query"}, status=404)
        page, pagination = self._paginate(request, items)
        return web.json_response(
            {
                "data": page,
                "meta": {"path": str(request.url.with_query(None)), "per_page": len(page)},
                "pagination": pagination,
            },
            status=status,
        )

    # -- routes ----------------------------------------------------------------------------
    async def _create_invite(self, request: web.Request) -> web.Response:
        body = request[JSON_BODY] if isinstance(request[JSON_BODY], dict) else {}
        errors: dict[str, list[str]] = {}
        interview_id = body.get("interviewId")
        if interview_id in (None, ""):
            errors["interviewId"] = ["The interview id field is required."]
        elif not isinstance(interview_id, int) or interview_id not in self.interviews:
            errors["interviewId"] = ["The selected interview id is invalid."]
        email = body.get("email")
        if not email:
            errors["email"] = ["The email field is required."]
        elif not isinstance(email, str) or not EMAIL_RE.match(email):
            errors["email"] = ["The email must be a valid email address."]
        if errors:
            return web.json_response({"message": "The given data was invalid.", "errors": errors}, status=422)
        invite = self.add_invite(
            interview_id=interview_id,
            email=email,
            first_name=body.get("firstName"),
            last_name=body.get("lastName"),
            unique_id=body.get("uniqueId"),
            send=bool(body.get("shouldSendInvite", False)),
        )
        return web.json_response({"data": self._invite_out(invite)}, status=201)

    async def _list_invites(self, request: web.Request) -> web.Response:
        invite_id = self._int_filter(request, "id")
        interview_id = self._int_filter(request, "interviewId")
        unique_id = request.query.get("filter[uniqueId]")
        email = request.query.get("filter[email]")
        status = request.query.get("filter[status]")
        if status is not None:
            try:
                status = InviteStatus.parse(status).name
            except (KeyError, ValueError):
                return web.json_response({"message": "Bad filter given"}, status=400)
        items = [
            self._invite_out(i)
            for i in self.invites.values()
            if (invite_id is None or i["id"] == invite_id)
            and (interview_id is None or i["interviewId"] == interview_id)
            and (unique_id is None or i["uniqueId"] == unique_id)
            and (email is None or i["email"].lower() == email.lower())
            and (status is None or _label(i["status"]) == status)
        ]
        return self._list(request, items)

    async def _get_invite(self, request: web.Request) -> web.Response:
        invite = self.invites.get(int(request.match_info["id"])) if request.match_info["id"].isdigit() else None
        if invite is None:
            return web.json_response({"message": "Invite not found"}, status=404)
        return web.json_response({"data": self._invite_out(invite)})

    async def _list_wedges(self, request: web.Request) -> web.Response:
        wedge_id = self._int_filter(request, "id")
        interview_id = self._int_filter(request, "interviewId")
        email = request.query.get("filter[email]")
        items = [
            self._wedge_out(w)
            for w in self.wedges.values()
            if (wedge_id is None or w["id"] == wedge_id)
            and (interview_id is None or w["interviewId"] == interview_id)
            and (email is None or w["candidateEmail"].lower() == email.lower())
        ]
        return self._list(request, items)

    def _find_wedge(self, request: web.Request) -> dict[str, Any] | None:
        raw = request.match_info["id"]
        return self.wedges.get(int(raw)) if raw.isdigit() else None

    async def _get_wedge(self, request: web.Request) -> web.Response:
        wedge = self._find_wedge(request)
        if wedge is None:
            return web.json_response({"message": "Wedge not found"}, status=404)
        out = self._wedge_out(wedge)
        out.pop("expiresAt", None)  # as in the reference's single-wedge example (ERRATA)
        return web.json_response({"data": out})

    async def _resend(self, request: web.Request) -> web.Response:
        wedge = self._find_wedge(request)
        if wedge is None:
            return web.json_response({"message": "Wedge not found"}, status=404)
        self.resends[wedge["id"]] = self.resends.get(wedge["id"], 0) + 1
        for invite_id in wedge["inviteIds"]:
            invite = self.invites[invite_id]
            invite["inviteSent"] = True
            # Same invite id, back to "invited" (the reference's answer): a bounce or a cancellation
            # is undone until the address bounces or the invite is canceled again.
            if _label(invite["status"]) in ("send_failure", "canceled", "unknown"):
                invite["status"] = "invited"
        return web.json_response({"data": self._wedge_out(wedge)})

    async def _list_interviews(self, request: web.Request) -> web.Response:
        search = (request.query.get("filter[search]") or "").lower()
        items = [i for i in self.interviews.values() if search in i["name"].lower()]
        page, pagination = self._paginate(request, items)
        return web.json_response(
            {
                "data": page,
                "meta": {"path": "interviews", "per_page": len(page)},
                "pagination": pagination,
            },
            status=201,
        )
