"""What the bot does with a workspace's data when the app is uninstalled, or loses the env's vendor keys."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.notify.subscriptions import release_webhook_if_unused
from bot.services import ENV_CONNECTED_BY, Services
from bot.settings import Settings, SlackMode
from bot.storage.repos import Connection

logger = logging.getLogger(__name__)

UNINSTALLED = "the app was uninstalled from the workspace"
WITHDRAWN = "VENDOR_KEYS_TEAM_IDS no longer names the workspace"


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
    notifications, the subscriptions and the vendor keys, and the candidates' details in the events
    kept for de-duplication. The audit log, the de-duplication keys and the cards' thread
    ids are kept: they hold no credential, and a reinstall threads on and posts nothing twice.

    Returns None, changing nothing, when the workspace installed the app again after
    ``uninstalled_at`` (a late or repeated event must not undo the new installation).
    """
    db = services.db
    settings = services.settings
    if settings.slack_mode is SlackMode.oauth:
        store = db.installation_store(settings.slack_client_id or "")
        workspace = {"enterprise_id": enterprise_id, "team_id": team_id}
        if await store.async_installed_after(**workspace, after=uninstalled_at):
            logger.info("App reinstalled in %s after the uninstall event; keeping its data", team_id)
            return None
        # Only what the uninstall revoked: an installation made since this check stays.
        await store.async_delete_installed_until(**workspace, until=uninstalled_at)
    subscriptions = await db.subscriptions.list_for_team(team_id)
    dropped = 0
    for subscription in subscriptions:
        dropped += await db.outbox.fail_pending_for_subscription(subscription.id, UNINSTALLED)
        await db.subscriptions.remove(subscription.id)
    connections = await db.connections.list_for_team(team_id)
    for connection in connections:
        await _delete_connection(services, connection)
    # The candidates' details in the events kept for de-duplication go too (a delivery holds none).
    await db.events.purge_team_payloads(team_id)
    forgotten = Forgotten(len(subscriptions), len(connections), dropped)
    logger.info(
        "App uninstalled from %s: removed %d subscription(s) and %d vendor connection(s); dropped %d notification(s)",
        team_id,
        forgotten.subscriptions,
        forgotten.connections,
        forgotten.notifications_dropped,
    )
    return forgotten


async def withdraw_vendor_keys(services: Services) -> int:
    """Take the environment's vendor keys away from workspaces ``VENDOR_KEYS_TEAM_IDS`` leaves out.

    A workspace that used ``WEDGEHR_TOKEN`` or ``SPARKHIRE_API_KEY`` holds a copy of it; once the
    operator names other workspaces, that copy is deleted with the subscriptions that read through
    it (the operator's account must no longer feed that workspace's channels) and their pending
    notifications. The workspace can connect an account of its own. Never stops the start-up.

    Returns:
        How many copies were deleted.
    """
    db = services.db
    try:
        copies = await db.connections.list_connected_by(ENV_CONNECTED_BY)
    except Exception:
        logger.exception("Could not read the connections copied from the environment; none withdrawn")
        return 0
    withdrawn = 0
    for copy in copies:
        if services.settings.vendor_keys_serve(copy.team_id):
            continue
        try:
            subscriptions = await db.subscriptions.list_using_connection(copy.id)
            dropped = 0
            for subscription in subscriptions:
                dropped += await db.outbox.fail_pending_for_subscription(subscription.id, WITHDRAWN)
                await db.subscriptions.remove(subscription.id)
            await _delete_connection(services, copy)
        except Exception:
            logger.exception(
                "Could not withdraw workspace %s's %s connection copied from the environment", copy.team_id, copy.vendor
            )
            continue
        withdrawn += 1
        logger.warning(
            "VENDOR_KEYS_TEAM_IDS leaves out workspace %s: deleted its %s connection copied from the environment, "
            "%d subscription(s) on it and %d pending notification(s); it can connect its own account with "
            "/interview connect",
            copy.team_id,
            copy.vendor,
            len(subscriptions),
            dropped,
        )
    return withdrawn


async def _delete_connection(services: Services, connection: Connection) -> None:
    """Delete a vendor connection, and its Spark Hire webhook when no subscription still needs it."""
    if connection.webhook_uuid and not await release_webhook_if_unused(services, connection.id):
        logger.warning(
            "Spark Hire webhook %s of workspace %s could not be deleted; delete it in Spark Hire's webhook "
            "settings (its calls are refused meanwhile)",
            connection.webhook_uuid,
            connection.team_id,
        )
    await services.db.connections.delete(connection.id)


def warn_if_vendor_keys_serve_everyone(settings: Settings) -> None:
    """In OAuth mode, say at start-up that any workspace installing the app would use the env's keys."""
    if settings.slack_mode is not SlackMode.oauth or settings.vendor_keys_team_ids:
        return
    if names := settings.env_vendor_keys:
        logger.warning(
            "%s set in OAuth mode: every workspace that installs the app can use that account. Set "
            "VENDOR_KEYS_TEAM_IDS to the workspaces that may (e.g. T0123ABCD), or unset %s and let each "
            "workspace connect its own with /interview connect",
            " and ".join(names),
            "them" if len(names) > 1 else "it",
        )
