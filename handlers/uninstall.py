"""Uninstalling: the workspace's notifications stop and its stored credentials are deleted."""

from __future__ import annotations

import time
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.workspaces import forget_workspace
from handlers.common import services_of, team_of


async def on_app_uninstalled(body: dict[str, Any], context: Any) -> None:
    services = services_of(context)
    forgetting = forget_workspace(
        services,
        context.get("team_id") or team_of(body),
        uninstalled_at=float(body.get("event_time") or time.time()),
        enterprise_id=context.get("enterprise_id"),
    )
    # After the answer: deleting Spark Hire webhooks takes a vendor call per connection.
    services.tasks.spawn(forgetting, name="workspace.forget")


async def on_tokens_revoked_without_installations() -> None:
    """One bot token from the environment: nothing stored to delete (app_uninstalled does the rest)."""


def register(app: AsyncApp) -> None:
    app.event("app_uninstalled")(on_app_uninstalled)
    if app.installation_store is not None:  # OAuth: Bolt deletes the installations of revoked tokens
        app.event("tokens_revoked")(app.default_tokens_revoked_event_listener())
    else:
        app.event("tokens_revoked")(on_tokens_revoked_without_installations)
