"""Sending invites on either vendor, one or many, with per-row results."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from blocks.models import CandidateView, InviteResult
from bot.candidates import BulkRow, from_interview, from_wedge
from bot.sparkhire.client import SparkHireClient
from bot.sparkhire.models import Candidate, Interview, NewQuestion
from bot.storage import Database
from bot.storage.repos import AuditEntry
from bot.vendors.errors import (
    MAYBE_DONE_MESSAGE,
    APIConnectionError,
    AuthenticationError,
    RateLimitError,
    UnreadableAnswerError,
    VendorError,
)
from bot.wedgehr.client import WedgeHRClient
from bot.wedgehr.models import InviteStatus, Wedge

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
E164_HINT = "Use the international format with country code, e.g. +13125559494."
PROGRESS_EVERY_SECONDS = 1.0
#: How long a bulk send may pause in all when the vendor asks it to (429): past that, the rows left
#: say to invite them again later.
BULK_RATE_LIMIT_WAIT_SECONDS = 300.0
#: The pause when a 429 names no wait (Spark Hire's header "may not always be present").
BULK_RATE_LIMIT_DEFAULT_PAUSE = 60.0
NOT_SENT_KEY_REJECTED = "not sent: the API key was rejected on an earlier row. Reconnect, then invite again."

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(kw_only=True)
class BulkRun:
    """A bulk send's outcome so far, kept up to date by ``send_many``: what an interruption reports.

    Attributes:
        rows: Every row of the batch, in order.
        results: One per row handled so far.
        in_flight: The row whose invite is being created right now, if any.
    """

    rows: Sequence[BulkRow]
    results: list[InviteResult] = field(default_factory=list)
    in_flight: BulkRow | None = None

    def interrupted(self, why: str) -> list[InviteResult]:
        """Every row's outcome when the batch stopped early (``why``, e.g. "the bot restarted").

        The row being sent may have reached the vendor; the rows after it were not sent.
        """
        done = {r.row for r in self.results}
        results = list(self.results)
        for row in self.rows:
            if row.row in done:
                continue
            if row.error or row.duplicate_of is not None:  # never to be sent: said as the batch would have
                results.append(_unsendable(row))
                continue
            if self.in_flight is not None and row.row == self.in_flight.row:
                error = f"{why} while this row was being sent. {MAYBE_DONE_MESSAGE}"
                results.append(InviteResult(row=row.row, email=row.email, ok=False, error=error))
                continue
            error = f"not sent: {why} first. Invite this row again."
            results.append(InviteResult(row=row.row, email=row.email, ok=False, error=error, retry_line=row.line))
        return results


@dataclass(frozen=True, kw_only=True)
class WedgeHRInvite:
    interview_id: int
    interview_name: str | None
    email: str
    first_name: str | None = None
    last_name: str | None = None
    send_email: bool = True
    unique_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class SparkHireInvite:
    job_uuid: str
    job_title: str | None
    name: str
    email: str
    deadline: datetime
    question_set_uuid: str | None
    questions: tuple[str, ...]
    time_limit: int
    takes: int
    message: str | None
    phone: str | None
    sms_consent: bool
    timezone: str | None = None


async def _readable(vendor: str, answer: Awaitable[T]) -> T:
    """``answer``, or ``UnreadableAnswerError`` when its success could not be read (an undocumented
    shape): the vendor most likely did it, and "try again" would do it twice."""
    try:
        return await answer
    except VendorError:
        raise
    except Exception as exc:
        logger.exception("%s's answer could not be read; the request may have been done", vendor)
        raise UnreadableAnswerError(vendor=vendor) from exc


async def send_wedgehr(client: WedgeHRClient, invite: WedgeHRInvite) -> CandidateView:
    return await _readable(client.vendor_name, _send_wedgehr(client, invite))


async def _send_wedgehr(client: WedgeHRClient, invite: WedgeHRInvite) -> CandidateView:
    created = await client.create_invite(
        interview_id=invite.interview_id,
        email=invite.email,
        first_name=invite.first_name,
        last_name=invite.last_name,
        should_send_invite=invite.send_email,
        unique_id=invite.unique_id,
    )
    name = " ".join(p for p in (invite.first_name, invite.last_name) if p) or invite.email
    return CandidateView(
        vendor="wedgehr",
        name=name,
        email=created.email,
        interview_name=invite.interview_name,
        status=created.status,
        invite_url=created.invite_url,
        result_url=created.result_url,
        deadline=created.expires_at,
    )


async def send_sparkhire(client: SparkHireClient, invite: SparkHireInvite) -> CandidateView:
    return await _readable(client.vendor_name, _send_sparkhire(client, invite))


async def _send_sparkhire(client: SparkHireClient, invite: SparkHireInvite) -> CandidateView:
    candidate = Candidate(
        name=invite.name,
        email=invite.email,
        phone=invite.phone or None,
        phone_parsed=invite.phone or None,
    )
    created = await client.create_interview(
        job_uuid=invite.job_uuid,
        assigned_to=candidate,
        scheduled_at=invite.deadline,
        has_sms_consent=invite.sms_consent,
        email_message=invite.message,
        question_set_uuid=invite.question_set_uuid,
        questions=[NewQuestion(text=q, time_limit=invite.time_limit, takes=invite.takes) for q in invite.questions],
        timezone=invite.timezone,
    )
    interview = created if isinstance(created, Interview) else created[0]
    view = from_interview(interview)
    return view if view.interview_name else CandidateView(**{**view.__dict__, "interview_name": invite.job_title})


SPARKHIRE_FIELD_HINTS = (
    ("scheduled_at", "deadline"),
    ("time_limit", "time_limit"),
    ("takes", "takes"),
    ("question", "questions"),
    ("phone", "phone"),
    ("sms", "sms_consent"),
    ("email", "email"),
    ("job", "job"),
    ("name", "candidate_name"),
)


def sparkhire_field_for(message: str) -> str | None:
    """The form field a Spark Hire 400 message is about, when it can be recognised."""
    lowered = message.lower()
    for needle, form_field in SPARKHIRE_FIELD_HINTS:
        if needle in lowered:
            return form_field
    return None


def _unsendable(row: BulkRow) -> InviteResult:
    """A row never sent: not an address, or a repeat of an earlier row."""
    if row.error:
        return InviteResult(row=row.row, email=row.email, ok=False, error=row.error)
    first = "the email typed in the form" if row.duplicate_of == 0 else f"row {row.duplicate_of}"
    return InviteResult(row=row.row, email=row.email, ok=False, skipped=True, error=f"skipped: duplicate of {first}")


async def send_many(
    rows: Sequence[BulkRow],
    send_one: Callable[[BulkRow], Awaitable[CandidateView]],
    *,
    on_progress: Callable[[int, int], Awaitable[None]] | None = None,
    audit: Callable[[BulkRow, InviteResult], Awaitable[None]] | None = None,
    run: BulkRun | None = None,
    on_pause: Callable[[float], Awaitable[None]] | None = None,
) -> list[InviteResult]:
    """Invite row by row (never in parallel: the vendors rate-limit), reporting each outcome.

    Once the vendor rejects the API key, the remaining rows are not sent (each would be rejected
    the same way) and say so. When the vendor asks the batch to slow down (429 after the client's
    own retries), the batch pauses as long as it asked (``on_pause`` is told) and sends the row
    again: a 429 means the vendor did not take the request. Past ``BULK_RATE_LIMIT_WAIT_SECONDS``
    of pauses, the rows left are not sent and say so. ``run`` is kept up to date, for the caller
    to report the rows done if the batch is stopped (a restart) before the end.
    """
    run = run if run is not None else BulkRun(rows=rows)
    results = run.results
    last_progress = time.monotonic()
    key_rejected = False
    paused = 0.0
    rate_limited: str | None = None
    for index, row in enumerate(rows, start=1):
        if row.error:
            result = _unsendable(row)
        elif row.duplicate_of is not None:
            # Nothing is sent, so nothing is audited: the first row with this address carries the outcome.
            results.append(_unsendable(row))
            continue
        elif key_rejected:
            result = InviteResult(
                row=row.row,
                email=row.email,
                ok=False,
                key_rejected=True,
                error=NOT_SENT_KEY_REJECTED,
                retry_line=row.line,
            )
        elif rate_limited is not None:
            result = InviteResult(row=row.row, email=row.email, ok=False, error=rate_limited, retry_line=row.line)
        else:
            run.in_flight = row
            try:
                while True:
                    try:
                        sent = await send_one(row)
                        break
                    except RateLimitError as exc:
                        pause = exc.retry_after or BULK_RATE_LIMIT_DEFAULT_PAUSE
                        if paused + pause > BULK_RATE_LIMIT_WAIT_SECONDS:
                            raise
                        paused += pause
                        run.in_flight = None  # refused (429): a restart during the pause did not send it
                        if on_pause is not None:
                            await on_pause(pause)
                        await asyncio.sleep(pause)
                        run.in_flight = row
                result = InviteResult(row=row.row, email=row.email, ok=True, link=sent.invite_url)
            except RateLimitError as exc:
                vendor = exc.vendor or "The vendor"
                rate_limited = (
                    f"not sent: {vendor} kept asking us to slow down (rate limited). Invite this row again later."
                )
                result = InviteResult(row=row.row, email=row.email, ok=False, error=rate_limited, retry_line=row.line)
            except AuthenticationError as exc:
                key_rejected = True
                result = InviteResult(
                    row=row.row, email=row.email, ok=False, key_rejected=True, error=exc.message, retry_line=row.line
                )
            except VendorError as exc:
                detail = "; ".join(getattr(exc, "field_errors", {}).values()) or exc.message
                # A request that never reached the vendor (refused connection): the row can go again as is.
                unsent = isinstance(exc, APIConnectionError) and not exc.request_sent
                result = InviteResult(
                    row=row.row, email=row.email, ok=False, error=detail, retry_line=row.line if unsent else None
                )
            except Exception:
                # An answer the client could not read (a 201 of an unexpected shape, say): the vendor
                # may have created the invite, so the row says so rather than stopping the batch.
                logger.exception("Bulk invite row %s: the vendor's answer could not be read", row.row)
                result = InviteResult(row=row.row, email=row.email, ok=False, error=MAYBE_DONE_MESSAGE)
            run.in_flight = None  # (still set if the batch is cancelled mid-send: that row may have gone)
        results.append(result)
        if audit is not None:
            try:
                await audit(row, result)
            except Exception:  # the audit log is a record; the candidates still waiting matter more
                logger.exception("Could not write the audit entry of bulk invite row %s; sending goes on", row.row)
        if on_progress is not None and time.monotonic() - last_progress >= PROGRESS_EVERY_SECONDS:
            last_progress = time.monotonic()
            await on_progress(index, len(rows))
    return results


async def audit_invite(
    db: Database,
    *,
    team_id: str,
    user_id: str,
    vendor: str,
    email: str,
    ok: bool,
    detail: dict | None = None,
) -> None:
    await db.audit.add(
        team_id=team_id,
        user_id=user_id,
        action="invite.sent" if ok else "invite.failed",
        vendor=vendor,
        target=email,
        detail=detail,
    )


#: A second resend of one wedge this soon after the first is taken for a repeated click (a double
#: click, two colleagues on one card): the candidate is not emailed twice.
RESEND_REPEAT_SECONDS = 120.0
#: The audit action of a resend that got no clear answer from WedgeHR.
UNCONFIRMED_RESEND = "resend.unconfirmed"


@dataclass(frozen=True, kw_only=True)
class ResendOutcome:
    """What a Resend did: ``resent`` the wedge as WedgeHR answered, or found ``earlier`` in time."""

    resent: CandidateView | None = None
    earlier: AuditEntry | None = None


async def resend_once(
    db: Database, client: WedgeHRClient, *, team_id: str, user_id: str, wedge_id: int
) -> ResendOutcome:
    """Resend the wedge's invitation unless it was resent in the last ``RESEND_REPEAT_SECONDS``.

    The check and the resend run under one lock per wedge, so two clicks at once (in one process or
    several sharing PostgreSQL) send one email.
    """
    async with db.exclusive(f"resend:{team_id}:{wedge_id}"):
        # "resend.": sent, or sent without a clear answer (``resend.unconfirmed``), which may have
        # emailed the candidate just as well.
        recent = await db.audit.recent(
            team_id, action_prefix="resend.", since=time.time() - RESEND_REPEAT_SECONDS, limit=100
        )
        earlier = next((e for e in recent if (e.detail or {}).get("wedge_id") == wedge_id), None)
        if earlier is not None:
            return ResendOutcome(earlier=earlier)
        try:
            wedge = await _readable(client.vendor_name, client.resend_invite(wedge_id))
        except VendorError as exc:
            if exc.maybe_done:
                await _note_unconfirmed_resend(db, team_id=team_id, user_id=user_id, wedge_id=wedge_id)
            raise
        try:
            await db.audit.add(
                team_id=team_id,
                user_id=user_id,
                action="resend.sent",
                vendor="wedgehr",
                target=wedge.candidate_email,
                # The invites WedgeHR shows back to "invited": the poller counts a bounce of those
                # after the resend as a new one (bot/notify/poller.py).
                detail={"wedge_id": wedge_id, "invites": _invited_ids(wedge)},
            )
        except Exception:  # the email went out: say so rather than report a database error
            logger.exception("Could not write the audit entry of the resend of wedge %s", wedge_id)
        return ResendOutcome(resent=from_wedge(wedge))


async def _note_unconfirmed_resend(db: Database, *, team_id: str, user_id: str, wedge_id: int) -> None:
    """Record a resend WedgeHR did not clearly answer: a click again at once is then told it may
    have gone out, not sent a second email. Not ``resend.sent``: the poller must not take it as done."""
    try:
        await db.audit.add(
            team_id=team_id,
            user_id=user_id,
            action=UNCONFIRMED_RESEND,
            vendor="wedgehr",
            target=None,
            detail={"wedge_id": wedge_id},
        )
    except Exception:
        logger.exception("Could not write the audit entry of the unconfirmed resend of wedge %s", wedge_id)


def _invited_ids(wedge: Wedge) -> list[int]:
    """The wedge's invites WedgeHR says are "invited" (any other or unreadable status: left out)."""
    invited = []
    for invite in wedge.invites:
        try:
            if InviteStatus.parse(invite.status) is InviteStatus.invited:
                invited.append(invite.id)
        except (KeyError, ValueError):
            continue
    return invited
