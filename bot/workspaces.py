"""What the bot does with a workspace's data when the app is uninstalled from it."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.notify.subscriptions import release_webhook_if_unused
from bot.services import Services
from bot.settings import SlackMode

logger = logging.getLogger(__name__)

UNINSTALLED = "the app was uninstalled from the workspace"


@dataclass(frozen=True)
class Forgotten:
    subscriptions: int
    connections: int
    notifications_dropped: int


async def forget_workspace(services: Services, team_id: str) -> Forgotten:
    """Stop a workspace's notifications and delete the credentials stored for it.

    Slack revokes the app's tokens on uninstall, so nothing can be posted there any more. Each
    Spark Hire webhook is deleted first, with its connection's key, or Spark Hire would go on
    calling for a workspace that is gone. Then the pending notifications, the subscriptions, the
    vendor keys and (OAuth) the installation go. The audit log and the cards' thread ids are
    kept: they hold no credential, and a reinstall picks the threads up again.
    """
    db = services.db
    subscriptions = await db.subscriptions.list_for_team(team_id)
    dropped = 0
    for subscription in subscriptions:
        dropped += await db.outbox.fail_pending_for_subscription(subscription.id, UNINSTALLED)
        await db.subscriptions.remove(subscription.id)
    connections = await db.connections.list_for_team(team_id)
    for connection in connections:
        if connection.webhook_uuid:
            await release_webhook_if_unused(services, connection.id)
        await db.connections.delete(connection.id)
    settings = services.settings
    if settings.slack_mode is SlackMode.oauth:
        store = db.installation_store(settings.slack_client_id or "")
        await store.async_delete_all(enterprise_id=None, team_id=team_id)
    forgotten = Forgotten(len(subscriptions), len(connections), dropped)
    logger.info(
        "App uninstalled from %s: removed %d subscription(s) and %d vendor connection(s); dropped %d notification(s)",
        team_id,
        forgotten.subscriptions,
        forgotten.connections,
        forgotten.notifications_dropped,
    )
    return forgotten
