"""``POST /webhooks/sparkhire/{connection_id}``: Spark Hire deliveries in, durably, exactly once."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.crypto import constant_time_equals
from bot.notify.batcher import EventBatcher
from bot.notify.events import sparkhire_event
from bot.storage import Connection, Database

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/sparkhire/{connection_id}"
MAX_BODY_BYTES = 1024 * 1024
AUTH_CACHE_SECONDS = 30.0


def webhook_path(connection_id: str) -> str:
    return WEBHOOK_PATH.format(connection_id=connection_id)


class SparkHireReceiver:
    """Authenticates, validates and records deliveries; answers 2xx only after the commit."""

    def __init__(self, *, db: Database, batcher: EventBatcher) -> None:
        self._db = db
        self._batcher = batcher
        # connection id -> (connection, expected "user:pass", cached until)
        self._auth: dict[str, tuple[Connection, str, float]] = {}

    async def _credentials(self, connection_id: str) -> tuple[Connection, str] | None:
        cached = self._auth.get(connection_id)
        if cached and cached[2] > time.monotonic():
            return cached[0], cached[1]
        found = await self._db.connections.webhook_auth(connection_id)
        if found is None:
            self._auth.pop(connection_id, None)
            return None
        self._auth[connection_id] = (found[0], found[1], time.monotonic() + AUTH_CACHE_SECONDS)
        return found

    def forget(self, connection_id: str) -> None:
        """Drop cached credentials (after the webhook is re-registered or removed)."""
        self._auth.pop(connection_id, None)

    @staticmethod
    def _presented(request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            return base64.b64decode(header[6:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None

    async def handle(self, request: web.Request) -> web.Response:
        connection_id = request.match_info["connection_id"]
        presented = self._presented(request)
        try:
            found = await self._credentials(connection_id) if presented is not None else None
        except SQLAlchemyError:
            logger.exception("Database unavailable while authenticating a webhook")
            return _unavailable()
        expected = found[1] if found else "\0" * max(1, len(presented or ""))
        if presented is None or not constant_time_equals(presented, expected) or found is None:
            return web.json_response(
                {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": 'Basic realm="interview-bot"'}
            )
        connection = found[0]
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return web.json_response({"error": "payload too large (1 MiB at most)"}, status=413)
        try:
            raw = await request.content.read(MAX_BODY_BYTES + 1)
        except (ConnectionError, TimeoutError):
            return web.json_response({"error": "incomplete body"}, status=400)
        if len(raw) > MAX_BODY_BYTES:
            return web.json_response({"error": "payload too large (1 MiB at most)"}, status=413)
        try:
            body: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return web.json_response({"error": "the body must be a JSON object"}, status=400)
        event = sparkhire_event(
            team_id=connection.team_id,
            connection_id=connection_id,
            header_event=request.headers.get("X-SparkHire-Event", "")[:64],
            webhook_uuid=request.headers.get("X-SparkHire-Webhook-UUID", "")[:64],
            body=body,
            raw=raw,
        )
        try:
            inserted = await self._batcher.record(event)
        except SQLAlchemyError:
            logger.exception("Database unavailable while storing a webhook")
            return _unavailable()
        return web.json_response({"ok": True, "duplicate": not inserted})


def _unavailable() -> web.Response:
    # 503 makes Spark Hire retry later; nothing was acknowledged.
    return web.json_response({"error": "temporarily unavailable"}, status=503, headers={"Retry-After": "5"})
