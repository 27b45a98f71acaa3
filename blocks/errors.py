"""User-facing error messages."""

from __future__ import annotations

from typing import Any

from blocks.common import actions, button, escape, modal, section
from blocks.ids import Action, Callback
from blocks.models import Message


def reconnect_actions(connect_vendor: str | None = None) -> dict[str, Any]:
    """The button that opens the connect modal, for a missing or rejected key."""
    return actions(button("Connect an account", Action.OPEN_CONNECT, value=connect_vendor or None, style="primary"))


def error_message(text: str, *, reconnect: bool = False, connect_vendor: str | None = None) -> Message:
    """An error a recruiter can act on; ``reconnect`` adds a button to the connect modal."""
    blocks = [section(f":warning: {escape(text)}")]
    if reconnect:
        blocks.append(reconnect_actions(connect_vendor))
    return Message(text=text, blocks=blocks)


def nothing_connected_message(doing: str) -> Message:
    """No vendor at all: say so (not just one vendor's name) and offer the connect modal."""
    return error_message(
        f"Neither WedgeHR nor Spark Hire is connected yet, so I cannot {doing}. "
        "Connect an account below (WedgeHR needs a workspace admin; anyone can add their Spark Hire API key).",
        reconnect=True,
    )


def busy_retrying_message(vendor: str, seconds: float) -> Message:
    """A vendor rate-limited a read: the user waits knowingly instead of on a silent "Looking up…"."""
    text = f"{vendor} is busy (rate limited); retrying in {max(1, round(seconds))} s… The answer will follow here."
    return Message(text=text, blocks=[section(f":hourglass_flowing_sand: {escape(text)}")])


def notice(text: str) -> Message:
    """A plain confirmation or information line."""
    return Message(text=text, blocks=[section(escape(text))])


def error_view(text: str) -> dict[str, Any]:
    """A modal that was loading when something went wrong: what happened and what to do."""
    return modal(
        Callback.WORKING, "Something went wrong", [section(f":warning: {escape(text)}")], submit=None, close="Close"
    )


def outsider_text(host: str) -> str:
    """Why a user of another workspace (Slack Connect) cannot use the bot's buttons here."""
    return (
        f"Interview Bot's buttons here act on the hiring accounts of {host}, and only members of that "
        "workspace can use them. Ask someone there to do this for you."
    )


def outsider_message(host: str) -> Message:
    return error_message(outsider_text(host))


def outsider_view(host: str) -> dict[str, Any]:
    """What a submitted form becomes when its user is of another workspace."""
    return modal(
        Callback.WORKING,
        "Not available to you",
        [section(f":warning: {escape(outsider_text(host))}")],
        submit=None,
        close="Close",
    )
