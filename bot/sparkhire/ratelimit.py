"""Client-side limit: each Spark Hire key stays under its 400 requests/minute."""

from __future__ import annotations

import hashlib

from aiolimiter import AsyncLimiter

REQUESTS_PER_MINUTE = 400


BURST = 20


class KeyRateLimiters:
    """One leaky-bucket limiter per API key, keyed by a hash so no key is held as a dict key.

    A bucket of ``burst`` that drains ``rate - burst`` per ``period`` never lets more
    than ``rate`` requests through in any window of ``period`` seconds (a bucket of
    ``rate`` would allow twice that in the first window).

    Args:
        rate: Requests allowed per ``period`` for each key.
        period: Seconds.
        burst: Requests that may go at once.
    """

    def __init__(self, *, rate: float = REQUESTS_PER_MINUTE, period: float = 60.0, burst: int = BURST) -> None:
        self.rate = rate
        self.period = period
        self.burst = max(1, min(burst, int(rate) - 1))
        self._limiters: dict[str, AsyncLimiter] = {}
        #: API root -> the question-set path that answered there (shared by every client).
        self.question_set_paths: dict[str, str] = {}

    def for_key(self, api_key: str) -> AsyncLimiter:
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        limiter = self._limiters.get(digest)
        if limiter is None:
            drain_period = self.period * self.burst / (self.rate - self.burst)
            limiter = self._limiters[digest] = AsyncLimiter(self.burst, drain_period)
        return limiter
