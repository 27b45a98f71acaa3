"""The connect modal and its confirmation."""

from __future__ import annotations

from typing import Any

from blocks.common import context, escape, input_block, modal, option, section, text_input
from blocks.ids import Action, Block, Callback
from blocks.models import VENDOR_LABELS, ConnectionStatusView, Message


def _status_line(status: ConnectionStatusView) -> str:
    label = VENDOR_LABELS[status.vendor]
    workspace = escape(status.workspace_label) if status.workspace_label else "not connected"
    if status.workspace_label and status.workspace_environment:
        # A staging token and a production one of the same company read the same otherwise.
        workspace += f" ({escape(status.workspace_environment)})"
    parts = [f"workspace: {workspace}"]
    if status.vendor == "sparkhire":
        parts.append(f"yours: {escape(status.own_label)}" if status.own_label else "yours: not connected")
    return f"*{label}* — " + ", ".join(parts)


def connect_modal(
    *,
    is_admin: bool,
    statuses: list[ConnectionStatusView],
    wedgehr_env: str = "production",
    private_metadata: str = "",
) -> dict[str, Any]:
    """Admins set workspace credentials; everyone may connect their own Spark Hire key."""
    blocks: list[dict[str, Any]] = [section("\n".join(_status_line(s) for s in statuses))]
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
