"""`/interview resend`: confirm one wedge or choose among several."""

from __future__ import annotations

from datetime import UTC, datetime

from blocks.common import actions, button, confirm_dialog, context, escape, section, slack_date
from blocks.ids import Action
from blocks.models import CandidateView, Message

#: One button each; the headline, these and the "more" line stay far under 50 blocks.
MAX_CHOICES = 20


def resend_choices(query: str, wedges: list[CandidateView]) -> Message:
    """One match: a confirm button. Several: one button per wedge (each confirms)."""
    if len(wedges) == 1:
        w = wedges[0]
        text = f"Resend the WedgeHR invite to {w.email} for {w.interview_name}?"
        return Message(
            text=text,
            blocks=[
                section(
                    f"Resend the WedgeHR invite to *{escape(w.email)}* for *{escape(w.interview_name or '')}*?"
                    f"\nCurrent invite status: {escape((w.status or 'unknown').replace('_', ' '))}"
                ),
                actions(button("Resend invite", Action.RESEND_WEDGE, value=str(w.wedge_id), style="primary")),
            ],
        )
    blocks = [section(f"*{len(wedges)}* WedgeHR interviews match *{escape(query)}*. Which invite should I resend?")]
    for w in wedges[:MAX_CHOICES]:
        # A wedge's deadline is WedgeHR's expiresAt: when the invite stops working (none once complete).
        when = ""
        if w.deadline:
            when = f" · {'expires' if w.deadline > datetime.now(UTC) else 'expired'} {slack_date(w.deadline)}"
        blocks.append(
            section(
                f"*{escape(w.interview_name or 'Interview')}* · {escape(w.email)} · {escape(w.status or '')}{when}",
                accessory=button(
                    "Resend",
                    Action.RESEND_WEDGE,
                    value=str(w.wedge_id),
                    confirm=confirm_dialog(
                        "Resend invite?", f"Email {escape(w.email)} the invitation again?", confirm="Resend"
                    ),
                ),
            )
        )
    if len(wedges) > MAX_CHOICES:
        blocks.append(context(f"…and {len(wedges) - MAX_CHOICES} more not shown; resend with the exact email address."))
    return Message(text=f"{len(wedges)} WedgeHR interviews match {query}", blocks=blocks)


def resent(w: CandidateView) -> Message:
    text = f"Invite resent to {w.email} for {w.interview_name}."
    return Message(text=text, blocks=[section(f":envelope_with_arrow: {escape(text)}")])
