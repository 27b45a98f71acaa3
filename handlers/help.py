"""`/interview help`, and the answer to empty or unknown text."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.help import help_message
from handlers.command import split_command


async def on_help(*, ack: Any, command: dict[str, Any], **_: Any) -> None:
    word, _ = split_command(command.get("text") or "")
    unknown = word if word and word != "help" else None
    await ack(**help_message(unknown=unknown).as_kwargs(), response_type="ephemeral")


SUBCOMMANDS = {"help": on_help}


def register(app: AsyncApp) -> None:
    """Help is served through the /interview router; nothing else to listen for."""
