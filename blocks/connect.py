"""The connect modal and its confirmation."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from blocks.common import (
    SECTION_TEXT,
    button,
    confirm_dialog,
    context,
    escape,
    input_block,
    modal,
    option,
    section,
    text_input,
    truncate,
)
from blocks.ids import Action, Block, Callback
from blocks.models import VENDOR_LABELS, ConnectionStatusView, Message


def _workspace_text(status: ConnectionStatusView) -> str:
    workspace = escape(status.workspace_label) if status.workspace_label else "not connected"
    if status.workspace_label and status.workspace_environment:
        # A staging token and a production one of the same company read the same otherwise.
        workspace += f" ({escape(status.workspace_environment)})"
    return f"workspace: {workspace}"


def _own_text(status: ConnectionStatusView) -> str:
    return f"yours: {escape(status.own_label)}" if status.own_label else "yours: not connected"


def _status_line(status: ConnectionStatusView) -> str:
    parts = [_workspace_text(status)]
    if status.vendor == "sparkhire":
        parts.append(_own_text(status))
    return f"*{VENDOR_LABELS[status.vendor]}* — " + ", ".join(parts)


def disconnect_value(connection_id: str, label: str | None) -> str:
    """A Disconnect button's value: the connection, and a digest of the account its confirmation
    names, so that a form opened before the key was replaced by another account's disconnects none."""
    return f"{connection_id}:{label_digest(label)}"


def label_digest(label: str | None) -> str:
    return hashlib.sha256((label or "").encode()).hexdigest()[:12]


def parse_disconnect_value(value: str) -> tuple[str, str | None]:
    """The connection id and the account digest (None: a button from before it carried one)."""
    connection_id, _, digest = value.partition(":")
    return connection_id, digest or None


def _disconnect_button(connection_id: str, label: str | None, title: str, text: str) -> dict[str, Any]:
    return button(
        "Disconnect",
        Action.DISCONNECT,
        value=disconnect_value(connection_id, label),
        style="danger",
        confirm=confirm_dialog(title, text, confirm="Disconnect", deny="Keep it"),
    )


def _connection_rows(status: ConnectionStatusView, *, is_admin: bool) -> list[dict[str, Any]]:
    """One line per connection, with a Disconnect button on those this user may remove."""
    vendor = VENDOR_LABELS[status.vendor]
    credential = "token" if status.vendor == "wedgehr" else "API key"
    accessory = None
    if is_admin and status.workspace_id:
        accessory = _disconnect_button(
            status.workspace_id,
            status.workspace_label,
            f"Disconnect {vendor}?",
            f"The workspace's {vendor} {credential} ({escape(truncate(status.workspace_label or '', 80))}) is "
            "deleted. Channel subscriptions that read through it are paused and their creators told, unless "
            f"the bot's settings give the workspace a {credential}.",
        )
    rows = [section(f"*{vendor}* — {_workspace_text(status)}", accessory=accessory)]
    if status.workspace_setting:
        rows.append(
            context(
                f"Set by `{status.workspace_setting}` in the bot's settings: it cannot be disconnected from "
                "Slack. Whoever runs the bot can change or unset it."
            )
        )
    if status.vendor == "sparkhire":
        accessory = None
        if status.own_id:
            accessory = _disconnect_button(
                status.own_id,
                status.own_label,
                "Disconnect your key?",
                f"Your Spark Hire API key ({escape(truncate(status.own_label or '', 80))}) is deleted, and the "
                "workspace's key, if it has one, is used for you instead, also for the channel subscriptions "
                "you made with yours.",
            )
        rows.append(section(f"*{vendor}* — {_own_text(status)}", accessory=accessory))
    return rows


def connect_modal(
    *,
    is_admin: bool,
    statuses: list[ConnectionStatusView],
    wedgehr_env: str = "production",
    private_metadata: str = "",
    notices: list[str] | None = None,
) -> dict[str, Any]:
    """Admins set workspace credentials; everyone may connect their own Spark Hire key.

    ``notices``: what the last Disconnect did (plain text, escaped here), shown first.
    """
    blocks: list[dict[str, Any]] = [section(f":information_source: {escape(n)}") for n in notices or []]
    for status in statuses:
        blocks += _connection_rows(status, is_admin=is_admin)
    if is_admin:
        env = {
            "type": "radio_buttons",
            "action_id": Action.INPUT,
            "options": [option("production", "Production"), option("staging", "Staging")],
            "initial_option": option(wedgehr_env, wedgehr_env.title()),
        }
        blocks += [
            {"type": "divider"},
            section("*Workspace settings* (admins)"),
            input_block(
                Block.WEDGEHR_TOKEN,
                "WedgeHR integration token",
                text_input(Action.INPUT, placeholder="Settings → Integrations in WedgeHR", max_length=500),
                optional=True,
                hint="Leave empty to keep the current token.",
            ),
            input_block(Block.WEDGEHR_ENV, "WedgeHR environment", env, optional=True),
            input_block(
                Block.SPARKHIRE_WORKSPACE_KEY,
                "Spark Hire fallback API key (workspace)",
                text_input(Action.INPUT, max_length=500),
                optional=True,
                hint="Used for people who have not connected their own key.",
            ),
        ]
    blocks += [
        {"type": "divider"},
        input_block(
            Block.SPARKHIRE_USER_KEY,
            "Your Spark Hire API key",
            text_input(Action.INPUT, max_length=500),
            optional=True,
            hint="Spark Hire keys are per user and carry your permissions.",
        ),
        context("Keys are checked with the vendor before they are saved, and stored encrypted."),
    ]
    return modal(Callback.CONNECT, "Connect accounts", blocks, submit="Connect", private_metadata=private_metadata)


def connected_message(connected: list[tuple[str, str]], *, notes: list[str] | None = None) -> Message:
    """``connected``: (vendor, account label) pairs that were verified and saved; ``notes``: what
    else the user should know (plain text, escaped here)."""
    lines = [f":white_check_mark: Connected *{VENDOR_LABELS.get(v, v)}*: {escape(label)}" for v, label in connected]
    text = "; ".join(f"Connected {VENDOR_LABELS.get(v, v)}: {label}" for v, label in connected) or "Nothing changed."
    blocks = [section("\n".join(lines) or "Nothing changed.")]
    blocks += [section(f":information_source: {escape(note)}") for note in notes or []]
    return Message(text=" ".join([text, *(notes or [])]), blocks=blocks)


def connected_view(connected: list[tuple[str, str]], *, notes: list[str] | None = None) -> dict[str, Any]:
    """The connect form once the vendor answered after the form had to wait: what was connected."""
    return modal(
        Callback.WORKING, "Connected", connected_message(connected, notes=notes).blocks, submit=None, close="Close"
    )


#: Atop the connect form shown again when a vendor refused a key after the form had to wait.
REFUSED_HEADING = "Nothing was connected. Correct the form and connect again:"


#: Channels named in one notice; the rest are counted.
PAUSED_CHANNELS_NAMED = 20


def disconnected_pause_notice(
    channel_ids: Sequence[str],
    vendor: str,
    *,
    by_user: str,
    reason: str,
    commands: Sequence[str] = (),
) -> Message:
    """To a creator of subscriptions (in ``channel_ids``, one per subscription) that read through a
    connection just disconnected: one notice for all of theirs. ``commands``: for each of them (same
    order), the `/interview subscribe` that resumes it, as mrkdwn code."""
    label = VENDOR_LABELS.get(vendor, vendor)
    channels = list(dict.fromkeys(channel_ids))
    named = ", ".join(f"<#{c}>" for c in channels[:PAUSED_CHANNELS_NAMED])
    if len(channels) > PAUSED_CHANNELS_NAMED:
        named += f" and {len(channels) - PAUSED_CHANNELS_NAMED} more channels"
    what = f"the {label} subscription" if len(channel_ids) == 1 else f"{len(channel_ids)} {label} subscriptions"
    text = f"I paused {what} in {named} after <@{by_user}> disconnected an account: {escape(reason)}."
    blocks = [section(f":double_vertical_bar: {text}")]
    # Its own words: other words add a subscription beside it and leave it paused.
    runs = [f"• {command} in <#{c}>" for c, command in zip(channel_ids, commands, strict=False)]
    if runs:
        head = f"Once another account is connected, {'it' if len(runs) == 1 else 'each'} resumes with its own words:"
        shown: list[str] = []
        for run in runs[:PAUSED_CHANNELS_NAMED]:
            if len(head) + len("".join(f"\n{r}" for r in [*shown, run])) + len("\n…and 9,999 more") > SECTION_TEXT:
                break
            shown.append(run)
        left = len(runs) - len(shown)
        resume = head + "".join(f"\n{r}" for r in shown) + (f"\n…and {left:,} more" if left else "")
        blocks.append(section(resume))
        text += " " + resume
    return Message(text=text, text_is_markup=True, blocks=blocks)
