"""Shared HTTP plumbing for the vendor clients: pooling, retries, error mapping.

Each vendor client subclasses :class:`BaseVendorClient` and only describes its
endpoints; transport, retry policy and error translation live here once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from bot.vendors.errors import (
    MAYBE_DONE_MESSAGE,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    VendorError,
    error_for_status,
)

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
#: Transport errors raised before a request could reach the vendor.
NOT_SENT_ERRORS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
GATEWAY_ERRORS = {502, 504}
ACTIONABLE_DEFAULTS = (
    AuthenticationError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """A small, explicit retry policy.

    Attributes:
        max_retries: Extra attempts after the first one.
        backoff_base: First backoff in seconds; doubles each attempt, with full jitter.
        backoff_max: Upper bound of one computed backoff.
        retry_after_cap: Upper bound of a vendor-requested wait; past it we give up
            and raise :class:`RateLimitError` so the caller can tell the user.
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_after_cap: float = 30.0

    def backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.backoff_max, self.backoff_base * (2**attempt)))


NO_RETRIES = RetryPolicy(max_retries=0)


@dataclass(frozen=True, kw_only=True)
class RetryWait:
    """A retry the client is about to wait for (see :attr:`BaseVendorClient.on_retry`).

    Attributes:
        vendor: The vendor's name as users read it ("Spark Hire").
        error: What the failed attempt raised (:class:`RateLimitError` for a 429).
        delay: Seconds until the retry: the vendor's ``Retry-After`` or our backoff.
        attempt: Which retry this is, from 1.
        max_retries: The policy's most retries.
    """

    vendor: str
    error: VendorError
    delay: float
    attempt: int
    max_retries: int

    @property
    def rate_limited(self) -> bool:
        return isinstance(self.error, RateLimitError)


#: Told of each retry before its wait; answers whether to wait for it (False: the error is raised now).
#: Clients stay free of Slack: whoever makes the call decides what a user hears.
RetryObserver = Callable[[RetryWait], Awaitable[bool]]


def on_this_machine(url: str) -> bool:
    """Whether ``url`` names this machine (``--sandbox``'s vendors, or a tunnel's end): no proxy of
    ``HTTP_PROXY`` / ``HTTPS_PROXY`` can reach it there, and without ``NO_PROXY`` httpx sent it one."""
    host = httpx.URL(url).host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HttpPool:
    """One pooled ``httpx.AsyncClient`` per base URL per process, closed on shutdown."""

    def __init__(
        self,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._transport = transport
        self._clients: dict[str, httpx.AsyncClient] = {}

    def get(self, base_url: str) -> httpx.AsyncClient:
        key = base_url.rstrip("/")
        client = self._clients.get(key)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(
                base_url=key,
                timeout=self._timeout,
                transport=self._transport,
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
                headers={"User-Agent": "interview-bot/0.1"},
                trust_env=not on_this_machine(key),
            )
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


def log_unreadable(vendor: str, what: str, item: Any, error: PydanticValidationError) -> None:
    """Log a record left out because the bot cannot read it: by id and field, never by value.

    Args:
        vendor: The vendor's name as users know it.
        what: The kind of record ("Invite"), and where it was found if not in a listing of its own.
        item: The record as received; only its id is logged (the rest may be a candidate's details).
        error: Why it could not be read.
    """
    logger.warning(
        "%s sent a record the bot cannot read (%s, id %s); it was left out: %s",
        vendor,
        what,
        _item_id(item),
        _problems(error),
    )


def _item_id(item: Any) -> str:
    """A record's id for the log (never its contents: candidates' names and emails)."""
    value = item.get("id", item.get("uuid")) if isinstance(item, dict) else None
    return str(value)[:64] if isinstance(value, (str, int)) and not isinstance(value, bool) else "unknown"


def _problems(exc: PydanticValidationError) -> str:
    """Where and what, without the values (they may be a candidate's details)."""
    problems = (
        f"{'.'.join(map(str, error['loc'])) or 'record'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    )
    return "; ".join(problems)[:300]


def path_segment(value: str | int) -> str:
    """One id as a URL path segment, so an id typed in Slack can never reach another endpoint."""
    text = str(value)
    if not text or text in {".", ".."} or not text.isprintable():
        raise NotFoundError(f"No record has the id {text[:40]!r}.")
    return quote(text, safe="")


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from whichever rate-limit header the vendor sent, if any.

    ``Retry-After`` is either seconds or an HTTP-date (RFC 9110 10.2.3, "Wed, 25 Nov 2026 10:00:00
    GMT"): neither vendor documents the date, but a proxy or gateway in front of either may send it.
    A date is read against the answer's own ``Date`` when it has one (the same clock), else ours; one
    already past is 0. Neither form of a header readable, the next is tried.
    """
    for name in ("X-Rate-Limit-Try-Again-Seconds", "Retry-After"):
        value = headers.get(name)
        if value is None:
            continue
        seconds = _delay_seconds(value)
        if seconds is None and name == "Retry-After":
            seconds = _seconds_until(value, headers.get("Date"))
        if seconds is not None:
            return seconds
    return None


def _delay_seconds(value: str) -> float | None:
    """A header's wait as seconds (a fraction allowed; a negative is 0); None if it is not a number."""
    try:
        seconds = float(value)
    except ValueError:
        return None
    # "inf" or "1e999" is not a wait: raised on, it would read "Try again in about inf seconds", or fail.
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until(value: str, date: str | None) -> float | None:
    """Seconds from ``date`` (the answer's ``Date``; now if absent or unreadable) to the HTTP-date
    ``value``; None if ``value`` is no date."""
    at = _http_date(value)
    if at is None:
        return None
    now = _http_date(date) if date is not None else None
    return max(0.0, (at - (now if now is not None else datetime.now(UTC))).total_seconds())


def _http_date(value: str) -> datetime | None:
    """An HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms RFC 9110 says to accept)."""
    try:
        at = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at  # HTTP-dates are GMT


#: Shorter credentials are not scrubbed from vendors' messages: they would blank common words.
MIN_SCRUBBED_LENGTH = 8


class BaseVendorClient:
    """Base of the vendor clients.

    Args:
        base_url: The vendor API root, e.g. ``https://api.sparkhire.com/v1.0``.
        timeout: Per-request timeout when the client owns its HTTP client.
        transport: Injectable httpx transport (tests, sandboxes).
        http_client: A shared pooled client (see :class:`HttpPool`); not closed by us.
        retry: The retry policy.
        on_retry: Awaited before each retry's wait (also settable later as ``client.on_retry``):
            lets a caller tell its user the vendor is busy, or stop waiting by answering False.
    """

    vendor_name = "vendor"

    def __init__(
        self,
        *,
        base_url: str,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        on_retry: RetryObserver | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self._owns_client = http_client is None
        self._http = http_client or httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport, trust_env=not on_this_machine(self.base_url)
        )
        #: Records of listings this client left out as unreadable (``_listed``): a listing with any
        #: is not the account's whole.
        self.unreadable_listed = 0

    # -- lifecycle -------------------------------------------------------------
    async def aclose(self) -> None:
        if self._owns_client:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _listed(self, model: type[M], items: Any) -> list[M]:
        """Each item of a listing read on its own: one the bot cannot read is left out and logged.

        One odd record (a null email, a date in another format) must not hide the rest: failing
        the page would stop every poll of that account and every search through it.
        """
        if not isinstance(items, list):
            raise ServerError(
                f"{self.vendor_name} answered a listing with something that is not a list.", vendor=self.vendor_name
            )
        readable: list[M] = []
        for item in items:
            try:
                readable.append(model.model_validate(item))
            except PydanticValidationError as exc:
                self.unreadable_listed += 1
                log_unreadable(self.vendor_name, model.__name__, item, exc)
        return readable

    async def _keep_retrying(self, wait: RetryWait) -> bool:
        assert self.on_retry is not None
        try:
            return bool(await self.on_retry(wait))
        except Exception:  # telling someone about a retry must not change the call's outcome
            logger.warning("A retry observer of %s failed; retrying anyway", self.vendor_name, exc_info=True)
            return True

    # -- hooks for subclasses ----------------------------------------------------
    def _auth_headers(self) -> dict[str, str]:
        """Headers carrying the credential. Never logged, never put in an exception."""
        return {}

    def _credentials(self) -> tuple[str, ...]:
        """The raw credentials, to scrub from what the vendor answers (it may echo a rejected key)."""
        return ()

    def _scrub(self, text: str) -> str:
        """``text`` without the credentials: a vendor's words reach the user and the log."""
        for credential in self._credentials():
            if len(credential) >= MIN_SCRUBBED_LENGTH:
                text = text.replace(credential, "[redacted]")
        return text

    async def _before_request(self) -> None:
        """Called before every attempt (client-side rate limiting)."""

    def _error_message(self, response: httpx.Response, body: Any) -> tuple[str | None, str | None]:
        """(message, code) from an error body; ``None`` keeps the class's default message."""
        return None, None

    def _make_error(self, response: httpx.Response) -> APIStatusError:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        message, code = self._error_message(response, body)
        if message:
            message = self._scrub(message)
        cls = error_for_status(response.status_code)
        if message and cls.default_message and cls in ACTIONABLE_DEFAULTS:
            # Keep our "what to do" sentence; the vendor's words follow as detail.
            message = f"{cls.default_message} ({self.vendor_name} said: {message[:200]})"
        kwargs: dict[str, Any] = {
            "vendor": self.vendor_name,
            "status_code": response.status_code,
            "code": code,
            "body": body,
        }
        if cls is RateLimitError:
            kwargs["retry_after"] = parse_retry_after(response.headers)
        return cls(message, **kwargs)

    # -- the one request path ------------------------------------------------------
    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        idempotent: bool | None = None,
        empty_on_404: bool = False,
    ) -> httpx.Response | None:
        """Send a request with the retry policy and map errors.

        Args:
            idempotent: Whether 5xx and connection errors may be retried. Defaults
                to True for GET/PUT/DELETE/HEAD, False otherwise (never double-create).
            empty_on_404: Return ``None`` instead of raising on 404 (list endpoints
                where 404 means "nothing matches").

        Returns:
            The successful response (any 2xx), or ``None`` for an empty 404.
        """
        if idempotent is None:
            idempotent = method.upper() in {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
        if not all(value.isascii() and value.isprintable() for value in self._auth_headers().values()):
            # A credential pasted with a non-ASCII or control character: httpx cannot send it (an
            # unexpected UnicodeEncodeError) or servers refuse the header (400). Refused as a wrong one.
            raise AuthenticationError(vendor=self.vendor_name)
        attempt = 0
        while True:
            await self._before_request()
            try:
                response = await self._http.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=json,
                    headers=self._auth_headers(),
                )
            except httpx.TransportError as exc:
                # Once the request is out, a late answer or a dropped connection may hide a create
                # that was done: say so, since the user's obvious next step could invite someone twice.
                sent = not isinstance(exc, NOT_SENT_ERRORS)
                message = MAYBE_DONE_MESSAGE if sent and not idempotent else None
                kind = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
                error: VendorError = kind(message, vendor=self.vendor_name)
                error.request_sent = sent  # type: ignore[attr-defined]
                error.maybe_done = sent and not idempotent
                cause: BaseException = exc
                retryable = idempotent
                wait = None
            else:
                if response.is_success:
                    return response
                if response.status_code == 404 and empty_on_404:
                    return None
                error = self._make_error(response)
                cause = None  # type: ignore[assignment]
                if isinstance(error, RateLimitError):
                    # A 429 means the request was not processed: safe to retry any method.
                    retryable = True
                    wait = error.retry_after
                    if wait is not None and wait > self.retry.retry_after_cap:
                        retryable = False
                else:
                    retryable = idempotent and isinstance(error, ServerError)
                    wait = None
                    if not idempotent and response.status_code in GATEWAY_ERRORS:
                        # A proxy's answer: the vendor behind it may have done the work all the same.
                        error.message, error.maybe_done = MAYBE_DONE_MESSAGE, True
            delay = wait if wait is not None else self.retry.backoff(attempt)
            give_up = not retryable or attempt >= self.retry.max_retries
            if not give_up and self.on_retry is not None:
                started = asyncio.get_running_loop().time()
                give_up = not await self._keep_retrying(
                    RetryWait(
                        vendor=self.vendor_name,
                        error=error,
                        delay=delay,
                        attempt=attempt + 1,
                        max_retries=self.retry.max_retries,
                    )
                )
                # The wait the observer was told of runs from when it was told, not after it answered.
                delay = max(0.0, delay - (asyncio.get_running_loop().time() - started))
            if give_up:
                if cause is not None:
                    raise error from None
                raise error
            logger.info(
                "%s %s %s failed (%s); retrying in %.2fs (attempt %d/%d)",
                self.vendor_name,
                method,
                path,
                type(error).__name__,
                delay,
                attempt + 1,
                self.retry.max_retries,
            )
            await asyncio.sleep(delay)
            attempt += 1
