"""``POST /webhooks/sparkhire/{connection_id}``: Spark Hire deliveries in, durably, exactly once."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.notify.batcher import EventBatcher, UnstorableEvent
from bot.notify.events import sparkhire_event
from bot.storage import Database, NewEvent, is_database_unavailable
from bot.web_limits import body_timed_out, read_within

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/sparkhire/{connection_id}"
MAX_BODY_BYTES = 1024 * 1024
#: Containers nested deeper than this are refused; Spark Hire's objects nest four or five deep.
MAX_DEPTH = 64


def webhook_path(connection_id: str) -> str:
    return WEBHOOK_PATH.format(connection_id=connection_id)


@dataclass(frozen=True)
class Arrival:
    """A delivery this process stored: ``new`` is False when it was a duplicate (not posted again)."""

    event: NewEvent
    new: bool


class Arrivals:
    """Who waits in this process for the next delivery of an event type on a connection.

    ``subscribe test`` asks Spark Hire to replay an event and waits here to tell the user what
    became of it; Spark Hire's answer to the replay says nothing about which event it sends.
    """

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, str], list[asyncio.Future[Arrival]]] = {}

    @contextmanager
    def expect(self, connection_id: str, header_event: str) -> Iterator[asyncio.Future[Arrival]]:
        future: asyncio.Future[Arrival] = asyncio.get_running_loop().create_future()
        key = (connection_id, header_event)
        self._waiting.setdefault(key, []).append(future)
        try:
            yield future
        finally:
            waiting = self._waiting.get(key, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiting.pop(key, None)

    def arrived(self, connection_id: str, header_event: str, arrival: Arrival) -> None:
        for future in self._waiting.pop((connection_id, header_event), []):
            if not future.done():
                future.set_result(arrival)


#: One per process: the replay may be asked for by any Slack request and arrive through any receiver.
ARRIVALS = Arrivals()


class SparkHireReceiver:
    """Authenticates, validates and records deliveries; answers 2xx only after the commit."""

    def __init__(self, *, db: Database, batcher: EventBatcher, body_timeout: float = 10.0) -> None:
        self._db = db
        self._batcher = batcher
        self._body_timeout = body_timeout

    @staticmethod
    def _presented(request: web.Request) -> str | None:
        scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "basic":  # auth schemes are case-insensitive (RFC 7617)
            return None
        try:
            # Encoded first: b64decode refuses a str with a non-ASCII character by ValueError.
            return base64.b64decode(credentials.strip().encode("ascii"), validate=True).decode()
        except (binascii.Error, UnicodeError):
            return None

    async def handle(self, request: web.Request) -> web.Response:
        connection_id = request.match_info["connection_id"]
        presented = self._presented(request)
        try:
            connection = (
                await self._db.connections.verify_webhook_auth(connection_id, presented)
                if presented is not None
                else None
            )
        except Exception as exc:
            if not _is_database_failure(exc):
                raise
            logger.exception("Database unavailable while authenticating a webhook")
            return _unavailable()
        if connection is None:
            return web.json_response(
                {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": 'Basic realm="interview-bot"'}
            )
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return web.json_response({"error": "payload too large (1 MiB at most)"}, status=413)
        try:
            # A sender that trickles its body (or stops) must not hold the connection for ever.
            raw = await read_within(request, self._body_timeout, lambda: _read_body(request))
        except TimeoutError:
            return body_timed_out()
        except ConnectionError:
            return web.json_response({"error": "incomplete body"}, status=400)
        if raw is None:
            return web.json_response({"error": "payload too large (1 MiB at most)"}, status=413)
        try:
            body: Any = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: nested deeper than Python can parse. NaN and Infinity (1e999 too) are
            # not JSON, and PostgreSQL refuses to store them.
            body = None
        if not isinstance(body, dict):
            return web.json_response({"error": "the body must be a JSON object"}, status=400)
        # Fewer brackets than the limit cannot nest deeper than it: most bodies skip the walk.
        if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH and _too_deep(body):
            return web.json_response({"error": f"the body nests deeper than {MAX_DEPTH} levels"}, status=400)
        header_event = request.headers.get("X-SparkHire-Event", "")[:64]
        event = sparkhire_event(
            team_id=connection.team_id,
            connection_id=connection_id,
            header_event=header_event,
            webhook_uuid=request.headers.get("X-SparkHire-Webhook-UUID", "")[:64],
            body=body,
            raw=raw,
        )
        try:
            inserted = await self._batcher.record(event)
        except UnstorableEvent as exc:
            # Answered 503, Spark Hire would send it again forever, each time refused the same way.
            return web.json_response({"error": f"not stored: {exc}"}, status=422)
        except Exception as exc:
            if not _is_database_failure(exc):
                raise
            logger.exception("Database unavailable while storing a webhook")
            return _unavailable()
        ARRIVALS.arrived(connection_id, header_event, Arrival(event=event, new=inserted))
        return web.json_response({"ok": True, "duplicate": not inserted})


async def _read_body(request: web.Request) -> bytes | None:
    """The whole body, however many packets or chunks it came in; ``None`` once it passes 1 MiB."""
    # StreamReader.read(n) returns what has arrived so far, not n bytes: read to the end.
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _is_database_failure(error: Exception) -> bool:
    # Not stored, and not a value the database refuses (UnstorableEvent, answered 422): the sender
    # must retry (an outage, a deadlock), not get a 500.
    return isinstance(error, SQLAlchemyError) or is_database_unavailable(error)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _too_deep(body: Any) -> bool:
    """Whether ``body`` nests containers more than ``MAX_DEPTH`` deep (walked without recursion).

    Stored and rendered, a body nested hundreds deep ends in a RecursionError in whatever walks it
    (the rating's uuid search, the JSON encoder): a 500 for every retry.
    """
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _unavailable() -> web.Response:
    # 503 makes Spark Hire retry later; nothing was acknowledged.
    return web.json_response({"error": "temporarily unavailable"}, status=503, headers={"Retry-After": "5"})
