"""The subscribe/unsubscribe grammar (a public contract: keep the words exactly).

``subscribe [wedgehr|sparkhire|all] [event ...] [job:<name or id>] [exclude:<email or @domain>] [compact] [shared]``
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.errors import UserFacingError
from bot.storage.schema import JOB_FILTER_MAX

SPARKHIRE_EVENTS = ("completed", "rated", "expired", "accepted", "created", "rescheduled", "canceled", "reset", "jobs")
WEDGEHR_EVENTS = ("completed", "send_failure", "canceled")
DEFAULT_EVENTS = ("completed", "rated", "expired")
VENDOR_EVENTS = {"sparkhire": SPARKHIRE_EVENTS, "wedgehr": WEDGEHR_EVENTS}
VENDOR_WORDS = {"sparkhire": ("sparkhire",), "wedgehr": ("wedgehr",), "all": ("wedgehr", "sparkhire")}
#: Quotes that open a name with spaces, each with the quotes that close it: straight ones and the
#: curly ones macOS and phones type for them. They open only at the start of a word or of a
#: ``job:``/``exclude:`` value, so an apostrophe inside a name stays (Director\u2019s Assistant).
DOUBLE_QUOTES = {'"': '"\u201d\u201c', "\u201c": '\u201d\u201c"', "\u201e": '\u201c\u201d"', "\u201d": '\u201d"'}
SINGLE_QUOTES = {"'": "'\u2019", "\u2018": "\u2019'", "\u2019": "\u2019'"}
QUOTED_PREFIXES = ("job:", "exclude:")
#: Typed between words as in a list ("completed, rated"), not part of them.
LIST_PUNCTUATION = ",;"
#: The longest address there is (RFC 5321's path limit): a longer ``exclude:`` value is a paste gone wrong.
EXCLUDE_MAX = 254
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
    #: One platform was named (``wedgehr`` or ``sparkhire``, not ``all``): it must be connected.
    explicit_vendor: bool = False
    #: ``all`` was typed: both platforms were asked for, so one not connected is said, not skipped silently.
    named_all: bool = False
    #: ``shared``: the channel may be shared with another organisation (Slack Connect); they see the posts.
    shared: bool = False

    def events_for(self, vendor: str) -> tuple[str, ...]:
        """The requested events this vendor has (defaults: those of completed/rated/expired it knows)."""
        return tuple(e for e in self.events if e in VENDOR_EVENTS[vendor])


def _unwrap(word: str) -> str:
    """Slack formats emails as <mailto:a@b.c|a@b.c>; keep the address."""
    match = re.fullmatch(r"<mailto:([^|>]+)(?:\|[^>]*)?>", word)
    return match.group(1) if match else word


def _closing(text: str, start: int, closers: str, *, single: bool) -> int | None:
    """Where the quote opened before ``start`` closes. A single quote closes only at the end of a
    word: inside one it is an apostrophe (\u2018Director\u2019s Assistant\u2019)."""
    for index in range(start, len(text)):
        if text[index] not in closers:
            continue
        after = text[index + 1 : index + 2]
        if not single or not after or after.isspace() or after in LIST_PUNCTUATION:
            return index
    return None


def _words(text: str) -> list[tuple[str, bool]]:
    """The words of ``text``, each with whether it had a quoted part.

    Any whitespace separates words, and so do list commas ("completed, rated", "completed,rated");
    a ``job:`` or ``exclude:`` value keeps a comma inside it and drops one after it (``job:Barista,``).
    """
    words: list[tuple[str, bool]] = []
    word, quoted, index = "", False, 0
    while index < len(text):
        char = text[index]
        if (char in DOUBLE_QUOTES or char in SINGLE_QUOTES) and (not word or word.lower() in QUOTED_PREFIXES):
            single = char in SINGLE_QUOTES
            close = _closing(text, index + 1, (SINGLE_QUOTES if single else DOUBLE_QUOTES)[char], single=single)
            if close is None:
                raise UserFacingError(
                    f"The quote {char} before `{text[index + 1 :][:40]}` is not closed. Put the whole name "
                    'in quotes, e.g. `job:"Senior Barista"`.'
                )
            # A pasted non-breaking space in a name is a space.
            word += "".join(" " if c.isspace() else c for c in text[index + 1 : close])
            quoted, index = True, close + 1
            continue
        ends_value = index + 1 == len(text) or text[index + 1].isspace()
        if char.isspace() or (
            char in LIST_PUNCTUATION and (ends_value or quoted or not word.lower().startswith(QUOTED_PREFIXES))
        ):
            if word:
                words.append((word, quoted))
            word, quoted = "", False
        else:
            word += char
        index += 1
    if word:
        words.append((word, quoted))
    return words


def parse(text: str) -> SubscriptionRequest:
    """Parse the words after ``subscribe``/``unsubscribe``.

    Raises:
        UserFacingError: with what is wrong and an example.
    """
    vendors: tuple[str, ...] | None = None
    explicit_vendor = named_all = False
    events: list[str] = []
    job: str | None = None
    excludes: list[str] = []
    compact = test = shared = False
    unknown: list[str] = []
    #: Unknown words typed right after an unquoted job name: most likely the rest of the name.
    name_tail: list[str] = []
    after_job = False
    for raw, quoted in _words(text or ""):
        word = raw.strip()
        lower = word.lower()
        follows_job, after_job = after_job, False
        if lower in VENDOR_WORDS and vendors is None:
            vendors = VENDOR_WORDS[lower]
            explicit_vendor = lower != "all"
            named_all = lower == "all"
        elif lower == "compact":
            compact = True
        elif lower == "test":
            test = True
        elif lower == "shared":
            shared = True
        elif lower.startswith("job:"):
            if job is not None:
                raise UserFacingError(
                    "One `job:` at a time: subscribe once per job, e.g. `/interview subscribe job:Barista` "
                    "then `/interview subscribe job:Chef`."
                )
            job = word[4:].strip() or None
            if job is None:
                raise UserFacingError("`job:` needs a job name or id, e.g. `job:Barista`.")
            if len(job) > JOB_FILTER_MAX:
                raise UserFacingError(
                    f"That job name is {len(job)} characters long; a job filter takes at most {JOB_FILTER_MAX}. "
                    "Give the job's id instead (`job:<id>`), or check what was pasted after the name "
                    '(a name with spaces goes in quotes: `job:"Senior Barista"`).'
                )
            after_job = not quoted  # a quoted name is complete
        elif lower.startswith("exclude:"):
            value = _unwrap(word[8:].strip()).lower()
            if len(value) > EXCLUDE_MAX:
                raise UserFacingError(
                    f"`exclude:` takes one email address or @domain of at most {EXCLUDE_MAX} characters "
                    f"(got {len(value)}, starting `{value[:40]}`). Give each one its own `exclude:`."
                )
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
            if follows_job:
                name_tail.append(word)
                after_job = True
    if unknown:
        said = f"I don't understand `{' '.join(unknown)[:80]}`."
        if name_tail:
            name = f"{job} {' '.join(name_tail)}"[:100]
            raise UserFacingError(f'{said} A job name with spaces goes in quotes: `job:"{name}"`.')
        known = ", ".join(sorted(set(SPARKHIRE_EVENTS) | set(WEDGEHR_EVENTS)))
        raise UserFacingError(
            f"{said} Use wedgehr, sparkhire or all; events ({known}); "
            'job:<name or id> (a name with spaces in quotes: job:"Senior Barista"); exclude:<email or @domain>; '
            "compact; shared (in a channel shared with another organisation). "
            "Example: `/interview subscribe sparkhire completed rated job:Barista`."
        )
    return SubscriptionRequest(
        vendors=vendors or ("wedgehr", "sparkhire"),
        events=tuple(events) or DEFAULT_EVENTS,
        explicit_events=bool(events),
        job=job,
        excludes=tuple(excludes),
        compact=compact,
        test=test,
        explicit_vendor=explicit_vendor,
        named_all=named_all,
        shared=shared,
    )
