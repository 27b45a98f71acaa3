"""`/interview resend`: confirm one wedge or choose among several."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from blocks.common import (
    CONFIRM_TEXT,
    LIST_TEXT_BUDGET,
    actions,
    button,
    confirm_dialog,
    context,
    escape,
    section,
    slack_date,
    text_length,
    truncate,
)
from blocks.ids import Action, Block
from blocks.models import CandidateView, Message

#: One button each; the headline, these and the "more" line stay far under 50 blocks.
MAX_CHOICES = 20

#: What resending means for an invite in each state, said before the email goes out.
CONFIRM_NOTES = {
    "canceled": "This invite was canceled. Resending emails the candidate a working link again.",
    "send_failure": "WedgeHR could not deliver this invite before; check the address first.",
}


def _status(w: CandidateView) -> str:
    return (w.status or "unknown").replace("_", " ")


def resend_confirm(w: CandidateView) -> dict[str, Any]:
    """The dialog every Resend button opens first: one click is not an email sent by mistake."""
    note = CONFIRM_NOTES.get((w.status or "").lower(), "")
    before = f"Email {escape(w.email or 'the candidate')} the invitation to "
    after = f" again? {note}".rstrip()
    # Slack cuts the dialog's text at 300 characters: a long interview name gives way, never the note.
    room = max(CONFIRM_TEXT - len(before) - len(after), 20)
    what = _escaped_within(w.interview_name or "the interview", room)
    return confirm_dialog("Resend invite?", before + what + after, confirm="Resend")


def _escaped_within(text: str, limit: int) -> str:
    """``text`` escaped, cut (with "…") to at most ``limit`` characters once escaped."""
    cut = limit
    while len(escaped := escape(truncate(text, cut))) > limit and cut > 1:
        cut -= 1  # "&" and brackets take more room escaped
    return escaped


def resend_button(w: CandidateView, *, label: str = "Resend", style: str | None = None) -> dict[str, Any]:
    return button(label, Action.RESEND_WEDGE, value=str(w.wedge_id), style=style, confirm=resend_confirm(w))


def _completed_line(w: CandidateView) -> str:
    when = f" on {slack_date(w.completed_at)}" if w.completed_at else ""
    return f"{escape(w.email or '')} completed *{escape(w.interview_name or 'the interview')}*{when}."


def resend_choices(query: str, wedges: list[CandidateView]) -> Message:
    """One match: a confirm button. Several (newest first): one button per wedge, each confirms.

    A completed interview has nothing to resend: it is listed without a button.
    """
    if len(wedges) == 1:
        w = wedges[0]
        if w.completed:
            text = f"{w.email} already completed {w.interview_name or 'the interview'}: there is no invite to resend."
            blocks = [section(f":white_check_mark: {_completed_line(w)} There is no invite to resend.")]
            if w.result_url:
                blocks.append(actions(button("Open result", Action.OPEN_RESULT, url=w.result_url)))
            return Message(text=text, blocks=blocks)
        text = f"Resend the WedgeHR invite to {w.email} for {w.interview_name}?"
        return Message(
            text=text,
            blocks=[
                section(
                    f"Resend the WedgeHR invite to *{escape(w.email or '')}* for *{escape(w.interview_name or '')}*?"
                    f"\nCurrent invite status: {escape(_status(w))}"
                ),
                actions(resend_button(w, label="Resend invite", style="primary"), block_id=Block.RESEND_CHOICE),
            ],
        )
    # Every one completed: there is nothing to pick, so the list does not ask which.
    open_ones = any(not w.completed for w in wedges)
    ask = "Which invite should I resend?" if open_ones else "All are completed: there is no invite to resend."
    blocks = [section(f"*{len(wedges)}* WedgeHR interviews match *{escape(query)}*. {ask}")]
    # The choices stop at the text a message holds too (interview names can be long).
    shown = used = 0
    for w in wedges[:MAX_CHOICES]:
        # A wedge's deadline is WedgeHR's expiresAt: when the invite stops working (none once complete).
        when = ""
        if w.completed and w.completed_at:
            when = f" {slack_date(w.completed_at)}"
        elif w.deadline:
            when = f" · {'expires' if w.deadline > datetime.now(UTC) else 'expired'} {slack_date(w.deadline)}"
        line = (
            f"*{escape(w.interview_name or 'Interview')}* · {escape(w.email or '')} · {escape(_status(w))}{when}"
            f" · wedge {w.wedge_id}"
        )
        choice = section(
            line,
            accessory=None if w.completed else resend_button(w),
            block_id=f"{Block.RESEND_CHOICE}:{shown}",
        )
        used += text_length(choice)
        if shown and used > LIST_TEXT_BUDGET:
            break
        blocks.append(choice)
        shown += 1
    if len(wedges) > shown:
        blocks.append(
            context(
                f"…and {len(wedges) - shown} older ones not shown. To resend one of those, use its wedge id:"
                f" `/interview resend {escape('<wedge id>')}`."
            )
        )
    text = f"{len(wedges)} WedgeHR interviews match {query}"
    return Message(text=text if open_ones else f"{text}, all completed: there is no invite to resend.", blocks=blocks)


def resent(w: CandidateView) -> Message:
    text = f"Invite resent to {w.email} for {w.interview_name}."
    return Message(text=text, blocks=[section(f":envelope_with_arrow: {escape(text)}")])


def recently_resent(email: str, *, by_user: str, seconds_ago: int, confirmed: bool = True) -> Message:
    """A second click (or a colleague's) moments after the first: the candidate is not emailed twice.

    ``confirmed`` False: WedgeHR gave the first no clear answer, so it may or may not have gone out.
    """
    who = f" by <@{by_user}>" if by_user else ""
    if confirmed:
        text = f"The invite to {email} was resent {seconds_ago} s ago, so I did not send it again."
        said = f"The invite to *{escape(email)}* was resent{who} {seconds_ago} s ago, so I did not send it again."
    else:
        text = f"A resend of the invite to {email} {seconds_ago} s ago may have gone out, so I did not send it again."
        said = (
            f"A resend of the invite to *{escape(email)}*{who} {seconds_ago} s ago got no clear answer from WedgeHR: "
            "it may have gone out, so I did not send it again. Check the invite in WedgeHR first."
        )
    return Message(
        text=text,
        blocks=[section(f":hourglass: {said} If the candidate needs another, resend it in a few minutes.")],
    )
