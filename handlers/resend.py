"""`/interview resend <email | wedge id>`: resend a WedgeHR invitation."""

from __future__ import annotations

import time
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.errors import notice
from blocks.ids import Action, Block
from blocks.models import CandidateView
from blocks.resend import recently_resent, resend_choices, resent
from bot.candidates import distinct_emails, first_email, from_wedge, is_email, wedges_for
from bot.errors import NotConnectedError, UserFacingError
from bot.invites import UNCONFIRMED_RESEND, ResendOutcome, resend_once
from bot.services import Services
from bot.vendors.errors import NotFoundError
from handlers.common import (
    Recipient,
    VendorRetries,
    after_ack,
    recipient_from_body,
    services_of,
    team_of,
    telling_if_slow,
)

USAGE = "Tell me whose invite to resend: `/interview resend ann@example.com` or `/interview resend <wedge id>`."


async def _wedgehr(services: Services, team_id: str, recipient: Recipient) -> Any:
    connection = await services.resolve_connection(team_id, "wedgehr", recipient.user_id)
    if connection is None:
        raise NotConnectedError("wedgehr")
    return VendorRetries(recipient).watch(services.client_for(connection))


async def offer(services: Services, recipient: Recipient, *, team_id: str, query: str) -> None:
    client = await _wedgehr(services, team_id, recipient)
    wedges = await wedges_for(client, query)
    if not wedges:
        await recipient.send(notice(f"No WedgeHR interview found for {query}. Check the address or the wedge id."))
        return
    await recipient.send(resend_choices(query, [from_wedge(w) for w in wedges]))


def _is_wedge_id(text: str) -> bool:
    """A WedgeHR wedge id as typed: ASCII digits naming a positive number (not "0", nor "١٢٣")."""
    return text.isascii() and text.isdigit() and int(text) > 0


def _others(args: str, query: str) -> list[str]:
    """The wedge ids (typed as the first was) and addresses typed besides ``query``, once each."""
    ids = [t for t in args.split() if _is_wedge_id(t)] if _is_wedge_id(query) else []
    found = [*ids, *distinct_emails(args)]
    return [t for t in dict.fromkeys(found) if t.casefold() != query.casefold()]


def resend_query(args: str) -> str | None:
    """What `/interview resend` names: a wedge id given first, else the candidate's address wherever
    it is written ("Ann Lee <ann@example.com>", pasted from mail); None when there is neither."""
    query = args.split()[0] if args.split() else ""
    query = query if _is_wedge_id(query) else first_email(args) or query
    return query if is_email(query) or _is_wedge_id(query) else None


async def on_resend(
    *, ack: Any, args: str, command: dict[str, Any], context: Any, client: Any, respond: Any, **_: Any
) -> None:
    query = resend_query(args)
    if query is None:
        await ack(text=USAGE, response_type="ephemeral")
        return
    # One at a time, as find: the others typed with it are named, not silently left out.
    others = _others(args, query)
    if others:
        await ack(
            text=f"Looking up {query}… (one at a time: `/interview resend {others[0]}` offers the next)",
            response_type="ephemeral",
        )
    else:
        await ack()
    recipient = recipient_from_body(command, client, respond)
    after_ack(
        context,
        offer(services_of(context), recipient, team_id=command["team_id"], query=query),
        recipient=recipient,
        name="resend.find",
    )


SUBCOMMANDS = {"resend": on_resend}


def _wedge_gone(wedge_id: int) -> str:
    """A button's wedge WedgeHR no longer has (deleted since the card or list was posted)."""
    return (
        f"WedgeHR no longer has this invite (wedge {wedge_id}): it was deleted there, or it is of another "
        "WedgeHR account than the one connected. Nothing was sent; `/interview resend <email>` looks the "
        "candidate's invites up again."
    )


async def do_resend(
    services: Services, recipient: Recipient, *, team_id: str, wedge_id: int, replace: bool = True
) -> None:
    """Resend the wedge's invitation; ``replace``: the answer takes the clicked message's place (when
    it is the user's own: resend's prompt), else it comes beside it (a find list, a card)."""
    client = await _wedgehr(services, team_id, recipient)

    async def at_wedgehr() -> CandidateView | ResendOutcome:
        # A button stays on a card (or a list) after the candidate recorded: no invitation for them.
        current = from_wedge(await client.get_wedge(wedge_id))
        if current.completed:
            return current
        return await resend_once(services.db, client, team_id=team_id, user_id=recipient.user_id, wedge_id=wedge_id)

    try:
        outcome = await telling_if_slow(
            recipient, at_wedgehr(), text="WedgeHR is slow to answer; whether the invite was resent follows here."
        )
    except NotFoundError as exc:
        raise UserFacingError(_wedge_gone(wedge_id)) from exc
    if isinstance(outcome, CandidateView):
        await recipient.send(resend_choices(outcome.email or "", [outcome]))
    elif outcome.resent is not None:
        await recipient.send(resent(outcome.resent), replace_original=replace)
    elif outcome.earlier is not None:
        earlier = outcome.earlier
        seconds_ago = max(0, round(time.time() - earlier.created_at))
        email = earlier.target or "the candidate"
        confirmed = earlier.action != UNCONFIRMED_RESEND
        await recipient.send(
            recently_resent(email, by_user=earlier.user_id, seconds_ago=seconds_ago, confirmed=confirmed)
        )


async def on_resend_button(
    ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, context: Any, respond: Any
) -> None:
    await ack()
    value = action.get("value") or ""
    recipient = recipient_from_body(body, client, respond)
    if not _is_wedge_id(value):
        raise UserFacingError("That button does not carry a WedgeHR wedge id; run `/interview resend <email>`.")
    after_ack(
        context,
        do_resend(
            services_of(context),
            recipient,
            team_id=team_of(body),
            wedge_id=int(value),
            # Only resend's own prompt gives way: a find list still holds the candidate's other results.
            replace=str(action.get("block_id") or "").startswith(Block.RESEND_CHOICE),
        ),
        recipient=recipient,
        name="resend.send",
    )


def register(app: AsyncApp) -> None:
    app.action(Action.RESEND_WEDGE)(on_resend_button)
