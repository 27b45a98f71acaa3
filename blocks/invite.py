"""Invite modals, progress, results and confirmations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from blocks.common import (
    LIST_TEXT_BUDGET,
    actions,
    button,
    chunked_sections,
    context,
    escape,
    input_block,
    link,
    modal,
    mrkdwn,
    option,
    plain,
    section,
    text_input,
)
from blocks.errors import reconnect_actions
from blocks.ids import LOOKUP_FAILED, Action, Block, Callback
from blocks.models import VENDOR_LABELS, CandidateView, InviteResult, Message

TIME_LIMIT_CHOICES = (30, 60, 90, 120, 160, 180)
TAKES_CHOICES = ((-1, "Unlimited"), (1, "1"), (2, "2"), (3, "3"), (4, "4"), (5, "5"))
#: Slack takes at most 3,000 characters in a text field: about 100 candidates a batch.
BULK_MAX_CHARS = 3000
BULK_HINT = (
    "One per line: Name <email>, just the email, or rows pasted from a spreadsheet (its header row too, "
    "if it has one); up to 3,000 characters "
    "(about 100 candidates) at a time. Leave empty to invite the one candidate above."
)


def vendor_choice_modal(*, private_metadata: str) -> dict[str, Any]:
    """First step when both vendors are connected."""
    radio = {
        "type": "radio_buttons",
        "action_id": Action.INPUT,
        "options": [option("wedgehr", "WedgeHR"), option("sparkhire", "Spark Hire")],
        "initial_option": option("sparkhire", "Spark Hire"),
    }
    return modal(
        Callback.INVITE_VENDOR,
        "Invite a candidate",
        [input_block(Block.VENDOR, "Which interview platform?", radio)],
        submit="Next",
        private_metadata=private_metadata,
    )


@dataclass(frozen=True, kw_only=True)
class LeftOut:
    """Candidates found in the text a form was opened with that did not fit in it."""

    count: int = 0
    #: The address of the first one left out: where the recruiter takes up in a second form.
    first: str | None = None


def _left_out_note(left_out: LeftOut) -> dict[str, Any]:
    """Under the paste box: the candidates that did not fit are named, never dropped without a word."""
    start = f", from {escape(left_out.first)} on" if left_out.first else ""
    return context(
        f":warning: *{left_out.count} more candidate(s) did not fit in this form*{start}. "
        "Send these, then invite the rest in a new invite."
    )


def _bulk_blocks(initial: str | None = None, left_out: LeftOut | None = None) -> list[dict[str, Any]]:
    blocks = [_bulk_block(initial)]
    if left_out is not None and left_out.count > 0:
        blocks.append(_left_out_note(left_out))
    return blocks


def _bulk_block(initial: str | None = None) -> dict[str, Any]:
    return input_block(
        Block.BULK,
        "Or paste many candidates",
        text_input(
            Action.INPUT,
            multiline=True,
            placeholder="Ann Lee <ann@example.com>",
            initial=initial,
            max_length=BULK_MAX_CHARS,
        ),
        optional=True,
        hint=BULK_HINT,
    )


def wedgehr_invite_modal(
    *,
    email: str | None = None,
    name: tuple[str | None, str | None] = (None, None),
    bulk: str | None = None,
    left_out: LeftOut | None = None,
    private_metadata: str,
) -> dict[str, Any]:
    """``name``: the first and last name to pre-fill, as from "/interview invite Ann Lee <ann@…>";
    ``bulk``: the candidates to pre-fill the paste box with (several typed with the command);
    ``left_out``: those found that did not fit in it, said under it."""
    interview = {
        "type": "external_select",
        "action_id": Action.WEDGEHR_INTERVIEW,
        "min_query_length": 0,
        "placeholder": plain("Type to search interviews"),
    }
    send = {
        "type": "checkboxes",
        "action_id": Action.INPUT,
        "options": [option("send", "Send the invitation email")],
        "initial_options": [option("send", "Send the invitation email")],
    }
    blocks = [
        input_block(Block.WEDGEHR_INTERVIEW, "Interview", interview),
        input_block(
            Block.EMAIL,
            "Candidate email",
            {
                "type": "email_text_input",
                "action_id": Action.INPUT,
                **({"initial_value": email} if email else {}),
            },
            optional=True,
        ),
        input_block(
            Block.FIRST_NAME, "First name", text_input(Action.INPUT, initial=name[0], max_length=100), optional=True
        ),
        input_block(
            Block.LAST_NAME, "Last name", text_input(Action.INPUT, initial=name[1], max_length=100), optional=True
        ),
        input_block(Block.SEND_EMAIL, "Email", send, optional=True),
        input_block(
            Block.UNIQUE_ID,
            "Your reference id",
            text_input(Action.INPUT, max_length=200),
            optional=True,
            hint="Your own id for this candidate (ATS id, requisition…).",
        ),
        *_bulk_blocks(bulk, left_out),
    ]
    return modal(
        Callback.INVITE_WEDGEHR, "Invite on WedgeHR", blocks, submit="Send invite", private_metadata=private_metadata
    )


def sparkhire_invite_modal(
    *,
    email: str | None = None,
    name: str | None = None,
    bulk: str | None = None,
    left_out: LeftOut | None = None,
    deadline: datetime,
    private_metadata: str,
) -> dict[str, Any]:
    job = {
        "type": "external_select",
        "action_id": Action.SPARKHIRE_JOB,
        "min_query_length": 0,
        "placeholder": plain("Type to search active jobs"),
    }
    question_set = {
        "type": "external_select",
        "action_id": Action.SPARKHIRE_QUESTION_SET,
        "min_query_length": 0,
        "placeholder": plain("Saved question set"),
    }
    time_limit = {
        "type": "static_select",
        "action_id": Action.INPUT,
        "options": [option(str(s), f"{s} seconds") for s in TIME_LIMIT_CHOICES],
        "initial_option": option("60", "60 seconds"),
    }
    takes = {
        "type": "static_select",
        "action_id": Action.INPUT,
        "options": [option(str(v), label) for v, label in TAKES_CHOICES],
        "initial_option": option("-1", "Unlimited"),
    }
    consent = {
        "type": "checkboxes",
        "action_id": Action.INPUT,
        "options": [option("consent", "The candidate agreed to receive SMS from us")],
    }
    blocks = [
        input_block(Block.SPARKHIRE_JOB, "Job", job),
        input_block(
            Block.CANDIDATE_NAME,
            "Candidate name",
            text_input(Action.INPUT, initial=name, max_length=200),
            optional=True,
        ),
        input_block(
            Block.EMAIL,
            "Candidate email",
            {
                "type": "email_text_input",
                "action_id": Action.INPUT,
                **({"initial_value": email} if email else {}),
            },
            optional=True,
        ),
        *_bulk_blocks(bulk, left_out),
        input_block(
            Block.DEADLINE,
            "Deadline",
            {"type": "datetimepicker", "action_id": Action.INPUT, "initial_date_time": int(deadline.timestamp())},
        ),
        input_block(
            Block.QUESTION_SET,
            "Question set",
            question_set,
            optional=True,
            hint="A saved set overrides the written questions below.",
        ),
        input_block(
            Block.QUESTIONS,
            "Or write questions",
            text_input(Action.INPUT, multiline=True, placeholder="One question per line"),
            optional=True,
        ),
        input_block(Block.TIME_LIMIT, "Time to answer each question", time_limit),
        input_block(Block.TAKES, "Takes per question", takes),
        input_block(
            Block.MESSAGE,
            "Message to the candidate",
            text_input(Action.INPUT, multiline=True, max_length=2000),
            optional=True,
        ),
        input_block(
            Block.PHONE,
            "Phone for SMS (optional)",
            text_input(Action.INPUT, placeholder="+13125559494", max_length=20),
            optional=True,
        ),
        input_block(Block.SMS_CONSENT, "SMS consent", consent, optional=True),
    ]
    return modal(
        Callback.INVITE_SPARKHIRE,
        "Invite on Spark Hire",
        blocks,
        submit="Send invite",
        private_metadata=private_metadata,
    )


#: Why a type-ahead lookup failed -> (the option's label, the field error when the form is sent with it).
LOOKUP_FAILURES = {
    "key": (
        "⚠ {vendor} refused the API {key}: run /interview connect",
        "{vendor} refused the API {key}, so nothing could be listed. "
        "Reconnect with /interview connect, then search again.",
    ),
    "busy": (
        "⚠ {vendor} is busy (rate limited): search again in a minute",
        "{vendor} was busy (rate limited), so nothing could be listed. Search again in a minute.",
    ),
    "timeout": (
        "⚠ {vendor} did not answer in time: search again",
        "{vendor} did not answer in time, so nothing could be listed. Search again.",
    ),
    "error": (
        "⚠ {vendor} could not list them: search again shortly",
        "{vendor} had a problem listing them, so nothing could be picked. Search again in a few minutes.",
    ),
}


def _lookup_words(vendor: str) -> dict[str, str]:
    return {"vendor": VENDOR_LABELS.get(vendor, vendor), "key": "token" if vendor == "wedgehr" else "key"}


def lookup_failed_option(vendor: str, cause: str) -> dict[str, Any]:
    """The one type-ahead option when the vendor's lookup failed: says why, and cannot be sent as a pick."""
    label, _ = LOOKUP_FAILURES.get(cause, LOOKUP_FAILURES["error"])
    return option(f"{LOOKUP_FAILED}:{cause}", label.format(**_lookup_words(vendor)))


def lookup_failed_cause(value: str | None) -> str | None:
    """The cause in a picked ``lookup_failed_option``'s value, or None for a real pick."""
    prefix, _, cause = (value or "").partition(":")
    return (cause if cause in LOOKUP_FAILURES else "error") if prefix == LOOKUP_FAILED else None


def lookup_failed_error(vendor: str, cause: str) -> str:
    """The field error of a picker whose lookup failed, when the form is sent anyway."""
    _, error = LOOKUP_FAILURES.get(cause, LOOKUP_FAILURES["error"])
    return error.format(**_lookup_words(vendor))


def working_view(text: str = "Talking to the vendor…") -> dict[str, Any]:
    """Shown when the vendor takes longer than Slack's 3-second window."""
    return modal(
        Callback.WORKING, "Working…", [section(f":hourglass_flowing_sand: {escape(text)}")], submit=None, close="Close"
    )


def refused_heading(vendor: str) -> str:
    """Atop the form shown again when the vendor refused the invite after the form had to wait."""
    return f"{VENDOR_LABELS.get(vendor, vendor)} did not take the invite. Correct the form and send it again:"


def progress_view(*, done: int, total: int, vendor: str, waiting_seconds: float | None = None) -> dict[str, Any]:
    """The bulk send's progress; ``waiting_seconds`` when the vendor asked the batch to pause."""
    bar_len = 20
    filled = int(bar_len * done / total) if total else bar_len
    bar = "█" * filled + "░" * (bar_len - filled)
    label = VENDOR_LABELS.get(vendor, vendor)
    blocks = [section(f"Inviting on *{label}*: {done} of {total}\n`{bar}`", block_id=Block.PROGRESS)]
    if waiting_seconds is not None:
        blocks.append(
            context(f":hourglass: {label} asked us to slow down: the batch goes on in {round(waiting_seconds)} s.")
        )
    blocks.append(context("You can close this window; the results will also arrive as a direct message."))
    return modal(Callback.INVITE_PROGRESS, "Sending invites", blocks, submit=None, close="Close")


def _result_lines(results: list[InviteResult]) -> list[str]:
    """Failures first: when a long batch does not fit, what is left out is what went well."""
    lines = []
    for r in sorted(results, key=lambda r: 2 if r.ok else 1 if r.skipped else 0):
        # Row 0 is the candidate typed in the form's own fields, not a pasted line.
        label = f"{r.row}." if r.row else "Form:"
        if r.ok:
            invite_link = f" {link(r.link, 'invite link')}" if r.link else ""
            lines.append(f":white_check_mark: {label} {escape(r.email)}{invite_link}")
        elif r.skipped:
            lines.append(f":heavy_minus_sign: {label} {escape(r.email)}: {escape(r.error or 'skipped')}")
        else:
            lines.append(f":x: {label} {escape(r.email)}: {escape(r.error or 'failed')}")
    return lines


MORE_RESULTS = "…and {n} more results not shown."


#: The invitation email was unticked (WedgeHR): the candidate learns of the invite only from the recruiter.
NOT_EMAILED = (
    "No invitation email went out (“Send the invitation email” was unticked): "
    "send each candidate the invite link next to their address yourself."
)


def results_summary(results: list[InviteResult], *, vendor: str, emailed: bool = True) -> str:
    sent = sum(r.ok for r in results)
    skipped = sum(r.skipped for r in results)
    failed = len(results) - sent - skipped
    # Not "sent" when nobody was emailed: the invite exists, the candidate does not know of it.
    summary = f"{VENDOR_LABELS.get(vendor, vendor)} invites: {sent} {'sent' if emailed else 'created'}, {failed} failed"
    return f"{summary}, {skipped} skipped." if skipped else f"{summary}."


def _results_blocks(
    results: list[InviteResult], *, vendor: str, emailed: bool, budget: int = LIST_TEXT_BUDGET
) -> list[dict[str, Any]]:
    blocks = [section(f"*{results_summary(results, vendor=vendor, emailed=emailed)}*")]
    if not emailed and any(r.ok for r in results):
        blocks.append(section(f":warning: {escape(NOT_EMAILED)}"))
    return blocks + chunked_sections(_result_lines(results), max_blocks=40, more=MORE_RESULTS, max_chars=budget)


#: The text the rows to paste again may take in the results message.
RETRY_TEXT_BUDGET = 2_000


def _retry_blocks(results: list[InviteResult], *, vendor: str) -> list[dict[str, Any]]:
    """The rows the vendor surely did not take, as lines to paste into a new invite."""
    lines = [r.retry_line for r in sorted(results, key=lambda r: r.row) if r.retry_line]
    if not lines:
        return []
    shown: list[str] = []
    used = 0
    for line in lines:
        used += len(escape(line)) + 1
        if used > RETRY_TEXT_BUDGET - 200:
            break
        shown.append(escape(line))
    label = VENDOR_LABELS.get(vendor, vendor)
    pasted = "\n".join(shown)
    blocks = [
        section(
            f"*{len(lines)} row(s) {label} did not take.* To send them, paste these into a new invite:\n```{pasted}```"
        )
    ]
    if len(shown) < len(lines):
        blocks.append(context(f"…and {len(lines) - len(shown)} more, listed above."))
    return blocks


def results_view(results: list[InviteResult], *, vendor: str, emailed: bool = True) -> dict[str, Any]:
    blocks = _results_blocks(results, vendor=vendor, emailed=emailed)
    return modal(Callback.INVITE_PROGRESS, "Invites sent", blocks, submit=None, close="Done")


def results_message(results: list[InviteResult], *, vendor: str, emailed: bool = True) -> Message:
    """The bulk outcome by direct message; the reconnect button once when the vendor rejected the key."""
    summary = results_summary(results, vendor=vendor, emailed=emailed)
    retry = _retry_blocks(results, vendor=vendor)
    # The list gives up what the lines to paste again take: a message holds about 12,000 characters.
    budget = LIST_TEXT_BUDGET - RETRY_TEXT_BUDGET if retry else LIST_TEXT_BUDGET
    blocks = _results_blocks(results, vendor=vendor, emailed=emailed, budget=budget) + retry
    if any(r.key_rejected for r in results):
        blocks.append(reconnect_actions(vendor))
    if not emailed and any(r.ok for r in results):
        summary += " No invitation email went out: send the invite links yourself."
    return Message(text=summary, blocks=blocks)


def invite_confirmation(candidate: CandidateView, *, emailed: bool = True) -> Message:
    """Single invite sent: the invite link and a button to open the candidate.

    ``emailed=False`` (WedgeHR, the email unticked): says that the candidate was not told and
    that the recruiter must send the link.
    """
    vendor = VENDOR_LABELS[candidate.vendor]
    who = escape(candidate.name)
    if candidate.email and candidate.email != candidate.name:
        who += f" ({escape(candidate.email)})"
    lines = [
        f":white_check_mark: Invited {who} to *{escape(candidate.interview_name or 'the interview')}* on {vendor}."
    ]
    text = f"Invited {candidate.email or candidate.name} on {vendor}"
    if not emailed:
        if candidate.invite_url:
            lines.append(":warning: *No invitation email went out*: send the candidate this invite link yourself.")
        else:
            lines.append(
                f":warning: *No invitation email went out*: find the invite link on the candidate in {vendor}."
            )
        text += " (no invitation email sent: send them the invite link)"
    if candidate.invite_url:
        lines.append(f"Invite link: {link(candidate.invite_url)}")
    elements = [button("Open candidate", Action.OPEN_FIND, value=candidate.email or candidate.name)]
    if candidate.invite_url:
        elements.append(button("Invite link", Action.OPEN_INVITE_LINK, url=candidate.invite_url))
    return Message(text=text, blocks=[{"type": "section", "text": mrkdwn("\n".join(lines))}, actions(*elements)])
