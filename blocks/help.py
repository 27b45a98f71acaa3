"""``/interview help``."""

from __future__ import annotations

from blocks.common import context, escape, header, section
from blocks.models import Message

USAGE = [
    ("`/interview invite [email]`", "Invite one candidate, or paste many (one per line)."),
    ("`/interview resend <email | wedge id>`", "Resend a WedgeHR invitation."),
    ("`/interview share <email | interview uuid>`", "Share a Spark Hire recording with reviewers."),
    ("`/interview find <email>`", "Look a candidate up in both vendors."),
    ("`/interview connect`", "Connect WedgeHR or your Spark Hire API key."),
    (
        "`/interview subscribe [wedgehr|sparkhire|all] [event ...] [job:<name or id>] "
        "[exclude:<email or @domain>] [compact] [shared]`",
        "Post interview events in this channel.",
    ),
    ("`/interview subscribe test [event]`", "Ask Spark Hire to send its last event again, to check the wiring."),
    (
        "`/interview unsubscribe [same words]`",
        "Stop some or all of this channel's events (where they come from several accounts, it asks whose).",
    ),
    ("`/interview subscriptions`", "List this channel's subscriptions."),
]
EXAMPLES = [
    "/interview invite ann@example.com",
    "/interview find ann@example.com",
    "/interview subscribe sparkhire completed rated job:Barista exclude:@test.example.com",
    "/interview subscribe wedgehr completed compact",
    '/interview subscribe sparkhire job:"Senior Account Executive"',
]


def help_message(*, unknown: str | None = None) -> Message:
    """Usage with examples; ``unknown`` names a subcommand we did not recognise."""
    blocks = [header("Interview Bot")]
    if unknown:
        blocks.append(section(f":grey_question: I don't know `{escape(unknown)}`. Here is what I can do:"))
    # Escaped: "<email | wedge id>" would be read as a link, and "job:<name or id>" vanish.
    blocks.append(section(escape("\n".join(f"{cmd}\n{desc}" for cmd, desc in USAGE))))
    blocks.append(section("*Examples*\n" + "\n".join(f"`{e}`" for e in EXAMPLES)))
    blocks.append(
        context(
            "Spark Hire events: completed, rated, expired, accepted, created, rescheduled, canceled, reset, jobs. "
            "WedgeHR events: completed, send_failure, canceled. Default: completed rated expired. "
            "Put a job name of several words in quotes."
        )
    )
    return Message(text="Interview Bot: /interview invite, resend, share, find, connect, subscribe", blocks=blocks)
