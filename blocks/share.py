"""Share links: the result message and the advanced (reviewers) modal."""

from __future__ import annotations

import base64
import binascii
from typing import Any, NamedTuple
from urllib.parse import quote, unquote
from uuid import UUID

from blocks.common import (
    LIST_TEXT_BUDGET,
    actions,
    button,
    chunked_sections,
    confirm_dialog,
    context,
    escape,
    input_block,
    link,
    modal,
    option,
    options,
    section,
    text_input,
    text_length,
)
from blocks.ids import Action, Block, Callback
from blocks.models import CandidateView, Message, Option, ReviewerLinkView


def share_link_message(c: CandidateView, *, url: str, link_uuid: str, active: bool = True) -> Message:
    """A basic share link, with buttons to deactivate it and to share with reviewers."""
    if not active:
        text = f"Share link for {c.name} deactivated."
        return Message(text=text, blocks=[section(f":lock: {escape(text)}")])
    text = f"Share link for {c.name}: {url}"
    return Message(
        text=text,
        blocks=[
            section(f":link: Share link for *{escape(c.name)}* ({escape(c.interview_name or '')}):\n{link(url)}"),
            actions(
                button(
                    "Deactivate link",
                    Action.SHARE_DEACTIVATE,
                    value=f"{c.interview_uuid}:{link_uuid}",
                    style="danger",
                    confirm=confirm_dialog(
                        "Deactivate?", "People with the link will no longer be able to watch.", confirm="Deactivate"
                    ),
                ),
                button("Share with reviewers…", Action.SHARE_ADVANCED, value=c.interview_uuid or c.name),
            ),
        ],
    )


def wedgehr_results_message(query: str, wedges: list[CandidateView]) -> Message:
    """Every WedgeHR interview of the candidate in one message (Slack takes 5 posts per response_url).

    Results to share come first, then the interviews not completed yet, each by its name.
    """
    if len(wedges) == 1:
        return wedgehr_result_message(wedges[0])
    shareable = [w for w in wedges if w.result_url]
    waiting = [w for w in wedges if not w.result_url]
    text = f"WedgeHR results for {query}: {len(shareable)} of {len(wedges)} interviews completed."
    lines = [
        f":link: *{escape(w.interview_name or 'Interview')}*: {link(w.result_url or '', 'open the result')}"
        for w in shareable
    ]
    lines += [
        f":hourglass_flowing_sand: *{escape(w.interview_name or 'Interview')}*: "
        f"{escape((w.status or 'not completed').replace('_', ' '))}, no result to share yet"
        for w in waiting
    ]
    blocks = [section(f"*{escape(text)}*")]
    blocks += chunked_sections(lines, max_blocks=45, more="…and {n} more WedgeHR interviews, listed in WedgeHR.")
    return Message(text=text, blocks=blocks)


def wedgehr_result_message(c: CandidateView) -> Message:
    if not c.result_url:
        interview = f"the WedgeHR interview {c.interview_name}" if c.interview_name else "the WedgeHR interview"
        text = f"{c.name} has not completed {interview} yet, so there is no result to share."
        return Message(text=text, blocks=[section(escape(text))])
    text = f"WedgeHR result for {c.name}: {c.result_url}"
    return Message(
        text=text,
        blocks=[
            section(
                f":link: WedgeHR result for *{escape(c.name)}* ({escape(c.interview_name or '')}):\n"
                + link(c.result_url)
            )
        ],
    )


#: How to share an interview the form does not list (the grammar of blocks/help.py).
SHARE_ONE = "/interview share <email | interview uuid>"


def _interviews_hint(*, shown: int, more_matched: bool, scanned_only: int | None, of_job: bool) -> str | None:
    """What the interview picker leaves out, when it leaves out any."""
    which = "completed interviews of this job" if of_job else "completed interviews"
    if more_matched:
        return f"Showing the {shown} most recently updated {which}; for an older one, use {SHARE_ONE}."
    if scanned_only:
        return (
            f"Showing the {which} among the {scanned_only:,} most recently updated in Spark Hire;"
            f" for an older one, use {SHARE_ONE}."
        )
    return None


def advanced_share_modal(
    *,
    interviews: list[Option],
    selected: list[str],
    private_metadata: str,
    more_matched: bool = False,
    scanned_only: int | None = None,
    of_job: bool = True,
) -> dict[str, Any]:
    """Several completed interviews of a job, for reviewers picked in Slack or typed.

    Args:
        interviews: The picker's options, the most recently updated first.
        selected: The values picked when the form opens.
        private_metadata: Carried to the submission.
        more_matched: More interviews matched than the picker lists.
        scanned_only: How many of the account's completed interviews were read, when older ones
            were not read at all.
        of_job: The interviews are those of one job (else the account's).
    """
    initial = [option(o.value, o.label) for o in interviews if o.value in selected]
    picker: dict[str, Any] = {"type": "multi_static_select", "action_id": Action.INPUT, "options": options(interviews)}
    if initial:
        picker["initial_options"] = initial
    send = {
        "type": "checkboxes",
        "action_id": Action.INPUT,
        "options": [option("send", "Email the reviewer")],
        "initial_options": [option("send", "Email the reviewer")],
    }
    blocks = [
        input_block(
            Block.SHARE_INTERVIEWS,
            "Completed interviews",
            picker,
            hint=_interviews_hint(
                shown=len(picker["options"]), more_matched=more_matched, scanned_only=scanned_only, of_job=of_job
            ),
        ),
        input_block(
            Block.REVIEWERS,
            "Reviewers in Slack",
            {"type": "multi_users_select", "action_id": Action.INPUT},
            optional=True,
        ),
        input_block(
            Block.REVIEWER_EMAILS,
            "Other reviewers' emails",
            text_input(Action.INPUT, multiline=True, placeholder="one email per line"),
            optional=True,
        ),
        input_block(Block.REVIEWER_SEND_EMAIL, "Notify", send, optional=True),
        context("Each reviewer gets their own link."),
    ]
    return modal(
        Callback.SHARE_ADVANCED, "Share with reviewers", blocks, submit="Share", private_metadata=private_metadata
    )


#: Atop the share form shown again when creating its links failed after the form had to wait.
ADVANCED_NOT_CREATED = "No reviewer links were created. Change what is needed and share again:"
#: The same when Spark Hire's answer was lost: the links may exist.
ADVANCED_MAYBE_CREATED = "Spark Hire did not say whether it created the reviewer links:"


#: Reviewer links listed with their own button; 48 + the headline + the overflow line fit Slack's 50 blocks.
MAX_ADVANCED_LINKS_SHOWN = 48
#: Separates the parts of a Deactivate button's value (its fields are quoted: none holds one).
_LISTED = "|"
#: Starts a value that carries its message's rows; a value of an older message starts with its link.
_ROWS_VERSION = "2"
_ROW = ","
_FIELD = " "
#: Slack's most characters in a button's value.
BUTTON_VALUE_MOST = 2_000


class ReviewerLinkTargets(NamedTuple):
    """What a Deactivate button's value says: the link it deactivates, every link its message lists
    ([] for a button posted before the value carried them), how many more that message left out,
    and the listed links the value carries whole (the others are read from Spark Hire to list them)."""

    link: str
    listed: list[str]
    left_out: int
    known: dict[str, ReviewerLinkView]


def _short_uuid(uuid: str) -> str:
    """A uuid in 22 characters (its 16 bytes in base64url); anything else quoted."""
    try:
        return base64.urlsafe_b64encode(UUID(uuid).bytes).decode().rstrip("=")
    except ValueError:
        return _quoted(uuid)


def _long_uuid(short: str) -> str:
    if len(short) != 22:
        return unquote(short)
    try:
        return str(UUID(bytes=base64.urlsafe_b64decode(short + "==")))
    except (ValueError, binascii.Error):
        return short


def _quoted(text: str) -> str:
    return quote(text, safe="@/:")


def _shared_start(texts: list[str]) -> str:
    """The characters every one of ``texts`` starts with."""
    if not texts:
        return ""
    first, last = min(texts), max(texts)
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]


def _carried_values(links: list[ReviewerLinkView], *, left_out: int) -> list[str]:
    """Each link's Deactivate button value: every link of the message, those that fit the value
    with their address and URL (without what all of them share, said once when that fits), so that
    a click lists the message again reading from Spark Hire only the links the value could not carry
    (Slack sends no copy of an ephemeral message with the click). Every value fits Slack's 2,000
    characters: when even the links' ids do not, a value names its own link alone."""
    rows = [_short_uuid(each.uuid) for each in links]
    head = f"{_ROWS_VERSION}{_LISTED}{left_out}{_LISTED}"
    # The value without any address or URL: head, the clicked index, three separators, the ids.
    used = len(head) + len(str(len(links))) + 3 + sum(map(len, rows)) + len(rows) - 1
    if used > BUTTON_VALUE_MOST:  # ids too long to list (not Spark Hire's uuids): each names its own
        return [each.uuid for each in links]
    url_start = _shared_start([each.url for each in links if each.active])
    email_end = _shared_start([each.email[::-1] for each in links])[::-1]
    # What all share is said once, unless that alone overflows (one link shares all of itself).
    prefix, suffix = next(
        (start, end)
        for start, end in ((url_start, email_end), (url_start, ""), ("", email_end), ("", ""))
        if used + len(_quoted(start)) + len(_quoted(end)) <= BUTTON_VALUE_MOST
    )
    shared = _LISTED.join(["", _quoted(prefix), _quoted(suffix), ""])
    used += len(shared) - 3
    for i, each in enumerate(links):
        row = rows[i] + _FIELD + _quoted(each.email[: len(each.email) - len(suffix)])
        if each.active:
            row += _FIELD + _quoted(each.url[len(prefix) :])
        if used + len(row) - len(rows[i]) <= BUTTON_VALUE_MOST:
            used += len(row) - len(rows[i])
            rows[i] = row
    return [f"{head}{i}{shared}{_ROW.join(rows)}" for i in range(len(links))]


def reviewer_link_targets(value: str) -> ReviewerLinkTargets:
    """What a Deactivate button's value says (one of an older message's too)."""
    if not value.startswith(_ROWS_VERSION + _LISTED):  # link|listed,...|left_out, or the link alone
        link_uuid, _, rest = value.partition(_LISTED)
        listed, _, left_out = rest.partition(_LISTED)
        more = int(left_out) if left_out.isdigit() and len(left_out) < 6 else 0
        return ReviewerLinkTargets(link_uuid, [u for u in listed.split(_ROW) if u][:MAX_ADVANCED_LINKS_SHOWN], more, {})
    parts = value.split(_LISTED)
    if len(parts) != 6:
        return ReviewerLinkTargets("", [], 0, {})
    _, left_out, clicked, prefix, suffix, rows = parts
    listed: list[str] = []
    known: dict[str, ReviewerLinkView] = {}
    for row in rows.split(_ROW)[:MAX_ADVANCED_LINKS_SHOWN]:
        short, *fields = row.split(_FIELD)
        listed.append(uuid := _long_uuid(short))
        if len(fields) in (1, 2):
            email, url = unquote(fields[0]) + unquote(suffix), unquote(prefix) + unquote(fields[-1])
            known[uuid] = ReviewerLinkView(
                uuid=uuid, email=email, url=url if len(fields) == 2 else "", active=len(fields) == 2
            )
    at = int(clicked) if clicked.isdigit() and len(clicked) < 3 else len(listed)
    more = int(left_out) if left_out.isdigit() and len(left_out) < 6 else 0
    return ReviewerLinkTargets(listed[at] if at < len(listed) else "", listed, more, known)


def _reviewer_link_row(each: ReviewerLinkView, *, value: str) -> dict[str, Any]:
    if not each.active:
        return section(f":lock: {escape(each.email) or 'A reviewer'}: link deactivated, it no longer opens")
    return section(
        f"• {escape(each.email)}: {link(each.url)}",
        accessory=button(
            "Deactivate",
            Action.SHARE_ADVANCED_DEACTIVATE,
            value=value,
            style="danger",
            confirm=confirm_dialog(
                "Deactivate?",
                f"{escape(each.email) or 'The reviewer'} will no longer be able to watch with this link.",
                confirm="Deactivate",
            ),
        ),
    )


def _reviewer_link_rows(links: list[ReviewerLinkView], *, more: int = 0) -> list[dict[str, Any]]:
    """One row per link, within the message's limits, then a line counting those left out (with
    ``more`` an earlier listing left out)."""
    shown: list[ReviewerLinkView] = []
    used = 0
    for each in links[:MAX_ADVANCED_LINKS_SHOWN]:
        used += text_length(_reviewer_link_row(each, value=""))
        if used > LIST_TEXT_BUDGET:
            break
        shown.append(each)
    left_out = len(links) - len(shown) + more
    values = _carried_values(shown, left_out=left_out)
    rows = [_reviewer_link_row(each, value=value) for each, value in zip(shown, values, strict=True)]
    if left_out:
        rows.append(context(f"…and {left_out} more link(s), listed in Spark Hire."))
    return rows


def advanced_links_message(links: list[ReviewerLinkView], *, emailed: bool) -> Message:
    """The reviewer links just created, each with a button to deactivate it."""
    tail = " Each reviewer was emailed their link." if emailed else " Nobody was emailed; send the links yourself."
    text = f"Created {len(links)} reviewer link(s).{tail}"
    return Message(text=text, blocks=[section(f":link: *{escape(text)}*"), *_reviewer_link_rows(links)])


def advanced_link_deactivated_message(
    email: str, links: list[ReviewerLinkView] | None = None, *, more: int = 0
) -> Message:
    """After a reviewer link's Deactivate button: with ``links``, the clicked message's links as
    they are now (the deactivated ones marked, without their address or button), and a line for the
    ``more`` that message left out."""
    text = f"Reviewer link for {email} deactivated." if email else "Reviewer link deactivated."
    blocks = [section(f":lock: {escape(text)}")]
    if links:
        blocks += _reviewer_link_rows(links, more=more)
    return Message(text=text, blocks=blocks)


def advanced_links_created_view(count: int, *, emailed: bool) -> dict[str, Any]:
    """The share form once its links exist (when Spark Hire answered after the form's 3 s)."""
    tail = " Each reviewer was emailed their link." if emailed else " Nobody was emailed; send the links yourself."
    return modal(
        Callback.WORKING,
        "Reviewer links",
        [
            section(f":white_check_mark: *Created {count} reviewer link(s).*{tail}"),
            context("The links, each with a button to deactivate it, are in your messages from Interview Bot."),
        ],
        submit=None,
        close="Done",
    )
