"""Candidate cards: used by `find` and by channel notifications."""

from __future__ import annotations

import dataclasses
from typing import Any

from blocks.common import (
    LIST_TEXT_BUDGET,
    actions,
    button,
    context,
    escape,
    link,
    mailto,
    section,
    slack_date,
    stars,
    text_length,
    truncate,
)
from blocks.errors import reconnect_actions
from blocks.ids import Action
from blocks.models import VENDOR_LABELS, CandidateView, Message
from blocks.resend import resend_button

EVENT_LABELS = {
    "completed": "completed the interview",
    "completed_again": "completed the interview again (a new recording)",
    "rated": "was rated",
    "expired": "let the interview expire",
    "accepted": "accepted the interview",
    "created": "was invited",
    "rescheduled": "got a new deadline",
    "canceled": "interview canceled",
    "reset": "interview was reset",
    "send_failure": "invite could not be sent",
    "jobs": "job changed",
}
STATUS_EMOJI = {
    "completed": ":white_check_mark:",
    "completed_again": ":white_check_mark:",
    "complete": ":white_check_mark:",
    "expired": ":hourglass:",
    "canceled": ":no_entry_sign:",
    "send_failure": ":x:",
    "requested": ":envelope:",
    "invited": ":envelope:",
    "accepted": ":eyes:",
}


#: The longest candidate name or job title a card shows: longer ones are shortened with "…", so that
#: the card's status, job, times and rating still fit in its section (3,000 characters at most).
SHOWN_TEXT_MAX = 200
#: The longest email address there is (RFC 5321): a longer "address" is not linked.
EMAIL_MAX = 254


def _one_line(text: str) -> str:
    """``text`` on one line, as long as a card shows it: a vendor's name with line breaks must not
    write lines of its own into the card (a status, a rating the vendor never gave)."""
    return truncate(" ".join(text.split()), SHOWN_TEXT_MAX)


def _fitted(c: CandidateView) -> CandidateView:
    """``c`` with its name and job title as a card shows them: on one line, and not too long."""
    name = _one_line(c.name) or _one_line(c.email or "") or "Candidate"
    job = c.interview_name and (_one_line(c.interview_name) or None)
    if name == c.name and job == c.interview_name:
        return c
    return dataclasses.replace(c, name=name, interview_name=job)


def candidate_fields(c: CandidateView) -> str:
    status = (c.status or "unknown").replace("_", " ")
    lines = [
        f"{STATUS_EMOJI.get((c.status or '').lower(), ':grey_question:')} *{escape(status.title())}*"
        f"  ·  {VENDOR_LABELS[c.vendor]}"
    ]
    if c.interview_name:
        lines.append(f"*Interview:* {escape(c.interview_name)}")
    if c.completed_at:
        lines.append(f"*Completed:* {slack_date(c.completed_at)}")
    elif c.deadline:
        lines.append(f"*Deadline:* {slack_date(c.deadline)}")
    if c.vendor == "sparkhire":
        lines.append(f"*Rating:* {stars(c.rating)}")
    return "\n".join(lines)


def candidate_actions(c: CandidateView) -> dict[str, Any] | None:
    elements = []
    if c.watch_url and c.completed:
        elements.append(button("Watch interview", Action.WATCH, url=c.watch_url, style="primary"))
    if c.vendor == "sparkhire" and c.completed and c.interview_uuid:
        elements.append(button("Create share link", Action.SHARE_INTERVIEW, value=c.interview_uuid))
    if c.vendor == "wedgehr" and c.wedge_id and not c.completed:
        elements.append(resend_button(c, label="Resend invite"))
    if c.result_url:
        elements.append(button("Open result", Action.OPEN_RESULT, url=c.result_url))
    return actions(*elements) if elements else None


def candidate_blocks(c: CandidateView) -> list[dict[str, Any]]:
    c = _fitted(c)
    who = f"*{escape(c.name)}*"
    if c.email and c.email != c.name and len(c.email) <= EMAIL_MAX:
        who += f"  {mailto(c.email)}"
    blocks = [section(who + "\n" + candidate_fields(c))]
    if (row := candidate_actions(c)) is not None:
        blocks.append(row)
    return blocks


def _vendor_list(vendors: list[str]) -> str:
    return " and ".join(VENDOR_LABELS.get(v, v) for v in vendors)


#: 3 blocks each: with the headline, notes, "more" line and reconnect button, under 50 blocks.
MAX_FOUND_SHOWN = 14


def _more_not_shown(query: str, hidden: list[CandidateView]) -> str:
    """The line counting matches left out, with advice that fits the query."""
    if "@" not in query:
        return f"…and {len(hidden)} more not shown; search by the full email address to narrow it."
    # A full address cannot be narrowed further: say where the rest are. (The list is not in date
    # order across vendors, so it does not claim to show the newest.)
    per_vendor = {VENDOR_LABELS[v]: n for v in ("sparkhire", "wedgehr") if (n := sum(c.vendor == v for c in hidden))}
    if len(per_vendor) == 1:
        return f"…and {len(hidden)} more not shown; open {next(iter(per_vendor))} to see them all."
    where = ", ".join(f"{n} on {label}" for label, n in per_vendor.items())
    return f"…and {len(hidden)} more not shown ({where}); open {' and '.join(per_vendor)} to see them all."


def find_results(
    query: str,
    candidates: list[CandidateView],
    *,
    notes: list[str] | None = None,
    searched: list[str] | None = None,
    unsearched: list[str] | None = None,
    reconnect: bool = False,
    connect_vendor: str | None = None,
    pending: list[str] | None = None,
) -> Message:
    """`/interview find`: the candidate across both vendors.

    ``searched``/``unsearched``: the vendors (keys) that answered and those that failed; the
    headline never claims a vendor was searched when it was not. ``reconnect`` adds the button to
    the connect modal (a rejected key). ``pending``: vendors still searching, whose answer follows
    (this message is then what ``searched`` found so far).
    """
    not_searched = f"{_vendor_list(unsearched)} could not be searched" if unsearched else ""
    if pending:
        slow = f"{_vendor_list(pending)} {'is' if len(pending) == 1 else 'are'} slow to answer"
        not_searched = f"{not_searched}; {slow}" if not_searched else slow
        so_far = f"on {_vendor_list(searched or [])} so far ({not_searched}; the full answer follows)"
        if candidates:
            text = f"{len(candidates)} interview(s) for {query} {so_far}"
            blocks = [section(f":mag: *{escape(text)}*")]
        else:
            text = f"No interviews found for {query} {so_far}"
            blocks = [section(f":mag: {escape(text)}")]
    elif not candidates:
        if not unsearched:
            text = f"No interviews found for {query} on the connected platforms."
        elif searched:
            text = f"No interviews found for {query} on {_vendor_list(searched)}; {not_searched}."
        else:
            text = f"{not_searched} for {query}."
        blocks = [section(f":mag: {escape(text)}")]
    else:
        text = f"{len(candidates)} interview(s) for {query}" + (f" ({not_searched})" if not_searched else "")
        blocks = [section(f":mag: *{escape(text)}*")]
    if candidates:
        # Cards stop at the blocks, and at the text, a message holds (vendors' names can be long).
        shown = used = 0
        for c in candidates[:MAX_FOUND_SHOWN]:
            card = candidate_blocks(c)
            used += text_length(card)
            if shown and used > LIST_TEXT_BUDGET:
                break
            blocks += [{"type": "divider"}, *card]
            shown += 1
        if len(candidates) > shown:
            blocks.append(context(escape(_more_not_shown(query, candidates[shown:]))))
    for note in (notes or [])[:3]:
        blocks.append(context(f":warning: {escape(note)}"))
    if reconnect:
        blocks.append(reconnect_actions(connect_vendor))
    return Message(text=text, blocks=blocks)


def notification_card(c: CandidateView, *, event: str) -> Message:
    """The first message of a candidate's thread, updated as later events arrive.

    The fallback ``text`` is what a push notification shows: a rating carries its stars there too.
    """
    c = _fitted(c)
    what = EVENT_LABELS.get(event, event)
    rating = f": {stars(c.rating)}" if event == "rated" and c.rating else ""
    text = f"{c.name} {what}{rating} ({VENDOR_LABELS[c.vendor]})"
    return Message(text=text, blocks=[*candidate_blocks(c), context(f"Latest: {escape(what)}")])


def _new_deadline(c: CandidateView, event: str) -> tuple[str, str]:
    """For a rescheduled interview, its new deadline: as Slack shows it to each reader (in their own
    time zone), and as the plain fallback text says it (UTC); else nothing."""
    if event != "rescheduled" or c.deadline is None:
        return "", ""
    shown = slack_date(c.deadline)
    return f": {shown}", f": {shown.rsplit('|', 1)[1].removesuffix('>')}"


def _rating_given(c: CandidateView, rating: float | None, rated_by: str | None) -> str:
    """What one rating event says: the stars given and by whom, else the interview's overall rating.

    ``rating``/``rated_by`` are the delivery's own; ``c.rating`` is the interview's current rating,
    which after a second reviewer no longer is what the first one gave.
    """
    by = f" by {_one_line(rated_by)}" if rated_by else ""
    if rating is not None:
        return f": {stars(rating)}{by}"
    return f"{by}: overall {stars(c.rating)}" if c.rating else by


def compact_line(c: CandidateView, *, event: str, rating: float | None = None, rated_by: str | None = None) -> Message:
    """One line per event, for a ``compact`` subscription; ``rating``/``rated_by`` as in :func:`thread_reply`."""
    c = _fitted(c)
    what = EVENT_LABELS.get(event, event)
    extra = ""
    if event == "rated":
        by = f" by {_one_line(rated_by)}" if rated_by else ""
        extra = f" · {stars(rating if rating is not None else c.rating)}{by}"
    # Spark Hire's recording, else WedgeHR's result: a compact line has no buttons to open them.
    link_text = ""
    if c.completed and c.watch_url:
        link_text = f" · {link(c.watch_url, 'watch')}"
    elif c.completed and c.result_url:
        link_text = f" · {link(c.result_url, 'result')}"
    where = c.interview_name or VENDOR_LABELS[c.vendor]
    deadline, deadline_text = _new_deadline(c, event)
    text = f"{c.name} {what}{deadline_text} · {where}{extra}"
    line = (
        f"{STATUS_EMOJI.get(event, ':bell:')} *{escape(c.name)}* {escape(what)}{deadline} · {escape(where)}"
        f"{escape(extra)}"
    )
    return Message(text=text, blocks=[section(line + link_text)])


def thread_reply(c: CandidateView, *, event: str, rating: float | None = None, rated_by: str | None = None) -> Message:
    """A later event of the candidate, in the card's thread.

    Args:
        c: The candidate as the card shows them.
        event: The event's name (``EVENT_LABELS``).
        rating: For a rating, the stars this rating gave, if the delivery says.
        rated_by: For a rating, who gave it, if the delivery says.
    """
    c = _fitted(c)
    what = EVENT_LABELS.get(event, event)
    extra = _rating_given(c, rating, rated_by) if event == "rated" else ""
    deadline, deadline_text = _new_deadline(c, event)
    text = f"{c.name} {what}{deadline_text}{extra}"
    return Message(text=text, blocks=[section(f"{escape(c.name)} {escape(what)}{deadline}{escape(extra)}")])


def job_event_message(*, title: str, event: str) -> Message:
    title = _one_line(title) or "a job"
    verb = {"JobCreated": "created", "JobUpdated": "updated", "JobDeleted": "deleted"}.get(event, "changed")
    text = f"Spark Hire job {verb}: {title}"
    return Message(text=text, blocks=[section(f":briefcase: Spark Hire job {verb}: *{escape(title)}*")])
