"""A subscribed channel shared with another organisation since (Slack Connect): its posts stop.

`/interview subscribe` refuses such a channel unless ``shared`` confirms that people outside the
company may see candidates' names and ratings. A channel shared after it subscribed got no such
confirmation: Slack's ``channel_shared`` event (an invitation accepted) pauses its subscriptions,
and their creators are told by direct message (never in the channel) what to run to resume them.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.notify.paused import channel_shared_outside, pause_shared_channel, tell_creators
from bot.services import Services
from handlers.common import services_of, team_of

logger = logging.getLogger(__name__)


async def pause_if_shared(services: Services, client: AsyncWebClient, team_id: str, channel_id: str) -> None:
    """Pause the channel's subscriptions, in every workspace that has some there, when Slack confirms
    (or cannot deny) that it is shared outside the organisation; tell each creator of what this paused.

    ``team_id`` is the workspace whose installation Slack delivered the event to (``client``'s): in
    a Slack Connect channel or an Enterprise Grid organisation that may be another than the one that
    subscribed, so the subscriptions are found by the channel alone.
    """
    subscriptions = await services.db.subscriptions.list_for_channel_of_any_team(channel_id)
    if not subscriptions:
        return  # nothing posts there: Slack need not be asked
    # The event alone is not trusted (it only says an invitation was accepted; within one Enterprise
    # Grid organisation it is no reason to stop): Slack says what the channel is now.
    # Slack that cannot say counts as shared: privacy first, and one command undoes the pause.
    if await channel_shared_outside(client, channel_id) is False:
        logger.info("channel_shared for %s: Slack says it is not shared outside the organisation", channel_id)
        return
    for subscribed_team in sorted({s.team_id for s in subscriptions}):
        paused = await pause_shared_channel(services, subscribed_team, channel_id)
        if paused:
            await tell_creators(services, await _client_of(services, subscribed_team, team_id, client), paused)


async def _client_of(
    services: Services, team_id: str, event_team_id: str, event_client: AsyncWebClient
) -> AsyncWebClient:
    """The Web API client of ``team_id``'s installation: a DM to its members needs its own token."""
    if team_id == event_team_id or services.slack_client_for is None:
        return event_client
    try:
        return await services.slack_client_for(team_id)
    except Exception as exc:  # uninstalled since: its creators cannot be reached; the pause stands
        logger.warning("No Slack client for %s to tell its creators of a shared channel (%r)", team_id, exc)
        return event_client


async def on_channel_shared(body: dict[str, Any], event: dict[str, Any], context: Any, client: Any) -> None:
    channel_id = event.get("channel")
    if not isinstance(channel_id, str) or not channel_id:
        return
    services = services_of(context)
    team_id = context.get("team_id") or team_of(body)
    # After the answer: Slack retries an event not answered within 3 s.
    services.tasks.spawn(pause_if_shared(services, client, team_id, channel_id), name="channel_shared.pause")


def register(app: AsyncApp) -> None:
    app.event("channel_shared")(on_channel_shared)
