"""Slack token rotation (OAuth): expiring bot tokens refreshed one workspace at a time.

With token rotation turned on for the Slack app, an installation carries a bot token that
expires after 12 hours and a refresh token that gets the next one. slack-sdk's
``AsyncTokenRotator`` does the refreshing; Bolt calls it for the requests Slack sends, the outbox
worker (``bot/app.py``) before it posts.

Slack revokes a refresh token once it is used. Two refreshes with the same one (Bolt answering a
click while the worker posts, two deliveries to one workspace, two web processes) leave all but
the first with a dead token, and whoever saved last may store it. So each refresh runs under a
lock per workspace (``Database.exclusive``: across processes on PostgreSQL), reads the
installation again there, and saves what it got before letting go.
"""

from __future__ import annotations

import logging
import time

from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.storage import Database
from bot.storage.installations import EncryptedInstallationStore

logger = logging.getLogger(__name__)

#: A token is refreshed when it expires within this many minutes (Bolt's default, passed to Bolt too).
REFRESH_MINUTES_BEFORE_EXPIRY = 120
#: For a token Slack refused as expired though its stored expiry is later (a clock behind Slack's):
#: a window every rotating token expires within, so that it is refreshed at once.
EXPIRED_ALREADY_MINUTES = 366 * 24 * 60


def expires_within(expires_at: int | None, minutes: float) -> bool:
    """Whether a token expiring at ``expires_at`` (Unix time; None: never) is due a refresh, as slack-sdk decides."""
    return expires_at is not None and expires_at <= time.time() + minutes * 60


class WorkspaceTokenRotator(AsyncTokenRotator):
    """slack-sdk's rotator, one refresh of a workspace's tokens at a time, the result saved in ``store``.

    Args:
        client_id: ``SLACK_CLIENT_ID``.
        client_secret: ``SLACK_CLIENT_SECRET``.
        client: Calls ``oauth.v2.access`` (at ``SLACK_API_URL``, on the shared session).
        store: The installations.
        db: Its database, whose lock serialises the refreshes.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        client: AsyncWebClient,
        store: EncryptedInstallationStore,
        db: Database,
    ) -> None:
        super().__init__(client_id=client_id, client_secret=client_secret, client=client)
        self.store = store
        self.db = db

    async def perform_token_rotation(
        self, *, installation: Installation, minutes_before_expiration: int = REFRESH_MINUTES_BEFORE_EXPIRY
    ) -> Installation | None:
        """The installation with fresh tokens, saved; None when none is due (or it was uninstalled).

        ``installation`` is what the caller read: when another refresh replaced its bot token
        meanwhile, the installation as that one saved it is returned instead of a second refresh
        with a refresh token Slack has revoked.
        """
        if not (
            expires_within(installation.bot_token_expires_at, minutes_before_expiration)
            or expires_within(installation.user_token_expires_at, minutes_before_expiration)
        ):
            return None
        workspace = f"{installation.enterprise_id or '-'}:{installation.team_id or '-'}"
        async with self.db.exclusive(f"slack-token-rotation:{workspace}"):
            current = await self.store.async_find_installation(
                enterprise_id=installation.enterprise_id,
                team_id=installation.team_id,
                is_enterprise_install=installation.is_enterprise_install,
            )
            if current is None or current.bot_token is None:
                return None  # uninstalled meanwhile: nothing to refresh
            if current.bot_token != installation.bot_token:
                return current  # refreshed by another request, worker or process meanwhile
            refreshed = await super().perform_token_rotation(
                installation=current, minutes_before_expiration=minutes_before_expiration
            )
            if refreshed is not None:
                await self.store.async_save(refreshed)
                logger.info("Refreshed the Slack bot token of workspace %s (token rotation)", installation.team_id)
            return refreshed
