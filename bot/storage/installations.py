"""Slack installations with their tokens encrypted at rest, around slack-sdk's SQLAlchemy store."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime
from logging import Logger
from typing import TypeVar

import sqlalchemy as sa
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

from bot.crypto import SecretBox

TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
# Tokens written before encryption was added are read as they are (and sealed on their next save).
PLAINTEXT_PREFIXES = ("xox",)

Record = TypeVar("Record", Bot, Installation)


class EncryptedInstallationStore(AsyncInstallationStore):
    """Delegates to ``inner``; every token is Fernet-encrypted on save and decrypted on find.

    Args:
        inner: slack-sdk's store, which does the storing and the lookups.
        box: The encryption of secrets at rest (``BOT_SECRET_KEY``).
    """

    def __init__(self, *, inner: AsyncSQLAlchemyInstallationStore, box: SecretBox) -> None:
        self._inner = inner
        self._box = box

    @property
    def logger(self) -> Logger:
        return self._inner.logger

    def _sealed(self, record: Record) -> Record:
        sealed = copy.copy(record)
        for field in TOKEN_FIELDS:
            value = getattr(sealed, field, None)
            if value:
                setattr(sealed, field, self._box.encrypt(value))
        return sealed

    def _opened(self, record: Record | None) -> Record | None:
        if record is None:
            return None
        for field in TOKEN_FIELDS:
            value = getattr(record, field, None)
            if value and not value.startswith(PLAINTEXT_PREFIXES):
                setattr(record, field, self._box.decrypt(value))
        return record

    async def async_save(self, installation: Installation) -> None:
        await self._inner.async_save(self._sealed(installation))

    async def async_save_bot(self, bot: Bot) -> None:
        await self._inner.async_save_bot(self._sealed(bot))

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        return self._opened(
            await self._inner.async_find_bot(
                enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
            )
        )

    async def async_find_bot_of_team(self, team_id: str) -> Bot | None:
        """The bot installed in workspace ``team_id``, in an Enterprise Grid organisation or not.

        The outbox knows only the workspace; ``async_find_bot(enterprise_id=None)`` matches only
        installations without an organisation, so a Grid workspace's posts found no token.
        """
        enterprise_id = await self._latest_of_team(self._inner.bots, "enterprise_id", team_id)
        return await self.async_find_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_find_installer_of_team(self, team_id: str) -> str | None:
        """Who installed the app in workspace ``team_id`` last (their Slack user id), if anyone did.

        Told when nobody else can be of something the workspace must know (a paused subscription
        whose creator has left).
        """
        return await self._latest_of_team(self._inner.installations, "user_id", team_id) or None

    async def _latest_of_team(self, table: sa.Table, column: str, team_id: str) -> str | None:
        """``column`` of the workspace's latest row in ``table`` (bots or installations), in any organisation."""
        query = (
            sa.select(table.c[column])
            .where(table.c.client_id == self._inner.client_id, table.c.team_id == team_id)
            .order_by(table.c.installed_at.desc())
            .limit(1)
        )
        async with self._inner.engine.connect() as conn:
            return (await conn.execute(query)).scalar()

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return self._opened(
            await self._inner.async_find_installation(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                is_enterprise_install=is_enterprise_install,
            )
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._inner.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self._inner.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._inner.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)

    async def async_installed_after(self, *, enterprise_id: str | None, team_id: str | None, after: float) -> bool:
        """Whether the workspace installed the app (a bot or an installation row) after ``after`` (Unix time)."""
        since = _stored_time(after)
        async with self._inner.engine.connect() as conn:
            for table in (self._inner.bots, self._inner.installations):
                query = sa.select(table.c.id).where(
                    self._of_workspace(table, enterprise_id, team_id), table.c.installed_at > since
                )
                if (await conn.execute(query.limit(1))).first() is not None:
                    return True
        return False

    async def async_delete_installed_until(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        until: float,
        user_ids: Sequence[str] | None = None,
    ) -> None:
        """Delete what the workspace installed at or before ``until`` (Unix time); a later install stays.

        For an event that revoked or uninstalled at ``until``: Slack may deliver it late (retried while
        the bot was down), after an admin installed the app again, and slack-sdk's deletes take every
        row of the workspace, the new installation too. With ``user_ids``, only those users'
        installations (their user tokens were revoked); otherwise the bots' too.
        """
        before = _stored_time(until)
        tables = (self._inner.installations,) if user_ids is not None else (self._inner.bots, self._inner.installations)
        async with self._inner.engine.begin() as conn:
            for table in tables:
                where = [self._of_workspace(table, enterprise_id, team_id), table.c.installed_at <= before]
                if user_ids is not None:
                    where.append(table.c.user_id.in_(list(user_ids)))
                await conn.execute(table.delete().where(*where))

    def _of_workspace(self, table: sa.Table, enterprise_id: str | None, team_id: str | None) -> sa.ColumnElement[bool]:
        # As slack-sdk's own queries: ``== None`` is ``IS NULL`` (a workspace outside Enterprise Grid).
        return sa.and_(
            table.c.client_id == self._inner.client_id,
            table.c.enterprise_id == enterprise_id,
            table.c.team_id == team_id,
        )


def _stored_time(unix_time: float) -> datetime:
    """A Unix time as slack-sdk stores ``installed_at``: a naive UTC datetime."""
    return normalize_datetime_for_db(datetime.fromtimestamp(unix_time, tz=UTC))  # type: ignore[return-value]


class SingleUseOAuthStateStore(AsyncSQLAlchemyOAuthStateStore):
    """slack-sdk's OAuth state store, whose state one redirect alone may consume.

    slack-sdk reads the state, then deletes it: redirects arriving together (a double click, a
    browser's retry) each read it before any deleted it, and each went on to install.
    """

    async def async_consume(self, state: str) -> bool:
        """Whether this call deleted the unexpired ``state`` (only one call can)."""
        now = normalize_datetime_for_db(datetime.now(tz=UTC))
        c = self.oauth_states.c
        try:
            async with self.engine.begin() as conn:
                result = await conn.execute(self.oauth_states.delete().where(c.state == state, c.expire_at > now))
        except Exception as exc:  # as slack-sdk's: the install page says the state is no longer valid
            self.logger.warning("Could not consume an OAuth state: %s", type(exc).__name__)
            return False
        return (result.rowcount or 0) > 0
