"""Subscription confirmations and listings, and the paused-subscription notice."""

from __future__ import annotations

from typing import Any

from blocks.common import LIST_TEXT_BUDGET, actions, button, chunked_sections, escape, section, text_length
from blocks.ids import Action
from blocks.models import VENDOR_LABELS, Message, SubscriptionView


def subscription_line(s: SubscriptionView) -> str:
    parts = [f"<#{s.channel_id}>", f"*{VENDOR_LABELS[s.vendor]}*", ", ".join(s.events)]
    if s.job_filter:
        parts.append(f"job: {escape(s.job_filter)}")
    if s.excludes:
        parts.append("excluding " + ", ".join(escape(e) for e in s.excludes))
    if s.compact:
        parts.append("compact")
    line = " · ".join(parts)
    if s.paused:
        line += f" · :double_vertical_bar: paused ({escape(s.paused_reason or '')})"
    return f"• {line}"


def subscribed_message(subs: list[SubscriptionView], *, notes: list[str] = ()) -> Message:
    text = "This channel will get: " + "; ".join(f"{VENDOR_LABELS[s.vendor]} {', '.join(s.events)}" for s in subs)
    blocks = [section(":bell: *Subscribed.*\n" + "\n".join(subscription_line(s) for s in subs))]
    blocks += [section(escape(n)) for n in notes]
    return Message(text=text, blocks=blocks)


#: What the workspace's list keeps at least, when the channel's own is long.
WORKSPACE_SHARE = 1_500


def subscriptions_list(channel: list[SubscriptionView], workspace: list[SubscriptionView] | None = None) -> Message:
    if not channel and not workspace:
        text = "No subscriptions here. Try /interview subscribe."
        return Message(text=text, blocks=[section("No subscriptions in this channel. Try `/interview subscribe`.")])
    # A channel may follow many jobs (one job: per subscription): every line is shown or counted.
    # Two lists share one message's text: the channel's own first, the workspace's what is left.
    blocks = (
        subscription_sections("*This channel*", channel, max_blocks=24, max_chars=LIST_TEXT_BUDGET - WORKSPACE_SHARE)
        if channel
        else [section("*This channel*\nnone")]
    )
    if workspace:
        left = LIST_TEXT_BUDGET - text_length(blocks)
        blocks += subscription_sections("*Whole workspace*", workspace, max_blocks=24, max_chars=left)
    return Message(text=f"{len(channel)} subscription(s) in this channel", blocks=blocks)


def subscription_sections(
    title: str, subs: list[SubscriptionView], *, max_blocks: int, max_chars: int = LIST_TEXT_BUDGET
) -> list[dict[str, Any]]:
    """``title`` and one line per subscription, over as many sections as they need."""
    more = "…and {n} more subscription(s) not shown; `/interview subscriptions` in a channel lists its own."
    lines = [title, *(subscription_line(s) for s in subs)]
    return chunked_sections(lines, max_blocks=max_blocks, more=more, max_chars=max_chars)


def unsubscribed_message(removed: int, changed: int) -> Message:
    if not removed and not changed:
        text = "Nothing to remove: this channel has no matching subscription."
    else:
        text = f"Removed {removed} and narrowed {changed} subscription(s) in this channel."
    return Message(text=text, blocks=[section(escape(text))])


def paused_notice(s: SubscriptionView, *, reason: str) -> Message:
    text = (
        f"I paused the {VENDOR_LABELS[s.vendor]} subscription in <#{s.channel_id}>: {escape(reason)}. "
        "Fix it (for example invite me to the channel) and re-enable it."
    )
    return Message(
        text=text,
        text_is_markup=True,
        blocks=[
            section(f":double_vertical_bar: {text}"),
            actions(button("Re-enable", Action.SUBSCRIPTION_RESUME, value=str(s.id), style="primary")),
        ],
    )


def resumed_notice(channel_id: str) -> Message:
    """After the Re-enable button: the channel as a link."""
    text = f"Re-enabled the subscription in <#{channel_id}>."
    return Message(text=text, text_is_markup=True, blocks=[section(text)])
