"""A fake Slack that holds every channel to Slack's posting limit: one message a second per channel.

A ``chat.postMessage`` that comes less than ``interval`` seconds after the last accepted post to the same
channel gets HTTP 429 ``ratelimited`` with a ``Retry-After`` header, as Slack answers; nothing is posted.
"""

from __future__ import annotations

import math
import time

from aiohttp import web

from tests.support.fake_slack import FakeSlack


class PacedSlack(FakeSlack):
    def __init__(self, *, interval: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.interval = interval
        self.accepted_at: dict[str, list[float]] = {}  # channel -> monotonic times of accepted posts
        self.rejected = 0

    def _m_chat_postMessage(self, args):
        channel = str(args.get("channel"))
        now = time.monotonic()
        accepted = self.accepted_at.setdefault(channel, [])
        if accepted and now - accepted[-1] < self.interval:
            self.rejected += 1
            wait = self.interval - (now - accepted[-1])
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(math.ceil(wait))}
            )
        result = super()._m_chat_postMessage(args)
        if not isinstance(result, web.Response):  # posted (not channel_not_found and the like)
            accepted.append(now)
        return result
