"""The App Home tab."""

from __future__ import annotations

from typing import Any

from blocks.common import actions, button, context, divider, escape, header, section, slack_date
from blocks.connect import _status_line
from blocks.ids import Action
from blocks.models import AuditEntryView, ConnectionStatusView, SubscriptionView
from blocks.subscriptions import subscription_sections

ACTION_LABELS = {
    "invite.sent": "Invited",
    "invite.failed": "Invite failed",
    "resend.sent": "Resent invite to",
    "share.created": "Shared",
    "share.deactivated": "Deactivated share link for",
}


def home_view(
    *,
    statuses: list[ConnectionStatusView],
    recent: list[AuditEntryView],
    subscriptions: list[SubscriptionView],
) -> dict[str, Any]:
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
            f"({escape(e.vendor or '')}) {slack_date(e.at)}"
            for e in recent[:10]
        ]
        blocks.append(section("*Your last invites*\n" + "\n".join(lines)))
    else:
        blocks.append(section("*Your last invites*\nNothing yet. Try `/interview invite`."))
    blocks.append(divider())
    if subscriptions:
        blocks += subscription_sections("*Channel subscriptions*", subscriptions, max_blocks=20)
    else:
        blocks.append(section("*Channel subscriptions*\nNone. Run `/interview subscribe` in a channel."))
    blocks.append(context("`/interview help` lists every command."))
    return {"type": "home", "blocks": blocks}
