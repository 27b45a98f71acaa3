"""Client-side limit: each Spark Hire key stays under its 400 requests/minute.

Spark Hire counts requests per API key. One :class:`KeyRateLimiters` registry is
shared by every client of a process (``Services`` owns it and passes it in), so
all the clients built for one key wait on the same limiter.
"""

from __future__ import annotations

import hashlib

from aiolimiter import AsyncLimiter

REQUESTS_PER_MINUTE = 400


def key_fingerprint(api_key: str) -> str:
    """A short, stable, non-reversible name for a key (registry keys, test assertions)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


class KeyRateLimiters:
    """A registry of per-key leaky-bucket limiters, plus what clients learned about an API root.

    A plain leaky bucket of capacity ``N`` draining ``N`` per period lets ``2N`` requests
    through in one period (a full burst, then the refill). To stay under ``max_requests``
    in *any* window of ``period`` seconds, the bucket holds ``burst`` requests and
    drains ``max_requests - burst`` per period: at most ``burst + (max_requests - burst)``.

    The registry is keyed by a hash of the key, never the key itself. Limiters are only
    per process: several bot processes sharing one key each get the full budget.

    Args:
        max_requests: Requests allowed per key in any window of ``period`` seconds.
        period: Window length in seconds.
        burst: Requests that may go out back to back; defaults to a tenth of
            ``max_requests``. Must be smaller than ``max_requests``.

    Attributes:
        question_set_paths: API root -> the question-set path that answered there
            (the reference documents two; see ``SparkHireClient``). Shared here so a
            fresh client per request does not probe again.
    """

    def __init__(
        self,
        *,
        max_requests: int = REQUESTS_PER_MINUTE,
        period: float = 60.0,
        burst: int | None = None,
    ) -> None:
        if max_requests < 2:
            raise ValueError("max_requests must be at least 2")
        burst = max(1, max_requests // 10) if burst is None else burst
        if not 1 <= burst < max_requests:
            raise ValueError("burst must be at least 1 and smaller than max_requests")
        self.max_requests = max_requests
        self.period = period
        self.burst = burst
        # AsyncLimiter(capacity, seconds to drain a full bucket).
        self._drain_seconds = burst * period / (max_requests - burst)
        self._limiters: dict[str, AsyncLimiter] = {}
        self.question_set_paths: dict[str, str] = {}

    def for_key(self, api_key: str) -> AsyncLimiter:
        """The limiter all clients using ``api_key`` share."""
        fingerprint = key_fingerprint(api_key)
        limiter = self._limiters.get(fingerprint)
        if limiter is None:
            limiter = self._limiters[fingerprint] = AsyncLimiter(self.burst, self._drain_seconds)
        return limiter

    def __contains__(self, api_key: object) -> bool:
        return isinstance(api_key, str) and key_fingerprint(api_key) in self._limiters

    def __len__(self) -> int:
        return len(self._limiters)

    def __repr__(self) -> str:
        return (
            f"KeyRateLimiters(max_requests={self.max_requests}, period={self.period}, "
            f"burst={self.burst}, keys={len(self._limiters)})"
        )
