"""The App Home tab."""

from __future__ import annotations

from typing import Any

from blocks.common import (
    SECTION_TEXT,
    actions,
    button,
    chunked_sections,
    context,
    divider,
    escape,
    header,
    section,
    slack_date,
)
from blocks.connect import _status_line
from blocks.ids import Action
from blocks.models import VENDOR_LABELS, AuditEntryView, ConnectionStatusView, SubscriptionView
from blocks.subscriptions import pause_buttons, subscription_line, subscription_sections

#: Paused subscriptions (or channels of them) shown with their buttons; the rest are counted.
PAUSED_SHOWN = 12

ACTION_LABELS = {
    "invite.sent": "Invited",
    "invite.failed": "Invite failed",
    "resend.sent": "Resent invite to",
    "resend.unconfirmed": "Resent (no clear answer) invite to",
    "share.created": "Shared",
    "share.deactivated": "Deactivated share link for",
}


def home_view(
    *,
    statuses: list[ConnectionStatusView],
    recent: list[AuditEntryView],
    subscriptions: list[SubscriptionView],
    others_hidden: int = 0,
    paused_groups: list[list[SubscriptionView]] | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """The Home tab. A member who is not an admin sees the subscriptions they made, and
    ``others_hidden`` counts the rest (their filters can name people and searches).

    Paused subscriptions come first, each with Re-enable and Remove; ``paused_groups`` puts those
    one click acts on together (a channel's, paused for the channel), by default each alone.
    ``notice``: what the user's last click there did (mrkdwn the caller made safe).
    """
    blocks: list[dict[str, Any]] = [
        header("Interview Bot"),
        actions(
            button("Invite a candidate", Action.OPEN_INVITE, style="primary"),
            button("Connect accounts", Action.OPEN_CONNECT),
        ),
        section("*Connections*\n" + "\n".join(_status_line(s) for s in statuses)),
        divider(),
    ]
    if recent:
        lines = [
            f"• {ACTION_LABELS.get(e.action, e.action)} {escape(e.target or '')} "
            f"({escape(VENDOR_LABELS.get(e.vendor or '', e.vendor or ''))}) {slack_date(e.at)}"
            for e in recent[:10]
        ]
        blocks.append(section("*Your last invites*\n" + "\n".join(lines)))
    else:
        blocks.append(section("*Your last invites*\nNothing yet. Try `/interview invite`."))
    blocks.append(divider())
    title = "*Your channel subscriptions*" if others_hidden else "*Channel subscriptions*"
    if notice:
        blocks.append(section(notice))
    paused = [s for s in subscriptions if s.paused]
    active = [s for s in subscriptions if not s.paused]
    if paused:
        groups = paused_groups if paused_groups is not None else [[s] for s in paused]
        blocks.append(
            section(
                f"{title}\n:double_vertical_bar: *Paused* ({len(paused)}): nothing is posted for them. "
                "Re-enable posts what each missed meanwhile; Remove deletes it."
            )
        )
        for group in groups[:PAUSED_SHOWN]:
            # A channel following many jobs pauses them all at once: what one section cannot
            # show is counted. No command can list them in an archived or deleted channel; the
            # buttons act on every one.
            more = (
                f"…and {{n}} more of <#{group[0].channel_id}>, paused with these: the buttons act on all {len(group)}."
            )
            lines = [subscription_line(s) for s in group]
            blocks += chunked_sections(lines, max_blocks=2, more=more, max_chars=SECTION_TEXT - 100)
            blocks.append(pause_buttons(group[0], len(group), resumable=group[0].resumable_by_button))
        if len(groups) > PAUSED_SHOWN:
            hidden = sum(len(g) for g in groups[PAUSED_SHOWN:])
            blocks.append(context(f"…and {hidden} more paused: `/interview subscriptions` in a channel lists its own."))
        if active:
            blocks += subscription_sections("*Active*", active, max_blocks=20)
    elif subscriptions:
        blocks += subscription_sections(title, subscriptions, max_blocks=20)
    else:
        blocks.append(section(f"{title}\nNone. Run `/interview subscribe` in a channel."))
    if others_hidden:
        blocks.append(
            context(
                f"{others_hidden} more made by others: workspace admins see them all here, and"
                " `/interview subscriptions` in a channel lists that channel's."
            )
        )
    blocks.append(context("`/interview help` lists every command."))
    return {"type": "home", "blocks": blocks}
