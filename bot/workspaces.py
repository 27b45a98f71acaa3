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


async def forget_workspace(
    services: Services, team_id: str, *, uninstalled_at: float, enterprise_id: str | None = None
) -> Forgotten | None:
    """Stop a workspace's notifications and delete the credentials stored for it.

    Slack revokes the app's tokens on uninstall, so nothing can be posted there any more. The
    installation (OAuth) goes first, then each Spark Hire webhook, deleted with its connection's key
    (Spark Hire would otherwise go on calling for a workspace that is gone), then the pending
    notifications, the subscriptions and the vendor keys. The audit log and the cards' thread ids are
    kept: they hold no credential, and a reinstall threads on.

    Returns None, changing nothing, when the workspace installed the app again after
    ``uninstalled_at`` (a late or repeated event must not undo the new installation).
    """
    db = services.db
    settings = services.settings
    if settings.slack_mode is SlackMode.oauth:
        store = db.installation_store(settings.slack_client_id or "")
        bot = await store.async_find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is not None and bot.installed_at > uninstalled_at:
            logger.info("App reinstalled in %s after the uninstall event; keeping its data", team_id)
            return None
        await store.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
    subscriptions = await db.subscriptions.list_for_team(team_id)
    dropped = 0
    for subscription in subscriptions:
        dropped += await db.outbox.fail_pending_for_subscription(subscription.id, UNINSTALLED)
        await db.subscriptions.remove(subscription.id)
    connections = await db.connections.list_for_team(team_id)
    for connection in connections:
        if connection.webhook_uuid and not await release_webhook_if_unused(services, connection.id):
            logger.warning(
                "Spark Hire webhook %s of uninstalled workspace %s could not be deleted; delete it in "
                "Spark Hire's webhook settings (its calls are refused meanwhile)",
                connection.webhook_uuid,
                team_id,
            )
        await db.connections.delete(connection.id)
    forgotten = Forgotten(len(subscriptions), len(connections), dropped)
    logger.info(
        "App uninstalled from %s: removed %d subscription(s) and %d vendor connection(s); dropped %d notification(s)",
        team_id,
        forgotten.subscriptions,
        forgotten.connections,
        forgotten.notifications_dropped,
    )
    return forgotten
