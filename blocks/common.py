"""Small pure helpers: escaping, Block Kit limits, and element constructors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from blocks.models import Option

# Block Kit limits (https://api.slack.com/reference/block-kit).
SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
OPTION_TEXT = 75
OPTION_VALUE = 150
URL = 3000
MODAL_TITLE = 24
MODAL_BUTTON = 24
LABEL = 2000
PLACEHOLDER = 150
MAX_OPTIONS = 100
CONTEXT_ELEMENTS = 10
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
PRIVATE_METADATA = 3000
ACTION_VALUE = 2000


def escape(text: str | None) -> str:
    """Escape user text for mrkdwn: &, < and > are control characters there."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str | None = None) -> str:
    """``url`` as mrkdwn link markup, with an escaped ``label``.

    ``|``, ``<`` and ``>`` are percent-encoded so that no URL can end the link early and
    turn what follows into live markup; ``&`` is escaped as Slack requires.
    """
    safe = url.replace("&", "&amp;").replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    return f"<{safe}|{escape(label)}>" if label else f"<{safe}>"


def mailto(email: str) -> str:
    """An email address as a mailto link; percent-encoded, since ``|`` and ``&`` are legal in addresses."""
    return link("mailto:" + quote(email, safe="@+"), email)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text or " ", limit), "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text or " ", limit)}


def section(text: str, *, accessory: dict[str, Any] | None = None, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": mrkdwn(text)}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def context(*texts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:CONTEXT_ELEMENTS]]}


def text_length(value: Any) -> int:
    """The characters of every text object in ``value`` (blocks, a block, an element): what
    Slack counts against a message's total."""
    if isinstance(value, list):
        return sum(text_length(v) for v in value)
    if not isinstance(value, dict):
        return 0
    if value.get("type") in {"plain_text", "mrkdwn"} and isinstance(value.get("text"), str):
        return len(value["text"])
    return sum(text_length(v) for v in value.values())


#: The text one list may take in a message. Slack refuses a message whose blocks hold more than
#: about 12,000 characters (msg_blocks_too_long, undocumented), and a list shares it with a
#: heading, notes and buttons.
LIST_TEXT_BUDGET = 9_000


def chunked_sections(
    lines: list[str], *, max_blocks: int, more: str = "…and {n} more not shown.", max_chars: int = LIST_TEXT_BUDGET
) -> list[dict[str, Any]]:
    """Pack lines into sections within Slack's text limits: at most ``max_blocks`` blocks, and
    ``max_chars`` characters in all.

    Lines that do not fit are counted in a last context line (``more``, with ``{n}``), never
    dropped silently.
    """
    chunks: list[list[str]] = [[]]
    size = used = 0
    for line in lines:
        line = truncate(line, SECTION_TEXT - 100)
        if used + len(line) + 1 > max_chars:
            break
        if chunks[-1] and size + len(line) + 1 > SECTION_TEXT - 100:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
        used += len(line) + 1
    chunks = [c for c in chunks if c]
    if len(chunks) > max_blocks:
        chunks = chunks[: max_blocks - 1]
    hidden = len(lines) - sum(len(c) for c in chunks)
    blocks = [section("\n".join(c)) for c in chunks]
    return [*blocks, context(more.format(n=hidden))] if hidden else blocks


def divider() -> dict[str, Any]:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    *,
    value: str | None = None,
    url: str | None = None,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, BUTTON_TEXT), "action_id": action_id}
    if value is not None:
        element["value"] = truncate(value, ACTION_VALUE)
    if url:
        element["url"] = truncate(url, URL)
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


#: Slack's limit on a confirmation dialog's text.
CONFIRM_TEXT = 300


def confirm_dialog(title: str, text: str, *, confirm: str = "Yes", deny: str = "Cancel") -> dict[str, Any]:
    return {
        "title": plain(title, 100),
        "text": mrkdwn(text, CONFIRM_TEXT),
        "confirm": plain(confirm, 30),
        "deny": plain(deny, 30),
    }


def actions(*elements: dict[str, Any], block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "actions", "elements": list(elements)[:25]}
    if block_id:
        block["block_id"] = block_id
    return block


def option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain(label, OPTION_TEXT), "value": truncate(value, OPTION_VALUE)}


def options(items: list[Option]) -> list[dict[str, Any]]:
    return [option(o.value, o.label) for o in items[:MAX_OPTIONS]]


def input_block(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
    dispatch_action: bool = False,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, LABEL),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, LABEL)
    if dispatch_action:
        block["dispatch_action"] = True
    return block


def text_input(
    action_id: str,
    *,
    placeholder: str | None = None,
    initial: str | None = None,
    multiline: bool = False,
    max_length: int | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id, "multiline": multiline}
    if placeholder:
        element["placeholder"] = plain(placeholder, PLACEHOLDER)
    if initial:
        element["initial_value"] = initial[: max_length or 3000]
    if max_length:
        element["max_length"] = max_length
    return element


def modal(
    callback_id: str,
    title: str,
    blocks: list[dict[str, Any]],
    *,
    submit: str | None = "Submit",
    close: str = "Cancel",
    private_metadata: str = "",
    notify_on_close: bool = False,
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, MODAL_TITLE),
        "close": plain(close, MODAL_BUTTON),
        "blocks": blocks[:VIEW_BLOCKS],
    }
    if submit:
        view["submit"] = plain(submit, MODAL_BUTTON)
    if private_metadata:
        view["private_metadata"] = private_metadata[:PRIVATE_METADATA]
    if notify_on_close:
        view["notify_on_close"] = True
    return view


def stars(rating: float | None) -> str:
    """``★★★★☆ 4.5`` for a 0-5 rating (half rounds up), or ``not rated``."""
    if rating is None or rating <= 0:
        return "not rated"
    rating = max(0.0, min(5.0, float(rating)))
    full = int(rating + 0.5)
    return "★" * full + "☆" * (5 - full) + f" {rating:.1f}".rstrip("0").rstrip(".")


def slack_date(when: datetime | None, *, fallback_prefix: str = "") -> str:
    """Slack date formatting: each reader sees the time in their own time zone.

    A time without a zone is UTC, as the bot reads every vendor's (``bot.notify.events.vendor_time``),
    never the server's zone; the fallback (shown where Slack cannot format the date) is in UTC too.
    """
    if when is None:
        return "—"
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    unix = int(when.timestamp())
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{unix}^{{date_short_pretty}} at {{time}}|{fallback_prefix}{fallback}>"
