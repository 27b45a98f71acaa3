"""One error hierarchy for both vendor clients.

Every message is written for a recruiter reading it in Slack: it says what
happened and what to do, and never contains a credential.
"""

from __future__ import annotations

from typing import Any


class VendorError(Exception):
    """Base of every error a vendor client raises."""

    #: Short, user-facing explanation; subclasses refine it.
    default_message = "The vendor could not complete the request."
    #: A create or a resend that got no clear answer: it may have been done all the same.
    maybe_done: bool = False

    def __init__(
        self,
        message: str | None = None,
        *,
        vendor: str = "",
        status_code: int | None = None,
        code: str | None = None,
        body: Any = None,
    ) -> None:
        self.vendor = vendor
        self.status_code = status_code
        self.code = code
        self.body = body
        self.message = message or self.default_message
        super().__init__(self.message)

    def __str__(self) -> str:
        prefix = f"{self.vendor}: " if self.vendor else ""
        return f"{prefix}{self.message}"


class APIStatusError(VendorError):
    """The vendor answered with an HTTP error status."""


class AuthenticationError(APIStatusError):
    default_message = "The API key or token was rejected. Reconnect the account with `/interview connect`."


class PaymentRequiredError(APIStatusError):
    default_message = (
        "The vendor account's plan does not allow this (payment required). Check the plan in the vendor's web app."
    )


class PermissionDeniedError(APIStatusError):
    default_message = "This account is not allowed to do that. Ask an account admin for access."


class SessionError(PermissionDeniedError):
    """WedgeHR's 403 "System could not fetch session data": a server-side problem, not a bad token."""

    default_message = (
        "WedgeHR could not fetch its session data (a problem on WedgeHR's side). "
        "Try again in a few minutes; contact WedgeHR support if it persists."
    )


class NotFoundError(APIStatusError):
    default_message = "Not found."


class BadRequestError(APIStatusError):
    default_message = "The vendor rejected the request as malformed."


class ValidationError(APIStatusError):
    """422 (or a 400 with field details): ``field_errors`` maps field name to message."""

    default_message = "Some fields were rejected."

    def __init__(self, message: str | None = None, *, field_errors: dict[str, str] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.field_errors: dict[str, str] = dict(field_errors or {})


class RateLimitError(APIStatusError):
    """429. ``retry_after`` is the vendor's requested wait in seconds, when it said one.

    Raised once the client has stopped retrying, so the message never promises a retry.
    """

    default_message = "The vendor is busy (rate limited) and did not take the request. Try again in a minute."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    default_message = "The vendor had an internal error. Try again in a few minutes."


class APIConnectionError(VendorError):
    default_message = "Could not reach the vendor. Check the network or the API URL setting."

    #: False when the request surely never reached the vendor (the connection was refused, say):
    #: a create that failed so can be sent again as it is.
    request_sent: bool = True


class APITimeoutError(APIConnectionError):
    default_message = "The vendor did not answer in time. Try again in a moment."


#: For a create whose answer was lost (late, dropped, a proxy's 502/504): it may have been done, and
#: trying again could do it twice. Short enough for a modal's field error (150 characters) with the
#: vendor's name before it.
MAYBE_DONE_MESSAGE = (
    "No clear answer, so this may have gone through. Check the vendor's app or `/interview find <email>` "
    "before you try again."
)


class UnreadableAnswerError(VendorError):
    """A create (or a resend) the vendor answered with a success whose body could not be read: it
    was most likely done, so the recruiter must check before doing it again."""

    default_message = MAYBE_DONE_MESSAGE
    maybe_done = True


def is_transient(error: VendorError) -> bool:
    """Whether the same request may work a little later: the vendor was busy (429), failing (5xx,
    WedgeHR's session 403) or out of reach (no connection, no answer in time). A refused key or
    plan (401, 402), a forbidden or missing object (403, 404) or a bad request (400, 422) stays so."""
    return isinstance(error, (RateLimitError, ServerError, APIConnectionError, SessionError))


def error_for_status(status: int) -> type[APIStatusError]:
    """The exception class for an HTTP error status."""
    if status == 400:
        return BadRequestError
    if status == 401:
        return AuthenticationError
    if status == 402:
        return PaymentRequiredError
    if status == 403:
        return PermissionDeniedError
    if status in (404, 410):
        return NotFoundError
    if status == 422:
        return ValidationError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return APIStatusError
