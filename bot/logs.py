"""Logging set-up with a filter that scrubs secrets from every record."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from aiohttp.http_exceptions import HttpProcessingError

# Slack tokens, Authorization headers, basic-auth userinfo in URLs, and Slack's response_url and
# incoming-webhook URLs (whoever has one can post as the app; slack-sdk logs them at DEBUG).
_PATTERNS = [
    re.compile(r"(https://hooks\.slack\.com/(?:actions|commands|services|triggers|workflows)/)[^\s'\",]+"),
    # Every kind: bot, user, app-config and refresh tokens (``xoxe-1-…``), rotated ones (``xoxe.xoxb-1-…``).
    re.compile(r"xox[a-z](?:\.xox[a-z])?-[A-Za-z0-9-]+"),
    # OAuth exchanges (oauth.v2.access, token rotation), as slack-sdk logs their data and answers.
    re.compile(r"""((?:refresh_token|access_token|client_secret)['"]?\s*[:=]\s*['"]?)[^\s'"&,}]+"""),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?<=://)[^/@\s:]+:[^/@\s]+(?=@)"),
    # slack-sdk's Socket Mode client logs every envelope whole at DEBUG: a submitted form's state
    # holds what users typed, vendor keys in the connect form included.
    re.compile(r"^(Received message \(type: [^,]*, data: ).*", re.DOTALL),
    # The Spark Hire webhook credentials modal (blocks/subscriptions.py: PASSWORD_LABEL) shows the
    # webhook's password; slack-sdk logs views.open's body and Slack's answer at DEBUG.
    re.compile(r"(Webhook password: `)[^`]*"),
]
REDACTED = "[redacted]"
SLACK_SDK_CLIENT_LOGGERS = ("slack_sdk.web.async_base_client", "slack_sdk.web.base_client")
#: The vendor clients' HTTP library logs every request line at INFO: four lines a poll, and query
#: strings that name candidates (a find by email). Quiet below DEBUG.
HTTP_CLIENT_LOGGERS = ("httpx", "httpcore")


class RedactingFilter(logging.Filter):
    """Replaces known secret values and secret-looking strings in log messages."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self.add_secrets(secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        # Short values would redact ordinary words; real keys and tokens are long.
        self._secrets.update(s for s in secrets if s and len(s) >= 8)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) + REDACTED) if m.re.groups else REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        scrubbed = self.scrub(message)
        if not scrubbed.isascii():
            # A lone surrogate (a webhook body may carry one) cannot be written as UTF-8: the
            # handler would print a "Logging error" traceback instead of the line.
            scrubbed = scrubbed.encode("utf-8", "backslashreplace").decode("utf-8")
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        record.msg, record.args = scrubbed, None
        return True


def configure_logging(level: str, *, secrets: Iterable[str] = ()) -> RedactingFilter:
    """Root logging to stderr with the redacting filter on every handler."""
    redactor = RedactingFilter(secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # slack-sdk tests ``logger.level <= DEBUG`` (the logger's own level, NOTSET = 0) before
    # formatting a debug line for every Web API call; give its loggers the real level.
    for name in SLACK_SDK_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(level)
    for name in HTTP_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(
            level if level == "DEBUG" else max(logging.getLevelName(level), logging.WARNING)
        )
    return redactor


class QuietMalformedRequests(logging.Filter):
    """aiohttp logs each request it cannot parse (a control character in a header, a bad request
    line) at ERROR with a traceback that quotes the offending header, then answers it 400: anyone
    who reaches the port could fill the log with errors, and a header's credentials with them.
    One INFO line instead, saying why without quoting."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 0) < 500:
            why = (str(exc.message).splitlines() or [""])[0].rstrip(": ")[:100]
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else None
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
            record.msg, record.args = "Answered %s a malformed request from %s (%s)", (exc.code, remote, why)
            record.exc_info = record.exc_text = None
        return True


_MALFORMED_REQUESTS = QuietMalformedRequests()


def quiet_malformed_requests() -> None:
    """Put :class:`QuietMalformedRequests` on aiohttp's server logger (once, however often called)."""
    logging.getLogger("aiohttp.server").addFilter(_MALFORMED_REQUESTS)


#: What a request whose signature does not verify is logged as, without its body (see below).
UNVERIFIED_REQUEST = (
    "Answered 401 a request whose signature does not verify with SLACK_SIGNING_SECRET (or older "
    "than five minutes): if Slack's own requests get this (users see dispatch_failed), copy the "
    "signing secret again from the app's Basic Information page"
)


class QuietUnverifiedRequests(logging.Filter):
    """Bolt logs each request whose signature does not verify with its whole body, at INFO. When
    ``SLACK_SIGNING_SECRET`` is not the app's (mistyped, or regenerated in Slack and not yet here),
    those are Slack's own requests: the body holds each command's ``response_url`` (whoever has it
    can answer as the app, and it is URL-encoded there, past the patterns above) and each submitted
    form's values, vendor keys typed into the connect form included. One line instead, without the
    body, saying which setting to check."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Invalid request signature detected"):
            record.msg = UNVERIFIED_REQUEST
            record.args = None
        return True


_UNVERIFIED_REQUESTS = QuietUnverifiedRequests()
#: Bolt's loggers of failed signature checks (slack_bolt.logger.get_bolt_logger names them by class).
BOLT_VERIFICATION_LOGGERS = ("slack_bolt.RequestVerification", "slack_bolt.AsyncRequestVerification")


def quiet_unverified_requests() -> None:
    """Put :class:`QuietUnverifiedRequests` on Bolt's verification loggers (once, however often called)."""
    for name in BOLT_VERIFICATION_LOGGERS:
        logging.getLogger(name).addFilter(_UNVERIFIED_REQUESTS)
