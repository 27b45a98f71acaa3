"""`/interview share <email | interview uuid>`: share links for reviewers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.cards import find_results
from blocks.errors import error_message, nothing_connected_message, notice
from blocks.forms import refilled_form
from blocks.ids import Action, Block, Callback
from blocks.invite import working_view
from blocks.models import Message, Option, ReviewerLinkView
from blocks.share import (
    ADVANCED_MAYBE_CREATED,
    ADVANCED_NOT_CREATED,
    advanced_link_deactivated_message,
    advanced_links_created_view,
    advanced_links_message,
    advanced_share_modal,
    reviewer_link_targets,
    share_link_message,
    wedgehr_results_message,
)
from bot.candidates import (
    SPARKHIRE_SCAN_LIMIT,
    UUID_RE,
    first_email,
    from_interview,
    from_wedge,
    parse_bulk,
    scan_limit_note,
    sparkhire_interviews_for,
    wedges_for,
)
from bot.crypto import SecretKeyMismatchError
from bot.errors import NotConnectedError, UserFacingError
from bot.invites import sparkhire_field_for
from bot.services import Services
from bot.sparkhire.client import SparkHireClient
from bot.sparkhire.models import AdvancedShareLink
from bot.sparkhire.models import Interview as SparkInterview
from bot.vendors.errors import AuthenticationError, BadRequestError, NotFoundError, ValidationError, VendorError
from handlers.common import (
    SUBMIT_BUDGET_SECONDS,
    Recipient,
    VendorRetries,
    after_ack,
    as_field_error,
    checked,
    dump_metadata,
    load_metadata,
    needs_reconnect,
    open_then_fill,
    recipient_from_body,
    report,
    selected_values,
    send_unreadable,
    services_of,
    show_error_in_view,
    slack_error_code,
    state_values,
    team_of,
    telling_if_slow,
    text_value,
    user_message_for,
)

logger = logging.getLogger(__name__)

USAGE = "Tell me what to share: `/interview share ann@example.com` or `/interview share <interview uuid>`."
MAX_INTERVIEW_OPTIONS = 100
#: The submission answers Slack within 3 s: the reviewers' profiles get this long, read at once.
REVIEWER_LOOKUP_SECONDS = 1.5
#: More picked users than this are read after the form closes (Slack's users.info is Tier 4).
MAX_REVIEWERS_LOOKED_UP = 20


async def _sparkhire(
    services: Services, team_id: str, recipient: Recipient, *, retries: VendorRetries | None = None
) -> SparkHireClient:
    """The user's Spark Hire client; ``retries``: the flow's, when it already read a vendor (the
    user is told once that Spark Hire is busy, and the wait is bounded for the whole flow)."""
    connection = await services.resolve_connection(team_id, "sparkhire", recipient.user_id)
    if connection is None:
        raise NotConnectedError("sparkhire", needs_user_key=True)
    return (retries or VendorRetries(recipient)).watch(services.client_for(connection))  # type: ignore[return-value]


async def basic_link(
    services: Services,
    recipient: Recipient,
    *,
    team_id: str,
    interview_uuid: str,
    retries: VendorRetries | None = None,
) -> None:
    """Create the interview's basic link, or re-activate an inactive one, and show its URL.

    ``retries``: the flow's own, when it searched first.
    """
    client, interview = await _reading(
        services, recipient, team_id=team_id, interview_uuid=interview_uuid, retries=retries
    )
    view = from_interview(interview)
    if not view.completed:
        await recipient.send(
            notice(f"{view.name} has not completed the interview yet; only completed interviews can be shared.")
        )
        return
    link = await client.get_share_link(interview_uuid)
    if link is None:
        link = await client.create_share_link(interview_uuid)
    elif not link.active:
        link = await client.set_share_link_status(interview_uuid, link.uuid, active=True)
    await services.db.audit.add(
        team_id=team_id,
        user_id=recipient.user_id,
        action="share.created",
        vendor="sparkhire",
        target=view.email,
        detail={"interview": interview_uuid},
    )
    await recipient.send(share_link_message(view, url=link.url or "", link_uuid=link.uuid))


async def _reading(
    services: Services,
    recipient: Recipient,
    *,
    team_id: str,
    interview_uuid: str,
    retries: VendorRetries | None = None,
) -> tuple[SparkHireClient, SparkInterview]:
    """A client that reads the interview, and the interview: the user's own key's, else (not found
    there) that of an account the channel's subscriptions read. A card's interview is of the account
    its channel follows, which the clicker's own key may not be of, and which one without any key
    (no workspace key either) may still share from, as a colleague with a key of another account can."""
    channel_id = recipient.channel_id
    try:
        client = await _sparkhire(services, team_id, recipient, retries=retries)
        return client, await client.get_interview(interview_uuid)
    except (NotFoundError, NotConnectedError):
        if channel_id is None or (found := await _card_account(services, team_id, channel_id, interview_uuid)) is None:
            raise
        return found


async def _card_account(
    services: Services, team_id: str, channel_id: str, interview_uuid: str
) -> tuple[SparkHireClient, SparkInterview] | None:
    """The interview as the accounts the channel's Spark Hire subscriptions read find it (the client
    of the first that has it), or None."""
    subscriptions = await services.db.subscriptions.list_for_channel(team_id, channel_id)
    for connection_id in dict.fromkeys(s.connection_id for s in subscriptions if s.vendor == "sparkhire"):
        try:
            connection = await services.db.connections.get(connection_id) if connection_id else None
        except SecretKeyMismatchError:
            continue
        if connection is None or not connection.readable:
            continue
        client = services.client_for(connection)
        with contextlib.suppress(NotFoundError):
            return client, await client.get_interview(interview_uuid)  # type: ignore[union-attr]
    return None


def _problem_text(error: Exception) -> str:
    """What went wrong, for a sentence that already names the platform (without the "Spark Hire: "
    a vendor error's text starts with)."""
    text = user_message_for(error).text
    return text.removeprefix(f"{error.vendor}: ") if isinstance(error, VendorError) else text


async def share_for(services: Services, recipient: Recipient, *, team_id: str, query: str) -> None:
    if UUID_RE.match(query):
        await basic_link(services, recipient, team_id=team_id, interview_uuid=query)
        return
    user_id = recipient.user_id
    # As find: a credential saved under another BOT_SECRET_KEY costs only its own platform.
    connections, unreadable = await services.resolve_both(team_id, user_id)
    spark_connection, wedge_connection = connections["sparkhire"], connections["wedgehr"]
    if spark_connection is None and wedge_connection is None:
        if unreadable:
            await send_unreadable(recipient, unreadable)  # connected, but unreadable: not "not connected"
            return
        await recipient.send(nothing_connected_message(f"share {query}'s interviews"))
        return
    retries = VendorRetries(recipient)
    completed = []
    cut_short = False
    spark_problem: Exception | None = unreadable.get("sparkhire")
    if spark_connection is not None:
        try:
            search = await sparkhire_interviews_for(
                retries.watch(services.client_for(spark_connection)),  # type: ignore[arg-type]
                query,
                status=["completed"],
            )
            completed, cut_short = search.interviews, search.cut_short
        except VendorError as exc:
            if wedge_connection is None and "wedgehr" not in unreadable:
                raise
            spark_problem = exc  # like find: still show what WedgeHR has, then say what went wrong
    wedges = []
    wedge_problem: Exception | None = unreadable.get("wedgehr")
    if wedge_connection is not None:
        wedge_client = retries.watch(services.client_for(wedge_connection))
        try:
            wedges = [from_wedge(w) for w in await wedges_for(wedge_client, query)]  # type: ignore[arg-type]
        except VendorError as exc:
            if spark_connection is None and "sparkhire" not in unreadable:
                raise
            wedge_problem = exc  # the other way round: still share what Spark Hire has, then say it
    link_problem: VendorError | None = None
    if len(completed) == 1:
        try:
            await basic_link(services, recipient, team_id=team_id, interview_uuid=completed[0].uuid, retries=retries)
            if cut_short:  # the newest one is shared; an older one may be the one meant
                await recipient.send(notice(scan_limit_note("completed interviews")))
        except VendorError as exc:
            if wedge_connection is None:
                raise
            link_problem = exc  # still show what WedgeHR has, then say why there is no link
    elif completed:
        notes = [scan_limit_note("completed interviews")] if cut_short else None
        await recipient.send(find_results(query, [from_interview(i) for i in completed], notes=notes))
    # One message for all of them: Slack takes only 5 posts per response_url.
    if wedges:
        await recipient.send(wedgehr_results_message(query, wedges))
    if spark_problem is not None:
        # The sentence already names Spark Hire: drop the "Spark Hire: " the error's text starts with.
        problem = _problem_text(spark_problem)
        none_on_wedgehr = "" if wedges or wedge_problem else f"No WedgeHR interview found for {query}. "
        await recipient.send(
            error_message(
                f"{none_on_wedgehr}Spark Hire interviews were not searched. {problem}",
                reconnect=needs_reconnect(spark_problem),
                connect_vendor="sparkhire",
            )
        )
    if link_problem is not None:
        problem = _problem_text(link_problem)
        await recipient.send(
            error_message(
                f"{query}'s completed Spark Hire interview was found, but no share link was made. {problem}",
                reconnect=isinstance(link_problem, AuthenticationError),
                connect_vendor="sparkhire",
            )
        )
    if wedge_problem is not None:
        problem = _problem_text(wedge_problem)
        none_on_sparkhire = ""
        if not completed and spark_problem is None:
            limit = f" {scan_limit_note('completed interviews')}" if cut_short else ""
            none_on_sparkhire = f"No completed Spark Hire interview found for {query}.{limit} "
        await recipient.send(
            error_message(
                f"{none_on_sparkhire}WedgeHR interviews were not searched. {problem}",
                reconnect=needs_reconnect(wedge_problem),
                connect_vendor="wedgehr",
            )
        )
    if spark_problem is None and wedge_problem is None and not completed and not wedges:
        limit = f" {scan_limit_note('completed interviews')}" if cut_short else ""
        await recipient.send(notice(f"No completed interview found for {query}.{limit}"))


#: An interview uuid inside other text: a Spark Hire watch link pasted whole.
UUID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z-])[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}(?![0-9A-Za-z-])")


def share_query(args: str) -> str | None:
    """What `/interview share` names: an interview uuid given first, else the candidate's address
    wherever it is written ("Ann Lee <ann@example.com>", as `find` takes it), else the interview of
    a pasted Spark Hire link; None when there is neither. Uuids as Spark Hire writes them (lower case)."""
    words = args.split()
    if words and UUID_RE.match(words[0]):
        return words[0].lower()
    email = first_email(args)
    if email is not None:
        return email
    found = UUID_IN_TEXT.search(args)
    return found.group(0).lower() if found else None


async def on_share(
    *, ack: Any, args: str, command: dict[str, Any], context: Any, client: Any, respond: Any, **_: Any
) -> None:
    query = share_query(args)
    if query is None:
        await ack(text=USAGE, response_type="ephemeral")
        return
    # Scanning an account's interviews can take a while: say what is under way, as find does.
    working = f"Making a share link for interview {query}…" if UUID_RE.match(query) else f"Looking up {query}…"
    await ack(text=working, response_type="ephemeral")
    recipient = recipient_from_body(command, client, respond)
    after_ack(
        context,
        share_for(services_of(context), recipient, team_id=command["team_id"], query=query),
        recipient=recipient,
        name="share",
    )


SUBCOMMANDS = {"share": on_share}


async def on_share_button(
    ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, context: Any, respond: Any
) -> None:
    await ack()
    recipient = recipient_from_body(body, client, respond)
    uuid = action.get("value") or ""
    if not UUID_RE.match(uuid):
        raise UserFacingError("That button does not carry a Spark Hire interview; run `/interview share <email>`.")
    after_ack(
        context,
        _button_link(services_of(context), recipient, team_id=team_of(body), interview_uuid=uuid),
        recipient=recipient,
        name="share.button",
    )


#: A button's interview Spark Hire no longer has (deleted since the card or list was posted).
INTERVIEW_GONE = (
    "This interview is no longer on Spark Hire: it was deleted there, or it is of an account that neither "
    "your key nor this channel's subscriptions can read. No share link was made; "
    "`/interview find <email>` shows the candidate's interviews now."
)


async def _button_link(services: Services, recipient: Recipient, *, team_id: str, interview_uuid: str) -> None:
    """:func:`basic_link` for a button, whose interview may have been deleted since it was posted."""
    try:
        await telling_if_slow(
            recipient,
            basic_link(services, recipient, team_id=team_id, interview_uuid=interview_uuid),
            text="Spark Hire is slow to answer; the share link follows here.",
        )
    except NotFoundError as exc:
        raise UserFacingError(INTERVIEW_GONE) from exc


async def deactivate(services: Services, recipient: Recipient, *, team_id: str, value: str) -> None:
    interview_uuid, _, link_uuid = value.partition(":")
    if not (UUID_RE.match(interview_uuid) and UUID_RE.match(link_uuid)):
        raise UserFacingError(
            "That button does not point at a share link any more; run `/interview share <email>` again."
        )
    client, interview = await _reading(services, recipient, team_id=team_id, interview_uuid=interview_uuid)
    await client.set_share_link_status(interview_uuid, link_uuid, active=False)
    view = from_interview(interview)
    await services.db.audit.add(
        team_id=team_id,
        user_id=recipient.user_id,
        action="share.deactivated",
        vendor="sparkhire",
        target=view.email,
        detail={"interview": interview_uuid},
    )
    await recipient.send(share_link_message(view, url="", link_uuid=link_uuid, active=False), replace_original=True)


ButtonWork = Callable[..., Awaitable[None]]


def button_handler(work: ButtonWork, *, name: str) -> Callable[..., Awaitable[None]]:
    """A Deactivate button's listener: ack, then ``work(services, recipient, team_id=, value=)``."""

    async def on_button(
        ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, context: Any, respond: Any
    ) -> None:
        await ack()
        recipient = recipient_from_body(body, client, respond)
        after_ack(
            context,
            work(services_of(context), recipient, team_id=team_of(body), value=action.get("value") or ""),
            recipient=recipient,
            name=name,
        )

    return on_button


async def open_advanced(
    services: Services,
    client: AsyncWebClient,
    recipient: Recipient,
    *,
    team_id: str,
    trigger_id: str,
    interview_uuid: str,
) -> None:
    # Filled in once Spark Hire answers; any failure also reaches the user by message (with any
    # reconnect button), as for every other failure.
    async def fill(view_id: str) -> None:
        await _fill_advanced(
            services, client, recipient, team_id=team_id, view_id=view_id, interview_uuid=interview_uuid
        )

    await open_then_fill(
        client,
        trigger_id=trigger_id,
        loading_text="Loading completed interviews…",
        fill=fill,
        what="advanced share form",
    )


async def _fill_advanced(
    services: Services,
    client: AsyncWebClient,
    recipient: Recipient,
    *,
    team_id: str,
    view_id: str,
    interview_uuid: str,
) -> None:
    spark = await _sparkhire(services, team_id, recipient)
    interview = await spark.get_interview(interview_uuid)
    job_uuid = interview.job_post.uuid if interview.job_post else None
    same_job: list[SparkInterview] = []
    scanned = 0
    more_matched = scan_cut = False
    # Most recently updated first, and bounded as find is: a large account must not spend its
    # request budget (and keep the modal on "Loading…") for options Slack shows 100 of. The list
    # ends at the first interview it cannot hold, so the form says so only when one was left out.
    async for i in spark.iter_interviews(status=["completed"], orderby="updated_desc", page_size=100):
        if scanned >= SPARKHIRE_SCAN_LIMIT:
            scan_cut = True
            break
        scanned += 1
        if job_uuid is None or (i.job_post and i.job_post.uuid == job_uuid):
            if len(same_job) >= MAX_INTERVIEW_OPTIONS:
                more_matched = True
                break
            same_job.append(i)
    options = [Option(value=i.uuid, label=f"{i.candidate_name} ({i.candidate_email or 'no email'})") for i in same_job]
    if not any(o.value == interview_uuid for o in options):
        options.insert(0, Option(value=interview_uuid, label=interview.candidate_name))
        more_matched = more_matched or len(options) > MAX_INTERVIEW_OPTIONS  # the last one makes room
    await client.views_update(
        view_id=view_id,
        view=advanced_share_modal(
            interviews=options[:MAX_INTERVIEW_OPTIONS],
            selected=[interview_uuid],
            private_metadata=dump_metadata(channel=recipient.channel_id),
            more_matched=more_matched,
            scanned_only=SPARKHIRE_SCAN_LIMIT if scan_cut and not more_matched else None,
            of_job=job_uuid is not None,
        ),
    )


async def on_advanced_button(
    ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, context: Any, respond: Any
) -> None:
    await ack()
    recipient = recipient_from_body(body, client, respond)
    after_ack(
        context,
        open_advanced(
            services_of(context),
            client,
            recipient,
            team_id=team_of(body),
            trigger_id=body["trigger_id"],
            interview_uuid=action.get("value") or "",
        ),
        recipient=recipient,
        name="share.advanced.open",
        opens_modal=True,
    )


class ReviewerWithoutEmail(UserFacingError):
    """A Slack user picked as a reviewer whose profile shows the app no email address."""


def _field_for(error: BaseException, looked_up: dict[str, tuple[str, str | None]]) -> str:
    """The share form's field an error is about: a picked reviewer, a typed address, else the interviews."""
    if isinstance(error, ReviewerWithoutEmail):
        return Block.REVIEWERS
    if isinstance(error, VendorError):
        said = str(error).lower()
        if any(email and email.lower() in said for _, email in looked_up.values()):
            return Block.REVIEWERS  # Spark Hire refused the address of someone picked in Slack
        if sparkhire_field_for(said) == "email":
            return Block.REVIEWER_EMAILS
    return Block.SHARE_INTERVIEWS


async def _reviewer_of(client: AsyncWebClient, user_id: str) -> tuple[str, str | None]:
    """A Slack user's (name, email); the email is None when their profile hides it from the app, or
    when Slack does not show the app the user at all (another organisation's, say)."""
    try:
        user = (await client.users_info(user=user_id))["user"]
    except SlackApiError as exc:
        if slack_error_code(exc) not in {"user_not_found", "user_not_visible"}:
            raise
        return "A reviewer I cannot see in Slack", None
    return user.get("real_name") or user.get("name") or user_id, (user.get("profile") or {}).get("email")


async def _reviewers_in_time(client: AsyncWebClient, user_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """The picked reviewers read within the form's answer time, or {} (checked after it closes)."""
    try:
        found = await asyncio.wait_for(
            asyncio.gather(*(_reviewer_of(client, u) for u in user_ids)), REVIEWER_LOOKUP_SECONDS
        )
    except (TimeoutError, SlackApiError, aiohttp.ClientError) as exc:
        logger.info("Reviewers not read before the form closed (%s); checking them after", type(exc).__name__)
        return {}
    return dict(zip(user_ids, found, strict=True))


async def create_advanced(
    services: Services,
    client: AsyncWebClient,
    recipient: Recipient,
    *,
    team_id: str,
    interviews: list[str],
    slack_users: list[str],
    emails: list[str],
    send_email: bool,
    names: dict[str, str] | None = None,
    looked_up: dict[str, tuple[str, str | None]] | None = None,
) -> list[AdvancedShareLink]:
    """Create the reviewer links; ``names``: the names typed with addresses ("Ann Lee <ann@…>");
    ``looked_up`` holds the picked users already read from Slack, and gets those read here."""
    looked_up, names = {} if looked_up is None else looked_up, names or {}
    reviewers: list[tuple[str, str]] = []
    for user_id in slack_users:
        if user_id not in looked_up:  # kept, so a refusal of their address is said by the picker
            looked_up[user_id] = await _reviewer_of(client, user_id)
        name, email = looked_up[user_id]
        if not email:
            # By name: error text is escaped, so a <@user> mention would show as raw markup.
            raise ReviewerWithoutEmail(f"{name} has no email address visible to me; type their email instead.")
        reviewers.append((name, email))
    reviewers += [(names.get(email) or email.split("@")[0], email) for email in emails]
    # One link per person: someone picked in Slack and typed too (or typed twice, in any case)
    # would get two links, and two emails. The first kept: a Slack pick carries the real name.
    once: dict[str, tuple[str, str]] = {}
    for name, email in reviewers:
        once.setdefault(email.casefold(), (name, email))
    reviewers = list(once.values())
    spark = await _sparkhire(services, team_id, recipient)
    links = await spark.create_advanced_share_links(
        interview_uuids=interviews, reviewers=reviewers, send_email=send_email
    )
    try:
        for link in links:
            await services.db.audit.add(
                team_id=team_id,
                user_id=recipient.user_id,
                action="share.created",
                vendor="sparkhire",
                target=link.reviewer.email if link.reviewer else None,
                detail={"interviews": interviews, "advanced": True},
            )
    except Exception:  # the links exist: an error now would have the user create them twice
        logger.exception("Could not write the audit entries of %d reviewer link(s)", len(links))
    return links


def _reviewer_link(link: AdvancedShareLink) -> ReviewerLinkView:
    email = link.reviewer.email if link.reviewer else None
    return ReviewerLinkView(uuid=link.uuid, email=email or "", url=link.url or "", active=link.active)


def _links_message(links: list[AdvancedShareLink], *, emailed: bool) -> Message:
    return advanced_links_message([_reviewer_link(link) for link in links], emailed=emailed)


async def _reviewer_links_now(
    client: SparkHireClient, listed: list[str], known: dict[str, ReviewerLinkView]
) -> list[ReviewerLinkView] | None:
    """The links of the clicked message: those ``known`` (the button's value carried them) as they
    are, the others as Spark Hire has them now (one deleted there is left out); None when one
    could not be read."""

    async def read(uuid: str) -> ReviewerLinkView | None:
        if uuid in known:
            return known[uuid]
        try:
            return _reviewer_link(await client.get_advanced_share_link(uuid))
        except NotFoundError:
            return None

    # Every read awaited, so none is left running (or failing unheard) after one fails.
    found = await asyncio.gather(*(read(uuid) for uuid in listed), return_exceptions=True)
    for outcome in found:
        if isinstance(outcome, VendorError):
            logger.info("Reviewer links not read again after a deactivation: %s", outcome)
            return None
        if isinstance(outcome, BaseException):
            raise outcome
    return [link for link in found if isinstance(link, ReviewerLinkView)]


async def deactivate_advanced(services: Services, recipient: Recipient, *, team_id: str, value: str) -> None:
    """A reviewer link's Deactivate button: the link stops opening the interviews, and the message
    that listed it lists it again as deactivated (its address no longer offered)."""
    link_uuid, listed, more, known = reviewer_link_targets(value)
    # A malformed listed uuid costs only its own row, not the button.
    listed = [uuid for uuid in listed if UUID_RE.match(uuid)]
    if not UUID_RE.match(link_uuid):
        raise UserFacingError("That button does not point at a reviewer link any more; deactivate it in Spark Hire.")
    client = await _sparkhire(services, team_id, recipient)
    link = await client.set_advanced_share_link_status(link_uuid, active=False)
    email = link.reviewer.email if link.reviewer else None
    await services.db.audit.add(
        team_id=team_id,
        user_id=recipient.user_id,
        action="share.deactivated",
        vendor="sparkhire",
        target=email,
        detail={"link": link_uuid, "advanced": True},
    )
    # The reference's example answer to a deactivation still says "active": trust the click.
    known = {**known, link_uuid: replace(known.get(link_uuid) or _reviewer_link(link), active=False)}
    now = await _reviewer_links_now(client, listed, known) if listed else None
    if now is None:  # a button of an older message, or Spark Hire did not answer: say it alone
        await recipient.send(advanced_link_deactivated_message(email or ""))
        return
    await recipient.send(advanced_link_deactivated_message(email or "", now, more=more), replace_original=True)


def _form_again(
    view: dict[str, Any], error: BaseException, looked_up: dict[str, tuple[str, str | None]]
) -> dict[str, Any] | None:
    """The submitted share form again, all picked and typed in it kept, with what went wrong atop
    it: for what Spark Hire said of the request (a refused address, a rejected key, a failure
    worth another try) and for a reviewer without a visible email. None when the form cannot
    mend it (the connection removed or unreadable, a bug)."""
    if not isinstance(error, (VendorError, ReviewerWithoutEmail)):
        return None
    problem = _problem_text(error)
    if isinstance(error, VendorError) and error.maybe_done:
        return refilled_form(view, heading=ADVANCED_MAYBE_CREATED, problems=[problem])
    field = _field_for(error, looked_up)
    if field == Block.SHARE_INTERVIEWS and not isinstance(error, (BadRequestError, ValidationError, NotFoundError)):
        # Not about one field (Spark Hire failing, a rejected key): said without a field's name.
        return refilled_form(view, heading=ADVANCED_NOT_CREATED, problems=[problem])
    return refilled_form(view, heading=ADVANCED_NOT_CREATED, problems=[], field_problems={field: problem})


async def on_advanced_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any, context: Any) -> None:
    started = time.monotonic()
    values = state_values(view)
    interviews = selected_values(values, Block.SHARE_INTERVIEWS)
    picked = (values.get(Block.REVIEWERS) or {}).get("selected_users")
    slack_users = [u for u in picked if isinstance(u, str)] if isinstance(picked, list) else []
    # As mail programs list people: one a line, or separated by commas or semicolons, "Name <email>".
    rows = parse_bulk(text_value(values, Block.REVIEWER_EMAILS))
    typed = [row.email for row in rows if row.error is None]
    names = {row.email: row.name for row in rows if row.error is None and row.name}
    errors: dict[str, str] = {}
    if not interviews:
        errors[Block.SHARE_INTERVIEWS] = "Choose at least one completed interview."
    bad = [row.email for row in rows if row.error is not None]
    if bad:
        errors[Block.REVIEWER_EMAILS] = f"Not an email address: {bad[0][:60]}"
    if not slack_users and not rows:
        errors[Block.REVIEWERS] = "Pick at least one reviewer, or type an email below."
    # Read before answering, so a reviewer without a visible email is a field error, not a
    # message after the form (and everything picked in it) is gone.
    looked_up = await _reviewers_in_time(client, slack_users[:MAX_REVIEWERS_LOOKED_UP]) if slack_users else {}
    no_email = [name for name, email in looked_up.values() if not email]
    if no_email and Block.REVIEWERS not in errors:
        names = ", ".join(no_email[:3]) + (f" and {len(no_email) - 3} more" if len(no_email) > 3 else "")
        errors[Block.REVIEWERS] = (
            f"{names} {'has' if len(no_email) == 1 else 'have'} no email address visible to me:"
            " remove them here and type their email below."
        )
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    channel = load_metadata(view.get("private_metadata")).get("channel")
    recipient = Recipient(client=client, user_id=body["user"]["id"], channel_id=channel)
    send_email = "send" in checked(values, Block.REVIEWER_SEND_EMAIL)
    task = asyncio.ensure_future(
        create_advanced(
            services_of(context),
            client,
            recipient,
            team_id=team_of(body),
            interviews=interviews,
            slack_users=slack_users,
            emails=typed,
            send_email=send_email,
            names=names,
            looked_up=looked_up,
        )
    )
    # Within Slack's 3 s, what Spark Hire refuses is a field error on the form, with all it holds.
    done, _ = await asyncio.wait({task}, timeout=max(0.0, SUBMIT_BUDGET_SECONDS - (time.monotonic() - started)))
    if done:
        if (error := task.exception()) is None:
            await ack(response_action="clear")
            after_ack(
                context,
                recipient.send(_links_message(task.result(), emailed=send_email)),
                recipient=recipient,
                name="share.advanced.created",
            )
            return
        await ack(
            response_action="errors",
            errors={_field_for(error, looked_up): as_field_error(user_message_for(error).text)},
        )
        await report(error, None)
        if needs_reconnect(error):  # a form error cannot carry the reconnect button
            after_ack(context, recipient.send(user_message_for(error)), recipient=recipient, name="share.reconnect")
        return

    # Spark Hire is slow: answer Slack now and say on the form what became of it.
    await ack(response_action="update", view=working_view("Creating the reviewer links…"))

    async def finish() -> None:
        try:
            links = await task
        except Exception as exc:
            form = _form_again(view, exc, looked_up)
            if form is None:  # nothing on the form can mend it: say what to do instead
                await show_error_in_view(client, view["id"], exc, what="advanced share form")
                raise
            try:
                await client.views_update(view_id=view["id"], view=form)
            except (SlackApiError, TimeoutError, aiohttp.ClientError) as slack_exc:
                # Closed meanwhile, or Slack failed: the message says what the form would have.
                logger.info("Could not show the share form again: %r", slack_exc)
                raise exc from None
            await report(exc, None)
            if needs_reconnect(exc):  # the form cannot carry the reconnect button
                await recipient.send(user_message_for(exc))
            return
        with contextlib.suppress(Exception):
            await client.views_update(
                view_id=view["id"], view=advanced_links_created_view(len(links), emailed=send_email)
            )
        await recipient.send(_links_message(links, emailed=send_email))

    after_ack(context, finish(), recipient=recipient, name="share.advanced.create")


def register(app: AsyncApp) -> None:
    app.action(Action.SHARE_INTERVIEW)(on_share_button)
    app.action(Action.SHARE_DEACTIVATE)(button_handler(deactivate, name="share.deactivate"))
    app.action(Action.SHARE_ADVANCED)(on_advanced_button)
    app.action(Action.SHARE_ADVANCED_DEACTIVATE)(button_handler(deactivate_advanced, name="share.advanced.deactivate"))
    app.view(Callback.SHARE_ADVANCED)(on_advanced_submit)
