"""A submitted form shown again: everything typed in it kept, and why it must be sent again."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from blocks.common import VIEW_BLOCKS, escape, section
from blocks.ids import Block

#: What views.open/update take of a view; a submitted view also carries id, state, hash… that Slack refuses.
VIEW_KEYS = (
    "type",
    "callback_id",
    "title",
    "submit",
    "close",
    "private_metadata",
    "clear_on_close",
    "notify_on_close",
    "external_id",
    "submit_disabled",
)

#: Element type -> (the key its state is under, the key that pre-fills it).
REFILL = {
    "plain_text_input": ("value", "initial_value"),
    "email_text_input": ("value", "initial_value"),
    "url_text_input": ("value", "initial_value"),
    "number_input": ("value", "initial_value"),
    "static_select": ("selected_option", "initial_option"),
    "external_select": ("selected_option", "initial_option"),
    "radio_buttons": ("selected_option", "initial_option"),
    "multi_static_select": ("selected_options", "initial_options"),
    "multi_external_select": ("selected_options", "initial_options"),
    "checkboxes": ("selected_options", "initial_options"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
    "users_select": ("selected_user", "initial_user"),
    "multi_users_select": ("selected_users", "initial_users"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
}


def _listed(element: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An element's own options by value (groups included): Slack wants an initial option to be one of them."""
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found += group.get("options") or []
    return {o["value"]: o for o in found if isinstance(o, dict) and "value" in o}


def _option(picked: Any, listed: dict[str, dict[str, Any]], external: bool) -> dict[str, Any] | None:
    if not isinstance(picked, dict) or not isinstance(picked.get("value"), str):
        return None
    if external:  # the options came from the bot's type-ahead: Slack sent back the one picked
        text = picked.get("text")
        return {"text": text, "value": picked["value"]} if isinstance(text, dict) else None
    return listed.get(picked["value"])


def refilled_element(element: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """``element`` pre-filled with what its ``state`` (from view.state.values) holds, or emptied."""
    kind = element.get("type")
    if kind not in REFILL:
        return element
    state_key, initial_key = REFILL[kind]
    refilled = {k: v for k, v in element.items() if k != initial_key}
    picked = state.get(state_key)
    listed, external = _listed(element), kind in ("external_select", "multi_external_select")
    value: Any
    if initial_key == "initial_option":
        value = _option(picked, listed, external)
    elif initial_key == "initial_options":
        value = [o for o in (_option(p, listed, external) for p in picked or []) if o] or None
    elif isinstance(picked, list):
        value = picked or None
    else:
        value = picked if picked not in (None, "") else None
    if value is not None:
        refilled[initial_key] = value
    return refilled


def refilled_form(
    view: dict[str, Any],
    *,
    heading: str,
    problems: list[str],
    field_problems: dict[str, str] | None = None,
    blank: Collection[str] = (),
) -> dict[str, Any]:
    """The submitted ``view`` again, every input pre-filled with what was typed, under a warning
    that lists ``field_problems`` (block_id -> what is wrong there), each by its field's label, then
    ``problems``. Same callback_id and private_metadata: it can be submitted again.

    The inputs of the ``blank`` blocks (keys, tokens) are shown empty: what was typed there is
    never sent back to Slack, whose client logs each request and answer at DEBUG."""
    values = (view.get("state") or {}).get("values") or {}
    labels = {block.get("block_id"): (block.get("label") or {}).get("text") or "" for block in view.get("blocks") or []}
    named = [
        f"*{escape(labels[block_id])}*: {escape(problem)}" if labels.get(block_id) else escape(problem)
        for block_id, problem in (field_problems or {}).items()
    ]
    blocks = []
    for block in view.get("blocks") or []:
        if block.get("block_id") == Block.FORM_PROBLEMS:
            continue  # the warning of an earlier attempt
        element = block.get("element")
        state = (values.get(block.get("block_id")) or {}).get((element or {}).get("action_id"))
        if block.get("block_id") in blank:
            state = {}
        if block.get("type") == "input" and isinstance(element, dict) and isinstance(state, dict):
            block = {**block, "element": refilled_element(element, state)}
        blocks.append(block)
    lines = [f":warning: *{escape(heading)}*", *(f"• {p}" for p in [*named, *map(escape, problems)])]
    warning = section("\n".join(lines), block_id=Block.FORM_PROBLEMS)
    form = {k: view[k] for k in VIEW_KEYS if k in view}
    return {**form, "blocks": [warning, *blocks][:VIEW_BLOCKS]}
