"""Paused subscriptions: which pauses concern the whole channel, and telling someone of a pause even
when whoever created the subscription has left the workspace."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.subscriptions import PauseCause, paused_notice, shared_pause_notice
from bot.notify.subscriptions import SHARED_REASON, catch_up_days, resume_catching_up, to_view
from bot.services import Services
from bot.settings import SlackMode
from bot.storage import Subscription
from bot.storage.repos import CatchUp

logger = logging.getLogger(__name__)

#: Slack's errors about the channel itself, not one subscription, as the pause reason stores them
#: (``OutboxWorker._pause``: the error with spaces), and what each means. Every subscription of the
#: channel is paused at once, told of in one notice, and re-enabled (or removed) with one click.
SLACK_CHANNEL_CAUSES: dict[str, PauseCause] = {
    "channel not found": "gone",
    "is archived": "archived",
    "channel is archived": "archived",
    "not in channel": "removed",
}
CHANNEL_ERRORS = frozenset(reason.replace(" ", "_") for reason in SLACK_CHANNEL_CAUSES)
#: Every pause about the channel rather than one subscription (``paused_with`` acts on them together).
CHANNEL_CAUSES: dict[str, PauseCause] = {**SLACK_CHANNEL_CAUSES, SHARED_REASON: "shared"}
#: Answers to a DM (or to users.info) that mean nobody reads it: the person left, or cannot get DMs.
UNREACHABLE_ERRORS = frozenset(
    {"user_not_found", "users_not_found", "account_inactive", "cannot_dm_bot", "user_disabled", "channel_not_found"}
)
#: users.list pages read at most to find a workspace admin to tell.
ADMIN_PAGES = 5
#: Admins a notice is tried with, one after the other, until one takes it.
ADMINS_TRIED = 3


def pause_cause(subscription: Subscription) -> PauseCause | None:
    """Why Slack refused its channel, when that is why it is paused; None for any other pause."""
    if not subscription.paused:
        return None
    return CHANNEL_CAUSES.get(subscription.paused_reason or "")


async def paused_with(services: Services, subscription: Subscription) -> list[Subscription]:
    """What a Re-enable or Remove of ``subscription`` acts on: with a pause about its channel, every
    subscription of the channel paused for that; otherwise itself alone."""
    if pause_cause(subscription) is None:
        return [subscription]
    return [
        s
        for s in await services.db.subscriptions.list_for_channel(subscription.team_id, subscription.channel_id)
        if pause_cause(s) is not None
    ]


async def re_enabled_with(services: Services, subscription: Subscription) -> list[Subscription]:
    """What re-enabling ``subscription`` re-enables: ``paused_with`` it, but for the others whose
    account was disconnected (resumed, they would read from nothing and stay silent)."""
    return [
        s
        for s in await paused_with(services, subscription)
        if s.id == subscription.id or not s.connection_id or await services.db.connections.get(s.connection_id)
    ]


async def resume_shared_pause(services: Services, *, team_id: str, channel_id: str, user_id: str) -> CatchUp | None:
    """Re-enable the channel's subscriptions paused because it was shared with another organisation,
    now that `subscribe … shared` confirmed it (those its words renewed and the others), with the
    channel's others paused with them, as their Re-enable button would; None when there were none."""
    still = [
        s
        for s in await services.db.subscriptions.list_for_channel(team_id, channel_id)
        if s.paused and s.paused_reason == SHARED_REASON
    ]
    if not still:
        return None
    # No subscription was clicked: none whose account was disconnected is resumed (it would read from nothing).
    group = [
        s
        for s in await re_enabled_with(services, still[0])
        if not s.connection_id or await services.db.connections.get(s.connection_id) is not None
    ]
    return await resume_catching_up(services, group, user_id=user_id, via="subscribe")


def shared_with_another_org(info: dict[str, Any]) -> bool:
    """A Slack Connect channel (or one invited to be), by its conversations.info: people of another
    organisation read it. Shared only between workspaces of one Enterprise Grid organisation is not."""
    if info.get("is_ext_shared") or info.get("is_pending_ext_shared"):
        return True
    return bool(info.get("is_shared")) and not info.get("is_org_shared")


async def channel_shared_outside(client: AsyncWebClient, channel_id: str) -> bool | None:
    """Whether Slack says the channel is shared with another organisation; None (logged) when Slack
    cannot say (an error, no answer within ``SLACK_TIMEOUT_SECONDS``): the caller decides."""
    try:
        info = (await client.conversations_info(channel=channel_id))["channel"]
    except Exception as exc:
        error = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
        logger.warning("Could not ask Slack whether %s is shared (%s)", channel_id, error)
        return None
    return shared_with_another_org(info)


async def pause_shared_channel(services: Services, team_id: str, channel_id: str) -> list[Subscription]:
    """Pause every subscription of a channel now shared with another organisation (``SHARED_REASON``).

    Those active stop at once, with what the channel still had queued (a Re-enable, here `subscribe
    ... shared`, queues it again). Those paused for another reason take this one, keeping when their
    pause began: nothing else (a new WedgeHR token, the Re-enable button) may resume them now. Returns
    the subscriptions this changed, as they are now; none when they were all paused for it already
    (Slack sends the event again, and once per organisation that joins).
    """
    repo = services.db.subscriptions
    # One at a time: Slack sends the event again (no answer in 3 s, another organisation joining),
    # and two runs reading the subscriptions before either paused them would each tell the creators.
    async with services.db.exclusive(f"shared-pause:{team_id}:{channel_id}"):
        before = await repo.list_for_channel(team_id, channel_id)
        if any(s.shared_confirmed_at is not None for s in before):
            return []  # `subscribe … shared` confirmed it: another organisation joining changes nothing
        paused = {s.id for s in await repo.pause_channel(team_id, channel_id, SHARED_REASON, error=SHARED_REASON)}
        for s in before:
            if s.id not in paused and s.paused_reason != SHARED_REASON:
                await repo.pause(s.id, SHARED_REASON)
                paused.add(s.id)
        if paused:
            logger.info("Paused %d subscription(s) of %s: shared with another organisation", len(paused), channel_id)
        return [s for s in await repo.list_for_channel(team_id, channel_id) if s.id in paused]


async def user_reachable(client: AsyncWebClient, user_id: str) -> bool:
    """False for someone deactivated or gone: Slack takes a DM to a deactivated user without an error,
    and nobody reads it. True when Slack cannot say just now (the DM may still reach them)."""
    try:
        user = (await client.users_info(user=user_id)).get("user") or {}
    except SlackApiError as exc:
        if exc.response.get("error") in UNREACHABLE_ERRORS:
            return False
        logger.info("Could not look %s up (%s); taking them as reachable", user_id, exc.response.get("error"))
        return True
    except Exception as exc:  # a timeout
        logger.info("Could not look %s up (%s); taking them as reachable", user_id, type(exc).__name__)
        return True
    return not (user.get("deleted") or user.get("is_bot"))


class PauseNotifier:
    """Tells of paused subscriptions: each creator once, with one notice for what a channel had paused.

    Nobody of those reachable (deactivated, or Slack refuses the DM): the channel itself, when the bot
    may still post there; else whoever installed the app (OAuth mode); else a workspace admin.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    async def tell(
        self, client: AsyncWebClient, team_id: str, subscriptions: Sequence[Subscription], *, reason: str, error: str
    ) -> str | None:
        """Send the notice; returns where it went (a user or channel id), None when nobody took it."""
        views = [to_view(s) for s in subscriptions]
        cause = CHANNEL_CAUSES.get(error.replace("_", " "))
        days = catch_up_days(self.services)
        told: str | None = None
        gone: list[str] = []
        notice = paused_notice(views, reason=reason, cause=cause, catch_up_days=days)
        for creator in dict.fromkeys(s.created_by for s in subscriptions):
            if await user_reachable(client, creator) and await self.post(client, creator, notice):
                told = told or creator
            else:
                gone.append(creator)
        if told is not None:
            return told
        notice = paused_notice(views, reason=reason, cause=cause, instead_of=gone, catch_up_days=days)
        channel = subscriptions[0].channel_id
        if error not in CHANNEL_ERRORS and await self.post(client, channel, notice):
            logger.info("Told %s of the paused subscription: its creator cannot be reached", channel)
            return channel
        for user in await self.stand_ins(client, team_id, skip=set(gone)):
            if await self.post(client, user, notice):
                logger.info("Told %s of the paused subscription in %s: its creator cannot be reached", user, channel)
                return user
        logger.warning("Nobody could be told of the paused subscription in %s", channel)
        return None

    async def post(self, client: AsyncWebClient, channel: str, notice: Any) -> bool:
        """Post ``notice`` to ``channel`` (a user id: their DM); False, logged, when Slack refuses."""
        try:
            await client.chat_postMessage(channel=channel, **notice.as_kwargs())
        except SlackApiError as exc:
            logger.warning("Could not send %s a notice: %s", channel, exc.response.get("error"))
            return False
        except Exception as exc:
            logger.warning("Could not send %s a notice (%s)", channel, type(exc).__name__)
            return False
        return True

    async def tell_first(self, client: AsyncWebClient, users: Sequence[str], notice: Any) -> str | None:
        """Send ``notice`` to the first of ``users`` who can be reached; who took it, None if nobody."""
        for user in dict.fromkeys(users):
            if await user_reachable(client, user) and await self.post(client, user, notice):
                return user
        return None

    async def stand_ins(self, client: AsyncWebClient, team_id: str, *, skip: set[str]) -> list[str]:
        """Who may act for a creator who left: the installer (OAuth mode), then workspace admins."""
        found: list[str] = []
        installer = await self._installer(team_id)
        if installer and installer not in skip and await user_reachable(client, installer):
            found.append(installer)
        admins = [a for a in await self._admins(client) if a not in skip and a not in found]
        return found + admins[:ADMINS_TRIED]

    async def _installer(self, team_id: str) -> str | None:
        settings = self.services.settings
        if settings.slack_mode is not SlackMode.oauth:
            return None
        try:
            store = self.services.db.installation_store(settings.slack_client_id or "")
            return await store.async_find_installer_of_team(team_id)
        except Exception as exc:
            logger.warning("Could not read who installed the app in %s (%s)", team_id, type(exc).__name__)
            return None

    async def _admins(self, client: AsyncWebClient) -> list[str]:
        """Active human admins of the workspace: the primary owner first, then owners, then admins."""
        ranked: list[tuple[int, str]] = []
        cursor: str | None = None
        try:
            for _ in range(ADMIN_PAGES):
                page = await client.users_list(limit=200, cursor=cursor)
                for user in page.get("members") or []:
                    if user.get("deleted") or user.get("is_bot") or user.get("is_restricted"):
                        continue
                    rank = 0 if user.get("is_primary_owner") else 1 if user.get("is_owner") else 2
                    if rank < 2 or user.get("is_admin"):
                        ranked.append((rank, str(user.get("id"))))
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    break
        except Exception as exc:
            logger.warning("Could not list the workspace's admins (%s)", type(exc).__name__)
        return [user for _, user in sorted(ranked, key=lambda r: r[0])]


async def tell_creators(services: Services, client: AsyncWebClient, paused: list[Subscription]) -> None:
    """One direct message per creator, naming their subscriptions paused there."""
    by_creator: dict[str, list[Subscription]] = {}
    for s in paused:
        by_creator.setdefault(s.created_by, []).append(s)
    days = catch_up_days(services)
    notifier = PauseNotifier(services)
    gone: list[str] = []
    untold: list[Subscription] = []
    for creator, theirs in by_creator.items():
        notice = shared_pause_notice([to_view(s) for s in theirs], catch_up_days=days)
        if not (await user_reachable(client, creator) and await notifier.post(client, creator, notice)):
            gone.append(creator)
            untold += theirs
    if not untold:
        return
    # Never the channel itself: its people of the other organisation would read it.
    notice = shared_pause_notice([to_view(s) for s in untold], catch_up_days=days, instead_of=gone)
    channel = untold[0].channel_id
    for user in await notifier.stand_ins(client, untold[0].team_id, skip=set(gone)):
        if await notifier.post(client, user, notice):
            logger.info("Told %s of the pause in shared channel %s: its creator cannot be reached", user, channel)
            return
    logger.warning("Nobody could be told of the pause in shared channel %s", channel)
