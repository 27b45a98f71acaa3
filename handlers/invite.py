"""Inviting candidates: /interview invite, the shortcuts, the invite modals and bulk invites."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.common import OPTION_TEXT, option
from blocks.errors import error_view
from blocks.forms import refilled_form
from blocks.ids import LINK_ACTIONS, Action, Block, Callback
from blocks.invite import (
    LeftOut,
    invite_confirmation,
    lookup_failed_cause,
    lookup_failed_error,
    lookup_failed_option,
    progress_view,
    refused_heading,
    results_message,
    results_view,
    sparkhire_invite_modal,
    vendor_choice_modal,
    wedgehr_invite_modal,
    working_view,
)
from blocks.models import CandidateView
from bot.candidates import (
    BulkRow,
    as_typed,
    first_candidate,
    is_email,
    mark_duplicates,
    natural_name,
    parse_bulk,
    surname_first,
)
from bot.errors import NotConnectedError
from bot.invites import (
    E164,
    E164_HINT,
    BulkRun,
    SparkHireInvite,
    WedgeHRInvite,
    audit_invite,
    send_many,
    send_sparkhire,
    send_wedgehr,
    sparkhire_field_for,
)
from bot.services import Services
from bot.vendors.errors import (
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    RateLimitError,
    ValidationError,
    VendorError,
)
from handlers.common import (
    SUBMIT_BUDGET_SECONDS,
    Recipient,
    after_ack,
    as_field_error,
    checked,
    dump_metadata,
    int_or,
    load_metadata,
    recipient_from_body,
    report,
    selected_text,
    selected_value,
    send_unreadable,
    services_of,
    slack_error_code,
    state_values,
    team_of,
    text_value,
    timestamp_value,
    user_message_for,
)

logger = logging.getLogger(__name__)

#: On shutdown, how long a stopped bulk invite may take to tell the recruiter which rows went.
INTERRUPTED_REPORT_SECONDS = 5.0
SUGGESTION_BUDGET_SECONDS = 2.5
#: How long a Spark Hire submission may wait for Slack to say the recruiter's time zone.
TIMEZONE_BUDGET_SECONDS = 0.5
#: How long a WedgeHR invite's confirmation waits on the interview's full name (asked with the invite).
INTERVIEW_NAME_BUDGET_SECONDS = 1.0
#: The longest name a form is pre-filled with (Spark Hire's field takes 200 characters).
NAME_MAX = 200
WEDGEHR_FIELDS = {
    "interview_id": Block.WEDGEHR_INTERVIEW,
    "email": Block.EMAIL,
    "first_name": Block.FIRST_NAME,
    "last_name": Block.LAST_NAME,
    "unique_id": Block.UNIQUE_ID,
}
SPARKHIRE_FIELDS = {
    "deadline": Block.DEADLINE,
    "time_limit": Block.TIME_LIMIT,
    "takes": Block.TAKES,
    "questions": Block.QUESTIONS,
    "phone": Block.PHONE,
    "sms_consent": Block.SMS_CONSENT,
    "email": Block.EMAIL,
    "job": Block.SPARKHIRE_JOB,
    "candidate_name": Block.CANDIDATE_NAME,
}


# -- opening the modal -----------------------------------------------------------------------
async def open_invite_modal(
    *,
    services: Services,
    client: AsyncWebClient,
    team_id: str,
    user_id: str,
    trigger_id: str,
    channel_id: str | None,
    prefill: Prefill | None = None,
    recipient: Recipient | None = None,
) -> None:
    """Open the vendor choice or the vendor's invite form; views.open is the first Slack call.

    ``prefill``: the candidate (or several, for the paste box) the form opens with. ``recipient`` is
    told of a platform whose saved credential the bot cannot read (another ``BOT_SECRET_KEY``): the
    other platform's form still opens.
    """
    found, unreadable = await services.resolve_both(team_id, user_id)
    wedgehr, sparkhire = found["wedgehr"], found["sparkhire"]
    if unreadable and not (wedgehr or sparkhire):
        # Connected, but unreadable: not the connect form's "not connected yet".
        if recipient is None:
            raise next(iter(unreadable.values()))
        await send_unreadable(recipient, unreadable)
        return
    prefill = prefill or Prefill()
    name = prefill.name[:NAME_MAX] if prefill.name else None  # from a message: the metadata holds 3,000 characters
    meta = dump_metadata(
        channel=channel_id,
        email=prefill.email,
        name=name,
        bulk=prefill.bulk,
        left_out=str(prefill.left_out) if prefill.left_out else None,
        left_out_from=prefill.left_out_from,
    )
    if wedgehr and sparkhire:
        view = vendor_choice_modal(private_metadata=meta)
    elif wedgehr or sparkhire:
        view = _invite_form("wedgehr" if wedgehr else "sparkhire", meta)
    else:
        from handlers.connect import open_connect_modal

        # Nothing connected: offer the connect form instead of an error.
        await open_connect_modal(
            services=services,
            client=client,
            team_id=team_id,
            user_id=user_id,
            trigger_id=trigger_id,
            channel_id=channel_id,
        )
        return
    await client.views_open(trigger_id=trigger_id, view=view)
    if recipient is not None:  # after views.open: its trigger_id lasts 3 s
        await send_unreadable(recipient, unreadable)


def default_deadline() -> datetime:
    return (datetime.now(UTC) + timedelta(days=7)).replace(minute=0, second=0, microsecond=0)


#: What the paste box pre-filled from the command may take: it rides in the form's metadata (Slack:
#: 3,000 characters) through the platform choice, with the channel.
BULK_PREFILL_MAX = 2_800


@dataclass(frozen=True, kw_only=True)
class Prefill:
    """What a form opens with, from the text of a command or a message."""

    name: str | None = None
    email: str | None = None
    #: Several candidates, one a line, for the paste box.
    bulk: str | None = None
    #: How many more candidates were found than fit in the form, and the address of the first of them.
    left_out: int = 0
    left_out_from: str | None = None


def several_candidates(text: str) -> Prefill | None:
    """The candidates in ``text``, one a line, when there are several (else None).

    Lines are left out from the end only when they do not fit the form's metadata; the form says so.
    """
    rows = [r for r in parse_bulk(text, prose=True) if r.error is None]
    if len(rows) < 2:
        return None
    lines = [r.line for r in rows]

    longest = max((r.email for r in rows), key=len)

    def fits(lines: list[str]) -> bool:  # with the note on those left out, at its longest
        meta = dump_metadata(bulk="\n".join(lines), left_out=str(len(rows)), left_out_from=longest)
        return len(meta) <= BULK_PREFILL_MAX

    while lines and not fits(lines):
        lines.pop()
    left = rows[len(lines) :]
    return Prefill(bulk="\n".join(lines) or None, left_out=len(left), left_out_from=left[0].email if left else None)


def prefill_from(text: str) -> Prefill:
    """Who ``text`` names, as Slack sent it (a command's or a message's): several candidates go to the
    paste box, all of them, not the first alone; one goes to the form's own fields."""
    text = as_typed(text)
    if (several := several_candidates(text)) is not None:
        return several
    name, email = first_candidate(text)
    return Prefill(name=name, email=email)


async def on_invite(*, ack: Any, args: str, command: dict[str, Any], context: Any, client: Any, respond: Any) -> None:
    await ack()
    prefill = prefill_from(args)
    recipient = recipient_from_body(command, client, respond)
    after_ack(
        context,
        open_invite_modal(
            services=services_of(context),
            client=client,
            team_id=command["team_id"],
            user_id=command["user_id"],
            trigger_id=command["trigger_id"],
            channel_id=command.get("channel_id"),
            prefill=prefill,
            recipient=recipient,
        ),
        recipient=recipient,
        name="invite.open",
        opens_modal=True,
    )


SUBCOMMANDS = {"invite": on_invite}


# -- vendor step ----------------------------------------------------------------------------------
async def on_vendor_chosen(ack: Any, view: dict[str, Any]) -> None:
    vendor = selected_value(state_values(view), Block.VENDOR)
    await ack(response_action="update", view=_invite_form(vendor or "sparkhire", view.get("private_metadata", "")))


def _invite_form(vendor: str, meta: str) -> dict[str, Any]:
    """The vendor's invite form, pre-filled as the metadata says."""
    data = load_metadata(meta)
    email, name, bulk = data.get("email"), data.get("name"), data.get("bulk")
    left_out = LeftOut(count=int_or(data.get("left_out"), 0), first=data.get("left_out_from"))
    if vendor == "wedgehr":
        return wedgehr_invite_modal(
            email=email, name=_split_name(name), bulk=bulk, left_out=left_out, private_metadata=meta
        )
    return sparkhire_invite_modal(
        email=email, name=name, bulk=bulk, left_out=left_out, deadline=default_deadline(), private_metadata=meta
    )


# -- type-ahead -------------------------------------------------------------------------------------
async def _bounded(coro: Any) -> tuple[Any, BaseException | None]:
    """The lookup's result, or why it failed (the recruiter must see that, not an empty list)."""
    try:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel (bot/notify/worker.py).
        async with asyncio.timeout(SUGGESTION_BUDGET_SECONDS):
            return await coro, None
    except (TimeoutError, VendorError) as exc:
        logger.info("Type-ahead gave up: %s", exc)
        return None, exc


def _lookup_cause(error: BaseException) -> str:
    if isinstance(error, AuthenticationError):
        return "key"
    if isinstance(error, RateLimitError):
        return "busy"
    if isinstance(error, (TimeoutError, APITimeoutError)):
        return "timeout"
    return "error"


async def _lookup_failed(
    ack: Any, body: dict[str, Any], context: Any, client: Any, *, vendor: str, picker: str, error: BaseException
) -> None:
    """One option saying why nothing is listed; a rejected key also gets the reconnect button, once a form."""
    cause = _lookup_cause(error)
    tell = services_of(context).failed_lookups.record(_view_id(body), picker, cause)
    await ack(options=[lookup_failed_option(vendor, cause)])
    if tell:
        recipient = recipient_from_body(body, client)
        after_ack(context, recipient.send(user_message_for(error)), recipient=recipient, name="invite.reconnect")


def _view_id(body: dict[str, Any]) -> str:
    return str((body.get("view") or {}).get("id") or "")


def _unpicked(context: Any, view: dict[str, Any], *, vendor: str, picker: str, value: str | None) -> str | None:
    """Why a picker holds no real choice when its lookup failed: the picked warning, or nothing picked after it."""
    cause = lookup_failed_cause(value)
    if cause is None and not value:
        cause = services_of(context).failed_lookups.cause(str(view.get("id") or ""), picker)
    return lookup_failed_error(vendor, cause) if cause else None


async def on_wedgehr_interview_options(ack: Any, body: dict[str, Any], context: Any, client: Any) -> None:
    services = services_of(context)
    connection = await services.resolve_connection(team_of(body), "wedgehr", body["user"]["id"])
    interviews = None
    if connection is not None:
        async with services.client_for(connection) as vendor_client:
            interviews, failed = await _bounded(vendor_client.search_interviews(body.get("value", ""), limit=50))
        if failed is not None:
            await _lookup_failed(
                ack, body, context, client, vendor="wedgehr", picker=Action.WEDGEHR_INTERVIEW, error=failed
            )
            return
        services.failed_lookups.clear(_view_id(body), Action.WEDGEHR_INTERVIEW)
    await ack(options=[option(str(i.id), i.name) for i in interviews or []])


async def on_sparkhire_job_options(ack: Any, body: dict[str, Any], context: Any, client: Any) -> None:
    services = services_of(context)
    query = (body.get("value") or "").lower()
    connection = await services.resolve_connection(team_of(body), "sparkhire", body["user"]["id"])
    jobs = None
    if connection is not None:
        async with services.client_for(connection) as vendor_client:
            jobs, failed = await _bounded(_active_jobs(vendor_client))
        if failed is not None:
            await _lookup_failed(
                ack, body, context, client, vendor="sparkhire", picker=Action.SPARKHIRE_JOB, error=failed
            )
            return
        services.failed_lookups.clear(_view_id(body), Action.SPARKHIRE_JOB)
    matching = [j for j in jobs or [] if query in (j.title or "").lower()][:100]
    await ack(options=[option(f"{j.uuid}|{(j.title or '')[:100]}", j.title or j.uuid) for j in matching])


async def _active_jobs(client: Any) -> list[Any]:
    return [job async for job in client.iter_jobs(status=["active"], page_size=100)]


async def on_question_set_options(ack: Any, body: dict[str, Any], context: Any, client: Any) -> None:
    services = services_of(context)
    query = (body.get("value") or "").lower()
    connection = await services.resolve_connection(team_of(body), "sparkhire", body["user"]["id"])
    sets = None
    if connection is not None:
        async with services.client_for(connection) as vendor_client:
            sets, failed = await _bounded(vendor_client.list_question_sets())
        if failed is not None:
            await _lookup_failed(
                ack, body, context, client, vendor="sparkhire", picker=Action.SPARKHIRE_QUESTION_SET, error=failed
            )
            return
    matching = [s for s in sets or [] if query in (s.name or "").lower()][:100]
    await ack(options=[option(s.uuid, s.name or s.uuid) for s in matching])


# -- submissions -------------------------------------------------------------------------------------
async def _user_timezone(client: AsyncWebClient, user_id: str) -> str | None:
    """The user's Slack time zone (users:read), or None when Slack does not say it quickly."""
    try:
        async with asyncio.timeout(TIMEZONE_BUDGET_SECONDS):
            user = (await client.users_info(user=user_id))["user"]
    except (TimeoutError, SlackApiError, aiohttp.ClientError) as exc:
        logger.info("No Slack time zone for the invite; Spark Hire will use UTC: %r", exc)
        return None
    tz = user.get("tz") if isinstance(user, dict) else None
    return tz if isinstance(tz, str) and tz else None


async def _interview_name(client: Any, interview_id: int, label: str | None) -> str | None:
    """The interview's name in full: the picked option's label is cut at Slack's 75 characters.

    Asked of WedgeHR only for a label that was cut, within a short budget; the label otherwise.
    """
    if not label or len(label) < OPTION_TEXT or not label.endswith("…"):
        return label
    try:
        async with asyncio.timeout(INTERVIEW_NAME_BUDGET_SECONDS):
            found = await client.search_interviews(label.removesuffix("…"), limit=100)
    except Exception as exc:  # the invite is sent or refused either way: a name never fails it
        logger.info("Could not ask WedgeHR for the interview's full name; the confirmation shows it cut: %r", exc)
        return label
    return next((i.name for i in found if i.id == interview_id), label)


def _split_name(name: str | None) -> tuple[str | None, str | None]:
    if not name:
        return None, None
    if (parts := surname_first(name)) is not None:  # "Lee, Ann": the first name is Ann, not "Lee,"
        return parts
    first, _, last = name.partition(" ")
    return first or None, last or None


async def _submit_single(
    *,
    ack: Any,
    view: dict[str, Any],
    client: AsyncWebClient,
    context: Any,
    recipient: Recipient,
    send: Any,
    field_map: dict[str, str],
    default_field: str,
    vendor: str,
    team_id: str,
    email: str,
    emailed: bool = True,
) -> None:
    """Call the vendor within the budget: field errors stay on the modal; slow answers go on a working view."""
    services = services_of(context)
    task = asyncio.ensure_future(send)

    def audit_failure(exc: BaseException) -> None:
        # As for a failed bulk row: the vendor refused this invite, whether or not the form shows why.
        if not isinstance(exc, VendorError):
            return
        detail = "; ".join(getattr(exc, "field_errors", {}).values()) or exc.message
        after_ack(
            context,
            audit_invite(
                services.db,
                team_id=team_id,
                user_id=recipient.user_id,
                vendor=vendor,
                email=email,
                ok=False,
                detail={"error": detail},
            ),
            recipient=recipient,
            name="invite.audit",
        )

    done, _ = await asyncio.wait({task}, timeout=SUBMIT_BUDGET_SECONDS)
    if done:
        try:
            candidate: CandidateView = task.result()
        except ValidationError as exc:
            errors = {field_map[f]: m for f, m in exc.field_errors.items() if f in field_map}
            # What the vendor said of fields the form does not show still reaches the recruiter.
            unmapped = [m for f, m in exc.field_errors.items() if f not in field_map]
            if unmapped or not errors:
                said = " ".join([errors.get(default_field, ""), *unmapped]).strip() or exc.message
                errors[default_field] = said
            await ack(response_action="errors", errors={block: as_field_error(m) for block, m in errors.items()})
            audit_failure(exc)
            return
        except BadRequestError as exc:
            field = sparkhire_field_for(exc.message)
            await ack(
                response_action="errors",
                errors={field_map.get(field or "", default_field): as_field_error(exc.message)},
            )
            audit_failure(exc)
            return
        except Exception as exc:
            await ack(response_action="errors", errors={default_field: as_field_error(user_message_for(exc).text)})
            audit_failure(exc)
            await report(exc, None)
            if isinstance(exc, AuthenticationError):
                # A form error cannot carry a button: send the message with the reconnect button, as
                # everywhere else, once the form has been answered.
                after_ack(context, recipient.send(user_message_for(exc)), recipient=recipient, name="invite.reconnect")
            return
        await ack(response_action="clear")
        # After the answer: the modal must close within Slack's 3 s whatever Slack's API is doing.
        after_ack(
            context,
            _confirm(services, recipient, candidate, team_id=team_id, vendor=vendor, emailed=emailed),
            recipient=recipient,
            name="invite.confirm",
        )
        return

    # Past the budget: answer Slack now, keep the modal alive, update it when the vendor answers.
    await ack(response_action="update", view=working_view(f"Sending the invite to {email}…"))

    async def finish() -> None:
        view_id = view["id"]
        try:
            candidate = await task
        except Exception as exc:
            audit_failure(exc)
            if isinstance(exc, (ValidationError, BadRequestError)):
                # A refusal the recruiter can correct: the form again, as typed, with the vendor's reasons.
                by_field, others = _refusal_reasons(exc, field_map)
                shown = refilled_form(view, heading=refused_heading(vendor), problems=others, field_problems=by_field)
            else:
                shown = error_view(user_message_for(exc).text)
            # Closed meanwhile, or Slack hiccuped: the message below still says what happened.
            await _show_outcome(client, view_id, shown)
            await report(exc, recipient)
            return
        # The invite exists whatever becomes of the form: the confirmation (its link) and the audit entry
        # must follow, or the recruiter, told of an error, invites the candidate again.
        await _show_outcome(client, view_id, results_view([_ok_result(candidate)], vendor=vendor, emailed=emailed))
        await _confirm(services, recipient, candidate, team_id=team_id, vendor=vendor, emailed=emailed)

    after_ack(context, finish(), recipient=recipient, name="invite.finish")


async def _show_outcome(client: AsyncWebClient, view_id: str, view: dict[str, Any]) -> None:
    """Show a slow invite's outcome on its "Working…" form, a courtesy: the recruiter may have closed
    it (``not_found``) or Slack may fail; the direct message that follows says it either way."""
    try:
        await client.views_update(view_id=view_id, view=view)
    except SlackApiError as exc:
        error = slack_error_code(exc)
        if error == "not_found":
            logger.info("The invite form was closed before the vendor answered; the outcome goes by message")
        else:
            logger.warning("Could not show the invite's outcome on the form: %s", error or type(exc).__name__)
    except Exception as exc:  # a timeout, a dropped connection: still no reason to skip the message
        logger.warning("Could not show the invite's outcome on the form: %r", exc)


def _refusal_reasons(
    exc: ValidationError | BadRequestError, field_map: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """What the vendor refused: by the form's block_id where the field is on the form (the
    refilled form names it), and the rest, with the vendor's field name where it gave one."""
    if isinstance(exc, ValidationError):
        fields = exc.field_errors
    else:  # a Spark Hire 400 names no field: recognised by its words, as on the open form
        fields = {sparkhire_field_for(exc.message) or "": exc.message}
    by_field: dict[str, str] = {}
    others: list[str] = []
    for field, message in fields.items():
        if field in field_map:
            block_id = field_map[field]
            by_field[block_id] = f"{by_field[block_id]} {message}" if block_id in by_field else message
        else:
            others.append(f"{field.replace('_', ' ')}: {message}" if field else message)
    return by_field, list(dict.fromkeys(others)) or ([] if by_field else [exc.message])


def _ok_result(candidate: CandidateView) -> Any:
    from blocks.models import InviteResult

    return InviteResult(row=1, email=candidate.email or candidate.name, ok=True, link=candidate.invite_url)


async def _confirm(
    services: Services, recipient: Recipient, candidate: CandidateView, *, team_id: str, vendor: str, emailed: bool
) -> None:
    try:
        await audit_invite(
            services.db,
            team_id=team_id,
            user_id=recipient.user_id,
            vendor=vendor,
            email=candidate.email or candidate.name,
            ok=True,
        )
    except Exception:
        # The audit log is a record: the invite exists, and without its confirmation (and link) the
        # recruiter, told "Nothing was changed", would invite the candidate again.
        logger.exception("Could not write the audit entry of an invite on %s; confirming it anyway", vendor)
    await recipient.send(invite_confirmation(candidate, emailed=emailed))


def _bulk(
    *,
    context: Any,
    client: AsyncWebClient,
    recipient: Recipient,
    rows: list[BulkRow],
    send_one: Any,
    vendor: str,
    team_id: str,
    view_id: str,
    emailed: bool,
) -> None:
    services = services_of(context)

    window_open = True

    async def progress(done: int, total: int, *, waiting_seconds: float | None = None) -> None:
        # The progress window is a courtesy: closing it (not_found) or a Slack hiccup must not stop the
        # batch, whose outcome always arrives as a direct message.
        nonlocal window_open
        if not window_open:
            return
        try:
            view = progress_view(done=done, total=total, vendor=vendor, waiting_seconds=waiting_seconds)
            await client.views_update(view_id=view_id, view=view)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error == "not_found":
                window_open = False
                logger.debug("The bulk invite window was closed; results go by direct message only")
            else:
                logger.warning("Could not update the bulk invite progress: %s", error or exc)
        except (TimeoutError, aiohttp.ClientError) as exc:
            logger.warning("Could not update the bulk invite progress: %r", exc)

    async def audit(row: BulkRow, result: Any) -> None:
        await audit_invite(
            services.db,
            team_id=team_id,
            user_id=recipient.user_id,
            vendor=vendor,
            email=row.email,
            ok=result.ok,
            detail={"error": result.error} if result.error else None,
        )

    async def deliver(results: list[Any]) -> None:
        try:
            if window_open:
                await client.views_update(view_id=view_id, view=results_view(results, vendor=vendor, emailed=emailed))
        except Exception:  # the user may have closed the modal; the DM below still arrives
            logger.info("Could not update the bulk invite modal", exc_info=True)
        outcome = results_message(results, vendor=vendor, emailed=emailed)
        try:
            await client.chat_postMessage(channel=recipient.user_id, **outcome.as_kwargs())
        except Exception as exc:
            # The rows went out: an error instead of their results would have them all sent again.
            logger.warning("Could not send the bulk invite's results by direct message (%r); sending them here", exc)
            await recipient.send(outcome)

    async def run() -> None:
        batch = BulkRun(rows=rows)

        async def paused_for(seconds: float) -> None:  # shown at once, whenever the last update was
            await progress(len(batch.results), len(rows), waiting_seconds=seconds)

        try:
            results = await send_many(rows, send_one, on_progress=progress, audit=audit, run=batch, on_pause=paused_for)
        except asyncio.CancelledError:
            # The process is stopping (a deploy): say which rows went and which did not, briefly.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(deliver(batch.interrupted("the bot restarted")), INTERRUPTED_REPORT_SECONDS)
            raise
        except Exception:
            # Rows were sent already: "nothing was changed, try again" would invite them twice.
            logger.exception("The bulk invite stopped after %d of %d rows", len(batch.results), len(rows))
            await deliver(batch.interrupted("an error on our side stopped the batch"))
            return
        await deliver(results)

    after_ack(context, run(), recipient=recipient, name="invite.bulk")


def _recipient(body: dict[str, Any], client: AsyncWebClient) -> Recipient:
    meta = load_metadata(body["view"].get("private_metadata"))
    return Recipient(client=client, user_id=body["user"]["id"], channel_id=meta.get("channel"))


async def _send_invites(
    *,
    ack: Any,
    view: dict[str, Any],
    client: Any,
    context: Any,
    recipient: Recipient,
    team_id: str,
    vendor: str,
    rows: list[BulkRow],
    first_row: BulkRow | None,
    send_row: Callable[[BulkRow], Awaitable[CandidateView]],
    send_single: Callable[[], Awaitable[CandidateView]],
    field_map: dict[str, str],
    default_field: str,
    email: str,
    emailed: bool = True,
) -> None:
    """Pasted candidates: a progress view, then a result per row. One: errors stay on the modal.

    The candidate typed in the form's own fields is sent with everything typed there (names, phone,
    reference id); pasted rows get only their name and email. Each address is invited once.
    """
    if rows:
        if first_row is not None:
            rows.insert(0, first_row)
        rows = mark_duplicates(rows)

        async def send_one(row: BulkRow) -> CandidateView:
            return await (send_single() if first_row is not None and row.row == first_row.row else send_row(row))

        await ack(response_action="update", view=progress_view(done=0, total=len(rows), vendor=vendor))
        _bulk(
            context=context,
            client=client,
            recipient=recipient,
            rows=rows,
            vendor=vendor,
            send_one=send_one,
            team_id=team_id,
            view_id=view["id"],
            emailed=emailed,
        )
        return
    await _submit_single(
        ack=ack,
        view=view,
        client=client,
        context=context,
        recipient=recipient,
        send=send_single(),
        field_map=field_map,
        default_field=default_field,
        vendor=vendor,
        team_id=team_id,
        email=email,
        emailed=emailed,
    )


#: A field of the candidate typed in the form filled in while only pasted candidates are: it would
#: go with no one.
WITHOUT_CANDIDATE = (
    "This goes only with the candidate whose email is typed above: enter it, or clear this. "
    "Pasted candidates get their name and email only."
)


def _without_candidate(values: dict[str, dict[str, Any]], blocks: tuple[str, ...]) -> dict[str, str]:
    """The errors of the typed candidate's fields filled in with no email typed: never dropped unsaid."""
    return {block: WITHOUT_CANDIDATE for block in blocks if text_value(values, block)}


def typed_email(values: dict[str, dict[str, Any]]) -> str:
    """The address typed in the form, composed as pasted ones are (NFC): the same address typed
    and pasted, one with decomposed accents, is one candidate, invited once."""
    return unicodedata.normalize("NFC", text_value(values, Block.EMAIL))


async def on_wedgehr_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any, context: Any) -> None:
    values = state_values(view)
    team_id, user_id = team_of(body), body["user"]["id"]
    interview_value = selected_value(values, Block.WEDGEHR_INTERVIEW) or ""
    email = typed_email(values)
    bulk_text = text_value(values, Block.BULK)
    errors: dict[str, str] = {}
    if not interview_value.isdecimal():
        errors[Block.WEDGEHR_INTERVIEW] = (
            _unpicked(context, view, vendor="wedgehr", picker=Action.WEDGEHR_INTERVIEW, value=interview_value)
            or "Choose an interview."
        )
    rows = parse_bulk(bulk_text) if bulk_text else []
    if not bulk_text and not email:
        errors[Block.EMAIL] = "Enter the candidate's email, or paste several candidates below."
    elif email and not is_email(email):
        errors[Block.EMAIL] = "That is not a valid email address."
    if bulk_text and not any(r.error is None for r in rows):
        errors[Block.BULK] = "No valid email address found. Use one per line: Name <email> or email."
    if bulk_text and not email:
        errors |= _without_candidate(values, (Block.FIRST_NAME, Block.LAST_NAME, Block.UNIQUE_ID))
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    services = services_of(context)
    connection = await services.resolve_connection(team_id, "wedgehr", user_id)
    recipient = _recipient(body, client)
    if connection is None:
        await ack(
            response_action="errors",
            errors={Block.WEDGEHR_INTERVIEW: as_field_error(NotConnectedError("wedgehr").message)},
        )
        return
    interview_id, interview_name = int(interview_value), selected_text(values, Block.WEDGEHR_INTERVIEW)
    send_email = "send" in checked(values, Block.SEND_EMAIL)
    unique_id = text_value(values, Block.UNIQUE_ID) or None
    wedge_client = services.client_for(connection)

    def request(email: str, first: str | None, last: str | None, unique_id: str | None = None) -> WedgeHRInvite:
        return WedgeHRInvite(
            interview_id=interview_id,
            interview_name=interview_name,
            email=email,
            first_name=first,
            last_name=last,
            send_email=send_email,
            unique_id=unique_id,
        )

    async def named(sent: Awaitable[CandidateView]) -> CandidateView:
        # The confirmation names the interview in full, asked for alongside the invite.
        candidate, name = await asyncio.gather(sent, _interview_name(wedge_client, interview_id, interview_name))
        return replace(candidate, interview_name=name)

    first, last = text_value(values, Block.FIRST_NAME) or None, text_value(values, Block.LAST_NAME) or None
    await _send_invites(
        ack=ack,
        view=view,
        client=client,
        context=context,
        recipient=recipient,
        team_id=team_id,
        vendor="wedgehr",
        rows=rows,
        first_row=BulkRow(row=0, name=None, email=email) if email else None,
        send_row=lambda r: send_wedgehr(wedge_client, request(r.email, *_split_name(r.name))),
        send_single=lambda: named(send_wedgehr(wedge_client, request(email, first, last, unique_id))),
        field_map=WEDGEHR_FIELDS,
        default_field=Block.EMAIL,
        email=email,
        emailed=send_email,  # unticked: the confirmation must say the candidate was not told
    )


async def on_sparkhire_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any, context: Any) -> None:
    values = state_values(view)
    team_id, user_id = team_of(body), body["user"]["id"]
    job_value = selected_value(values, Block.SPARKHIRE_JOB) or ""
    name, email = text_value(values, Block.CANDIDATE_NAME), typed_email(values)
    bulk_text = text_value(values, Block.BULK)
    deadline_raw = timestamp_value(values, Block.DEADLINE)
    question_set = selected_value(values, Block.QUESTION_SET)
    questions = tuple(q.strip() for q in text_value(values, Block.QUESTIONS).splitlines() if q.strip())
    phone = text_value(values, Block.PHONE).replace(" ", "")
    consent = "consent" in checked(values, Block.SMS_CONSENT)
    errors: dict[str, str] = {}
    if "|" not in job_value:
        errors[Block.SPARKHIRE_JOB] = (
            _unpicked(context, view, vendor="sparkhire", picker=Action.SPARKHIRE_JOB, value=job_value)
            or "Choose a job."
        )
    if (set_failed := lookup_failed_cause(question_set)) is not None:
        # The warning option, not a set: never sent to Spark Hire as one.
        errors[Block.QUESTION_SET] = lookup_failed_error("sparkhire", set_failed)
    rows = parse_bulk(bulk_text) if bulk_text else []
    if not bulk_text and not email:
        errors[Block.EMAIL] = "Enter the candidate's email, or paste several candidates below."
    elif email and not is_email(email):  # typed, it is sent as typed: pasted rows or not
        errors[Block.EMAIL] = "That is not a valid email address."
    if not bulk_text and not name:
        errors[Block.CANDIDATE_NAME] = "Enter the candidate's name."
    if bulk_text and not any(r.error is None for r in rows):
        errors[Block.BULK] = "No valid email address found. Use one per line: Name <email> or email."
    now = datetime.now(UTC)
    try:
        deadline = datetime.fromtimestamp(deadline_raw, UTC) if deadline_raw else None
    except (OverflowError, OSError, ValueError):
        deadline = None
    if deadline is None or deadline <= now:
        errors[Block.DEADLINE] = "Choose a deadline in the future."
    elif deadline > now + timedelta(days=365):
        errors[Block.DEADLINE] = "The deadline must be within one year."
    if not question_set and not questions:
        errors[Block.QUESTIONS] = "Write at least one question (one per line), or choose a question set."
    if phone and not E164.match(phone):
        errors[Block.PHONE] = E164_HINT
    if phone and not consent:
        errors[Block.SMS_CONSENT] = "Tick this only if the candidate agreed to SMS; otherwise remove the phone."
    if bulk_text and not email:
        errors |= _without_candidate(values, (Block.CANDIDATE_NAME, Block.PHONE))
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    services = services_of(context)
    connection = await services.resolve_connection(team_id, "sparkhire", user_id)
    if connection is None:
        await ack(
            response_action="errors",
            errors={Block.SPARKHIRE_JOB: as_field_error(NotConnectedError("sparkhire", needs_user_key=True).message)},
        )
        return
    job_uuid, _, job_title = job_value.partition("|")
    spark = services.client_for(connection)
    recipient = _recipient(body, client)
    # The deadline picker already gives an absolute time; Spark Hire formats dates (the invite email's)
    # in this zone rather than UTC. Asked once, inside the send, so it counts against the form's budget
    # instead of delaying its answer.
    timezone: asyncio.Future[str | None] | None = None

    async def send(name: str, email: str, phone: str | None) -> CandidateView:
        nonlocal timezone
        if timezone is None:
            timezone = asyncio.ensure_future(_user_timezone(client, user_id))
        return await send_sparkhire(spark, request(name, email, phone, await timezone))

    def request(name: str, email: str, phone: str | None, timezone: str | None) -> SparkHireInvite:
        return SparkHireInvite(
            job_uuid=job_uuid,
            job_title=job_title,
            name=name,
            email=email,
            deadline=deadline,
            question_set_uuid=question_set,
            questions=questions,
            time_limit=int_or(selected_value(values, Block.TIME_LIMIT), 60),
            takes=int_or(selected_value(values, Block.TAKES), -1),
            message=text_value(values, Block.MESSAGE) or None,
            phone=phone or None,
            sms_consent=consent,
            timezone=timezone,
        )

    await _send_invites(
        ack=ack,
        view=view,
        client=client,
        context=context,
        recipient=recipient,
        team_id=team_id,
        vendor="sparkhire",
        rows=rows,
        first_row=BulkRow(row=0, name=name or None, email=email) if email else None,
        send_row=lambda r: send(natural_name(r.name) or r.email.split("@")[0], r.email, None),
        send_single=lambda: send(name or email.split("@")[0], email, phone),
        field_map=SPARKHIRE_FIELDS,
        default_field=Block.SPARKHIRE_JOB,
        email=email,
    )


# -- entry points other than the command ---------------------------------------------------------
async def on_shortcut(ack: Any, shortcut: dict[str, Any], client: Any, context: Any) -> None:
    await ack()
    message = shortcut.get("message") or {}
    # As the command reads what is typed with it: several candidates all go to the paste box.
    prefill = prefill_from(message.get("text") or "") if message else Prefill()
    recipient = Recipient(
        client=client, user_id=shortcut["user"]["id"], channel_id=(shortcut.get("channel") or {}).get("id")
    )
    after_ack(
        context,
        open_invite_modal(
            services=services_of(context),
            client=client,
            team_id=team_of(shortcut),
            user_id=shortcut["user"]["id"],
            trigger_id=shortcut["trigger_id"],
            channel_id=(shortcut.get("channel") or {}).get("id"),
            prefill=prefill,
            recipient=recipient,
        ),
        recipient=recipient,
        name="invite.shortcut",
        opens_modal=True,
    )


async def on_open_invite_button(ack: Any, body: dict[str, Any], client: Any, context: Any) -> None:
    await ack()
    channel = (body.get("channel") or {}).get("id")
    recipient = Recipient(client=client, user_id=body["user"]["id"], channel_id=channel)
    after_ack(
        context,
        open_invite_modal(
            services=services_of(context),
            client=client,
            team_id=team_of(body),
            user_id=body["user"]["id"],
            trigger_id=body["trigger_id"],
            channel_id=channel,
            recipient=recipient,
        ),
        recipient=recipient,
        name="invite.button",
        opens_modal=True,
    )


async def on_link_button(ack: Any) -> None:
    await ack()  # URL buttons still send an action; nothing to do


def register(app: AsyncApp) -> None:
    app.view(Callback.INVITE_VENDOR)(on_vendor_chosen)
    app.view(Callback.INVITE_WEDGEHR)(on_wedgehr_submit)
    app.view(Callback.INVITE_SPARKHIRE)(on_sparkhire_submit)
    app.options(Action.WEDGEHR_INTERVIEW)(on_wedgehr_interview_options)
    app.options(Action.SPARKHIRE_JOB)(on_sparkhire_job_options)
    app.options(Action.SPARKHIRE_QUESTION_SET)(on_question_set_options)
    app.shortcut(Callback.SHORTCUT_INVITE)(on_shortcut)
    app.shortcut(Callback.SHORTCUT_INVITE_FROM_MESSAGE)(on_shortcut)
    app.action(Action.OPEN_INVITE)(on_open_invite_button)
    for link_action in LINK_ACTIONS:
        app.action(link_action)(on_link_button)
