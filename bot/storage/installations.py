"""Slack installations with their tokens encrypted at rest, around slack-sdk's SQLAlchemy store."""

from __future__ import annotations

import copy
from logging import Logger
from typing import TypeVar

import sqlalchemy as sa
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore

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
        bots = self._inner.bots
        query = (
            sa.select(bots.c.enterprise_id)
            .where(bots.c.client_id == self._inner.client_id, bots.c.team_id == team_id)
            .order_by(bots.c.installed_at.desc())
            .limit(1)
        )
        async with self._inner.engine.connect() as conn:
            enterprise_id = (await conn.execute(query)).scalar()
        return await self.async_find_bot(enterprise_id=enterprise_id, team_id=team_id)

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
