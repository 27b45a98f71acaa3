"""The subscribe/unsubscribe grammar (a public contract: keep the words exactly).

``subscribe [wedgehr|sparkhire|all] [event ...] [job:<name or id>] [exclude:<email or @domain>] [compact]``
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from bot.errors import UserFacingError

SPARKHIRE_EVENTS = ("completed", "rated", "expired", "accepted", "created", "rescheduled", "canceled", "reset", "jobs")
WEDGEHR_EVENTS = ("completed", "send_failure", "canceled")
DEFAULT_EVENTS = ("completed", "rated", "expired")
VENDOR_EVENTS = {"sparkhire": SPARKHIRE_EVENTS, "wedgehr": WEDGEHR_EVENTS}
VENDOR_WORDS = {"sparkhire": ("sparkhire",), "wedgehr": ("wedgehr",), "all": ("wedgehr", "sparkhire")}
#: Curly double quotes (macOS and phones type them for ") delimit a job name like straight ones.
#: Single curly quotes stay: they are apostrophes in names (Director\u2019s Assistant).
SMART_DOUBLE_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"'})
EXCLUDE_RE = re.compile(r"^(@[A-Za-z0-9.-]+\.[A-Za-z]{2,}|[^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})$")


@dataclass(frozen=True)
class SubscriptionRequest:
    """What the words asked for; ``explicit_events`` is False when defaults apply."""

    vendors: tuple[str, ...]
    events: tuple[str, ...]
    explicit_events: bool
    job: str | None = None
    excludes: tuple[str, ...] = ()
    compact: bool = False
    test: bool = False
    unknown: tuple[str, ...] = field(default=())

    def events_for(self, vendor: str) -> tuple[str, ...]:
        """The requested events this vendor has (defaults: those of completed/rated/expired it knows)."""
        return tuple(e for e in self.events if e in VENDOR_EVENTS[vendor])


def _unwrap(word: str) -> str:
    """Slack formats emails as <mailto:a@b.c|a@b.c>; keep the address."""
    match = re.fullmatch(r"<mailto:([^|>]+)(?:\|[^>]*)?>", word)
    return match.group(1) if match else word


def parse(text: str) -> SubscriptionRequest:
    """Parse the words after ``subscribe``/``unsubscribe``.

    Raises:
        UserFacingError: with what is wrong and an example.
    """
    text = (text or "").translate(SMART_DOUBLE_QUOTES)
    try:
        words = shlex.split(text)
    except ValueError:  # an unbalanced quote: read the words as typed
        words = text.split()
    vendors: tuple[str, ...] | None = None
    events: list[str] = []
    job: str | None = None
    excludes: list[str] = []
    compact = test = False
    unknown: list[str] = []
    for raw in words:
        word = raw.strip()
        lower = word.lower()
        if lower in VENDOR_WORDS and vendors is None:
            vendors = VENDOR_WORDS[lower]
        elif lower == "compact":
            compact = True
        elif lower == "test":
            test = True
        elif lower.startswith("job:"):
            if job is not None:
                raise UserFacingError(
                    "One `job:` at a time: subscribe once per job, e.g. `/interview subscribe job:Barista` "
                    "then `/interview subscribe job:Chef`."
                )
            job = word[4:].strip() or None
            if job is None:
                raise UserFacingError("`job:` needs a job name or id, e.g. `job:Barista`.")
        elif lower.startswith("exclude:"):
            value = _unwrap(word[8:].strip()).lower()
            if not EXCLUDE_RE.match(value):
                raise UserFacingError(
                    f"`exclude:` takes an email or @domain, e.g. `exclude:@test.example.com` (got `{value[:60]}`)."
                )
            excludes.append(value)
        elif lower in SPARKHIRE_EVENTS or lower in WEDGEHR_EVENTS:
            if lower not in events:
                events.append(lower)
        else:
            unknown.append(word)
    if unknown:
        known = ", ".join(sorted(set(SPARKHIRE_EVENTS) | set(WEDGEHR_EVENTS)))
        raise UserFacingError(
            f"I don't understand `{' '.join(unknown)[:80]}`. Use wedgehr, sparkhire or all; events ({known}); "
            "job:<name or id>; exclude:<email or @domain>; compact. Example: "
            "`/interview subscribe sparkhire completed rated job:Barista`."
        )
    return SubscriptionRequest(
        vendors=vendors or ("wedgehr", "sparkhire"),
        events=tuple(events) or DEFAULT_EVENTS,
        explicit_events=bool(events),
        job=job,
        excludes=tuple(excludes),
        compact=compact,
        test=test,
    )
