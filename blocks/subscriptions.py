"""Subscription confirmations and listings, and the paused-subscription notice."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from blocks.common import (
    LIST_TEXT_BUDGET,
    SECTION_TEXT,
    actions,
    button,
    chunked_sections,
    confirm_dialog,
    context,
    escape,
    modal,
    section,
    text_length,
    truncate,
)
from blocks.ids import Action, Callback
from blocks.models import VENDOR_LABELS, ManualWebhookView, Message, SubscriptionView

#: Room a subscription's line leaves in its section (Slack cuts a section's text at 3,000).
LINE_LIMIT = SECTION_TEXT - 100
#: The text the confirmation gives the channel's other-account subscriptions, and its notes: with
#: two lines of LINE_LIMIT they stay under Slack's 12,000 characters a message.
OTHERS_BUDGET = 3_000
NOTES_BUDGET = 3_000


def subscription_line(s: SubscriptionView, *, limit: int = LINE_LIMIT) -> str:
    """One subscription as a bullet line of at most ``limit`` characters.

    Excluded addresses are what makes a line long: those that do not fit are counted, so the
    channel, platform, events and account are always shown whole.
    """
    parts = [f"<#{s.channel_id}>", f"*{VENDOR_LABELS[s.vendor]}*", ", ".join(s.events)]
    if s.job_filter:
        parts.append(f"job: {escape(s.job_filter)}")
    tail: list[str] = []
    if s.compact:
        tail.append("compact")
    if s.account:
        owner = f", <@{s.account_owner}>'s own key" if s.account_owner else ""
        tail.append(f"account: {escape(s.account)}{owner}")
    paused = f" · :double_vertical_bar: paused ({escape(s.paused_reason or '')})" if s.paused else ""

    def line(excluding: str | None) -> str:
        return "• " + " · ".join(parts + ([excluding] if excluding else []) + tail) + paused

    if not s.excludes:
        return truncate(line(None), limit)
    shown = [escape(e) for e in s.excludes]
    while shown:
        hidden = len(s.excludes) - len(shown)
        text = line("excluding " + ", ".join(shown) + (f" and {hidden} more" if hidden else ""))
        if len(text) <= limit:
            return text
        shown.pop()
    return truncate(line(f"excluding {len(s.excludes)} addresses or domains"), limit)


def subscribed_message(
    subs: list[SubscriptionView],
    *,
    notes: list[str] = (),
    others: list[SubscriptionView] = (),
    by_hand: ManualWebhookView | None = None,
) -> Message:
    """The confirmation: one section per subscription (each within Slack's limits, however many
    addresses it excludes), the channel's subscriptions of the same platforms reading other
    accounts (``others``), then the notes.

    ``by_hand``: the Spark Hire webhook could not be registered (no PUBLIC_URL): the headline says
    events wait for it, and the two ways to register it follow, with the button that shows its
    credentials (never in the message itself)."""
    text = "This channel will get: " + "; ".join(f"{VENDOR_LABELS[s.vendor]} {', '.join(s.events)}" for s in subs)
    if by_hand is not None:
        text += f" ({WAITING_FOR_WEBHOOK})"
        blocks = [section(f":bell: *Subscribed* — {WAITING_FOR_WEBHOOK}.")]
    else:
        blocks = [section(":bell: *Subscribed.*")]
    blocks += [section(subscription_line(s)) for s in subs]
    left = NOTES_BUDGET
    if by_hand is not None:
        blocks += manual_webhook_blocks(by_hand)
        left -= text_length(blocks[-2:])
    if others:
        title = "*This channel also has, reading other accounts* (each subscription posts its own account's events):"
        blocks += subscription_sections(title, list(others), max_blocks=4, max_chars=OTHERS_BUDGET)
    for note in notes:
        if left < 100:
            break
        blocks.append(section(truncate(escape(note), left)))
        left -= text_length(blocks[-1])
    return Message(text=text, blocks=blocks)


WAITING_FOR_WEBHOOK = "Spark Hire events will arrive once the webhook is registered"
#: What the button that shows a webhook's credentials says.
SHOW_CREDENTIALS = "Show webhook credentials"


def manual_webhook_blocks(hook: ManualWebhookView) -> list[dict[str, Any]]:
    """How to get a webhook the bot could not register (no PUBLIC_URL) registered: the operator sets
    PUBLIC_URL, or someone registers it by hand with the credentials the button shows (to whoever
    may manage the connection: the password is never in a message)."""
    who = f"<@{hook.owner}>, whose own Spark Hire key it uses," if hook.owner else "A workspace admin"
    text = (
        ":warning: *Spark Hire cannot send events yet.* The bot does not know its public address "
        "(`PUBLIC_URL` is not set), so it could not register its webhook with Spark Hire. Either:\n"
        "• ask whoever runs the bot to set `PUBLIC_URL` to its public https address, then run this "
        "command again; or\n"
        "• register the webhook by hand in Spark Hire's webhook settings. URL: the bot's public https "
        f"address followed by `{hook.path}`. Authentication: HTTP basic auth, with the bot's webhook "
        f"username and password. {who} can see them with *{SHOW_CREDENTIALS}*."
    )
    return [
        section(text),
        actions(button(SHOW_CREDENTIALS, Action.SHOW_WEBHOOK_CREDENTIALS, value=hook.connection_id)),
    ]


def manual_webhook_text() -> str:
    """For a reply without the button (a key changed, subscriptions moved): what to do (plain text)."""
    return (
        "Spark Hire cannot send this account's events until its webhook is registered, and the bot does not "
        "know its public address (PUBLIC_URL is not set) to register it. Ask whoever runs the bot to set "
        "PUBLIC_URL, or run `/interview subscribe` in a subscribed channel with the words of its Spark Hire "
        "subscription (other words add a subscription): its answer says how to register the webhook by hand."
    )


def webhook_credentials_refused(text: str) -> dict[str, Any]:
    """The credentials modal when it shows no credentials: why (not allowed, or not known)."""
    return modal(
        Callback.WEBHOOK_CREDENTIALS,
        "Spark Hire webhook",
        [section(f":no_entry_sign: {escape(text)}")],
        submit=None,
        close="Close",
    )


#: Where the credentials modal shows the password: logs never show what follows it (bot/logs.py).
PASSWORD_LABEL = "Webhook password:"


def webhook_credentials_modal(*, path: str, username: str, password: str, public_url: str | None) -> dict[str, Any]:
    """What to enter in Spark Hire's webhook settings to register the bot's webhook by hand: the URL
    (the bot's address, when known, and the path), and the HTTP basic auth credentials."""
    url = f"`{public_url}{path}`" if public_url else f"the bot's public https address followed by `{path}`"
    where = (
        "The bot's public address is where Slack reaches it too: the Request URL in the Slack app's "
        "settings, without `/slack/events`."
    )
    return modal(
        Callback.WEBHOOK_CREDENTIALS,
        "Spark Hire webhook",
        [
            section(
                "Register a webhook in Spark Hire's webhook settings with these, and Spark Hire sends this "
                "account's events to the bot."
            ),
            section(f"*URL*\n{url}"),
            *([] if public_url else [context(where)]),
            section(
                f"*Authentication*: HTTP basic auth\nWebhook username: `{username}`\n{PASSWORD_LABEL} `{password}`"
            ),
            context("Keep the password secret: whoever has it can send events to the bot as Spark Hire."),
        ],
        submit=None,
        close="Close",
    )


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


def unsubscribed_message(removed: int, changed: int, *, notes: Sequence[str] = ()) -> Message:
    if not removed and not changed:
        text = "Nothing to remove: this channel has no matching subscription."
    else:
        text = f"Removed {removed} and narrowed {changed} subscription(s) in this channel."
    return Message(text=text, blocks=[section(escape(text)), *(section(truncate(escape(n), 1_000)) for n in notes)])


#: The text the "which account?" answer gives each account's subscriptions, at most.
CHOICE_BUDGET = 3_000
#: The most accounts it asks about: a heading, then each account's at most 3 sections and its
#: button, then the button for all, is 2 + 12 * 4 = 50 blocks, Slack's most for a message.
CHOICE_GROUPS_MOST = 12
#: The most subscriptions it lists, each button naming those it stops: 96 ids of up to
#: ``CHOICE_ID_DIGITS`` digits fit the 2,000 characters of a button's value, with the channel,
#: every event and the tag that binds the button to whom it was asked.
CHOICE_IDS_MOST = 96
#: The most digits of a subscription id in a button's value (ids are 64-bit: 19 digits could overflow).
CHOICE_ID_DIGITS = 18


def unsubscribe_choices_message(
    choices: Sequence[Sequence[SubscriptionView]],
    *,
    events: Sequence[str],
    tag: Callable[[str], str] | None = None,
    asked_at: float | None = None,
) -> Message:
    """unsubscribe's words reach subscriptions of one platform reading different accounts: which
    should stop? Each account's subscriptions with a button that stops those, and one for all.

    ``choices``: one list per platform and account, each line naming its account; ``events``: the
    events to stop (none: the whole subscriptions); ``tag``: the keyed digest each button's value
    ends with, so that a click from outside the channel (the answer reached a DM) can be trusted;
    ``asked_at``: when the subscriptions were read, so that a click stops none made since (SQLite
    gives a new subscription the id of one removed).
    """
    first = choices[0][0]
    what = f"stop getting {', '.join(events)}" if events else "I remove"
    text = (
        "This channel reads events from more than one account, and those words reach subscriptions of "
        f"each. Which account's should {what}?"
    )
    blocks = [section(f":question: {text}")]
    verb = "Stop " + ", ".join(events) if events else "Remove"
    budget = min(CHOICE_BUDGET, 9_000 // len(choices))
    for group in choices:
        s = group[0]
        owner = f", <@{s.account_owner}>'s own key" if s.account_owner else ""
        title = f"*{VENDOR_LABELS[s.vendor]}* · account: {escape(s.account or '')}{owner}"
        lines = [subscription_line(replace(v, account=None, account_owner=None)) for v in group]
        blocks += chunked_sections([title, *lines], max_blocks=3, max_chars=budget)
        value = unsubscribe_choice_value(first.channel_id, [v.id for v in group], events, tag=tag, asked_at=asked_at)
        blocks.append(actions(button(verb, Action.UNSUBSCRIBE_CHOICE, value=value)))
    every = [v.id for group in choices for v in group]
    everything = "Stop " + ", ".join(events) + " for all" if events else f"Remove all {len(every)}"
    value = unsubscribe_choice_value(first.channel_id, every, events, tag=tag, asked_at=asked_at)
    blocks.append(actions(button(everything, Action.UNSUBSCRIBE_CHOICE, value=value)))
    return Message(text=text, blocks=blocks)


def unsubscribe_choice_value(
    channel_id: str,
    subscription_ids: Sequence[int],
    events: Sequence[str],
    *,
    tag: Callable[[str], str] | None = None,
    asked_at: float | None = None,
) -> str:
    """A "which account?" button's value: the channel, the subscriptions it stops and the events
    (``C1:4,7:completed,rated``; no events: remove them), when they were read (``:@`` and UNIX
    milliseconds, rounded up), then ``tag`` of all that, if given."""
    value = f"{channel_id}:{','.join(map(str, subscription_ids))}:{','.join(events)}"
    if asked_at is not None:
        value += f":{_ASKED_AT}{math.ceil(asked_at * 1000)}"
    return f"{value}:{tag(value)}" if tag is not None else value


#: Marks the part of a "which account?" button's value that says when it was asked (a tag never starts so).
_ASKED_AT = "@"


def _covered_parts(value: str) -> int:
    """How many ``:``-parts of a "which account?" value its tag covers: 4 with a time, 3 without."""
    parts = value.split(":")
    return 4 if len(parts) > 3 and parts[3].startswith(_ASKED_AT) else 3


def unsubscribe_choice_tag(value: str) -> tuple[str, str | None]:
    """A "which account?" button's value split into what its tag covers, and the tag (None: untagged)."""
    covered, _, tag = value.rpartition(":")
    return (covered, tag) if value.count(":") == _covered_parts(value) else (value, None)


def unsubscribe_choice_asked_at(value: str) -> float | None:
    """When the subscriptions a "which account?" button names were read (None: a button from before
    it said, or not one of ours): a subscription made later is none of those."""
    parts = unsubscribe_choice_tag(value)[0].split(":")
    millis = parts[3][len(_ASKED_AT) :] if len(parts) == 4 else ""
    return int(millis) / 1000 if millis.isascii() and millis.isdigit() and len(millis) <= 15 else None


def parse_unsubscribe_choice(value: str) -> tuple[str, list[int], tuple[str, ...]] | None:
    """What ``unsubscribe_choice_value`` wrote (its tag aside), or None when it is not that: more ids
    than a button carries, or an id longer than ours, is no button of ours either."""
    parts = unsubscribe_choice_tag(value)[0].split(":")
    if len(parts) != _covered_parts(value):
        return None
    channel_id, ids, events = parts[:3]
    numbers = ids.split(",")
    if not channel_id or len(numbers) > CHOICE_IDS_MOST:
        return None
    if not all(n.isascii() and n.isdigit() and len(n) <= CHOICE_ID_DIGITS for n in numbers):
        return None
    return channel_id, [int(n) for n in numbers], tuple(e for e in events.split(",") if e)


#: Why Slack refused the channel, as ``paused_notice`` and ``still_paused_notice`` explain it.
PauseCause = Literal["archived", "gone", "removed", "shared"]

INVITE = "`/invite @Interview Bot`"


def _what_to_do(channel_id: str, cause: PauseCause | None) -> str:
    if cause == "archived":
        return f"<#{channel_id}> was archived: unarchive it, then Re-enable; or Remove if the channel is done with."
    if cause == "gone":
        return (
            f"<#{channel_id}> is gone: it was deleted, or it is a private channel I was removed from. If it "
            f"still exists, invite me to the channel ({INVITE} there), then Re-enable; if it was deleted, Remove."
        )
    if cause == "removed":
        return f"I was removed from it: invite me to the channel again ({INVITE} there), then Re-enable; or Remove."
    if cause == "shared":
        return f"<#{channel_id}> is now shared with another organisation: {_resume_shared(channel_id)}"
    return "Fix it (for example invite me to the channel) and re-enable it; or Remove."


def _named(subs: Sequence[SubscriptionView]) -> str:
    """``the Spark Hire subscription`` / ``its 2 subscriptions``, for the first sentence of a notice."""
    if len(subs) == 1:
        return f"the {VENDOR_LABELS[subs[0].vendor]} subscription"
    return f"the {len(subs)} subscriptions"


def pause_buttons(s: SubscriptionView, count: int = 1, *, resumable: bool = True) -> dict[str, Any]:
    """Re-enable and Remove for a paused subscription (``count``: the channel's paused with it);
    Remove alone when a command, not the button, must resume it (``resumable`` False)."""
    what = "its subscription" if count == 1 else f"its {count} subscriptions"
    remove = button(
        "Remove",
        Action.SUBSCRIPTION_REMOVE,
        value=str(s.id),
        style="danger",
        confirm=confirm_dialog(
            "Remove the subscription?" if count == 1 else f"Remove {count} subscriptions?",
            # With its words: plain `subscribe` sets up another (every job, full cards, default events).
            f"The channel loses {what} to {VENDOR_LABELS[s.vendor]} events, and what was missed while paused "
            f"is not posted. `/interview subscribe` with {'its' if count == 1 else 'their'} words in the channel "
            f"sets {'it' if count == 1 else 'them'} up again.",
            confirm="Remove",
            deny="Keep it",
        ),
    )
    if not resumable:
        return actions(remove)
    return actions(button("Re-enable", Action.SUBSCRIPTION_RESUME, value=str(s.id), style="primary"), remove)


def paused_notice(
    subs: SubscriptionView | Sequence[SubscriptionView],
    *,
    reason: str,
    cause: PauseCause | None = None,
    instead_of: Sequence[str] = (),
    catch_up_days: int = 7,
) -> Message:
    """The notice of a pause, with Re-enable and Remove: to whoever created the subscriptions, or, when
    none of them can be reached (``instead_of``: their user ids), to someone who can act for them."""
    subs = [subs] if isinstance(subs, SubscriptionView) else list(subs)
    first = subs[0]
    # A pause about the channel says what became of it; any other names its reason.
    why = "" if cause else f": {escape(reason)}"
    text = f"I paused {_named(subs)} in <#{first.channel_id}>{why}. {_what_to_do(first.channel_id, cause)}"
    kept = f"What arrives meanwhile is kept: Re-enable posts what it missed in the last {catch_up_days} days."
    blocks = [section(f":double_vertical_bar: {text}")]
    if len(subs) > 1:
        blocks += subscription_sections("*Paused here*", subs, max_blocks=5, max_chars=3_000)
    notes = [kept, *_told_instead(instead_of)]
    blocks += [context(*notes), pause_buttons(first, len(subs), resumable=first.resumable_by_button)]
    return Message(text=text, text_is_markup=True, blocks=blocks)


def _told_instead(creators: Sequence[str]) -> list[str]:
    """Why a stand-in gets a notice meant for ``creators`` (none: nothing to say)."""
    if not creators:
        return []
    who = ", ".join(f"<@{u}>" for u in creators[:5])
    return [f"You are told because {who}, who set it up, can no longer be reached in Slack."]


#: A command longer than this is not quoted whole in a notice (many ``exclude:`` words).
COMMAND_QUOTED_MOST = 1_000


def subscribe_command(s: SubscriptionView, *, shared: bool = True) -> str:
    """The `/interview subscribe ... shared` that renews ``s`` as it is (same platform, events, job,
    excludes and compact: ``subscribe`` renews the subscription these words match), as mrkdwn code;
    a generic one when it would be too long to quote. ``shared``: with the word that confirms a
    channel shared with another organisation."""
    command = renewing_words(s, shared=shared)
    return f"`{escape(command)}`" if command else generic_renewal(shared=shared)


def generic_renewal(*, shared: bool = True) -> str:
    """What to run when the words that renew a subscription are too long to quote."""
    return "`/interview subscribe` with the words it was set up with" + (" and `shared`" if shared else "")


def renewing_words(s: SubscriptionView, *, shared: bool = True) -> str | None:
    """The command of :func:`subscribe_command` as typed (not markup); None when it cannot be quoted."""
    values = [("job:", s.job_filter)] if s.job_filter else []
    values += [("exclude:", e) for e in s.excludes]
    words = ["/interview subscribe", s.vendor, *s.events]
    for prefix, value in values:
        quoted = _command_value(value)
        if quoted is None or len(value) > JOB_QUOTED_MOST:
            return None
        words.append(prefix + quoted)
    words += ["compact"] * s.compact + ["shared"] * shared
    command = " ".join(words)
    # A backtick would end the code span the command is shown in; mrkdwn cannot escape it.
    if len(command) > COMMAND_QUOTED_MOST or "`" in command:
        return None
    return command


#: The longest ``job:`` value the subscribe grammar takes (JOB_FILTER_MAX); a name a vendor gave
#: a followed job since can be longer.
JOB_QUOTED_MOST = 200
#: What the subscribe grammar (bot/notify/grammar.py) reads as a quote, a separator or a space.
_QUOTES = "\"'\u2018\u2019\u201c\u201d\u201e"
_SEPARATORS = ",;"


def _command_value(value: str) -> str | None:
    """``value`` as a ``job:``/``exclude:`` value that the subscribe grammar reads back whole, quoted
    where needed; None when no quoting can (spaces other than plain ones, or every quote inside)."""
    if not value or any(c.isspace() and c != " " for c in value) or value != value.strip():
        return None
    if not any(c == " " or c in _SEPARATORS for c in value) and value[0] not in _QUOTES:
        return value
    if not any(c in value for c in '"\u201c\u201d'):
        return f'"{value}"'
    # A single quote closes only where a word ends: inside a word it is an apostrophe.
    closes = [
        i for i, c in enumerate(value) if c in "'\u2019" and (i + 1 == len(value) or value[i + 1] in " " + _SEPARATORS)
    ]
    return None if closes else f"'{value}'"


def _resume_shared(channel_id: str, subs: Sequence[SubscriptionView] = ()) -> str:
    """How a pause for a channel shared with another organisation is lifted (``subs``: the first
    gives the exact command)."""
    run = subscribe_command(subs[0]) if subs else "`/interview subscribe ... shared`"
    return (
        f"if its people outside your company may see the candidates' names, email addresses, ratings and "
        f"interview links, run {run} in <#{channel_id}>: that re-enables it and posts what it missed. "
        "The Re-enable button cannot, as it cannot confirm that."
    )


def shared_pause_notice(
    subs: Sequence[SubscriptionView], *, catch_up_days: int = 7, instead_of: Sequence[str] = ()
) -> Message:
    """By direct message to whoever set up ``subs`` (never in the channel): their subscriptions of a
    channel shared with another organisation since were paused, and how to resume them. When none
    of them can be reached (``instead_of``: their user ids), to someone who can act for them."""
    first = subs[0]
    channel = f"<#{first.channel_id}>"
    text = (
        f"I paused {_named(subs)} in {channel}: the channel is now shared with another organisation "
        "(Slack Connect), so its people outside your company would see every candidate card posted there. "
        f"Nothing is posted there meanwhile. If they may see them, run {subscribe_command(first)} in {channel}: "
        f"that re-enables {'it' if len(subs) == 1 else 'them'} and posts what {'it' if len(subs) == 1 else 'they'} "
        "missed. Otherwise `/interview unsubscribe` there removes "
        f"{'it' if len(subs) == 1 else 'them'}."
    )
    blocks = [section(f":double_vertical_bar: {text}")]
    if len(subs) > 1:
        blocks += subscription_sections("*Paused there*", list(subs), max_blocks=5, max_chars=3_000)
    blocks.append(
        context(
            f"What arrives meanwhile is kept: re-enabling posts what was missed in the last {catch_up_days} days. "
            "The Re-enable button does not work while the channel is shared: it cannot confirm that.",
            *_told_instead(instead_of),
        )
    )
    return Message(text=text, text_is_markup=True, blocks=blocks)


def still_paused_notice(subs: Sequence[SubscriptionView], *, cause: PauseCause | Literal["invite"]) -> Message:
    """A Re-enable Slack's channel does not allow yet: what to do first; the buttons stay (but
    Re-enable, where only a command can resume them)."""
    first = subs[0]
    channel = f"<#{first.channel_id}>"
    if cause == "shared":
        them = "it" if len(subs) == 1 else "them"
        text = f"{channel} is shared with another organisation (Slack Connect), so I did not re-enable {them}: " + (
            _resume_shared(first.channel_id, subs)
        )
    elif cause == "archived":
        text = f"{channel} is still archived, so I cannot post there. Unarchive it first, then Re-enable."
    elif cause == "gone":
        text = (
            f"I still cannot find {channel}: it was deleted, or it is a private channel I am not in. If it exists, "
            f"invite me to it ({INVITE} there), then Re-enable; if it was deleted, Remove {_named(subs)}."
        )
    else:
        text = f"I am not in {channel}, a private channel. Invite me to it ({INVITE} there), then Re-enable."
    return Message(
        text=f"Still paused: {text}",
        text_is_markup=True,
        blocks=[
            section(f":double_vertical_bar: *Still paused.* {text}"),
            pause_buttons(first, len(subs), resumable=cause != "shared"),
        ],
    )


def resumed_text(channel_id: str, *, missed: str, count: int = 1) -> str:
    """What a Re-enable did, and what is now posted (``missed_text``), for the reply and the App Home."""
    what = "the subscription" if count == 1 else f"{count:,} subscriptions"
    return f"Re-enabled {what} in <#{channel_id}>. {missed}"


def missed_text(
    *,
    queued: int,
    too_old: int,
    older_uncounted: bool = False,
    days: int = 7,
    most: int = 200,
    count: int = 1,
    nothing: str | None = None,
) -> str:
    """What re-enabling ``count`` paused subscriptions posts of what they missed (plain text, no markup).

    Args:
        older_uncounted: More older ones than ``too_old`` may have been missed, how many is not known
            (a job or exclude filter, checked only on what was read, or more than was read): no number
            is given then, a wrong one would mislead.
        nothing: Said when nothing is posted (default: nothing they take arrived while paused).
    """
    if queued == 1:
        text = "Posting the 1 notification missed while paused."
    elif queued:
        text = f"Posting the {queued:,} notifications missed while paused, in the order they arrived."
    elif nothing is not None:
        text = nothing
    elif too_old or older_uncounted:
        text = f"Nothing {'it' if count == 1 else 'they'} missed is recent enough to post."
    elif count == 1:
        text = "Nothing it takes arrived while it was paused."
    else:
        text = "Nothing they take arrived while they were paused."
    why = f"only what arrived in the last {days:,} days is posted, {most:,} at most."
    if older_uncounted:
        text += f" Some older ones may not have been posted: {why}"
    elif too_old:
        text += f" {too_old:,} older one{'s were' if too_old != 1 else ' was'} not posted: {why}"
    return text.strip()


def resumed_notice(channel_id: str, *, missed: str, count: int = 1) -> Message:
    """After the Re-enable button: the channel as a link, and what is now posted (``missed_text``)."""
    text = resumed_text(channel_id, missed=missed, count=count)
    return Message(text=text, text_is_markup=True, blocks=[section(text)])


def removed_text(channel_id: str, count: int) -> str:
    what = "the subscription" if count == 1 else f"{count} subscriptions"
    return f"Removed {what} of <#{channel_id}>. `/interview subscribe` in a channel sets one up again."


def removed_notice(channel_id: str, count: int) -> Message:
    text = removed_text(channel_id, count)
    return Message(text=text, text_is_markup=True, blocks=[section(text)])


def rejoined_notice() -> Message:
    """Posted in a public channel the bot was removed from and joined again to post a card: whoever
    removed it wanted the posts to stop, and this says how."""
    text = (
        "I was removed from this channel, but it is still subscribed to interview notifications, so "
        "I joined again to post them. To stop them, run `/interview unsubscribe` here "
        "(`/interview subscriptions` lists what this channel follows)."
    )
    return Message(text=text, text_is_markup=True, blocks=[section(text)])


def poll_outage_notice(
    *, account: str, channels: Sequence[str], cause: str, since: float, reconnect: bool = False
) -> Message:
    """To whoever connected a WedgeHR account whose polls have all failed for a while: what fails (in
    plain words, never the vendor's answer), that its notifications are late but not lost, and what to
    do: nothing unless it lasts, or, with ``reconnect`` (the bot cannot use the saved token, which
    waiting will not change), connect the account again."""
    when = f"<!date^{int(since)}^{{date_short_pretty}} at {{time}}|{_utc(since)}>"
    text = (
        f"WedgeHR notifications{_of_account(account, channels)} are delayed: {escape(truncate(cause, 300))}, and every "
        f"poll of the account has failed since {when}."
    )
    if reconnect:
        text += " Connect the account again with `/interview connect` to fix it."
        notes = (
            "Nothing is lost: once it is connected again, what happened in the account meanwhile is posted, "
            "and I will tell you when it is. Whoever runs this app can fix it for every account at once "
            "instead, by setting BOT_SECRET_KEY back to the key the token was saved with."
        )
    else:
        notes = (
            "Nothing is lost: what happens in the account meanwhile is posted once WedgeHR answers again, "
            "and I will tell you when it does. Nothing to do on your side unless this lasts for hours; then "
            "tell whoever runs this app, or WedgeHR support."
        )
    return Message(text=text, text_is_markup=True, blocks=[section(f":warning: {text}"), context(notes)])


def poll_recovered_notice(*, account: str, channels: Sequence[str]) -> Message:
    """After :func:`poll_outage_notice`, once a poll of the account worked again."""
    text = (
        f"WedgeHR answers again: its notifications{_of_account(account, channels)} are back, and what "
        "happened while it failed is being posted now."
    )
    return Message(text=text, text_is_markup=True, blocks=[section(f":white_check_mark: {text}")])


def _of_account(account: str, channels: Sequence[str]) -> str:
    """ " (account *X*, posted in #a, #b)": which notifications a notice is about."""
    shown = list(dict.fromkeys(channels))
    where = ", ".join(f"<#{c}>" for c in shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
    # Short enough that the notice stays whole within a section's 3,000 characters, escaped.
    return f" (account *{escape(truncate(account, 200))}*" + (f", posted in {where})" if where else ")")


def _utc(ts: float) -> str:
    """A time for clients that cannot show Slack's date markup."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
