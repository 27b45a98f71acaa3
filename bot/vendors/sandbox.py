"""What both vendor sandboxes share: the knob that makes the next requests fail."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class _Failure:
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    #: Only requests it matches fail (e.g. the second page of a listing); the others pass it by.
    when: Callable[[web.Request], bool] | None = None


class InjectedFailures:
    """Queued failures (429, 5xx, ...) answered in order, each ``times`` times, before normal handling.

    Args:
        default_body: The vendor-shaped error body used when a failure names none.
    """

    def __init__(self, *, default_body: dict[str, Any]) -> None:
        self._default_body = default_body
        self._queue: list[_Failure] = []
        self._slow: list[tuple[float, Callable[[web.Request], bool] | None]] = []
        self._trickles: list[tuple[float, Callable[[web.Request], bool] | None]] = []
        #: Answers being trickled now: one ends once its client hangs up.
        self.trickling = 0

    def slow(self, seconds: float, *, when: Callable[[web.Request], bool] | None = None) -> None:
        """Answer the next request (the next ``when`` matches) only after ``seconds``, as a slow vendor."""
        self._slow.append((seconds, when))

    async def wait_if_slowed(self, request: web.Request) -> None:
        found = next((s for s in self._slow if s[1] is None or s[1](request)), None)
        if found is not None:
            self._slow.remove(found)
            await asyncio.sleep(found[0])

    def trickle(self, every: float, *, when: Callable[[web.Request], bool] | None = None) -> None:
        """Answer the next request (the next ``when`` matches) with a body that never ends, a byte
        every ``every`` seconds: each read of the client's is well within its timeout, the answer
        never complete."""
        self._trickles.append((every, when))

    async def trickled(self, request: web.Request) -> web.StreamResponse | None:
        """The trickled answer to this request, once its client hung up; None if none is queued."""
        found = next((t for t in self._trickles if t[1] is None or t[1](request)), None)
        if found is None:
            return None
        self._trickles.remove(found)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        self.trickling += 1
        try:
            await response.prepare(request)
            while True:  # whitespace before a JSON value is valid JSON: nothing tells it from a slow answer
                await response.write(b" ")
                await asyncio.sleep(found[0])
        except (ConnectionError, OSError):  # the client hung up
            return response
        finally:
            self.trickling -= 1

    def add(
        self,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
        when: Callable[[web.Request], bool] | None = None,
    ) -> None:
        """Answer the next ``times`` requests (those ``when`` matches) with ``status`` (e.g. 429, 503)."""
        self._queue.append(_Failure(status=status, times=times, headers=headers or {}, body=body, when=when))

    def next_response(self, request: web.Request) -> web.Response | None:
        """The failure to answer this request with, or None to handle it normally."""
        failure = next((f for f in self._queue if f.when is None or f.when(request)), None)
        if failure is None:
            return None
        failure.times -= 1
        if failure.times <= 0:
            self._queue.remove(failure)
        body = failure.body if failure.body is not None else self._default_body
        return web.json_response(body, status=failure.status, headers=failure.headers)
