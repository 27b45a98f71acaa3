"""Validate payloads with slack-sdk's Block Kit models, plus the limits they do not check."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from blocks.common import text_length

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
#: Slack refuses a message whose blocks hold more text than about this (msg_blocks_too_long):
#: undocumented; Slack's staff gave 12,000 characters (slackapi/bolt-js#2509).
MAX_MESSAGE_BLOCKS_TEXT = 12_000


def blocks_text_length(value: Any) -> int:
    """The characters of every text object in ``value``, as Slack counts them against a message."""
    return text_length(value)


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def _walk_elements(blocks: list[dict[str, Any]]):
    for block in blocks:
        for key in ("element", "accessory"):
            if isinstance(block.get(key), dict):
                yield block[key]
        yield from block.get("elements", []) if block.get("type") == "actions" else []


def _check_extra_limits(blocks: list[dict[str, Any]], *, max_blocks: int) -> None:
    assert len(blocks) <= max_blocks, f"{len(blocks)} blocks > {max_blocks}"
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids)), f"duplicate block_id in {block_ids}"
    for element in _walk_elements(blocks):
        opts = element.get("options") or []
        assert len(opts) <= MAX_OPTIONS, f"{len(opts)} options > {MAX_OPTIONS}"
        for opt in opts:
            assert len(opt["text"]["text"]) <= MAX_OPTION_TEXT, opt["text"]["text"]
            assert len(opt["value"]) <= 150
    for block in blocks:
        if block.get("type") == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
        assert block["type"] == "divider" or set(block) - {"type"}, f"empty block {block}"


def assert_valid_blocks(blocks: list[dict[str, Any]], *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> None:
    """Every block parses, serialises unchanged (nothing dropped) and respects the limits."""
    parsed = [Block.parse(b) for b in blocks]
    assert None not in parsed, "unknown block type was dropped"
    rebuilt = [b.to_dict() for b in parsed]
    assert _strip_none(rebuilt) == _strip_none(blocks), "slack-sdk changed or dropped something"
    _check_extra_limits(blocks, max_blocks=max_blocks)
    if max_blocks == MAX_MESSAGE_BLOCKS:  # a message (a Home tab or modal has its own limits)
        total = blocks_text_length(blocks)
        assert total <= MAX_MESSAGE_BLOCKS_TEXT, f"{total} characters of text > {MAX_MESSAGE_BLOCKS_TEXT}"


def assert_valid_view(view: dict[str, Any]) -> None:
    payload = {k: v for k, v in view.items() if k not in {"id", "hash", "team_id", "state"}}
    rebuilt = View(**payload).to_dict()
    assert _strip_none(rebuilt) == _strip_none(payload), "slack-sdk changed or dropped something"
    assert_valid_blocks(view["blocks"], max_blocks=MAX_VIEW_BLOCKS)
    if view["type"] == "modal":  # Home tabs have no title
        assert len(view["title"]["text"]) <= 24
