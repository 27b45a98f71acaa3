"""Shared listener plumbing: reaching the user, running work after ack, mapping errors."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.errors import busy_retrying_message, error_message, error_view, notice, outsider_message, outsider_view
from blocks.ids import LINK_ACTIONS
from blocks.invite import working_view
from blocks.models import VENDOR_LABELS, Message
from bot.crypto import SecretKeyMismatchError
from bot.errors import NotConnectedError, UserFacingError, raised_inside
from bot.notify.worker import slack_retry_after
from bot.services import Services
from bot.storage import is_database_unavailable
from bot.vendors.errors import AuthenticationError, RateLimitError, SessionError, VendorError
from bot.vendors.http import BaseVendorClient, RetryWait

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "Something went wrong on our side and it has been logged. Please try again."
DATABASE_UNAVAILABLE = "The bot cannot reach its database for a moment. Nothing was changed; try again in a minute."
SLACK_TIMED_OUT = "Slack did not answer in time. If nothing happened, please try again in a moment."
TRIGGER_EXPIRED = (
    "That took too long for Slack: a form has to open within 3 seconds of your command or click. "
    "Run the command (or click the button) again."
)


def services_of(context: Any) -> Services:
    return context["services"]


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """Where a message for this user goes: the response_url, else an ephemeral, else a DM."""

    client: AsyncWebClient
    user_id: str
    channel_id: str | None = None
    respond: Callable[..., Awaitable[Any]] | None = None
    #: The clicked message is the user's own (an ephemeral, or in their DM with the app). Replacing
    #: a channel message would change it for everyone there, whatever ``response_type`` says.
    may_replace: bool = False

    async def send(self, message: Message, *, replace_original: bool = False) -> None:
        """Send ``message`` to the user; ``replace_original`` replaces the clicked message when it is
        the user's own, and otherwise sends a new ephemeral message."""
        if self.respond is not None:
            refused = await self._respond(message, replace_original=replace_original and self.may_replace)
            if refused is None:
                return
            # Expired (30 min), used up (5 posts) or unreachable: the Web API still reaches the user.
            # Never log the URL: anyone holding it can post as the app until it expires.
            logger.warning("response_url did not take the message (%s); sending it through the Web API", refused)
        if self.channel_id and not self.channel_id.startswith("D"):
            try:
                await self.client.chat_postEphemeral(channel=self.channel_id, user=self.user_id, **message.as_kwargs())
                return
            except SlackApiError as exc:
                logger.info("Ephemeral to %s failed (%s); sending a DM", self.channel_id, exc.response["error"])
            except (TimeoutError, aiohttp.ClientError) as exc:
                # Slack may have shown it or not: a DM may say it twice, but an error would say "try
                # again" to someone whose invite (or link) exists.
                logger.warning("Ephemeral to %s got no answer (%r); sending a DM", self.channel_id, exc)
        await self.client.chat_postMessage(channel=self.user_id, **message.as_kwargs())

    async def _respond(self, message: Message, *, replace_original: bool) -> str | None:
        """Post to the response_url; None when Slack took it, else why not (without the URL)."""
        assert self.respond is not None
        try:
            response = await self.respond(
                **message.as_kwargs(), response_type="ephemeral", replace_original=replace_original
            )
        except Exception as exc:  # a connection error's text can carry the URL: name its type only
            return type(exc).__name__
        # respond() does not raise on an error answer: Slack says it in the status and body.
        status = getattr(response, "status_code", 200)
        body = str(getattr(response, "body", "") or "").strip()
        if status != 200:
            return f"HTTP {status}: {body[:100]}"
        if body.startswith("{"):
            try:
                answer = json.loads(body)
            except ValueError:
                answer = {}
            if isinstance(answer, dict) and answer.get("ok") is False:
                return str(answer.get("error") or "not ok")[:100]
        return None


#: How long a view submission may wait for the vendor before the form turns into a "working" view
#: (Slack closes the request at 3 s; Bolt's middleware runs before the listener's clock starts).
SUBMIT_BUDGET_SECONDS = 2.0
#: Slack shows a field error's first 150 characters or so.
FIELD_ERROR_LENGTH = 150


def as_field_error(text: str) -> str:
    """``text`` as a form field's error: plain (no mrkdwn there), and cut at a word to fit."""
    text = text.replace("`", "").strip()
    if len(text) <= FIELD_ERROR_LENGTH:
        return text
    return text[: FIELD_ERROR_LENGTH - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


#: A retry wait shorter than this goes unannounced: the answer is only a moment late.
BUSY_NOTICE_AFTER_SECONDS = 3.0
#: The longest one flow waits on one vendor's retries; past it the vendor's error reaches the user.
BUSY_WAIT_BUDGET_SECONDS = 45.0

ClientT = TypeVar("ClientT", bound=BaseVendorClient)


class VendorRetries:
    """The retries of vendor calls made for one user's request, as that user sees them.

    A vendor that rate-limits gets one "busy, retrying in N s" message per vendor (past a moment),
    and the time spent waiting on each vendor is bounded for the whole flow, not only per call
    (a Spark Hire search is many page reads).
    """

    def __init__(self, recipient: Recipient) -> None:
        self.recipient = recipient
        self._waited: dict[str, float] = {}
        self._told: set[str] = set()

    def watch(self, client: ClientT) -> ClientT:
        client.on_retry = self._on_retry
        return client

    async def _on_retry(self, wait: RetryWait) -> bool:
        waited = self._waited.get(wait.vendor, 0.0)
        if waited + wait.delay > BUSY_WAIT_BUDGET_SECONDS:
            logger.info("%s: %.0f s of retries already; not waiting %.0f s more", wait.vendor, waited, wait.delay)
            return False
        self._waited[wait.vendor] = waited + wait.delay
        if wait.rate_limited and wait.delay >= BUSY_NOTICE_AFTER_SECONDS and wait.vendor not in self._told:
            self._told.add(wait.vendor)  # once: a response_url takes only 5 posts
            try:
                await self.recipient.send(busy_retrying_message(wait.vendor, wait.delay))
            except Exception:
                logger.warning("Could not tell the user that %s is busy", wait.vendor, exc_info=True)
        return True


#: A click's answer later than this is announced: Slack shows nothing for a click, so silence looks
#: like a click that did not take.
SLOW_NOTICE_AFTER_SECONDS = 3.0
T = TypeVar("T")


async def telling_if_slow(recipient: Recipient, work: Awaitable[T], *, text: str) -> T:
    """``work``'s result; if it is not done within ``SLOW_NOTICE_AFTER_SECONDS``, the user is told
    ``text`` (what is slow, and that the answer follows) meanwhile."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=SLOW_NOTICE_AFTER_SECONDS)
        if not done:
            try:
                await recipient.send(notice(text))
            except Exception:  # the answer itself still follows
                logger.warning("Could not tell the user that the answer is slow", exc_info=True)
        return await task
    finally:
        task.cancel()  # done by now, unless this waiter was cancelled: then it ends too


def needs_reconnect(error: BaseException) -> bool:
    """True when the fix is to connect the account again (a missing or rejected key)."""
    return isinstance(error, (NotConnectedError, AuthenticationError, SecretKeyMismatchError))


def user_message_for(error: BaseException) -> Message:
    """The message a recruiter sees for an error: what happened and what to do."""
    if isinstance(error, NotConnectedError):
        return error_message(error.message, reconnect=True, connect_vendor=error.vendor)
    if isinstance(error, UserFacingError):
        return error_message(error.message)
    if isinstance(error, SessionError):
        return error_message(str(error))
    if isinstance(error, AuthenticationError):
        return error_message(str(error), reconnect=True)
    if isinstance(error, RateLimitError):
        # Without the vendor's Retry-After the recruiter is still told when to try again.
        wait = " Try again in a minute."
        if error.retry_after:
            wait = f" Try again in about {int(error.retry_after)} seconds."
        return error_message(f"{error.vendor} is busy right now (rate limited).{wait}")
    if isinstance(error, VendorError):
        return error_message(str(error))
    if isinstance(error, SecretKeyMismatchError):
        return error_message(str(error), reconnect=True)
    if isinstance(error, SlackApiError):
        if slack_error_code(error) == "expired_trigger_id":
            return error_message(TRIGGER_EXPIRED)
        if slack_error_code(error) == "ratelimited" or getattr(error.response, "status_code", None) == 429:
            # Past slack-sdk's own retries: an at-once "try again" would be refused the same way.
            seconds = slack_retry_after(error.response)
            wait = f"about {max(1, math.ceil(seconds))} seconds" if seconds else "a minute"
            return error_message(f"Slack is limiting how fast the app may call it (rate limited). Try again in {wait}.")
        return error_message(f"Slack refused the request ({slack_error_code(error) or 'unknown error'}).")
    if is_database_unavailable(error):
        return error_message(DATABASE_UNAVAILABLE)
    if isinstance(error, TimeoutError) and raised_inside(error, "slack_sdk"):
        return error_message(SLACK_TIMED_OUT)
    return error_message(INTERNAL_ERROR)


def unreadable_message(vendor: str, error: SecretKeyMismatchError) -> Message:
    """A platform whose saved credential the bot cannot read (saved under another
    ``BOT_SECRET_KEY``): which one, and the button that connects that one again."""
    return error_message(f"{VENDOR_LABELS.get(vendor, vendor)}: {error}", reconnect=True, connect_vendor=vendor)


async def send_unreadable(recipient: Recipient, unreadable: dict[str, SecretKeyMismatchError]) -> None:
    """Each platform that is connected but cannot be read, said with its own connect button: not the
    "not connected yet" of a platform never connected."""
    for vendor, error in unreadable.items():
        await recipient.send(unreadable_message(vendor, error))


def slack_error_code(error: SlackApiError) -> str | None:
    data = error.response.data if error.response is not None and isinstance(error.response.data, dict) else {}
    code = data.get("error")
    return code if isinstance(code, str) else None


def is_expected(error: BaseException) -> bool:
    return isinstance(error, (UserFacingError, VendorError, SecretKeyMismatchError))


async def report(error: BaseException, recipient: Recipient | None) -> None:
    """Log an error (traceback only for the unexpected) and tell the user, never with secrets."""
    if is_expected(error):
        logger.info("User-facing error: %s", error)
    elif isinstance(error, SlackApiError) and slack_error_code(error) == "expired_trigger_id":
        # Known and not a bug: the form opened too late (a slow vendor, Slack or bot). A warning,
        # since many of them mean the bot is too slow after the ack; a traceback would add nothing.
        logger.warning("Slack refused to open a form: its trigger_id had expired (more than 3 s after the request)")
    else:
        logger.error("Unexpected error in a Slack flow", exc_info=error)
    if recipient is None:
        return
    try:
        await recipient.send(user_message_for(error))
    except Exception:
        logger.exception("Could not tell the user about an error")


def is_view_gone(error: BaseException) -> bool:
    """True when Slack refused to change a modal because the user has closed it."""
    return isinstance(error, SlackApiError) and slack_error_code(error) == "not_found"


async def show_error_in_view(client: AsyncWebClient, view_id: str, error: BaseException, *, what: str) -> None:
    """Replace the modal's content with what went wrong; a failure here is only logged, since the
    message sent for every failure says it anyway."""
    try:
        await client.views_update(view_id=view_id, view=error_view(user_message_for(error).text))
    except Exception:
        logger.info("Could not show the error in the %s", what, exc_info=True)


async def open_then_fill(
    client: AsyncWebClient,
    *,
    trigger_id: str,
    loading_text: str,
    fill: Callable[[str], Awaitable[None]],
    what: str,
) -> None:
    """Open a modal on ``loading_text`` at once, then ``fill(view_id)`` it.

    views.open comes first because the trigger_id expires 3 s after Slack sent it and filling may
    wait on a vendor or a 429's Retry-After. A modal closed meanwhile ends the work quietly; any
    other failure is shown in the modal (never left on "Loading…") and raised, so the user's message
    follows as for every failure.
    """
    opened = await client.views_open(trigger_id=trigger_id, view=working_view(loading_text))
    view_id = opened["view"]["id"]
    try:
        await fill(view_id)
    except Exception as exc:
        if is_view_gone(exc):
            logger.info("The %s was closed before it was filled in", what)
            return
        await show_error_in_view(client, view_id, exc, what=what)
        raise


#: How long after the request work that opens a modal may still start: Slack's trigger_id lives 3 s.
TRIGGER_BUDGET_SECONDS = 2.5
TOO_BUSY_FOR_MODAL = "The bot was too busy to open the form in the seconds Slack allows. Please try again."


def after_ack(
    context: Any, work: Coroutine[Any, Any, Any], *, recipient: Recipient, name: str, opens_modal: bool = False
) -> None:
    """Run ``work`` after the HTTP answer; any failure reaches the user as a message.

    Work that ``opens_modal`` with the request's trigger_id is dropped, and the user told, if the
    bot is too busy to start it while the trigger is still valid.
    """

    async def guarded() -> None:
        try:
            await work
        except Exception as exc:
            await report(exc, recipient)

    async def too_late() -> None:
        await report(UserFacingError(TOO_BUSY_FOR_MODAL), recipient)

    services_of(context).tasks.spawn(
        guarded(),
        name=name,
        start_within=TRIGGER_BUDGET_SECONDS if opens_modal else None,
        on_late=too_late if opens_modal else None,
    )


def recipient_from_body(body: dict[str, Any], client: AsyncWebClient, respond: Any = None) -> Recipient:
    """The user and channel behind any Slack payload."""
    user = body.get("user_id") or (body.get("user") or {}).get("id") or ""
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    if not channel:
        meta = (body.get("view") or {}).get("private_metadata") or ""
        channel = load_metadata(meta).get("channel")
    has_response_url = bool(body.get("response_url") or (body.get("response_urls") or []))
    own_message = bool((body.get("container") or {}).get("is_ephemeral")) or str(channel or "").startswith("D")
    return Recipient(
        client=client,
        user_id=user,
        channel_id=channel,
        respond=respond if has_response_url else None,
        may_replace=own_message,
    )


def team_of(body: dict[str, Any]) -> str:
    """The workspace Bolt authorized the request for, whose data the listener may use.

    A view's ``app_installed_team_id`` comes first, as in Bolt: for a form opened in a Slack
    Connect channel ``team.id`` is the submitter's workspace, not the one whose token answers.
    """
    view = body.get("view")
    installed = view.get("app_installed_team_id") if isinstance(view, dict) else None
    if isinstance(installed, str) and installed:
        return installed
    return body.get("team_id") or (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or ""


def outsider_team(body: dict[str, Any], context: Any) -> str | None:
    """The workspace of an interactivity payload's user when it is not the authorized one, else None.

    In a Slack Connect channel a member of the other company can click the bot's buttons: Slack
    sends the host workspace as the team (what Bolt authorizes) and the clicker's own workspace
    as ``user.team_id``. Slash commands and events carry no ``user`` object: Slack runs them with
    the installation of the user's own workspace. On Enterprise Grid another workspace's user may
    be a colleague of the same organisation: ``RefuseOutsiders`` asks Slack which.
    """
    user = body.get("user")
    user_team = user.get("team_id") if isinstance(user, dict) else None
    host = context.get("team_id")
    if not isinstance(user_team, str) or not user_team or not host or user_team == host:
        return None
    return user_team


async def same_organisation(client: AsyncWebClient, user_id: str, enterprise_id: str) -> bool:
    """Whether Slack says ``user_id`` belongs to Enterprise Grid organisation ``enterprise_id``.

    A Slack Connect guest's user object names their own organisation, or none, or says
    ``is_stranger``. Anything Slack does not answer in time counts as no: a refusal says why.
    """
    try:
        answer = await asyncio.wait_for(client.users_info(user=user_id), ORG_CHECK_SECONDS)
    except Exception as exc:  # refused below, and the user told why
        logger.warning("Could not ask Slack whether user %s is of organisation %s: %s", user_id, enterprise_id, exc)
        return False
    user = answer.get("user") or {}
    org = (user.get("enterprise_user") or {}).get("enterprise_id")
    return not user.get("is_stranger") and org == enterprise_id


def host_label(body: dict[str, Any], context: Any) -> str:
    """The authorized workspace, by name where Slack gave one."""
    name = getattr(context.get("authorize_result"), "team", None)
    team = body.get("team")
    if not name and isinstance(team, dict) and team.get("id") == context.get("team_id"):
        name = team.get("domain")  # a view's team is the submitter's: only trusted when it is the host
    return f"the {name} workspace" if isinstance(name, str) and name else "the workspace that installed Interview Bot"


#: How long the ack may wait for Slack to say whether a Grid user is of the host's organisation.
ORG_CHECK_SECONDS = 1.5
ORG_CHECK_TTL_SECONDS = 3600.0
ORG_CHECKS_KEPT = 10_000
#: Requests for the options of an external select: Slack reads the list from the answer.
OPTIONS_PAYLOADS = frozenset({"block_suggestion", "dialog_suggestion"})


class RefuseOutsiders(AsyncMiddleware):
    """Answers interactivity from a user of another workspace before any listener runs.

    The bot's buttons act on the authorized workspace's vendor accounts; a member of another
    company in a shared channel must not create share links or read candidates with them. The
    refusal still satisfies Slack: an empty options list, a form that says why, or an ack and an
    ephemeral message. Nothing reaches a vendor or the audit log.
    """

    def __init__(self) -> None:
        #: (organisation, user) -> (is a colleague, until when): one users.info per user per hour.
        self._colleagues: dict[tuple[str, str], tuple[bool, float]] = {}

    async def _colleague(self, body: dict[str, Any], context: Any, user_team: str) -> bool:
        """On Enterprise Grid, a user of another workspace of the same organisation is a colleague.

        The payload names only the host's organisation, and a guest from another company has a
        workspace id too, so Slack is asked (users.info, cached) rather than the payload trusted.
        """
        enterprise = context.get("enterprise_id")
        user_id = (body.get("user") or {}).get("id")
        if not enterprise or not user_id or (user_team.startswith("E") and user_team != enterprise):
            return False
        key, now = (enterprise, user_id), time.monotonic()
        known = self._colleagues.get(key)
        if known is not None and known[1] > now:
            return known[0]
        colleague = await same_organisation(context.client, user_id, enterprise)
        if len(self._colleagues) >= ORG_CHECKS_KEPT:
            self._colleagues.clear()
        self._colleagues[key] = (colleague, now + ORG_CHECK_TTL_SECONDS)
        return colleague

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        body, context = req.body, req.context
        user_team = outsider_team(body, context)
        if user_team is None or await self._colleague(body, context, user_team):
            return await next()
        if body.get("type") == "block_actions" and all(
            a.get("action_id") in LINK_ACTIONS for a in body.get("actions") or [{}]
        ):
            return BoltResponse(status=200, body="")  # Slack opened the link: there is nothing to refuse
        kind = body.get("type")
        host = host_label(body, context)
        logger.info(
            "Refused %s from user %s of workspace %s on workspace %s: not a member",
            kind,
            (body.get("user") or {}).get("id"),
            user_team,
            context.get("team_id"),
        )
        if kind in OPTIONS_PAYLOADS:
            return BoltResponse(status=200, body={"options": []})
        if kind == "view_submission":
            return BoltResponse(status=200, body={"response_action": "update", "view": outsider_view(host)})
        if kind not in ("view_closed", "dialog_cancellation"):  # the user left; nothing to tell
            recipient = recipient_from_body(body, context.client, context.respond)
            after_ack(context, recipient.send(outsider_message(host)), recipient=recipient, name="outsider.refused")
        return BoltResponse(status=200, body="")


def dump_metadata(**values: Any) -> str:
    return json.dumps({k: v for k, v in values.items() if v is not None}, separators=(",", ":"))


def load_metadata(raw: str | None) -> dict[str, Any]:
    """What ``dump_metadata`` wrote: its values are strings, and anything else is left out."""
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}


def state_values(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """block_id -> the state of its single input element (or all elements for actions)."""
    values = (view.get("state") or {}).get("values") or {}
    out: dict[str, dict[str, Any]] = {}
    if not isinstance(values, dict):
        return out
    for block_id, elements in values.items():
        if isinstance(elements, dict) and elements:
            element = next(iter(elements.values())) if len(elements) == 1 else elements
            if isinstance(element, dict):
                out[block_id] = element
    return out


def text_value(values: dict[str, dict[str, Any]], block_id: str) -> str:
    value = (values.get(block_id) or {}).get("value")
    return value.strip() if isinstance(value, str) else ""


def selected_value(values: dict[str, dict[str, Any]], block_id: str) -> str | None:
    option = (values.get(block_id) or {}).get("selected_option")
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) else None


def selected_text(values: dict[str, dict[str, Any]], block_id: str) -> str | None:
    option = (values.get(block_id) or {}).get("selected_option")
    text = option.get("text") if isinstance(option, dict) else None
    label = text.get("text") if isinstance(text, dict) else None
    return label if isinstance(label, str) else None


def selected_values(values: dict[str, dict[str, Any]], block_id: str) -> list[str]:
    """The values of a multi-select or checkboxes, in the order Slack sent them."""
    options = (values.get(block_id) or {}).get("selected_options")
    if not isinstance(options, list):
        return []
    return [o["value"] for o in options if isinstance(o, dict) and isinstance(o.get("value"), str)]


def checked(values: dict[str, dict[str, Any]], block_id: str) -> set[str]:
    return set(selected_values(values, block_id))


def timestamp_value(values: dict[str, dict[str, Any]], block_id: str) -> int | None:
    """A datetimepicker's Unix time, or None when empty or not a number."""
    raw = (values.get(block_id) or {}).get("selected_date_time")
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    return int(raw) if isinstance(raw, str) and raw.isdecimal() else None


def int_or(raw: str | None, default: int) -> int:
    """An option value as an int; the default when it is missing or was tampered with."""
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default
