"""Client-side limit: each Spark Hire key stays under its 400 requests/minute."""

from __future__ import annotations

import hashlib

from aiolimiter import AsyncLimiter

REQUESTS_PER_MINUTE = 400


class KeyRateLimiters:
    """One leaky-bucket limiter per API key, keyed by a hash so no key is held as a dict key.

    Args:
        rate: Requests allowed per ``period`` for each key.
        period: Seconds.
    """

    def __init__(self, *, rate: float = REQUESTS_PER_MINUTE, period: float = 60.0) -> None:
        self.rate = rate
        self.period = period
        self._limiters: dict[str, AsyncLimiter] = {}

    def for_key(self, api_key: str) -> AsyncLimiter:
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        limiter = self._limiters.get(digest)
        if limiter is None:
            limiter = self._limiters[digest] = AsyncLimiter(self.rate, self.period)
        return limiter
