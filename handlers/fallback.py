"""Registered last: payloads no flow claims get a polite ack, not Bolt's 404."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

logger = logging.getLogger(__name__)
ANY = re.compile(".*")


async def _ack_only(ack: Any, body: dict[str, Any]) -> None:
    await ack()
    logger.info("No listener for %s payload; acknowledged and ignored", body.get("type"))


async def _no_options(ack: Any) -> None:
    await ack(options=[])


def register(app: AsyncApp) -> None:
    app.view(ANY)(_ack_only)
    app.action(ANY)(_ack_only)
    app.shortcut(ANY)(_ack_only)
    app.options(ANY)(_no_options)
