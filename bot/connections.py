"""Saving the vendor credentials a user connected or disconnected, and what follows from the change."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from blocks.models import VENDOR_LABELS
from bot.errors import BusyError, ConnectionGoneError
from bot.notify.receiver import webhook_path
from bot.notify.subscriptions import (
    SUBSCRIBE_AGAIN,
    WEBHOOK_BUSY,
    delete_webhook_of,
    ensure_webhook,
    follow_jobs,
    follow_new_key,
    missed_note,
    watch_from_now,
)
from bot.services import ENV_CONNECTED_BY, Services
from bot.storage import Connection, Subscription
from bot.storage.repos import CatchUp
from bot.vendors.errors import VendorError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class VerifiedCredentials:
    """What a connect submission set, each credential with the account label its vendor gave."""

    team_id: str
    user_id: str
    # Kept out of repr: these hold the raw token and keys.
    wedgehr: tuple[str, str, str] | None = field(default=None, repr=False)  # token, label, environment
    sparkhire_workspace: tuple[str, str] | None = field(default=None, repr=False)  # key, label
    sparkhire_user: tuple[str, str] | None = field(default=None, repr=False)  # key, label


@dataclass
class Saved:
    connected: list[tuple[str, str]] = field(default_factory=list)  # (vendor, label shown to the user)
    notes: list[str] = field(default_factory=list)


async def save_verified(services: Services, credentials: VerifiedCredentials) -> Saved:
    """Store verified credentials (encrypted), audit them, and keep subscribed channels' events coming."""
    team_id, user_id = credentials.team_id, credentials.user_id
    repo = services.db.connections
    before = {(c.vendor, c.scope, c.user_id): c for c in await repo.list_for_team(team_id)}
    saved = Saved()
    if credentials.wedgehr:
        token, label, env = credentials.wedgehr
        old = before.get(("wedgehr", "workspace", None))
        after = await repo.upsert_workspace(
            team_id, "wedgehr", token, account_label=label, connected_by=user_id, environment=env
        )
        if old is not None and (not old.readable or old.credential != after.credential or old.environment != env):
            resumed = await services.follow_new_wedgehr_token(after.id, user_id=user_id)
            saved.notes += _resumed_notes(services, resumed)
            saved.notes += await _follow_jobs_of(services, after)
        saved.connected.append(("wedgehr", f"{label} ({env})"))
    if credentials.sparkhire_workspace:
        key, label = credentials.sparkhire_workspace
        after = await repo.upsert_workspace(team_id, "sparkhire", key, account_label=label, connected_by=user_id)
        old = before.get(("sparkhire", "workspace", None))
        saved.notes += await follow_new_key(services, before=old, after=after)
        if _key_changed(old, after):
            saved.notes += await _follow_jobs_of(services, after)
        saved.connected.append(("sparkhire", label + " (workspace)"))
    if credentials.sparkhire_user:
        key, label = credentials.sparkhire_user
        after = await repo.upsert_user(team_id, user_id, "sparkhire", key, account_label=label)
        old = before.get(("sparkhire", "user", user_id))
        saved.notes += await follow_new_key(services, before=old, after=after)
        if _key_changed(old, after):
            saved.notes += await _follow_jobs_of(services, after)
        saved.connected.append(("sparkhire", label + " (yours)"))
    for vendor, label in saved.connected:
        await services.db.audit.add(
            team_id=team_id, user_id=user_id, action="connection.set", vendor=vendor, target=label
        )
    return saved


def _key_changed(before: Connection | None, after: Connection) -> bool:
    """Whether a connection saved before now reads with another key (perhaps of another account)."""
    return before is not None and (not before.readable or before.credential != after.credential)


async def _follow_jobs_of(services: Services, connection: Connection) -> list[str]:
    """The jobs its subscriptions follow by id, as the connection's new key sees them (``follow_jobs``)."""
    return await follow_jobs(services, await services.db.subscriptions.list_using_connection(connection.id), connection)


def _resumed_notes(services: Services, done: CatchUp) -> list[str]:
    """What a new WedgeHR token re-enabled, and what of what they missed is posted."""
    if not done.resumed:
        return []
    count = len(done.resumed)
    what = "the WedgeHR subscription" if count == 1 else f"{count:,} WedgeHR subscriptions"
    # Polls failed while the token was refused: what was completed meanwhile was never recorded, and
    # the next poll reads it (restart_baseline keeps the last good poll's time).
    next_poll = "Interviews completed since the last successful poll are posted with the next poll."
    return [
        f"Re-enabled {what} paused because WedgeHR rejected the old token. "
        + missed_note(services, done, nothing=next_poll)
        + ("" if not done.queued and not done.too_old and not done.older_uncounted else f" {next_poll}")
    ]


@dataclass
class Disconnected:
    """What became of a disconnected connection's dependants."""

    notes: list[str] = field(default_factory=list)
    #: Subscriptions paused because nothing else could serve them (their creators are to be told).
    paused: list[Subscription] = field(default_factory=list)
    #: Why they were paused, as stored with them.
    reason: str = ""


def paused_reason(connection: Connection) -> str:
    label = connection.account_label[:60]
    return (
        f"the {VENDOR_LABELS[connection.vendor]} account it read through ({label}) was disconnected; run "
        "/interview subscribe with its words in the channel again once another is connected"
    )


async def disconnect(services: Services, connection: Connection, *, user_id: str) -> Disconnected:
    """Delete a stored connection (not one copied from the environment), audit it, and settle what used it.

    Its subscriptions go on with what now serves the workspace, when something does: a workspace
    connection replaced by a setting (``WEDGEHR_TOKEN``...) reverts to it in place; a user's own key
    gives way to the workspace's, as it does for their invites. That is what `/interview subscribe`
    would choose now, so the channels keep their events. Otherwise they are paused with a reason
    (a channel falling silent without one would look like a quiet week). Its Spark Hire webhook is
    deleted: nothing can receive its deliveries once the connection is gone.
    """
    assert connection.connected_by != ENV_CONNECTED_BY, "the environment's connections are not disconnected"
    db = services.db
    team_id, vendor = connection.team_id, connection.vendor
    result = Disconnected()
    from_setting = services.environment_credential(team_id, vendor) if connection.scope == "workspace" else None
    if from_setting is not None:
        # Deleted, it would come back from the setting at the next request: revert now, keeping its id
        # (its subscriptions, poll state and webhook URL name it), as a new key would.
        name, secret, environment = from_setting
        after = await db.connections.upsert_workspace(
            team_id,
            vendor,
            secret.get_secret_value(),
            account_label=f"from {name}",
            connected_by=ENV_CONNECTED_BY,
            environment=environment,
        )
        result.notes.append(f"The workspace uses {name} from the bot's settings again.")
        if vendor == "wedgehr":
            resumed = await services.follow_new_wedgehr_token(after.id, user_id=user_id)
            result.notes += _resumed_notes(services, resumed)
        else:
            result.notes += await follow_new_key(services, before=connection, after=after)
        if _key_changed(connection, after):
            result.notes += await _follow_jobs_of(services, after)
    else:
        subscriptions = await db.subscriptions.list_using_connection(connection.id)
        fallback = await services.resolve_connection(team_id, vendor) if connection.scope == "user" else None
        await _settle(services, connection, subscriptions, fallback, result)
        if not await delete_webhook_of(services, connection):
            which = (
                f"webhook {connection.webhook_uuid}"
                if connection.webhook_uuid
                else f"the webhook registered by hand, if one was (its URL ends in {webhook_path(connection.id)}),"
            )
            logger.warning("Spark Hire %s of a disconnected connection in %s was left in place", which, team_id)
            result.notes.append(
                f"Delete {which} in Spark Hire's webhook settings: the bot could not. Its calls are refused meanwhile."
            )
        await db.connections.delete(connection.id)
        # A subscribe (in another process, or this one) may have saved one with it meanwhile; none can
        # from now on (``SubscriptionRepo.add`` checks the account is still connected): settled alike.
        late = [s for s in await db.subscriptions.list_using_connection(connection.id) if not s.paused]
        if late:
            logger.info("%d subscription(s) made with connection %s as it was disconnected", len(late), connection.id)
            await _settle(services, connection, late, fallback, result)
    await db.audit.add(
        team_id=team_id,
        user_id=user_id,
        action="connection.removed",
        vendor=vendor,
        target=connection.account_label,
        detail={"scope": connection.scope},
    )
    return result


async def _settle(
    services: Services,
    connection: Connection,
    subscriptions: list[Subscription],
    fallback: Connection | None,
    result: Disconnected,
) -> None:
    """Move the subscriptions of a connection being disconnected to ``fallback``, else pause them."""
    if fallback is not None and fallback.readable and subscriptions:
        await _move(services, subscriptions, fallback, result)
    elif subscriptions:
        result.reason = paused_reason(connection)
        for subscription in subscriptions:
            if not subscription.paused:
                await services.db.subscriptions.pause(subscription.id, result.reason)
                result.paused.append(subscription)


async def _move(services: Services, subscriptions: list[Subscription], to: Connection, result: Disconnected) -> None:
    """Point subscriptions at the connection that now serves their creators, receiving its events."""
    if to.vendor == "wedgehr":
        await watch_from_now(services, to.id)  # what that account already holds is not news
    for subscription in subscriptions:
        await services.db.subscriptions.update(subscription.id, connection_id=to.id)
    result.notes.append(
        f"{len(subscriptions)} channel subscription(s) now get {VENDOR_LABELS[to.vendor]} events through the "
        f"workspace's connection ({to.account_label})."
    )
    result.notes += await follow_jobs(services, subscriptions, to)
    if to.vendor != "sparkhire":
        return
    try:
        note = await ensure_webhook(services, to)
    except BusyError:
        note = WEBHOOK_BUSY
    except ConnectionGoneError:  # disconnected too, meanwhile: its own Disconnect settles them
        note = None
    except VendorError as exc:
        note = f"Spark Hire did not take the workspace account's webhook ({exc}). {SUBSCRIBE_AGAIN}"
    if note:
        result.notes.append(str(note))
