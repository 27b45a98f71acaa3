"""Vendor deliveries to recorded events: names, de-duplication keys, thread keys, what to render."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.storage import NewEvent
from bot.storage.repos import StoredEvent

SPARKHIRE_EVENT_NAMES = {
    "InterviewCompleted": "completed",
    "InterviewRated": "rated",
    "InterviewExpired": "expired",
    "InterviewAccepted": "accepted",
    "InterviewCreated": "created",
    "InterviewRescheduled": "rescheduled",
    "InterviewCanceled": "canceled",
    "InterviewDeleted": "canceled",
    "InterviewReset": "reset",
    "JobCreated": "jobs",
    "JobUpdated": "jobs",
    "JobDeleted": "jobs",
}
UUID_KEYS = ("interview_uuid", "interviewUuid", "interview_id")
#: Where an (undocumented) Rating payload may name its reviewer.
REVIEWER_KEYS = ("rated_by", "reviewer", "user", "created_by")
#: Column widths (bot/storage/schema.py): events.dedup_key, outbox and slack_messages thread_key.
DEDUP_KEY_MAX = 255
THREAD_KEY_MAX = 200
#: What JSON spells a NUL character as (a raw control character is not valid JSON).
NUL_ESCAPE = b"\\u0000"


def without_nul(value: Any) -> Any:
    """``value`` with every NUL character taken out of its strings and keys, at any depth.

    PostgreSQL's text cannot hold a NUL (a uuid with one could not be stored), and on a card it is a
    control character in a candidate's name. Removed, not replaced with U+FFFD: a NUL shows as
    nothing where the sender typed or saw it, so the card reads as they meant ("Ann Lee", where a
    replacement would show a "?" in a diamond that reads as a broken name), and an email or a job
    title still matches a subscription's filter. A key that only a NUL told apart from another yields
    to it: ``{"name": 1, "name\\u0000": 2}`` keeps 1. Containers are copied only where something changed.
    """
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        items = [without_nul(item) for item in value]
        return items if any(new is not old for new, old in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        cleaned: dict[Any, Any] = {}
        changed = False
        for key, item in value.items():
            new_key = without_nul(key)
            if new_key is not key:
                changed = True
                if new_key in value:  # the key as it is without the NUL was sent too: it wins
                    continue
            new_item = cleaned[new_key] = without_nul(item)
            changed = changed or new_item is not item
        return cleaned if changed else value
    return value


def find_interview_uuid(obj: Any) -> str | None:
    """The interview uuid somewhere in an (undocumented) Rating payload."""
    if isinstance(obj, dict):
        for key in UUID_KEYS:
            if isinstance(obj.get(key), str):
                return obj[key]
        interview = obj.get("interview")
        if isinstance(interview, dict) and isinstance(interview.get("uuid"), str):
            return interview["uuid"]
        if isinstance(interview, str) and interview:
            return interview
        for value in obj.values():
            if isinstance(value, (dict, list)) and (found := find_interview_uuid(value)):
                return found
    elif isinstance(obj, list):
        for value in obj:
            if found := find_interview_uuid(value):
                return found
    return None


def sparkhire_event(
    *,
    team_id: str,
    connection_id: str,
    header_event: str,
    webhook_uuid: str,
    body: dict[str, Any],
    raw: bytes,
) -> NewEvent:
    """One authenticated Spark Hire delivery as an event (unknown types too: stored, never matched).

    Stored, keyed, filtered and posted without NUL characters, on either database (``without_nul``):
    refused, the event would be lost and count toward Spark Hire marking the webhook failing.
    """
    # JSON can carry a NUL only escaped: most deliveries skip the walk.
    if NUL_ESCAPE in raw:
        body = without_nul(body)
    header_event, webhook_uuid = without_nul(header_event), without_nul(webhook_uuid)
    kind = SPARKHIRE_EVENT_NAMES.get(header_event, header_event or "unknown")
    is_job = header_event.startswith("Job")
    if header_event == "InterviewRated":
        subject = find_interview_uuid(body) or str(body.get("uuid") or "")
    else:
        subject = str(body.get("uuid") or "")
    # Spark Hire sends no delivery id: the same object in the same state is the same delivery. Not
    # which registration sent it: a webhook registered again (unsubscribe, then subscribe) replays
    # events the channels already have, and each is posted once. Without an updated_at, the state is
    # the object's content, not its bytes: a retry with its keys in another order or other spacing is
    # the same delivery. A rating is its own (its uuid, its reviewer), not its interview's: two
    # reviewers rating in the same second are two ratings.
    canonical = hashlib.sha256(canonical_json(body).encode()).hexdigest()[:32]
    version = body.get("updated_at") or canonical
    identity = ""
    if header_event == "InterviewRated":
        rating_uuid = body.get("uuid") if isinstance(body.get("uuid"), str) and body.get("uuid") != subject else ""
        reviewer = reviewer_identity(body) or ""
        identity = f"rating:{rating_uuid}:{reviewer}:" if rating_uuid or reviewer else f"rating::{canonical}:"
    dedup = _dedup_fit(f"sparkhire:{connection_id}:{header_event}:{subject}:{identity}{version}")
    # The key an earlier release gave this delivery: one recorded under it is not recorded again.
    legacy = _dedup_fit(
        f"sparkhire:{connection_id}:{header_event}:{subject}:"
        f"{body.get('updated_at') or hashlib.sha256(raw).hexdigest()[:32]}"
    )
    assigned = body.get("assigned_to") if isinstance(body.get("assigned_to"), dict) else {}
    job = body.get("job_post") if isinstance(body.get("job_post"), dict) else {}
    job_name = _text(body.get("title") if is_job else job.get("title"))
    job_id = _text(body.get("uuid") if is_job else job.get("uuid"))
    return NewEvent(
        dedup_key=dedup,
        legacy_dedup_keys=(legacy,) if legacy != dedup else (),
        team_id=team_id,
        vendor="sparkhire",
        event_type=kind,
        subject=subject,
        payload={
            "vendor": "sparkhire",
            "event": kind,
            "source_event": header_event,
            "connection_id": connection_id,
            "webhook_uuid": webhook_uuid,
            "object": body,
        },
        thread_key=_fit(f"sparkhire:{'job' if is_job else 'interview'}:{subject}", THREAD_KEY_MAX),
        job_name=job_name,
        job_id=job_id,
        candidate_email=_text(assigned.get("email")),
        connection_id=connection_id,
        # A rating names only its interview, and so may an interview's delivery that carries little
        # more than its uuid: the job and exclude filters wait for the worker's fetch.
        filters_deferred=not is_job and not assigned and not job,
        # A Job* delivery is the job as it is now; an interview's job_post may predate a rename.
        describes_job=is_job,
        job_as_of=vendor_time(body.get("updated_at")) if is_job else None,
    )


def canonical_json(body: Any) -> str:
    """``body`` as one text whatever the order of its keys or the spacing it was sent with."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def reviewer_identity(obj: dict[str, Any]) -> str | None:
    """Who gave an (undocumented) Rating, as the payload names them: uuid, email or name."""
    for key in REVIEWER_KEYS:
        who = obj.get(key)
        if isinstance(who, dict):
            who = next((who[k] for k in ("uuid", "email", "name") if isinstance(who.get(k), str) and who[k]), None)
        if isinstance(who, str) and who.strip():
            return who.strip()
    return None


def _dedup_fit(key: str) -> str:
    """``key``, or if longer than events.dedup_key allows, a hash of it."""
    return key if len(key) <= DEDUP_KEY_MAX else "sparkhire:" + hashlib.sha256(key.encode()).hexdigest()


def _fit(key: str, limit: int) -> str:
    """``key``, or if longer than its column allows (PostgreSQL refuses it), a hash of it.

    A uuid of 400 characters is not Spark Hire's, but the delivery is still stored, and its events
    still share a thread.
    """
    if len(key) <= limit:
        return key
    prefix = key.rsplit(":", 1)[0]
    return f"{prefix}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"[-limit:]


def vendor_time(value: Any) -> float | None:
    """A vendor's time as UNIX seconds: an RFC 3339 string or a datetime, one without a zone read as
    UTC (as Spark Hire's examples give them; never the server's zone); None if it is neither."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def _text(value: Any) -> str | None:
    """A filter field only if it is a string: a delivery with a list there must not break routing."""
    return value if isinstance(value, str) else None


def wedgehr_event(
    *,
    team_id: str,
    connection_id: str,
    invite: dict[str, Any] | None,
    wedge: dict[str, Any] | None,
    status: str,
    again: bool = False,
    occurrence: int = 1,
    candidate_tag: Callable[[str], str] | None = None,
) -> NewEvent:
    """An invite whose status changed, or (``invite=None``) a wedge newly completed.

    ``candidate_tag``: a keyed digest (``SecretBox.tag``) naming the candidate in the thread key;
    without it the event threads by wedge or invite, as releases before the candidate key did.

    A completion is keyed by its wedge when the wedge is known: the poller sees it both ways (the
    invite's status, the wedge's ``completedAt``) and it must be posted once. ``again``: the wedge
    was completed before and the candidate recorded again (a retake); keyed by its new
    ``completedAt`` too, as each recording is news once. ``occurrence``: which time the invite
    reached this status (a resend sets a bounced or canceled invite back to "invited", keeping its
    id); the first is keyed as every one was before, a later one by its number too.
    """
    if invite is None and wedge is None:
        raise ValueError("an invite or a wedge")
    # Without NUL characters, as Spark Hire's deliveries (``without_nul``).
    invite, wedge = without_nul(invite), without_nul(wedge)
    kind = {"complete": "completed"}.get(status, status)
    if wedge and status == "complete":
        dedup = f"wedgehr:{connection_id}:wedge:{wedge['id']}:complete"
        if again:
            dedup = _fit(f"{dedup}:{wedge.get('completedAt')}", DEDUP_KEY_MAX)
    else:
        dedup = f"wedgehr:{connection_id}:invite:{invite['id']}:{status}"  # type: ignore[index]
        if occurrence > 1:
            dedup = _fit(f"{dedup}:{occurrence}", DEDUP_KEY_MAX)
    subject = str(invite["id"]) if invite else str(wedge["id"])  # type: ignore[index]
    payload = {"vendor": "wedgehr", "event": kind, "connection_id": connection_id, "invite": invite, "wedge": wedge}
    if again:
        payload["again"] = True
    if occurrence > 1:
        payload["occurrence"] = occurrence
    thread, legacy_threads = _wedgehr_threads(invite, wedge, candidate_tag)
    return NewEvent(
        dedup_key=dedup,
        team_id=team_id,
        vendor="wedgehr",
        event_type=kind,
        subject=subject,
        payload=payload,
        thread_key=thread,
        legacy_thread_keys=legacy_threads,
        job_name=(wedge or {}).get("interviewName"),
        job_id=str((invite or {}).get("interviewId") or (wedge or {}).get("interviewId") or ""),
        candidate_email=(invite or {}).get("email") or (wedge or {}).get("candidateEmail"),
        connection_id=connection_id,
    )


def _wedgehr_threads(
    invite: dict[str, Any] | None, wedge: dict[str, Any] | None, candidate_tag: Callable[[str], str] | None
) -> tuple[str, tuple[str, ...]]:
    """A WedgeHR candidate's thread key, and the keys releases before it gave the same thread.

    The candidate is who an invite and a wedge both name (the interview and the email), so the
    thread is the same whether or not the poller could fetch the invite's wedge. Cards posted
    under the older keys (by wedge, or by invite when its wedge was not known) are continued.
    """
    legacy = tuple(
        key
        for key in (
            f"wedgehr:wedge:{wedge['id']}" if wedge else None,
            f"wedgehr:invite:{invite['id']}" if invite else None,
        )
        if key
    )
    interview_id = (invite or {}).get("interviewId") or (wedge or {}).get("interviewId")
    email = (invite or {}).get("email") or (wedge or {}).get("candidateEmail")
    if candidate_tag is None or not interview_id or not isinstance(email, str) or not email.strip():
        return legacy[0], legacy[1:]  # not a candidate WedgeHR would send: threaded as before
    # Emails are matched regardless of case, as the poller matches an invite to its wedge. Keyed
    # digest: the key outlives an uninstall (a reinstall threads on), and a list of addresses must
    # not confirm who was a candidate. Not by connection, as Spark Hire's are not: a reconnected
    # account threads on.
    candidate = candidate_tag(f"wedgehr-candidate:{interview_id}:{email.strip().casefold()}")
    return f"wedgehr:candidate:{interview_id}:{candidate}"[:THREAD_KEY_MAX], legacy


def routed(stored: StoredEvent, *, candidate_tag: Callable[[str], str] | None = None) -> NewEvent | None:
    """A recorded event again as what subscription filters look at (job, candidate, connection) and
    its thread, rebuilt from its payload; None when the payload is not one this module wrote.

    For a subscription re-enabled after a pause, to find what it would have been given meanwhile.
    Only its routing is meant: the de-duplication key may differ from the one recorded.
    """
    payload = stored.payload or {}
    connection_id = payload.get("connection_id")
    if not isinstance(connection_id, str):
        return None
    if stored.vendor == "sparkhire":
        body, header = payload.get("object"), payload.get("source_event")
        if not isinstance(body, dict) or not isinstance(header, str):
            return None
        event = sparkhire_event(
            team_id=stored.team_id,
            connection_id=connection_id,
            header_event=header,
            webhook_uuid=str(payload.get("webhook_uuid") or ""),
            body=body,
            raw=json.dumps(body, sort_keys=True).encode(),
        )
    elif stored.vendor == "wedgehr":
        invite, wedge = payload.get("invite"), payload.get("wedge")
        if not isinstance(invite, dict | None) or not isinstance(wedge, dict | None) or (invite is wedge is None):
            return None
        try:
            event = wedgehr_event(
                team_id=stored.team_id,
                connection_id=connection_id,
                invite=invite,
                wedge=wedge,
                status="complete" if stored.event_type == "completed" else stored.event_type,
                again=bool(payload.get("again")),
                occurrence=occurrence if isinstance(occurrence := payload.get("occurrence"), int) else 1,
                candidate_tag=candidate_tag,
            )
        except (KeyError, TypeError):
            return None
    else:
        return None
    return dataclasses.replace(event, event_type=stored.event_type)
