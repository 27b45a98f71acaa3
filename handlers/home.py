"""The App Home tab: connections, your last invites, the workspace's subscriptions."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.home import home_view
from blocks.models import AuditEntryView
from bot.notify.paused import pause_cause
from bot.notify.subscriptions import views_naming_accounts
from bot.services import Services
from bot.storage import Subscription
from handlers.common import services_of
from handlers.connect import connection_statuses, is_workspace_admin

logger = logging.getLogger(__name__)


async def _is_admin(client: AsyncWebClient, user_id: str) -> bool:
    """Whether the user is a workspace admin; when Slack cannot say (rate limited), not: the Home
    still publishes, showing less."""
    try:
        return await is_workspace_admin(client, user_id)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        logger.warning(
            "Could not tell whether %s is an admin (%s); showing their own subscriptions", user_id, type(exc).__name__
        )
        return False


def paused_groups(subs: list[Subscription]) -> list[list[Subscription]]:
    """The paused subscriptions as one click acts on them (``bot.notify.paused.paused_with``): a
    channel's paused for the channel together, any other alone; oldest pause first."""
    groups: dict[Any, list[Subscription]] = {}
    for s in subs:
        if s.paused:
            key = (s.channel_id,) if pause_cause(s) is not None else s.id
            groups.setdefault(key, []).append(s)
    return sorted(groups.values(), key=lambda g: (min(s.paused_at or 0.0 for s in g), g[0].id))


async def build_home(
    services: Services, client: AsyncWebClient, team_id: str, user_id: str, *, notice: str | None = None
) -> dict[str, Any]:
    statuses = await connection_statuses(services, team_id, user_id)
    # Sent invites only: a refused one was most often corrected on the form at once, and listing
    # every attempt filled the ten lines with failures already fixed.
    recent = await services.db.audit.recent(team_id, user_id=user_id, action_prefix="invite.sent", limit=10)
    every = await services.db.subscriptions.list_for_team(team_id)
    subs, hidden = every, 0
    # As `/interview subscriptions`: only admins see every channel's filters (a private channel's
    # job and exclude words can name a confidential search).
    if any(s.created_by != user_id for s in subs) and not await _is_admin(client, user_id):
        hidden = sum(s.created_by != user_id for s in subs)
        subs = [s for s in subs if s.created_by == user_id]
    # As `/interview subscriptions` too: a channel reading several accounts of a platform names the
    # account of each line, whoever made the channel's others.
    views = {v.id: v for v in await views_naming_accounts(services, every)}
    return home_view(
        notice=notice,
        paused_groups=[[views[s.id] for s in group] for group in paused_groups(subs)],
        others_hidden=hidden,
        statuses=statuses,
        recent=[
            AuditEntryView(
                action=e.action, vendor=e.vendor, target=e.target, at=datetime.fromtimestamp(e.created_at, UTC)
            )
            for e in recent
        ],
        subscriptions=[views[s.id] for s in subs],
    )


async def publish_home(
    services: Services, client: AsyncWebClient, team_id: str, user_id: str, *, notice: str | None = None
) -> None:
    """Build the user's Home and publish it. One at a time per user: two built at once (the tab
    opened while a click on it is answered) could reach Slack in either order, and the one read
    before the click, published last, would show a subscription removed meanwhile with its buttons."""
    lock = services.home_publishing.get((team_id, user_id))
    if lock is None:
        lock = services.home_publishing[(team_id, user_id)] = asyncio.Lock()
    async with lock:
        view = await build_home(services, client, team_id, user_id, notice=notice)
        await client.views_publish(user_id=user_id, view=view)


async def refresh_home(services: Services, client: AsyncWebClient, team_id: str, user_id: str) -> None:
    """Publish the user's Home again after they changed what it shows from a form over it (Slack
    sends no app_home_opened when the form closes); a Slack that refuses changes nothing done."""
    try:
        await publish_home(services, client, team_id, user_id)
    except Exception as exc:  # what was done stands, and was said: "something went wrong" would mislead
        logger.warning("Could not refresh the Home of %s: %s", user_id, type(exc).__name__)


async def on_home_opened(event: dict[str, Any], client: Any, context: Any, body: dict[str, Any]) -> None:
    if event.get("tab") not in (None, "home"):
        return
    services = services_of(context)
    team_id = context.get("team_id") or body.get("team_id") or ""

    # Slack retries an event not answered within 3 s; the answer leaves before the Web API call.
    services.tasks.spawn(publish_home(services, client, team_id, event["user"]), name="home.publish")


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(on_home_opened)
