"""Subscribing channels: storing subscriptions and registering Spark Hire webhooks for them."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from typing import Any

from blocks.models import SubscriptionView
from blocks.subscriptions import (
    CHOICE_GROUPS_MOST,
    CHOICE_IDS_MOST,
    manual_webhook_text,
    missed_text,
    renewing_words,
)
from bot.crypto import SecretKeyMismatchError
from bot.errors import BusyError, ConnectionGoneError, NotConnectedError, UserFacingError
from bot.notify.events import routed
from bot.notify.grammar import SubscriptionRequest
from bot.notify.jobs import (
    JOB_CHECK_SECONDS,
    VENDOR_NAMES,
    WHAT,
    JobCheck,
    check_job,
    job_word,
    match_job,
    vendor_jobs,
)
from bot.notify.receiver import ARRIVALS, webhook_path
from bot.services import ENV_CONNECTED_BY, Services
from bot.sparkhire.models import Webhook
from bot.storage import Connection, NewEvent, Subscription
from bot.storage.repos import CatchUp
from bot.vendors.errors import VendorError

logger = logging.getLogger(__name__)

WEBHOOK_USER = "interview-bot"
#: A Re-enable posts what the subscription missed while paused from this many days back at most
#: (fewer if EVENT_RETENTION_DAYS keeps events' details for less)...
CATCH_UP_DAYS = 7
#: ...and at most this many notifications, the newest: a channel gets about one a second.
CATCH_UP_MOST = 200
#: How long ``subscribe test`` waits for the replayed event to tell the user what became of it.
REPLAY_WAIT_SECONDS = 5.0
REPLAY_EVENTS = {
    "completed": "InterviewCompleted",
    "rated": "InterviewRated",
    "expired": "InterviewExpired",
    "accepted": "InterviewAccepted",
    "created": "InterviewCreated",
    "rescheduled": "InterviewRescheduled",
    "reset": "InterviewReset",
    "jobs": "JobUpdated",
    "canceled": "InterviewDeleted",
}


class NoVendorConnectedError(NotConnectedError):
    """Nothing to subscribe to on any platform: naming one would send a team that uses the other astray."""

    def __init__(self) -> None:
        UserFacingError.__init__(
            self,
            "Neither WedgeHR nor Spark Hire is connected yet. Connect the one your team uses with "
            "`/interview connect` (a workspace admin connects WedgeHR; anyone can connect their own "
            "Spark Hire API key), then run this command again.",
        )
        self.vendor = ""  # the connect form offers both


#: The pause of a channel shared with another organisation (Slack Connect) after it subscribed: its
#: people outside the company would see the candidates. Only `/interview subscribe ... shared` in the
#: channel lifts it (the Re-enable button cannot carry that confirmation).
SHARED_REASON = "the channel is now shared with another organisation"


def to_view(s: Subscription) -> SubscriptionView:
    return SubscriptionView(
        id=s.id,
        channel_id=s.channel_id,
        vendor=s.vendor,
        events=s.events,  # type: ignore[arg-type]
        job_filter=s.job_filter,
        excludes=s.excludes,
        compact=s.compact,
        paused=s.paused,
        paused_reason=s.paused_reason,
        resumable_by_button=s.paused_reason != SHARED_REASON,
    )


#: Subscriptions by platform and account, each with a connection naming the account (None: no
#: longer connected), as ``_by_account`` groups them.
Accounts = list[tuple[Connection | None, list[Subscription]]]


@dataclass
class Outcome:
    subscriptions: list[Subscription] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The channel's other subscriptions of the same platforms, reading other accounts.
    others: list[Subscription] = field(default_factory=list)
    #: The subscriptions above by account.
    accounts: Accounts = field(default_factory=list)
    #: Paused subscriptions this re-enabled, and what they missed meanwhile, as a Re-enable does.
    caught_up: list[CatchUp] = field(default_factory=list)
    #: The Spark Hire webhook the bot could not register (no PUBLIC_URL): to register by hand.
    by_hand: ByHand | None = None

    def views(self) -> tuple[list[SubscriptionView], list[SubscriptionView]]:
        """The confirmed subscriptions and the others, each naming its account when the channel
        has subscriptions of its platform reading different accounts."""
        views = _naming_accounts([*self.subscriptions, *self.others], self.accounts)
        return views[: len(self.subscriptions)], views[len(self.subscriptions) :]


def _mixed(subs: list[Subscription], accounts: Accounts | None = None) -> list[bool]:
    """For each subscription, whether its channel has subscriptions of its platform reading
    different accounts (then each line says which): different connections, unless ``accounts``
    groups them as one account."""
    account = {s.id: index for index, (_, group) in enumerate(accounts or []) for s in group}
    reading: dict[tuple[str, str, str], set[object]] = {}
    for s in subs:
        reading.setdefault((s.team_id, s.channel_id, s.vendor), set()).add(account.get(s.id, s.connection_id))
    return [len(reading[(s.team_id, s.channel_id, s.vendor)]) > 1 for s in subs]


def _naming_accounts(subs: list[Subscription], accounts: Accounts) -> list[SubscriptionView]:
    """Views of ``subs``, each line naming its account (as ``accounts`` names it) in a channel
    reading several accounts of its platform."""
    named = {s.id: connection for connection, group in accounts for s in group}
    views = []
    for s, mixed in zip(subs, _mixed(subs, accounts), strict=True):
        view = to_view(s)
        if mixed:
            account, owner = account_of(named.get(s.id))
            view = replace(view, account=account, account_owner=owner)
        views.append(view)
    return views


async def views_naming_accounts(services: Services, subs: list[Subscription]) -> list[SubscriptionView]:
    """``subs`` as listed: a channel whose subscriptions of one platform read different accounts
    has each line say which. Two keys of one account are one, as ``unsubscribe`` tells them, when
    Spark Hire says so within ``JOB_CHECK_SECONDS``; else each key's lines name its own account."""
    mixed_subs = [s for s, mixed in zip(subs, _mixed(subs), strict=True) if mixed]
    accounts = await _by_account(services, mixed_subs, recent=True)
    return _naming_accounts(subs, accounts)


async def _readable_connection(services: Services, connection_id: str) -> Connection | None:
    """The connection, or None when it is gone or its key cannot be read (said "no longer connected")."""
    try:
        return await services.db.connections.get(connection_id)
    except SecretKeyMismatchError:
        return None


def _webhook_lock(services: Services, connection_id: str) -> AbstractAsyncContextManager[None]:
    """Every read-then-register or delete of a connection's webhook, one process at a time.

    Raises BusyError when another request held it past the database timeout. By then each caller
    has saved what the user asked for, so each says what is left to do instead of failing.
    """
    return services.db.exclusive(f"sparkhire-webhook:{connection_id}")


@dataclass(frozen=True)
class ByHand:
    """No PUBLIC_URL: the bot cannot register the connection's webhook, so someone registers it by
    hand in Spark Hire's webhook settings, at ``path`` under the bot's public address, with the
    credentials stored for the connection (shown only to who may manage it, never in a message).

    As text (``str()``): what to do, for a reply that cannot carry the button that shows them.
    """

    connection_id: str
    path: str
    #: Whose own key the connection is (they alone may see the credentials); None: the workspace's.
    owner: str | None = None

    def __str__(self) -> str:
        return manual_webhook_text()


async def ensure_webhook(services: Services, connection: Connection) -> str | ByHand | None:
    """Register this connection's webhook unless Spark Hire still has it.

    Returns a note for the user when it could not: ``ByHand`` when PUBLIC_URL is not set. One
    process at a time per connection: two subscribes at once on two web processes would each
    register one, and only one is stored.
    """
    async with _webhook_lock(services, connection.id):
        return await _ensure_webhook(services, connection)


async def _ensure_webhook(services: Services, connection: Connection) -> str | ByHand | None:
    # Read again, not from the per-process cache: another process may have just replaced the key,
    # or deleted it (a Disconnect): a webhook registered for it would be refused for ever.
    current = await services.db.connections.get(connection.id)
    if current is None:
        raise ConnectionGoneError(connection.vendor)
    connection = current
    if connection.webhook_uuid and not await services.db.connections.webhook_auth_readable(connection.id):
        # Its password was saved under another BOT_SECRET_KEY: deliveries cannot be checked. Replace it.
        logger.warning("Registering webhook %s again: its password is unreadable", connection.webhook_uuid)
        await _delete_webhook(services, connection, connection.webhook_uuid)
        return await _register_webhook(services, connection, new_password=True)
    if connection.webhook_uuid:
        try:
            if await _listed(services, connection, connection.webhook_uuid):
                return None
        except VendorError as exc:  # cannot tell: keep the registration we know of
            logger.warning("Could not list Spark Hire webhooks to check ours: %s", exc)
            return None
        logger.info("Spark Hire no longer has webhook %s; registering it again", connection.webhook_uuid)
    return await _register_webhook(services, connection)


async def _register_webhook(services: Services, connection: Connection, *, new_password: bool = False) -> ByHand | None:
    """Register the connection's webhook with Spark Hire, or, without PUBLIC_URL, make sure it has
    credentials for someone to register it by hand (``ByHand``).

    The stored password is kept (a webhook registered by hand with it goes on working) unless
    ``new_password``: the old registration must stop being accepted (another account's key, or a
    password no longer readable).
    """
    public_url = services.settings.public_url
    path = webhook_path(connection.id)
    auth = None if new_password else await _stored_webhook_auth(services, connection.id)
    if auth is None:
        auth = f"{WEBHOOK_USER}:{secrets.token_urlsafe(24)}"
    # The password is stored first: Spark Hire may deliver as soon as the webhook exists, before its
    # answer to the registration reaches us.
    await services.db.connections.set_webhook(connection.id, webhook_uuid=None, webhook_auth=auth)
    if not public_url:
        owner = connection.user_id if connection.scope == "user" else None
        return ByHand(connection_id=connection.id, path=path, owner=owner)
    client = services.client_for(connection)
    try:
        hook = await client.create_webhook(  # type: ignore[attr-defined]
            description="Interview Bot for Slack", url=public_url + path, http_auth=auth
        )
    finally:  # even a failed answer may have registered it: the keys' lists are asked again
        services.webhook_lists.forget()
    await services.db.connections.set_webhook(connection.id, webhook_uuid=hook.uuid, webhook_auth=auth)
    return None


async def _stored_webhook_auth(services: Services, connection_id: str) -> str | None:
    """The connection's stored webhook ``user:pass``; None when it has none this BOT_SECRET_KEY reads."""
    if not await services.db.connections.webhook_auth_readable(connection_id):
        return None
    found = await services.db.connections.webhook_auth(connection_id)
    return found[1] if found else None


async def _listed(services: Services, connection: Connection, webhook_uuid: str) -> bool:
    """Whether Spark Hire lists ``webhook_uuid`` to this connection's key (VendorError if it cannot be asked).

    It may not list it: deleted in Spark Hire's webhook console, disabled by Spark Hire after
    failing for days, or registered with a key of another account. Every `subscribe` checks, so
    running it again repairs a subscription that stopped receiving events.
    """
    hooks = await services.client_for(connection).list_webhooks()  # type: ignore[attr-defined]
    return any(hook.uuid == webhook_uuid for hook in hooks)


def account_unchecked(other: Subscription) -> str:
    """Spark Hire did not say in time whether the key reads ``other``'s account: what to do if it does.

    Plain `unsubscribe` would stop every subscription of the channel, other platforms' too; the words
    that name ``other`` (platform, job, excludes, compact; no events: whole subscriptions) stop these two.
    """
    command = renewing_words(replace(to_view(other), events=()), shared=False)
    words = command.removeprefix("/interview subscribe ") if command else None
    unsubscribe = f"`/interview unsubscribe {words}`" if words else "`/interview unsubscribe` with these words"
    return (
        "Spark Hire could not say in time whether your key reads the same account as this channel's other "
        "Spark Hire subscription with these words, so this one is separate. If it is the same account, each "
        f"event may be posted twice: {unsubscribe} stops the subscriptions it names here, these two among "
        "them (it asks which, if their accounts differ), and this command again then makes one."
    )


WEBHOOK_BUSY = (
    "Another request is setting up this Spark Hire account's webhook right now. If this channel gets no "
    "events, run `/interview subscribe test` here in a minute to check."
)
#: Each with its own words: other words (plain `subscribe` in a channel following one job) add a
#: subscription beside it, for every job.
SUBSCRIBE_AGAIN = (
    "Run `/interview subscribe` in those channels again, with each subscription's own words "
    "(`/interview subscriptions` there lists them; other words add a subscription), so they get this "
    "account's events."
)


async def follow_new_key(services: Services, *, before: Connection | None, after: Connection) -> list[str]:
    """Keep subscribed channels' Spark Hire events coming after a connection's key was replaced.

    Under the connection's webhook lock, as every read-then-register or delete of its webhook is.
    """
    try:
        async with _webhook_lock(services, after.id):
            return await _follow_new_key(services, before=before, after=after)
    except BusyError:
        return [f"Another request was changing this account's Spark Hire webhook at the same moment. {SUBSCRIBE_AGAIN}"]


async def _follow_new_key(services: Services, *, before: Connection | None, after: Connection) -> list[str]:
    """The work of follow_new_key.

    A key of another account cannot see the webhook registered with the old key, and the old
    account would go on sending events the channel no longer wants. So the webhook is registered
    again with the new key (unless Spark Hire shows it to that key: same account), and the old
    registration deleted with the old key. Returns notes for the user.

    A webhook registered by hand (a password stored, no registration the bot knows of) is followed
    too: for a key of another account, or one Spark Hire cannot confirm is of the same account, the
    password is replaced (the old account's deliveries stop being accepted) and the user is told to
    register the webhook again in the new account and delete the old one.
    """
    if before is None or before.credential == after.credential:
        return []
    if not before.webhook_uuid:
        if not await services.db.connections.has_webhook_auth(after.id):
            return []  # no webhook, registered or to register by hand: nothing follows the key
        return await _follow_new_key_by_hand(services, before=before, after=after)
    if not before.readable:  # saved under another BOT_SECRET_KEY: the old key cannot be used to clean up
        note = await _register_webhook(services, after, new_password=True)
        return (
            [str(note)]
            if note
            else [
                f"Subscribed channels now get Spark Hire events from {after.account_label}. Delete the old webhook "
                f"({before.webhook_uuid}) in Spark Hire's webhook settings: its key could not be read to delete it."
            ]
        )
    try:
        if await _listed(services, after, before.webhook_uuid):
            return []  # the same account: its registration stands
    except VendorError as exc:
        logger.warning("Could not list Spark Hire webhooks with the new key: %s", exc)
        return [f"Spark Hire did not let this key list its webhooks ({exc}). {SUBSCRIBE_AGAIN}"]
    try:
        note = await _register_webhook(services, after, new_password=True)
    except VendorError as exc:  # the password was replaced all the same: the old registration is dead
        logger.warning("Could not register the webhook with the new key: %s", exc)
        notes = [f"Spark Hire did not take this account's webhook ({exc}). {SUBSCRIBE_AGAIN}"]
    else:
        if note:  # not registered: its password was replaced, so the old registration is dead all the same
            notes = [str(note)]
        else:
            notes = [
                "Subscribed channels now get Spark Hire events from this account "
                f"({after.account_label}), no longer from {before.account_label}."
            ]
    # A key revoked with the account change cannot delete: its deliveries now fail our password check.
    await _delete_webhook(services, before, before.webhook_uuid)
    return notes


async def _follow_new_key_by_hand(services: Services, *, before: Connection, after: Connection) -> list[str]:
    """The work of follow_new_key for a webhook registered by hand (its uuid unknown to the bot)."""
    same, old_hooks = await _same_account_by_hand(services, before=before, after=after)
    if same:
        return []  # the webhook registered by hand in this account stands, with its password
    old = before.account_label
    try:
        # The old account's registration must stop being accepted: the receiver checks only the password.
        note = await _register_webhook(services, after, new_password=True)
    except VendorError as exc:  # the password was replaced all the same: the old registration is dead
        logger.warning("Could not register the webhook with the new key: %s", exc)
        first = f"Spark Hire did not take this account's webhook ({exc}). {SUBSCRIBE_AGAIN}"
    else:
        if isinstance(note, ByHand):
            first = (
                f"This key may be of another Spark Hire account than {old}'s (Spark Hire does not show the webhook "
                "registered by hand to it), so that webhook's password was replaced and its calls are now refused. "
                f"Register the webhook again in this account ({after.account_label}), with the new credentials: {note}"
            )
        else:
            first = (
                "Subscribed channels now get Spark Hire events from this account "
                f"({after.account_label}), no longer from {old}."
            )
    # Deleted from the old key's list as it was before the new registration, which (for one account
    # Spark Hire could not confirm) that key may list too, at the same path.
    if old_hooks is not None and await _delete_at_path(services, before, old_hooks, webhook_path(before.id)):
        return [f"{first} The webhook registered by hand in {old}'s Spark Hire account, if any, was deleted."]
    return [
        f"{first} Delete the webhook registered by hand in {old}'s Spark Hire webhook settings: the bot could "
        "not. Its calls are refused meanwhile."
    ]


async def _same_account_by_hand(
    services: Services, *, before: Connection, after: Connection
) -> tuple[bool, list[Webhook] | None]:
    """Whether Spark Hire shows the new key to be of the old key's account, for a webhook registered
    by hand (the bot does not know its uuid): the new key lists a webhook at the connection's path,
    or one the old key lists too (keys of one account list the same webhooks). False when it
    cannot say: another account, as far as the bot can tell. With it, what the old key listed (None:
    it could not be asked)."""
    path = webhook_path(after.id)
    keys = [after, *([before] if before.readable else [])]
    answers = await asyncio.gather(
        *(services.client_for(c).list_webhooks() for c in keys),  # type: ignore[attr-defined]
        return_exceptions=True,
    )
    for answer in answers:
        if isinstance(answer, BaseException) and not isinstance(answer, VendorError):
            raise answer
    lists = [answer if isinstance(answer, list) else None for answer in answers]
    old = lists[1] if len(lists) > 1 else None
    if lists[0] is None:
        logger.warning("Could not list Spark Hire webhooks with the new key: %s", answers[0])
        return False, old
    if any(_at_path(hook.url, path) for hook in lists[0]):
        return True, old
    return bool(old and {hook.uuid for hook in old} & {hook.uuid for hook in lists[0]}), old


async def release_webhook_if_unused(services: Services, connection_id: str | None) -> bool:
    """Delete the Spark Hire registration once no subscription uses the connection.

    Returns False when a registration is left in place: still used, or Spark Hire would not delete it.
    Under the connection's webhook lock: a subscribe on another process must not find the webhook
    listed just before this deletes it.
    """
    if not connection_id:
        return False
    try:
        async with _webhook_lock(services, connection_id):
            return await _release_webhook_if_unused(services, connection_id)
    except BusyError:  # a subscribe may be about to use it: left to whoever holds the lock
        logger.info("Left connection %s's Spark Hire webhook to the request changing it now", connection_id)
        return False


async def _release_webhook_if_unused(services: Services, connection_id: str) -> bool:
    if await services.db.subscriptions.count_using_connection(connection_id):
        return False
    try:
        connection = await services.db.connections.get(connection_id)
    except SecretKeyMismatchError:  # its key cannot be read to ask Spark Hire: the caller says what to do
        return False
    if connection is None or not connection.webhook_uuid:
        return True
    if not await _delete_webhook(services, connection, connection.webhook_uuid):
        return False
    await services.db.connections.clear_webhook(connection_id)
    return True


async def delete_webhook_of(services: Services, connection: Connection) -> bool:
    """Delete a connection's registration before the connection itself is deleted.

    Whatever subscribed through it has been moved or paused by then: nothing can receive its
    deliveries once the connection is gone. False when it is left at Spark Hire (logged): its key
    cannot be read, Spark Hire would not delete it, or another request holds the webhook lock.
    """
    by_hand = not connection.webhook_uuid
    if by_hand and not (
        connection.vendor == "sparkhire" and await services.db.connections.has_webhook_auth(connection.id)
    ):
        return True  # never subscribed: no webhook of its own anywhere
    if not connection.readable:
        return False
    try:
        async with _webhook_lock(services, connection.id):
            if by_hand:  # no PUBLIC_URL: someone may have registered it by hand, at its path
                return await delete_registered_by_hand(services, key=connection, path=webhook_path(connection.id))
            return await _delete_webhook(services, connection, connection.webhook_uuid)
    except BusyError:
        return False


async def delete_registered_by_hand(services: Services, *, key: Connection, path: str) -> bool:
    """Delete every webhook ``key``'s account lists at ``path``: registered by hand, their uuids are
    unknown to the bot. False (logged) when Spark Hire would not list or delete them."""
    if not key.readable:
        return False
    try:
        hooks = await services.client_for(key).list_webhooks()  # type: ignore[attr-defined]
    except VendorError as exc:
        logger.warning("Could not list Spark Hire webhooks to delete one registered by hand: %s", exc)
        return False
    return await _delete_at_path(services, key, hooks, path)


async def _delete_at_path(services: Services, key: Connection, hooks: list[Webhook], path: str) -> bool:
    """Delete, with ``key``, those of ``hooks`` (its account's) at ``path``; False when one was not."""
    deleted = [await _delete_webhook(services, key, hook.uuid) for hook in hooks if _at_path(hook.url, path)]
    return all(deleted)


def _at_path(url: str | None, path: str) -> bool:
    """Whether a webhook's URL is the bot's ``path`` (under whatever public address it was given)."""
    return (url or "").split("?", 1)[0].rstrip("/").endswith(path.rstrip("/"))


async def _delete_webhook(services: Services, connection: Connection, webhook_uuid: str) -> bool:
    """Delete a registration with ``connection``'s key; False (logged) when Spark Hire would not."""
    try:
        await services.client_for(connection).delete_webhook(webhook_uuid)  # type: ignore[attr-defined]
    except VendorError as exc:
        if exc.status_code == 404:  # already gone
            return True
        logger.warning("Could not delete Spark Hire webhook %s: %s", webhook_uuid, exc)
        return False
    finally:  # even a failed answer may have deleted it: the keys' lists are asked again
        services.webhook_lists.forget()
    return True


async def subscribe(
    services: Services,
    request: SubscriptionRequest,
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    explicit_vendor: bool,
) -> Outcome:
    """Subscribe the channel; nothing is saved when the request is refused.

    A subscription is the channel, platform, filters and the account it reads: run again with the
    same words by someone whose key is of another account, it adds that account's subscription
    beside the first, never moves the first to it.
    """
    outcome = Outcome()
    wanted: list[tuple[str, Connection, tuple[str, ...]]] = []
    unconnected_asked: list[str] = []
    for vendor in request.vendors:
        events = request.events_for(vendor)
        if not events:
            continue
        connection = await services.resolve_connection(team_id, vendor, user_id)  # type: ignore[arg-type]
        if connection is None:
            if explicit_vendor:
                raise NotConnectedError(vendor, needs_user_key=vendor == "sparkhire")
            if request.named_all:
                unconnected_asked.append(vendor)
            continue
        wanted.append((vendor, connection, events))
    if not wanted:
        if not any(request.events_for(v) for v in request.vendors):
            raise UserFacingError(
                "None of those events exist for the platform you named. "
                "WedgeHR: completed, send_failure, canceled. Spark Hire: completed, rated, "
                "expired, accepted, created, rescheduled, canceled, reset, jobs."
            )
        # Name the platform only when the events exist on that one alone.
        unconnected = [v for v in request.vendors if request.events_for(v)]
        if len(unconnected) > 1:
            raise NoVendorConnectedError()
        raise NotConnectedError(unconnected[0], needs_user_key=unconnected[0] == "sparkhire")
    for vendor in unconnected_asked:  # ``all``, with one platform connected: the other is said, not skipped
        outcome.notes.append(
            f"{NotConnectedError(vendor, needs_user_key=vendor == 'sparkhire')} Then run this command again"
            " to add its events here."
        )
    jobs = await _checked_jobs(services, request, wanted)
    for check in jobs.values():
        if check.missing:
            outcome.notes.append(check.not_found())
        elif note := check.note():
            outcome.notes.append(note)
        if check.job_id:  # the vendor's name now: subscriptions saved before a rename show it too
            await services.db.subscriptions.rename_job(
                team_id, check.vendor, check.job_id, check.name, as_of=check.named_at
            )
    existing = await services.db.subscriptions.list_for_channel(team_id, channel_id)
    gone = await _disconnected(services, existing)
    moved_from: set[str] = set()
    for vendor, connection, events in wanted:
        check = jobs.get(vendor)
        job_name, job_id = (check.name, check.job_id) if check else (None, None)
        candidates = [
            s
            for s in existing
            if s.vendor == vendor
            # The job's id is its old account's: one whose account was disconnected is the job's name.
            and (_same_job(s, job_name, job_id) or (s.id in gone and _job_key(s.job_filter) == _job_key(job_name)))
            and set(s.excludes) == set(request.excludes)
            and s.compact == request.compact
        ]
        same, reads = await _same_subscription(services, candidates, connection, notes=outcome.notes)
        if vendor == "wedgehr":
            await watch_from_now(services, reads.id)
        if same is not None:
            if same.paused:
                # As its Re-enable button would: with what it followed when paused, and with the
                # channel's others paused with it (what the pause stopped may be theirs to post).
                from bot.notify.paused import re_enabled_with  # built on this module

                group = await re_enabled_with(services, same)
                outcome.caught_up.append(await resume_catching_up(services, group, user_id=user_id, via="subscribe"))
            merged = tuple(dict.fromkeys([*same.events, *events]))
            values: dict[str, Any] = {"events": merged, "paused": False, "paused_reason": None}
            if same.connection_id != reads.id:  # its account was disconnected: it reads this one now
                values["connection_id"] = reads.id
                if same.connection_id:
                    moved_from.add(same.connection_id)
            if job_id and not same.job_id:  # saved before jobs were looked up: now followed by id
                values |= {"job_id": job_id, "job_filter": job_name, "job_named_at": check.named_at}
            elif same.id in gone and same.job_id != job_id:  # the disconnected account's job: this account's now
                values |= {"job_id": job_id, "job_filter": job_name, "job_named_at": check.named_at if job_id else None}
            await services.db.subscriptions.update(same.id, **values)
            subscription = await services.db.subscriptions.get(same.id)
        else:
            subscription = await services.db.subscriptions.add(
                team_id=team_id,
                channel_id=channel_id,
                vendor=vendor,
                events=events,
                created_by=user_id,
                job_filter=job_name,
                job_id=job_id,
                job_named_at=check.named_at if job_id else None,
                excludes=request.excludes,
                compact=request.compact,
                connection_id=connection.id,
            )
        assert subscription is not None
        outcome.subscriptions.append(subscription)
        if vendor == "sparkhire":
            try:
                note = await ensure_webhook(services, reads)
            except BusyError:  # the subscription is saved; the other request is registering the webhook
                note = WEBHOOK_BUSY
            if isinstance(note, ByHand):
                outcome.by_hand = note
            elif note:
                outcome.notes.append(note)
    for connection_id in moved_from:  # as unsubscribe does: a registration nothing reads from goes
        await release_webhook_if_unused(services, connection_id)
    confirmed_ids = {s.id for s in outcome.subscriptions}
    for subscription in outcome.subscriptions:
        if note := _filters_undone(subscription, [s for s in existing if s.id not in confirmed_ids]):
            outcome.notes.append(note)
    await _other_accounts(services, outcome, existing)
    await services.db.audit.add(
        team_id=team_id,
        user_id=user_id,
        action="subscription.added",
        target=channel_id,
        detail={"vendors": [v for v, _, _ in wanted], "events": list(request.events)},
    )
    return outcome


def _excluded_by(subscription: Subscription, address: str) -> bool:
    """Whether ``subscription`` leaves out the candidate (or domain) ``address`` an exclude names."""
    excludes = {e.casefold() for e in subscription.excludes}
    domain = "@" + address.casefold().rpartition("@")[2]
    return address.casefold() in excludes or domain in excludes


def _posts_alongside(other: Subscription, subscription: Subscription) -> bool:
    """Whether ``other`` (active) posts in its channel the events ``subscription`` would, of the
    events they share: same platform, an account it reads too, and every job or the same job."""
    return (
        not other.paused
        and other.vendor == subscription.vendor
        and other.connection_id in (None, subscription.connection_id)
        and (not other.job_filter or _same_job(other, subscription.job_filter, subscription.job_id))
    )


def _filters_undone(subscription: Subscription, others: list[Subscription]) -> str | None:
    """What the channel's other active subscriptions undo of ``subscription``'s ``exclude:`` and
    ``compact`` (None: nothing). A channel gets an event once when any of its subscriptions takes it,
    as a full card when any of them is not compact: one without an address excluded here posts that
    candidate's events all the same, one not compact posts full cards."""
    if not subscription.excludes and not subscription.compact:
        return None
    label = VENDOR_NAMES[subscription.vendor]
    for other in others:
        shared = [e for e in subscription.events if e in other.events]
        if not shared or not _posts_alongside(other, subscription):
            continue
        kept = [e for e in subscription.excludes if not _excluded_by(other, e)]
        full = subscription.compact and not other.compact
        if not kept and not full:
            continue
        undone = []
        if kept:
            shown = ", ".join(kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
            undone.append(f"does not exclude {shown}, so their {', '.join(shared)} events are still posted here")
        if full:
            undone.append(f"is not compact, so {', '.join(shared)} events are still posted here as full cards")
        job = f" for {other.job_filter}" if other.job_filter else ""
        words = f"{subscription.vendor}{' ' + job_word(other.job_filter) if other.job_filter else ''}"
        return (
            f"This channel's other {label} subscription{job} ({', '.join(other.events)}) "
            + " and ".join(undone)
            + ": an event is posted once when any of the channel's subscriptions takes it. To have only this "
            f"one, run `/interview unsubscribe {words}` (it removes this channel's {label} subscriptions{job}), "
            "then this command again."
        )
    return None


async def follow_jobs(services: Services, subscriptions: list[Subscription], connection: Connection) -> list[str]:
    """Subscriptions that now read ``connection`` (another key, perhaps of another account) and follow
    a job by the id the old key's account gave it. An account's job ids are its own: another account
    has none of them, and its events would never match. So each such job is looked up with the new
    key: listed, it stays; else the job of that name there is followed by its id; else (no such name,
    several, or the vendor could not be asked) the subscription follows the name. Returns what the
    user should know."""
    followed = [s for s in subscriptions if s.job_id and s.vendor == connection.vendor]
    if not followed:
        return []
    jobs, why = await vendor_jobs(services, connection)
    label, what = VENDOR_NAMES[connection.vendor], WHAT[connection.vendor]
    by_name: list[str] = []
    for s in followed:
        if jobs is not None and any(j.id.casefold() == (s.job_id or "").casefold() for j in jobs):
            continue  # the same account: its job stands
        check = match_job(connection.vendor, s.job_filter or "", jobs or []) if jobs is not None else None
        if check is not None and check.found is not None:
            await services.db.subscriptions.update(
                s.id, job_id=check.found.id, job_filter=check.name, job_named_at=check.named_at
            )
            continue
        await services.db.subscriptions.update(s.id, job_id=None, job_named_at=None)
        by_name.append(job_word(s.job_filter or ""))
    if not by_name:
        return []
    names = ", ".join(f"`{n}`" for n in dict.fromkeys(by_name))
    cause = (
        f"{label} could not say which {what}s this account has ({why})"
        if jobs is None
        else f"this account ({connection.account_label}) has no single {what} of that name"
    )
    return [
        f"Subscriptions following {names} now follow the {what} by its name: {cause}. They post once a {what} "
        f"of that name has events in this account; `/interview subscribe` with the same words in the channel "
        f"follows the {what} itself again (a rename then keeps its posts coming)."
    ]


def catch_up_days(services: Services) -> int:
    """How many days back a Re-enable posts what was missed."""
    return int(min(CATCH_UP_DAYS, services.settings.event_retention_days))


def missed_note(services: Services, done: CatchUp, *, nothing: str | None = None) -> str:
    """What a re-enable posts of what its subscriptions missed, in the Re-enable button's words
    (``nothing``: said instead when it posts nothing)."""
    return missed_text(
        queued=done.queued,
        too_old=done.too_old,
        older_uncounted=done.older_uncounted,
        days=catch_up_days(services),
        most=CATCH_UP_MOST,
        count=len(done.resumed),
        nothing=nothing,
    )


async def resume_catching_up(
    services: Services, subscriptions: list[Subscription], *, user_id: str, via: str
) -> CatchUp:
    """Re-enable paused subscriptions, queueing what they missed while paused (``CATCH_UP_DAYS``),
    and audit it (``subscription.resumed``, one entry per channel) as done by ``user_id`` through
    ``via`` ("button", "subscribe", "token").

    Whatever re-enables a subscription goes through here: the Re-enable button, ``subscribe`` run
    again, a new WedgeHR token.
    """
    done = await services.db.subscriptions.resume_catching_up(
        [s.id for s in subscriptions],
        not_before=time.time() - catch_up_days(services) * 86400,
        most=CATCH_UP_MOST,
        route=functools.partial(routed, candidate_tag=services.secret_box.tag),
    )
    channels: dict[tuple[str, str], list[Subscription]] = {}
    for subscription in done.resumed:
        channels.setdefault((subscription.team_id, subscription.channel_id), []).append(subscription)
    for (team_id, channel_id), resumed in channels.items():
        await services.db.audit.add(
            team_id=team_id,
            user_id=user_id,
            action="subscription.resumed",
            vendor=resumed[0].vendor,
            target=channel_id,
            # The counts are the whole re-enable's (a new token's may span channels).
            detail={"subscriptions": len(resumed), "queued": done.queued, "too_old": done.too_old, "via": via},
        )
    return done


async def _checked_jobs(
    services: Services, request: SubscriptionRequest, wanted: list[tuple[str, Connection, tuple[str, ...]]]
) -> dict[str, JobCheck]:
    """The ``job:`` looked up at each platform to subscribe, at the same time (none: no ``job:``)."""
    if not request.job:
        return {}
    job = request.job
    checks = await asyncio.gather(*(check_job(services, connection, job) for _, connection, _ in wanted))
    return {check.vendor: check for check in checks}


async def _disconnected(services: Services, subs: list[Subscription]) -> set[int]:
    """The ids of ``subs`` whose account was disconnected (their connection is gone)."""
    gone: set[int] = set()
    for connection_id in {s.connection_id for s in subs if s.connection_id}:
        try:
            if await services.db.connections.get(connection_id) is not None:
                continue
        except SecretKeyMismatchError:  # still stored, under another BOT_SECRET_KEY
            continue
        gone |= {s.id for s in subs if s.connection_id == connection_id}
    return gone


def _same_job(s: Subscription, name: str | None, job_id: str | None) -> bool:
    if s.job_id and job_id:
        return s.job_id == job_id
    return _job_key(s.job_filter) == _job_key(name)


async def _same_subscription(
    services: Services, candidates: list[Subscription], connection: Connection, *, notes: list[str]
) -> tuple[Subscription | None, Connection]:
    """Which of the channel's subscriptions with these words this request renews, and the
    connection that one reads from then (None, ``connection``: a new subscription).

    One reading ``connection``; else one reading the same account through another connection (the
    same credential, or a Spark Hire key that sees the other's webhook), which keeps its own; else one
    whose account was disconnected, which reads ``connection`` from now. One reading another
    account is left as it is: the channel follows both. ``notes``: what to tell the user, when
    Spark Hire could not say in time whether two keys read one account.
    """
    for s in candidates:
        if s.connection_id == connection.id:
            return s, connection
    read: list[tuple[Subscription, Connection | None]] = []
    for s in candidates:
        try:
            other = await services.db.connections.get(s.connection_id) if s.connection_id else None
        except SecretKeyMismatchError:  # cannot be compared: another account, as far as we can tell
            continue
        read.append((s, other))
        if other is None:  # renewed unless one before it reads this account
            break
    # ``connection``'s key lists its webhooks once, within JOB_CHECK_SECONDS as the lists ask. Not
    # answered, another account: a new subscription, or the disconnected one renewed (the lists show
    # both, the user is told) rather than this account's events added to one reading another
    # account, never posted.
    asked = [connection] if any(o and o.webhook_uuid and _may_differ(o, connection) for _, o in read) else []
    seen = await _webhooks_seen(services, asked, within=JOB_CHECK_SECONDS)
    for s, other in read:
        if other is not None and _one_account(other, connection, seen):
            return s, other
    if asked and connection.id not in seen:  # one before may read this account: its events twice
        notes.append(account_unchecked(read[0][0]))
    if read and read[-1][1] is None:  # the disconnected one (last read), renewed
        return read[-1][0], connection
    return None, connection


def _may_differ(first: Connection, second: Connection) -> bool:
    """Whether only Spark Hire can tell if two connections are of one account: two readable keys
    of it that differ."""
    return (
        first.vendor == second.vendor == "sparkhire"
        and first.readable
        and second.readable
        and first.credential != second.credential
    )


def _one_account(first: Connection, second: Connection, seen: dict[str, set[str]]) -> bool:
    """Whether two connections read one account, ``seen`` holding the webhooks each key listed
    (a key Spark Hire did not answer for, or not asked, lists none)."""
    if not (first.readable and second.readable) or first.vendor != second.vendor:
        return False
    if first.credential == second.credential:
        return True
    return first.vendor == "sparkhire" and bool(
        (first.webhook_uuid and first.webhook_uuid in seen.get(second.id, ()))
        or (second.webhook_uuid and second.webhook_uuid in seen.get(first.id, ()))
    )


async def _webhooks_seen(
    services: Services, connections: list[Connection], *, within: float | None = None, recent: bool = False
) -> dict[str, set[str]]:
    """The webhooks each connection's Spark Hire key lists, by connection id, asked all at once
    (``within``: for that many seconds at most); a key Spark Hire did not answer for is left out.

    ``recent``: a list the key gave within ``services.webhook_lists.seconds`` will do (for display:
    the lists and the App Home would otherwise ask on every render). Every answer is kept for that.
    """
    lists = services.webhook_lists
    asked_in = lists.generation

    async def listed(connection: Connection) -> set[str]:
        hooks = await services.client_for(connection).list_webhooks()  # type: ignore[attr-defined]
        uuids = {hook.uuid for hook in hooks}
        lists.put(connection, uuids, asked_in=asked_in)
        return uuids

    seen: dict[str, set[str]] = {}
    if recent:
        for connection in connections:
            if (kept := lists.get(connection)) is not None:
                seen[connection.id] = set(kept)
        connections = [c for c in connections if c.id not in seen]
    if not connections:
        return seen
    tasks = {asyncio.ensure_future(listed(c)): c for c in connections}
    done, pending = await asyncio.wait(tasks, timeout=within)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
        logger.info("Spark Hire did not say within %g s whether keys are of one account", within)
    for task in done:
        if isinstance(exc := task.exception(), VendorError):
            logger.info("Could not tell whether two Spark Hire keys are of one account: %s", exc)
        elif exc is not None:
            raise exc
        else:
            seen[tasks[task].id] = task.result()
    return seen


async def _other_accounts(services: Services, outcome: Outcome, existing: list[Subscription]) -> None:
    """The channel's subscriptions (``existing``, as read before this request) of the same platforms
    that read other accounts than those just confirmed: the reply names the account of each, so
    nobody takes one channel for one account. A key of the account just confirmed is that account."""
    confirmed = {s.id for s in outcome.subscriptions}
    reading = {(s.vendor, s.connection_id) for s in outcome.subscriptions}
    vendors = {vendor for vendor, _ in reading}
    elsewhere = [
        s
        for s in existing
        if s.id not in confirmed and s.vendor in vendors and (s.vendor, s.connection_id) not in reading
    ]
    outcome.accounts = await _by_account(services, [*outcome.subscriptions, *elsewhere], recent=True)
    same_accounts = {s.id for _, group in outcome.accounts if any(s.id in confirmed for s in group) for s in group}
    outcome.others = [s for s in elsewhere if s.id not in same_accounts]


def account_of(connection: Connection | None) -> tuple[str, str | None]:
    """A connection as the confirmation names it: its account's label, and whose key (a user id,
    or None for the workspace's, said in the label)."""
    if connection is None:
        return "an account no longer connected", None
    if connection.scope == "user" and connection.user_id:
        return connection.account_label, connection.user_id
    if connection.connected_by == ENV_CONNECTED_BY:  # labelled "from SPARKHIRE_API_KEY"
        return f"the workspace's key ({connection.account_label})", None
    return f"{connection.account_label} (the workspace's key)", None


async def watch_from_now(services: Services, connection_id: str) -> None:
    """Before a WedgeHR subscription starts or resumes: if nobody watched the account until now (no
    subscription, or only paused ones, so nobody polled it), what it holds is not news, and what is
    completed from now on is, even before the first poll."""
    if not await services.db.subscriptions.count_using_connection(connection_id, active_only=True):
        await services.db.poll_state.restart_baseline(connection_id, since=time.time())


def _job_key(job: str | None) -> str:
    # Subscriptions saved before quotes and list commas were read as such kept them in the name
    # (curly quotes around the name, a comma after it): the words that name them now still remove them.
    return (job or "").strip("\"'\u2018\u2019\u201c\u201d\u201e,;").casefold()


#: The most subscriptions an "which account?" answer to unsubscribe lists, each button naming
#: those it stops (a button's value holds 2,000 characters); more are narrowed with words first.
CHOICES_MOST = CHOICE_IDS_MOST


@dataclass
class Unsubscribed:
    """What ``unsubscribe`` did, or the choice it leaves to the user."""

    removed: int = 0
    narrowed: int = 0
    #: The words reach subscriptions of one platform reading different accounts: nothing changed,
    #: and these are the subscriptions they reach, one list per platform and account (each line
    #: naming its account), for the user to pick which stop.
    choices: list[list[SubscriptionView]] = field(default_factory=list)
    #: What the user should know: a ``job:`` the vendor could not be asked about.
    notes: list[str] = field(default_factory=list)
    #: With ``choices``: when the subscriptions were read (a pick stops none made since).
    asked_at: float | None = None


async def unsubscribe(
    services: Services,
    request: SubscriptionRequest,
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
) -> Unsubscribed:
    """Remove all or part of this channel's subscriptions the words name.

    Words that reach subscriptions of one platform reading different accounts (the channel follows
    a job through two Spark Hire accounts) change nothing: the answer lists them by account to pick.
    Two keys of one account (the workspace's and a recruiter's own) are one account: no question.
    """
    asked_at = time.time()
    subs = await services.db.subscriptions.list_for_channel(team_id, channel_id)
    reached, notes = await _reached(services, request, team_id, subs)
    events = request.events if request.explicit_events else ()
    changing = [s for s in reached if _left_after(s, events) != s.events]
    # Asked afresh: a stale "one account" would remove the subscriptions of two without asking.
    accounts = await _by_account(services, changing, recent=False)
    vendors = [group[0].vendor for _, group in accounts]
    if len(vendors) != len(set(vendors)):
        return Unsubscribed(choices=_choices(accounts), asked_at=asked_at)
    removed, narrowed = await _stop(services, changing, events, team_id=team_id, channel_id=channel_id, user_id=user_id)
    left = await services.db.subscriptions.list_for_channel(team_id, channel_id)
    notes += dict.fromkeys(n for s in changing if (n := _still_posted(s, events, left)))
    return Unsubscribed(removed=removed, narrowed=narrowed, notes=notes)


def _still_posted(stopped: Subscription, events: tuple[str, ...], left: list[Subscription]) -> str | None:
    """What the channel's remaining subscriptions (``left``) still post of what ``stopped`` no longer
    takes (``events``; none: all of its events), as a note (None: nothing)."""
    gone = [e for e in stopped.events if not events or e in events]
    for other in left:
        shared = [e for e in gone if e in other.events]
        if other.id == stopped.id or not shared or not _posts_alongside(other, stopped):
            continue
        label = VENDOR_NAMES[stopped.vendor]
        job = f" of {stopped.job_filter}" if stopped.job_filter else ""
        its = ", ".join(other.events) + ("" if other.job_filter else ", every job")
        return (
            f"{label} {', '.join(shared)} events{job} still reach this channel through its other {label} "
            f"subscription ({its}): an event is posted when any of the channel's subscriptions takes it. "
            "`/interview subscriptions` lists them."
        )
    return None


async def unsubscribe_chosen(
    services: Services,
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    subscription_ids: list[int],
    events: tuple[str, ...],
    asked_at: float | None = None,
) -> Unsubscribed:
    """The subscriptions picked from unsubscribe's "which account?" answer: those still there stop
    (``events``: only those events; none: all of them). ``asked_at``: when the answer read them; a
    subscription made since is not one of them, even with the id of one (SQLite reuses the ids of
    removed rows)."""
    chosen = []
    for subscription_id in dict.fromkeys(subscription_ids):
        s = await services.db.subscriptions.get(subscription_id)
        if s is None or s.team_id != team_id or s.channel_id != channel_id:
            continue
        if asked_at is None or s.created_at <= asked_at:
            chosen.append(s)
    removed, narrowed = await _stop(
        services,
        [s for s in chosen if _left_after(s, events) != s.events],
        events,
        team_id=team_id,
        channel_id=channel_id,
        user_id=user_id,
    )
    return Unsubscribed(removed=removed, narrowed=narrowed)


def _left_after(s: Subscription, events: tuple[str, ...]) -> tuple[str, ...]:
    """The events ``s`` keeps once ``events`` stop (none given: all of them stop)."""
    return tuple(e for e in s.events if e not in events) if events else ()


async def _reached(
    services: Services, request: SubscriptionRequest, team_id: str, subs: list[Subscription]
) -> tuple[list[Subscription], list[str]]:
    """The channel's subscriptions the words name: each word given narrows them, as it did when
    subscribing. A ``job:`` no subscription shows (the job renamed at the vendor since) is looked
    up at the vendor, and names the subscriptions following the job it finds by id. With notes
    for the user: a vendor that could not be asked."""
    excludes = {e.casefold() for e in request.excludes}
    reached = [
        s
        for s in subs
        if s.vendor in request.vendors
        and (not excludes or {e.casefold() for e in s.excludes} == excludes)
        and (s.compact or not request.compact)
    ]
    if not request.job:
        return reached, []
    wanted = _job_key(request.job)
    by_words = [s for s in reached if wanted in {_job_key(s.job_filter), _job_key(s.job_id)}]
    if by_words:
        return by_words, []
    following, unchecked = await _jobs_named(services, team_id, request.job, [s for s in reached if s.job_id])
    by_id = [s for s in reached if (s.connection_id, s.job_id) in following]
    if by_id or not unchecked:
        return by_id, []
    vendors = " or ".join(dict.fromkeys(VENDOR_NAMES[c.vendor] for c in unchecked))
    why = "; ".join(dict.fromkeys(c.unchecked or "" for c in unchecked))
    return [], [
        f"I could not look `{job_word(request.job)}` up at {vendors} ({why}), so I matched only the job names "
        "this channel's subscriptions show. A job renamed since is listed under its old name: "
        "`/interview subscriptions` shows them."
    ]


async def _jobs_named(
    services: Services, team_id: str, typed: str, subs: list[Subscription]
) -> tuple[set[tuple[str | None, str | None]], list[JobCheck]]:
    """The (connection, job id) pairs of the jobs named ``typed`` at the vendor now, asked through
    each connection ``subs`` read (within ``JOB_CHECK_SECONDS``, all at once), and the checks of
    those that could not be asked. The names found are stored: the lists show them from now on."""
    connections = []
    for connection_id in dict.fromkeys(s.connection_id for s in subs if s.connection_id):
        if (connection := await _readable_connection(services, connection_id)) is not None and connection.readable:
            connections.append(connection)
    checks = await asyncio.gather(*(check_job(services, c, typed) for c in connections))
    named: set[tuple[str | None, str | None]] = set()
    for connection, check in zip(connections, checks, strict=True):
        for job in [*([check.found] if check.found else []), *check.same_name]:
            named.add((connection.id, job.id))
            await services.db.subscriptions.rename_job(
                team_id, connection.vendor, job.id, job.name, as_of=job.changed_at
            )
    return named, [check for check in checks if check.unchecked is not None]


async def _by_account(services: Services, subs: list[Subscription], *, recent: bool) -> Accounts:
    """``subs`` by platform and account, each with a connection it reads (None: no longer connected),
    the first of its account in ``subs``.

    Connections of one account are one, as ``subscribe`` tells them (``_same_subscription``): the same
    key, or a Spark Hire key that lists the other's webhook. Spark Hire is asked only when a
    platform's subscriptions read several keys, each key once and all at once, within
    ``JOB_CHECK_SECONDS``; a key it did not answer for counts as another account (unsubscribe asks
    rather than removing both, the lists name each key's account). ``recent``: a key's list from
    the last few minutes will do (``_webhooks_seen``), for display.
    """
    by_connection: dict[tuple[str, str | None], list[Subscription]] = {}
    for s in subs:
        by_connection.setdefault((s.vendor, s.connection_id), []).append(s)
    connections = {
        connection_id: await _readable_connection(services, connection_id)
        for connection_id in {connection_id for _, connection_id in by_connection if connection_id}
    }
    known = [c for c in connections.values() if c is not None]
    asked = [c for c in known if any(o.webhook_uuid and _may_differ(o, c) for o in known)]
    seen = await _webhooks_seen(services, asked, within=JOB_CHECK_SECONDS, recent=recent)
    accounts: Accounts = []
    for (vendor, connection_id), theirs in by_connection.items():
        connection = connections.get(connection_id) if connection_id else None
        for first, joined in accounts:
            if connection and first and joined[0].vendor == vendor and _one_account(first, connection, seen):
                joined.extend(theirs)
                break
        else:
            accounts.append((connection, list(theirs)))
    return accounts


def _choices(accounts: Accounts) -> list[list[SubscriptionView]]:
    """Each account's subscriptions, each line naming the account; refused when too many to ask about."""
    reached = sum(len(subs) for _, subs in accounts)
    if reached > CHOICES_MOST or len(accounts) > CHOICE_GROUPS_MOST:
        raise UserFacingError(
            f"Those words reach {reached} subscriptions of this channel, reading different accounts. "
            "Name fewer with `job:` or the platform, e.g. `/interview unsubscribe sparkhire job:Barista`."
        )
    choices = []
    for connection, subs in accounts:
        account, owner = account_of(connection)
        choices.append([replace(to_view(s), account=account, account_owner=owner) for s in subs])
    return choices


async def _stop(
    services: Services,
    subs: list[Subscription],
    events: tuple[str, ...],
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
) -> tuple[int, int]:
    """Narrow each of ``subs`` to the events it keeps, or remove it; returns (removed, narrowed)."""
    removed = narrowed = 0
    touched: set[str] = set()
    for s in subs:
        # What it queued and no longer takes is settled with it: the channel asked for no more of
        # these, which already queued would otherwise keep posting for a while.
        if remaining := _left_after(s, events):
            await services.db.subscriptions.unsubscribe(s.id, keep_events=remaining)
            narrowed += 1
            continue
        await services.db.subscriptions.unsubscribe(s.id)
        removed += 1
        if s.connection_id:
            touched.add(s.connection_id)
    for connection_id in touched:
        await release_webhook_if_unused(services, connection_id)
    if removed or narrowed:
        await services.db.audit.add(
            team_id=team_id,
            user_id=user_id,
            action="subscription.removed",
            target=channel_id,
            detail={"removed": removed, "narrowed": narrowed},
        )
    return removed, narrowed


async def replay(
    services: Services, request: SubscriptionRequest, *, team_id: str, channel_id: str, user_id: str
) -> str:
    """``subscribe test``: ask Spark Hire to re-send the last event of the first requested type.

    Returns what became of it, as far as this process can tell: the bot posts each event once, so a
    replay of an event already received shows nothing new, and the user must not wait for it.
    """
    connection = await services.resolve_connection(team_id, "sparkhire", user_id)
    if connection is None and await services.resolve_connection(team_id, "wedgehr", user_id):
        raise UserFacingError(
            "`/interview subscribe test` asks Spark Hire to send its last event again, and Spark Hire is not "
            "connected. WedgeHR sends no webhooks to test: the bot checks it for new events every "
            f"{services.settings.wedgehr_poll_seconds:g} seconds."
        )
    if connection is None:
        raise NotConnectedError("sparkhire", needs_user_key=True)
    # No webhook the bot registered, but credentials made for one registered by hand (no PUBLIC_URL):
    # Spark Hire replays to every webhook of the account, so the replay tests that one too.
    by_hand = (
        not connection.webhook_uuid
        and not services.settings.public_url  # else the bot registers it: its failure is told by subscribe
        and await services.db.connections.has_webhook_auth(connection.id)
    )
    if not connection.webhook_uuid and not by_hand:
        raise UserFacingError(
            "This Spark Hire account has no webhook yet: run `/interview subscribe sparkhire` in a channel first."
        )
    event = next((REPLAY_EVENTS[e] for e in request.events if e in REPLAY_EVENTS), "InterviewCompleted")
    # Listening before asking: Spark Hire may deliver before it answers.
    with ARRIVALS.expect(connection.id, event) as arrival:
        try:
            await services.client_for(connection).replay_webhook(event)  # type: ignore[attr-defined]
        except VendorError as exc:
            if exc.status_code == 404:
                return f"Spark Hire has no {event} to replay yet; complete an interview and try again."
            raise
        try:
            arrived = await asyncio.wait_for(arrival, REPLAY_WAIT_SECONDS)
        except TimeoutError:  # not yet, or it reached another of the bot's processes
            if by_hand:
                return (
                    f"Asked Spark Hire to replay its last {event}; it had not arrived after "
                    f"{REPLAY_WAIT_SECONDS:g} seconds. The bot could not register this account's webhook "
                    "(PUBLIC_URL is not set): check that one is registered by hand in Spark Hire's webhook "
                    "settings, with the URL and credentials that `/interview subscribe sparkhire` explains."
                )
            return (
                f"Asked Spark Hire to replay its last {event}; it had not arrived after {REPLAY_WAIT_SECONDS:g} "
                "seconds. When it does, it is posted in the channels subscribed to it, unless they already "
                "had it: each event is posted once."
            )
    what = f"Spark Hire replayed its last {event}{_about(arrived.event)}, so its webhook reaches the bot."
    if not arrived.new:
        return f"{what} The bot already had that event and posts each event once, so nothing new appears."
    subscriptions = await services.db.subscriptions.list_for_channel(team_id, channel_id)
    if any(s.takes(arrived.event) for s in subscriptions):
        return f"{what} It is new to the bot: it appears here in a moment."
    return f"{what} It is new to the bot and is posted in the channels subscribed to it, not this one."


def _about(event: NewEvent) -> str:
    """Whom or what the event is about, for the user to recognise it."""
    body = event.payload.get("object") or {}
    assigned = body.get("assigned_to") if isinstance(body.get("assigned_to"), dict) else {}
    name = assigned.get("name") or event.candidate_email or event.job_name
    return f" ({str(name)[:80]})" if name else ""
