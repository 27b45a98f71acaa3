"""Uninstalling: the workspace's notifications stop and its stored credentials are deleted.

Both events can arrive late: Slack retries what the bot did not answer (it was deploying, or down)
for up to an hour, by which time an admin may have installed the app again. Each event therefore
deletes only what was installed at or before its ``event_time``: a newer installation stays.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.workspaces import forget_workspace
from handlers.common import services_of, team_of

logger = logging.getLogger(__name__)


def _event_time(body: dict[str, Any]) -> float:
    return float(body.get("event_time") or time.time())


async def on_app_uninstalled(body: dict[str, Any], context: Any) -> None:
    services = services_of(context)
    forgetting = forget_workspace(
        services,
        context.get("team_id") or team_of(body),
        uninstalled_at=_event_time(body),
        enterprise_id=context.get("enterprise_id"),
    )
    # After the answer: deleting Spark Hire webhooks takes a vendor call per connection.
    services.tasks.spawn(forgetting, name="workspace.forget")


async def on_tokens_revoked(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
    """Delete the installations whose tokens Slack revoked (OAuth).

    Bolt's built-in listener deletes every installation of the workspace: a late event then took
    the one an admin had just made, and the late ``app_uninstalled`` behind it, finding no newer
    installation, the workspace's subscriptions and vendor keys too.
    """
    services = services_of(context)
    tokens = event.get("tokens") or {}
    store = services.db.installation_store(services.settings.slack_client_id or "")
    workspace = {"enterprise_id": context.get("enterprise_id"), "team_id": context.get("team_id") or team_of(body)}
    revoked_at = _event_time(body)
    if tokens.get("bot"):
        # Every installation up to then, the revoked users' among them.
        await store.async_delete_installed_until(**workspace, until=revoked_at)
        if await store.async_installed_after(**workspace, after=revoked_at):
            logger.info(
                "Bot token of %s revoked; it was installed again since, so that installation stays",
                workspace["team_id"],
            )
    elif users := tokens.get("oauth"):
        await store.async_delete_installed_until(**workspace, until=revoked_at, user_ids=users)


async def on_tokens_revoked_without_installations() -> None:
    """One bot token from the environment: nothing stored to delete (app_uninstalled does the rest)."""


def register(app: AsyncApp) -> None:
    app.event("app_uninstalled")(on_app_uninstalled)
    if app.installation_store is not None:  # OAuth
        app.event("tokens_revoked")(on_tokens_revoked)
    else:
        app.event("tokens_revoked")(on_tokens_revoked_without_installations)
