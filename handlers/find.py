"""`/interview find <email>`: the candidate across both vendors."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.cards import find_results
from blocks.common import escape, truncate
from blocks.errors import nothing_connected_message
from blocks.ids import Action
from blocks.models import VENDOR_LABELS
from bot.candidates import Lookup, as_typed, distinct_emails, find_everywhere, first_email
from bot.errors import UserFacingError
from bot.services import Services
from bot.vendors.errors import VendorError
from handlers.common import (
    Recipient,
    VendorRetries,
    after_ack,
    needs_reconnect,
    recipient_from_body,
    send_unreadable,
    services_of,
    team_of,
    user_message_for,
)

#: One platform still searching this long after the other answered: the other's results are shown meanwhile.
PARTIAL_AFTER_SECONDS = 5.0

USAGE = "Tell me whose interviews to find: `/interview find ann@example.com`."


def _usage(args: str) -> str:
    """What to type, saying why when something was typed that is no address (a name, mostly)."""
    typed = " ".join(as_typed(args).split())
    if not typed:
        return USAGE
    return (
        f"I look candidates up by email address, and “{escape(truncate(typed, 60))}” is not one "
        "(Spark Hire and WedgeHR cannot search by name): `/interview find ann@example.com`."
    )


async def lookup(services: Services, recipient: Recipient, *, team_id: str, email: str) -> None:
    found_connections, unreadable = await services.resolve_both(team_id, recipient.user_id)
    wedgehr, sparkhire = found_connections["wedgehr"], found_connections["sparkhire"]
    if wedgehr is None and sparkhire is None:
        if unreadable:
            await send_unreadable(recipient, unreadable)  # connected, but unreadable: not "not connected"
            return
        await recipient.send(nothing_connected_message(f"search for {email}"))
        return
    # The ack said "Looking up…": a vendor rate-limiting for long is said, not waited out silently.
    retries = VendorRetries(recipient)

    async def so_far(partial: Lookup, pending: list[str]) -> None:
        # One platform slow (a minute, when it times out): what the other found is shown meanwhile.
        notes = [n for n in partial.notes if not n.endswith("is not connected.")]
        await recipient.send(
            find_results(email, partial.candidates, notes=notes, searched=partial.searched, pending=pending)
        )

    found = await find_everywhere(
        email=email,
        wedgehr=retries.watch(services.client_for(wedgehr)) if wedgehr else None,  # type: ignore[arg-type]
        sparkhire=retries.watch(services.client_for(sparkhire)) if sparkhire else None,  # type: ignore[arg-type]
        partial_after=PARTIAL_AFTER_SECONDS,
        on_partial=so_far,
    )
    # A vendor that failed is said in the headline, with the usual message for its error (and the
    # reconnect button when its key was rejected).
    every: dict[str, Exception] = {**found.failed, **unreadable}
    failed = {v: every[v] for v in ("wedgehr", "sparkhire") if v in every}
    problems = [
        user_message_for(error).text if isinstance(error, VendorError) else f"{VENDOR_LABELS[vendor]}: {error}"
        for vendor, error in failed.items()
    ]
    rejected = [vendor for vendor, error in failed.items() if needs_reconnect(error)]
    unconnected = [f"{VENDOR_LABELS[v]} is not connected." for v in unreadable]
    notes = problems + [
        n for n in found.notes if n not in unconnected and (not n.endswith("is not connected.") or not found.candidates)
    ]
    await recipient.send(
        find_results(
            email,
            found.candidates,
            notes=notes,
            searched=found.searched,
            unsearched=list(failed),
            reconnect=bool(rejected),
            connect_vendor=rejected[0] if len(rejected) == 1 else None,
        )
    )


async def on_find(
    *, ack: Any, args: str, command: dict[str, Any], context: Any, client: Any, respond: Any, **_: Any
) -> None:
    email = first_email(args)
    recipient = recipient_from_body(command, client, respond)
    if email is None:
        await ack(text=_usage(args), response_type="ephemeral")
        return
    # One address at a time: the others typed with it are named, not silently left out.
    others = [e for e in distinct_emails(args) if e.casefold() != email.casefold()]
    more = f" (one address at a time: `/interview find {others[0]}` looks up the next)" if others else ""
    await ack(text=f"Looking up {email}…{more}", response_type="ephemeral")
    after_ack(
        context,
        lookup(services_of(context), recipient, team_id=command["team_id"], email=email),
        recipient=recipient,
        name="find",
    )


SUBCOMMANDS = {"find": on_find}


async def on_open_find(
    ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, context: Any, respond: Any
) -> None:
    await ack()
    email = first_email(action.get("value") or "")
    recipient = recipient_from_body(body, client, respond)
    if email is None:
        raise UserFacingError("That candidate has no email address to look up.")
    after_ack(
        context,
        lookup(services_of(context), recipient, team_id=team_of(body), email=email),
        recipient=recipient,
        name="find.button",
    )


def register(app: AsyncApp) -> None:
    app.action(Action.OPEN_FIND)(on_open_find)
