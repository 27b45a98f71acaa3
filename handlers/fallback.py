"""Registered last: payloads no flow claims get a polite ack, not Bolt's 404, and a message button
no flow claims (one of an older release, renamed since) tells the clicker it no longer works."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.errors import notice
from handlers.common import after_ack, recipient_from_body

logger = logging.getLogger(__name__)
ANY = re.compile(".*")


async def _ack_only(ack: Any, body: dict[str, Any]) -> None:
    await ack()
    logger.info("No listener for %s payload; acknowledged and ignored", body.get("type"))


#: A click Slack shows nothing for: said, or the button looks broken.
STALE_BUTTON = (
    "This button no longer does anything: it is from an older version of Interview Bot. "
    "`/interview help` lists what the bot can do now."
)


async def _stale_button(ack: Any, body: dict[str, Any], client: Any, context: Any, respond: Any) -> None:
    await ack()
    logger.info("No listener for block action %s", [a.get("action_id") for a in body.get("actions") or []])
    # Only a plain button in a message: selects and inputs in forms, and link buttons, need no answer.
    in_message = (body.get("container") or {}).get("type") == "message"
    plain_buttons = all(a.get("type") == "button" and not a.get("url") for a in body.get("actions") or [{}])
    if in_message and plain_buttons:
        recipient = recipient_from_body(body, client, respond)
        after_ack(context, recipient.send(notice(STALE_BUTTON)), recipient=recipient, name="fallback.stale")


async def _no_options(ack: Any) -> None:
    await ack(options=[])


def register(app: AsyncApp) -> None:
    app.view(ANY)(_ack_only)
    app.action(ANY)(_stale_button)
    app.shortcut(ANY)(_ack_only)
    app.options(ANY)(_no_options)
