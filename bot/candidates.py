"""Vendor models to neutral candidate views, and lookups across both vendors."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from urllib.parse import unquote

from blocks.models import CandidateView
from bot.sparkhire.client import SparkHireClient
from bot.sparkhire.models import Interview as SparkInterview
from bot.vendors.errors import VendorError
from bot.wedgehr.client import WedgeHRClient
from bot.wedgehr.models import Wedge

logger = logging.getLogger(__name__)

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# The most interviews we scan for one email; Spark Hire has no email filter.
SPARKHIRE_SCAN_LIMIT = 2000


# Letters and digits of any script (jöhn@, 山田@) with their combining marks: internationalised
# addresses are real people's. They reach the vendors as typed; a vendor that refuses one says so.
LOCAL_PUNCTUATION = "._%+'-"


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


def _local_char(char: str) -> bool:
    return char.isalnum() or char in LOCAL_PUNCTUATION or _is_mark(char)


def _label_char(char: str) -> bool:
    return char.isalnum() or char == "-" or _is_mark(char)


def is_email(text: str) -> bool:
    """``local@domain.tld``: one @, a domain of two labels or more, a top-level label of letters."""
    local, at, domain = (text or "").partition("@")
    if not (at and local and all(_local_char(c) for c in local)):
        return False
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels) or not all(_label_char(c) for label in labels for c in label):
        return False
    tld = labels[-1]
    return len(tld) >= 2 and all(c.isalpha() or _is_mark(c) for c in tld)


def emails_in(text: str) -> Iterator[tuple[int, int]]:
    """The (start, end) of each whole address in ``text`` (NFC-normalised by the caller).

    An address is a whole run of the characters addresses are made of: a run that is not one
    address (``a@b@c``, a letter the rules do not take) yields nothing, never a piece of it, which
    could be someone else's address. A full stop after it, quotes or Slack's _italics_ around it
    are not part of it.
    """
    start: int | None = None
    for index, char in enumerate([*text, " "]):
        if char == "@" or _local_char(char):
            start = index if start is None else start
            continue
        if start is None:
            continue
        first, end, start = start, index, None
        while end > first and text[end - 1] == ".":
            end -= 1
        if end - first > 2 and text[first] == text[end - 1] and text[first] in "'_":
            first, end = first + 1, end - 1
        if text[first:end].endswith(("'s", "\u2019s")):  # ann@example.com's interview
            end -= 2
        while end > first and text[end - 1] in "'_-":  # a closing quote or italics, a dash after it
            end -= 1
        while first < end and text[first] in "'_":
            first += 1
        first, end = _outside_cjk_text(text, first, end)
        if is_email(text[first:end]):
            yield first, end


def _is_cjk(char: str) -> bool:
    return unicodedata.name(char, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC"))


def _outside_cjk_text(text: str, first: int, end: int) -> tuple[int, int]:
    """Chinese or Japanese text has no spaces: a Latin address written in it shares its run.

    The CJK letters before a Latin local part, and after a Latin domain, are the sentence's
    (連絡先はann@example.comです); an address written in CJK (山田@例え.jp) is kept whole.
    """
    at = text.find("@", first, end)
    if at < 0:
        return first, end
    if _is_cjk(text[first]) and not _is_cjk(text[at - 1]):
        while first < at and _is_cjk(text[first]):
            first += 1
    if end - 1 > at and _is_cjk(text[end - 1]) and not _is_cjk(text[at + 1]):
        while end - 1 > at and _is_cjk(text[end - 1]):
            end -= 1
    return first, end


def distinct_emails(text: str) -> list[str]:
    """Every address in free text, once each (any case), in order."""
    text = unicodedata.normalize("NFC", text or "")
    found: dict[str, str] = {}
    for start, end in emails_in(text):
        found.setdefault(text[start:end].casefold(), text[start:end])
    return list(found.values())


def first_email(text: str) -> str | None:
    """The first email address in free text (Slack wraps them as <mailto:a@b|a@b>)."""
    text = unicodedata.normalize("NFC", text or "")
    for start, end in emails_in(text):
        return text[start:end]
    return None


#: Slack's markup for an address in a message: ``<mailto:ann@example.com|label>``.
SLACK_MAILTO = re.compile(r"<mailto:(?P<email>[^|<>\s]+)(?:\|(?P<label>[^<>]*))?>", re.IGNORECASE)
#: What ends the words before a "Name <email>" in a sentence: "New applicant: Ann Lee <ann@…>".
BEFORE_NAME = re.compile(r"[:;,|\t\u2013\u2014]|\s-\s")


def _as_written(link: re.Match[str], *, bracketed: bool = False) -> str:
    """A Slack mailto link as it was written: ``Label <email>`` when its label is a name (a link
    made with a name), ``<email>`` when it was typed in brackets, else the bare address.

    Slack escapes the brackets people type ("Ann Lee <ann@…>" arrives as ``Ann Lee
    &lt;<mailto:…>&gt;``), so a link's own brackets are no sign of a name: "Please invite
    <mailto:zed@…|zed@…>" is "Please invite zed@…", whose words before the address are no name.
    """
    email, label = unquote(link.group("email")), (link.group("label") or "").strip()
    if label and not is_email(label):
        return f"{label} <{email}>"
    return f"<{email}>" if bracketed else email


#: A Slack link to an address between escaped angle brackets: "Ann Lee <ann@…>" as typed.
SLACK_BRACKETED_MAILTO = re.compile(r"&lt;\s*(?P<link>" + SLACK_MAILTO.pattern + r")\s*&gt;", re.IGNORECASE)
#: A mention as Slack sends it: ``<@U123>``, ``<#C123|general>``, ``<!here>``.
SLACK_MENTION = re.compile(r"<(?P<sign>[@#!])(?P<id>[^|<>\s]+)(?:\|(?P<label>[^<>]*))?>")
#: A web link as Slack sends it: ``<https://example.com|label>``.
SLACK_LINK = re.compile(r"<(?P<url>https?://[^|<>\s]+)(?:\|(?P<label>[^<>]*))?>", re.IGNORECASE)
#: The three characters Slack escapes in what people type (messages, commands): one pass, so
#: "&amp;lt;" (a typed "&lt;") stays "&lt;".
SLACK_ESCAPES = re.compile(r"&(lt|gt|amp);")


def _mention_as_shown(mention: re.Match[str]) -> str:
    shown = mention.group("label") or mention.group("id")
    return shown if shown.startswith(("@", "#")) else mention.group("sign").replace("!", "@") + shown


def as_typed(text: str) -> str:
    """Slack's text as the person typed it: ``&lt;`` ``&gt;`` ``&amp;`` back to ``< > &``, and a link
    Slack made of an address as mail programs write people.

    "Ann Lee <ann@example.com>" typed in a message arrives as
    ``Ann Lee &lt;<mailto:ann@example.com|ann@example.com>&gt;``: read as it is, the name is lost.
    """

    def bracketed(found: re.Match[str]) -> str:
        link = SLACK_MAILTO.fullmatch(found.group("link"))
        return _as_written(link, bracketed=True) if link is not None else found.group(0)

    text = SLACK_BRACKETED_MAILTO.sub(bracketed, text or "")
    text = SLACK_MAILTO.sub(_as_written, text)
    # Mentions and links as Slack shows them: in brackets, they made the line around them unreadable.
    text = SLACK_MENTION.sub(_mention_as_shown, text)
    text = SLACK_LINK.sub(lambda m: m.group("label") or m.group("url"), text)
    return SLACK_ESCAPES.sub(lambda m: {"lt": "<", "gt": ">", "amp": "&"}[m.group(1)], text)


def first_candidate(text: str) -> tuple[str | None, str | None]:
    """The first candidate in free text, as (name, email): ``first_email``'s address, and a name
    only when it is written with it as mail programs and Slack write people ("Ann Lee
    <ann@example.com>", "Ann Lee (ann@example.com)", a Slack link labelled with the name)."""
    email = first_email(text)
    if email is None:
        return None, None
    written = SLACK_MAILTO.sub(_as_written, unicodedata.normalize("NFC", text or ""))
    for line in written.splitlines():
        at = line.lower().find(email.lower())
        if at < 0:
            continue
        close = re.match(r"\s*[>)]", line[at + len(email) :])
        if close is None:  # a bare address in a sentence: the words before it are not a name
            return None, email
        start = max((m.end() for m in BEFORE_NAME.finditer(line, 0, at)), default=0)
        rows = parse_bulk(line[start : at + len(email) + close.end()])
        if len(rows) == 1 and rows[0].error is None and rows[0].email.lower() == email.lower():
            return (rows[0].name or "").strip("*_~ ") or None, email
        return None, email
    return None, email


def from_wedge(wedge: Wedge) -> CandidateView:
    invite = wedge.invites[-1] if wedge.invites else None
    status = invite.status if invite else ("complete" if wedge.completed_at else "invited")
    return CandidateView(
        vendor="wedgehr",
        name=wedge.candidate_name,
        email=wedge.candidate_email,
        interview_name=wedge.interview_name_contextualized or wedge.interview_name,
        status=status,
        deadline=wedge.expires_at,
        completed_at=wedge.completed_at,
        result_url=wedge.result_url or (invite.result_url if invite else None),
        invite_url=invite.invite_url if invite else None,
        wedge_id=wedge.id,
    )


def from_interview(interview: SparkInterview) -> CandidateView:
    return CandidateView(
        vendor="sparkhire",
        name=interview.candidate_name,
        email=interview.candidate_email,
        interview_name=interview.job_title,
        status=interview.status,
        rating=interview.rating,
        deadline=interview.scheduled_at,
        completed_at=interview.completed_at,
        watch_url=interview.watch_url,
        interview_uuid=interview.uuid,
        result_url=interview.share_link.url if interview.share_link and interview.share_link.active else None,
    )


async def wedges_for(client: WedgeHRClient, query: str) -> list[Wedge]:
    """Wedges by email, newest first (a list cut short keeps the recent ones), or the one by id."""
    if query.isdigit():
        try:
            return [await client.get_wedge(int(query))]
        except VendorError as exc:
            if exc.status_code == 404:
                return []
            raise
    wedges = [w async for w in client.iter_wedges(email=query)]
    return sorted(wedges, key=lambda w: w.created_at.timestamp() if w.created_at else 0.0, reverse=True)


@dataclass(frozen=True)
class SparkHireSearch:
    interviews: list[SparkInterview]
    #: The scan stopped at ``SPARKHIRE_SCAN_LIMIT`` interviews: older ones were not looked at.
    cut_short: bool = False


def same_address_key(email: str) -> str:
    """An address as compared: one written with decomposed accents (as macOS may send them), in
    another case or with spaces around it is the same address."""
    return unicodedata.normalize("NFC", email).strip().casefold()


async def sparkhire_interviews_for(
    client: SparkHireClient, email: str, *, status: list[str] | None = None
) -> SparkHireSearch:
    """Interviews assigned to ``email``, most recently updated first (Spark Hire cannot filter by
    email: the scan is bounded, and says when it stopped before the account's end)."""
    found: list[SparkInterview] = []
    scanned = 0
    wanted = same_address_key(email)
    async for interview in client.iter_interviews(status=status, orderby="updated_desc", page_size=100):
        if scanned == SPARKHIRE_SCAN_LIMIT:
            return SparkHireSearch(found, cut_short=True)
        scanned += 1
        if same_address_key(interview.candidate_email or "") == wanted:
            found.append(interview)
    return SparkHireSearch(found)


def scan_limit_note(what: str = "interviews") -> str:
    return (
        f"Spark Hire was searched through its {SPARKHIRE_SCAN_LIMIT:,} most recently updated {what} only;"
        " older ones may match. Search in Spark Hire to see them all."
    )


@dataclass(frozen=True)
class Lookup:
    candidates: list[CandidateView]
    notes: list[str]
    #: Connected vendors that answered the search, as keys ("wedgehr", "sparkhire").
    searched: list[str] = field(default_factory=list)
    #: Connected vendors that could not be searched, with the error each raised.
    failed: dict[str, VendorError] = field(default_factory=dict)


#: Called with what the vendors that answered found, and the vendors still searching.
OnPartial = Callable[[Lookup, list[str]], Awaitable[None]]


async def find_everywhere(
    *,
    email: str,
    wedgehr: WedgeHRClient | None,
    sparkhire: SparkHireClient | None,
    partial_after: float | None = None,
    on_partial: OnPartial | None = None,
) -> Lookup:
    """The candidate on every connected vendor; one vendor failing still shows the other.

    A vendor that fails is in ``failed`` (not in ``notes``), so the caller can say it was not
    searched and map its error to a message the recruiter can act on. When a vendor is still
    searching ``partial_after`` seconds in and another has answered, ``on_partial`` gets what is
    known so far (once), and the search goes on for the whole answer.
    """
    notes: list[str] = []

    async def wedge_views() -> list[CandidateView]:
        return [from_wedge(w) for w in await wedges_for(wedgehr, email)] if wedgehr else []

    async def spark_views() -> list[CandidateView]:
        if sparkhire is None:
            return []
        search = await sparkhire_interviews_for(sparkhire, email)
        if search.cut_short:
            notes.append(scan_limit_note())
        return [from_interview(i) for i in search.interviews]

    clients = {"wedgehr": wedgehr, "sparkhire": sparkhire}
    tasks = {"wedgehr": asyncio.ensure_future(wedge_views()), "sparkhire": asyncio.ensure_future(spark_views())}
    try:
        connected = [tasks[v] for v, client in clients.items() if client is not None]
        if partial_after is not None and on_partial is not None and connected:
            await asyncio.wait(connected, timeout=partial_after)
            # Only results are worth a message of their own: a vendor's failure waits for the whole answer.
            answered = [v for v in clients if clients[v] is not None and tasks[v].done() and not tasks[v].exception()]
            pending = [v for v in clients if clients[v] is not None and not tasks[v].done()]
            if answered and pending:
                partial = _collected({v: tasks[v] for v in answered}, clients, notes)
                try:
                    await on_partial(partial, pending)
                except Exception:  # telling the user early must not lose the whole answer
                    logger.warning("Could not send the results found so far", exc_info=True)
        await asyncio.wait(tasks.values())
    finally:
        for task in tasks.values():
            task.cancel()
    return _collected(tasks, clients, notes)


def _collected(
    tasks: dict[str, asyncio.Future[list[CandidateView]]], clients: dict[str, object | None], notes: list[str]
) -> Lookup:
    """The Lookup of the searches in ``tasks`` (all done): each vendor's results, or its error."""
    searched: list[str] = []
    failed: dict[str, VendorError] = {}
    per_vendor: list[list[CandidateView]] = []
    for vendor, task in tasks.items():
        error = task.exception()
        if isinstance(error, VendorError):
            failed[vendor] = error
        elif error is not None:
            raise error
        else:
            per_vendor.append(task.result())
            if clients[vendor] is not None:
                searched.append(vendor)
    # Taken in turn, each newest first: a list cut short still shows both vendors' latest.
    rounds = itertools.zip_longest(*per_vendor)
    candidates = [c for one_round in rounds for c in one_round if c is not None]
    said = list(notes)
    if clients["wedgehr"] is None:
        said.append("WedgeHR is not connected.")
    if clients["sparkhire"] is None:
        said.append("Spark Hire is not connected.")
    return Lookup(candidates=candidates, notes=said, searched=searched, failed=failed)


@dataclass(frozen=True)
class BulkRow:
    row: int
    name: str | None
    email: str
    error: str | None = None
    #: The row whose address this one repeats (0 is the candidate typed in the form's own fields).
    duplicate_of: int | None = None

    @property
    def line(self) -> str:
        """The row as it can be pasted again."""
        return f"{self.name} <{self.email}>" if self.name else self.email


#: What may follow a comma at the end of a name ("Ann Lee, Jr."): not a first name.
NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "phd", "md", "mba", "esq", "cpa", "rn", "dds"}


def surname_first(name: str | None) -> tuple[str, str] | None:
    """(first, last) of a name written last name first, as address books write people ("Lee, Ann"),
    or None for any other name ("Ann Lee", "Ann Lee, Jr.")."""
    last, comma, first = (name or "").partition(",")
    last, first = last.strip(), first.strip()
    if not (comma and last and first) or "," in first or first.strip(".").casefold() in NAME_SUFFIXES:
        return None
    return first, last


def natural_name(name: str | None) -> str | None:
    """The name first name first: "Lee, Ann" is "Ann Lee"; any other as written."""
    parts = surname_first(name)
    return f"{parts[0]} {parts[1]}" if parts else name


def mark_duplicates(rows: list[BulkRow]) -> list[BulkRow]:
    """Each address is invited once: later rows with the same email (any case) point at the first."""
    first_seen: dict[str, int] = {}
    marked: list[BulkRow] = []
    for row in rows:
        key = row.email.lower()
        if row.error is None and key in first_seen:
            row = replace(row, duplicate_of=first_seen[key])
        elif row.error is None:
            first_seen[key] = row.row
        marked.append(row)
    return marked


#: "Ann Lee <ann@example.com>", as mail programs write people.
NAME_ANGLE_EMAIL = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<\s*(?P<email>[^<>\s]+)\s*>\s*$")


def _entries(line: str) -> list[str]:
    """One line split into its candidates: each ends at its address (and a closing ``>``)."""
    # An address used as a display name ("ann@example.com" <ann@example.com>) does not end a candidate.
    ends = [end for _, end in emails_in(line) if not re.match(r"[\"']?\s*<", line[end:])]
    if len(ends) < 2:
        return [line]
    pieces, start = [], 0
    for number, end in enumerate(ends):
        if number == len(ends) - 1:
            end = len(line)
        else:
            close = re.match(r"\s*[>)]", line[end:])  # "Name <email>" and "Name (email)" end with it
            end += close.end() if close else 0
        pieces.append(line[start:end])
        start = end
    return pieces


#: A list marker before a pasted candidate: "1.", "2)", "•", "-", "*".
LIST_MARKER = re.compile(r"^\s*(?:\d{1,4}[.)]|[•·*\-\u2013])\s+")
#: What separates a spreadsheet row's cells, or a name from an address in a sentence.
CELL_SEPARATORS = re.compile(r"[\t,;|]")
#: Around a name written before an address: "Ann Lee - ann@…", "Ann Lee: ann@…".
NAME_TRIM = "\"' -:\u2013\u2014"
#: "Ann Lee (ann@example.com)", as Outlook lists people.
NAME_PAREN_EMAIL = re.compile(r"^(?P<name>[^()<>\[\]]*?)\s*\(\s*(?P<email>[^()\s]+)\s*\)$")
#: Brackets not in one of the forms above: the entry is refused rather than guessed at (a cc in
#: parentheses is not a candidate).
BRACKETS = re.compile(r"[()<>\[\]]")


def _from_cells(entry: str) -> tuple[str | None, str] | None:
    """A candidate written without angle brackets: (name, email), or None when it holds no address.

    A spreadsheet row is one candidate: its address is the cell that is one, its name the cells
    before it (or, with the address first, the next cell); other columns (a department, a phone)
    are left out. "Ann Lee ann@example.com" works the same way.
    """
    found = next(emails_in(entry), None)
    if found is None:
        return None
    start, end = found
    before = [c.strip() for c in CELL_SEPARATORS.split(entry[:start]) if any(ch.isalpha() for ch in c)]
    after = [c.strip() for c in CELL_SEPARATORS.split(entry[end:]) if any(ch.isalpha() for ch in c)]
    cells = before or after[:1]
    name = " ".join(cells).strip(NAME_TRIM) or None
    return name, entry[start:end]


#: Column titles of a pasted spreadsheet's header row, as compared: lower-case, without spaces,
#: dashes, underscores, dots or colons ("E-mail address:" is "emailaddress").
HEADER_TITLES = {
    "email": {"email", "emailaddress", "mail", "candidateemail"},
    "first": {"firstname", "first", "givenname", "forename", "candidatefirstname"},
    "last": {"lastname", "last", "surname", "familyname", "candidatelastname"},
    "name": {"name", "fullname", "candidate", "candidatename"},
}


@dataclass(frozen=True)
class _Columns:
    """Where a header row put each column, and what separated its cells."""

    separator: str
    index: dict[str, int]

    def candidate(self, row: str) -> tuple[str | None, str] | None:
        """(name, email) from a row laid out as the header says; None when it is not."""
        cells = [cell.strip().strip("\"'") for cell in row.split(self.separator)]

        def cell(column: str) -> str:
            at = self.index.get(column)
            return cells[at] if at is not None and at < len(cells) else ""

        if not is_email(cell("email")):
            return None
        name = " ".join(part for part in (cell("first"), cell("last")) if part) or cell("name")
        return name or None, cell("email")


def _header(line: str) -> _Columns | None:
    """The columns of a spreadsheet's header row ("Last name, First name, Email"), if it is one."""
    if next(emails_in(line), None) is not None:
        return None
    separator = next((sep for sep in ("\t", ";", "|", ",") if sep in line), "\t")
    index: dict[str, int] = {}
    for position, cell in enumerate(line.split(separator)):
        title = re.sub(r"[\s_\-.:\"']", "", cell.casefold())
        column = next((c for c, titles in HEADER_TITLES.items() if title in titles), None)
        if column is not None:
            index.setdefault(column, position)
    return _Columns(separator=separator, index=index) if "email" in index else None


def _laid_out_entries(
    lines: list[str], columns: _Columns | None
) -> Iterator[tuple[str, tuple[str | None, str] | None]]:
    """Each candidate's text, with (name, email) when it is laid out as the header says.

    A row laid out so is one candidate, whatever else its cells hold; another line is split into
    its candidates, each of which may still fit the header on its own.
    """
    for line in lines:
        whole = columns.candidate(line) if columns is not None else None
        if whole is not None:
            yield line, whole
            continue
        for entry in _entries(line):
            yield entry, columns.candidate(entry) if columns is not None else None


def parse_bulk(text: str, *, prose: bool = False) -> list[BulkRow]:
    """``Name <email>``, ``email`` or a spreadsheet row, one or more a line; blank lines skipped,
    bad entries reported per row.

    A spreadsheet's header row ("Last name, First name, Email") is not a candidate: the rows under
    it are read by its columns, so a name comes out "First Last" whatever the order.
    Rows are numbered in the order of the entries, as the results list them.

    ``prose``: the text is a message or a command's words, not a list: words before an address
    ("Please invite ann@…") are no name unless a tab or ``|`` sets them apart as a cell; names
    written with the address ("Ann Lee <ann@…>", "Ann Lee (ann@…)") and table columns still count.
    """
    rows: list[BulkRow] = []
    text = unicodedata.normalize("NFC", text or "")
    lines = text.splitlines()
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    columns = _header(lines[first]) if first is not None else None
    if columns is not None:
        lines = lines[first + 1 :]  # type: ignore[operator]
    for entry, laid_out in _laid_out_entries(lines, columns):
        line = LIST_MARKER.sub("", entry.strip().strip(",; \t"), count=1).strip()
        line = re.sub(r"(?i)\bmailto:", "", line)  # a link's
        if not line:
            continue
        number = len(rows) + 1
        written = NAME_ANGLE_EMAIL.match(line) or NAME_PAREN_EMAIL.match(line)
        if written is not None:
            name, email = written.group("name") or None, written.group("email")
        elif laid_out is not None:
            name, email = laid_out
        elif not BRACKETS.search(line) and (cells := _from_cells(line)) is not None:
            name, email = cells
            if prose and not re.search(r"[\t|]", line):
                name = None
        else:
            rows.append(BulkRow(row=number, name=None, email=line, error="not a valid email address"))
            continue
        if not is_email(email):
            rows.append(BulkRow(row=number, name=name, email=email, error="not a valid email address"))
        else:
            rows.append(BulkRow(row=number, name=(name or "").strip("\"' ") or None, email=email))
    return rows
