"""A sweep for subscribed channels shared with another organisation without the bot hearing of it.

Slack's ``channel_shared`` event pauses such a channel at once (handlers/shared_channels.py), but an
event can be missed: the bot was down past Slack's retries, the channel was shared before this
version was installed, or an app made from an older manifest does not get the event. Every
``interval`` one process asks Slack about each channel with active subscriptions nobody confirmed
with ``subscribe … shared``, and pauses those shared outside the organisation as the event would.
"""

from __future__ import annotations

import asyncio
import logging

from bot.errors import BusyError, NotInstalledError
from bot.notify.paused import channel_shared_outside, pause_shared_channel, tell_creators
from bot.notify.worker import SlackClientFor
from bot.services import Services

logger = logging.getLogger(__name__)

#: How often the channels are checked, and how long after start-up the first check runs.
SHARED_CHECK_SECONDS = 3600.0
SHARED_CHECK_FIRST_DELAY_SECONDS = 120.0
#: Between two conversations.info calls: Slack allows about 50 a minute (Tier 3).
SECONDS_BETWEEN_CHANNELS = 1.3
EXCLUSIVE_NAME = "shared-channel-check"


class SharedChannelCheck:
    """Pauses subscribed channels Slack says are shared with another organisation (see the module).

    Args:
        services: The process's services.
        slack_client_for: The Web API client of a workspace's installation.
        pace: Seconds between two channels' checks (default SECONDS_BETWEEN_CHANNELS).
    """

    def __init__(self, *, services: Services, slack_client_for: SlackClientFor, pace: float | None = None) -> None:
        self.services = services
        self.slack_client_for = slack_client_for
        self.pace = SECONDS_BETWEEN_CHANNELS if pace is None else pace

    async def run(self) -> None:
        """Check after SHARED_CHECK_FIRST_DELAY_SECONDS, then every SHARED_CHECK_SECONDS."""
        await asyncio.sleep(SHARED_CHECK_FIRST_DELAY_SECONDS)
        while True:
            try:
                await self.check_all()
            except BusyError:  # another process is checking: it does this one's work
                logger.info("Shared-channel check skipped: another process is running it")
            except Exception:
                logger.exception("Shared-channel check failed; trying again in %g s", SHARED_CHECK_SECONDS)
            await asyncio.sleep(SHARED_CHECK_SECONDS)

    async def check_all(self) -> int:
        """Check every channel with active, unconfirmed subscriptions; returns how many were paused."""
        db = self.services.db
        async with db.exclusive(EXCLUSIVE_NAME):
            channels = sorted(
                {(s.team_id, s.channel_id) for s in await db.subscriptions.list_active() if not s.shared_confirmed_at}
            )
            paused_channels = 0
            for index, (team_id, channel_id) in enumerate(channels):
                if index:
                    await asyncio.sleep(self.pace)
                if await self._check(team_id, channel_id):
                    paused_channels += 1
        return paused_channels

    async def _check(self, team_id: str, channel_id: str) -> bool:
        try:
            client = await self.slack_client_for(team_id)
        except NotInstalledError:
            return False
        # Unlike the event, nothing says the channel changed: one Slack cannot tell about is asked
        # again at the next check.
        if not await channel_shared_outside(client, channel_id):
            return False
        paused = await pause_shared_channel(self.services, team_id, channel_id)
        if paused:
            logger.warning("%s is shared with another organisation: paused its subscriptions", channel_id)
            await tell_creators(self.services, client, paused)
        return bool(paused)
