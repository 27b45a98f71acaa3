"""The ``/interview`` slash command: split the text and hand it to the flow that owns the word.

Each flow module exposes ``SUBCOMMANDS``: a mapping from the first word of the
command text to an async function called with keyword arguments
``ack, args, command, context, client, respond``. Unknown or empty text gets help.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

from slack_bolt.async_app import AsyncApp

COMMAND = "/interview"

Subcommand = Callable[..., Awaitable[None]]


def split_command(text: str) -> tuple[str, str]:
    """``"invite  a@b.c"`` -> ``("invite", "a@b.c")``; the word is lower-cased.

    Any whitespace ends the word: a tab, a new line or a pasted non-breaking space as well as a space.
    """
    parts = (text or "").split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0].lower(), parts[1].strip() if len(parts) > 1 else ""


def collect_subcommands(modules: Iterable[ModuleType]) -> dict[str, Subcommand]:
    routes: dict[str, Subcommand] = {}
    for module in modules:
        owned: Mapping[str, Subcommand] = getattr(module, "SUBCOMMANDS", {})
        for word, handler in owned.items():
            if word in routes:
                raise RuntimeError(f"/interview {word} is claimed twice ({module.__name__})")
            routes[word] = handler
    return routes


def register(app: AsyncApp, *, routes: dict[str, Subcommand], fallback: Subcommand) -> None:
    async def interview_command(ack, command, context, client, respond) -> None:
        word, args = split_command(command.get("text", ""))
        handler = routes.get(word, fallback)
        kwargs: dict[str, Any] = {
            "ack": ack,
            "args": args,
            "command": command,
            "context": context,
            "client": client,
            "respond": respond,
        }
        await handler(**kwargs)

    app.command(COMMAND)(interview_command)
