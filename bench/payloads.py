"""The requests the benchmarks send: correctly signed Slack payloads and distinct Spark Hire deliveries."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from blocks.ids import Action, Block, Callback
from tests.support.slack_requests import TEAM, sign, slash_command_form


def command_form(text: str, *, n: int) -> str:
    return urlencode(slash_command_form(text, trigger_id=f"trigger-{n}"))


def view_submission_form(*, n: int) -> str:
    """A WedgeHR invite with a bad email: the bot answers with a field error inside the ack."""
    values = {
        Block.WEDGEHR_INTERVIEW.value: {
            Action.INPUT.value: {"type": "external_select", "selected_option": {"value": "1"}}
        },
        Block.EMAIL.value: {Action.INPUT.value: {"type": "plain_text_input", "value": "ann@"}},
    }
    payload = {
        "type": "view_submission",
        "team": TEAM,
        "user": {"id": "U1", "team_id": TEAM["id"]},
        "api_app_id": "A1",
        "trigger_id": f"trigger-{n}",
        "view": {
            "id": f"V{n}",
            "type": "modal",
            "callback_id": Callback.INVITE_WEDGEHR.value,
            "private_metadata": "{}",
            "team_id": TEAM["id"],
            "blocks": [],
            "state": {"values": values},
        },
    }
    return urlencode({"payload": json.dumps(payload)})


SLACK_KINDS = {
    "help": lambda n: command_form("help", n=n),
    "invite": lambda n: command_form("invite", n=n),
    "view_submission": lambda n: view_submission_form(n=n),
}


def slack_request(kind: str, n: int) -> tuple[bytes, dict[str, str]]:
    """Body and signed headers of request ``n`` of ``kind`` (signed now: valid for Slack's five minutes)."""
    body = SLACK_KINDS[kind](n)
    return body.encode(), {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}


def webhook_body(template: dict[str, Any], n: int, *, series: int = 0) -> bytes:
    """A completed interview like ``template`` with its own uuid and candidate: a distinct delivery."""
    body = dict(template, uuid=f"5a0c2a35-{series:04d}-4000-8000-{n:012d}")
    body["assigned_to"] = dict(template["assigned_to"], name=f"Cand {n}", email=f"c{n}@example.io")
    return json.dumps(body).encode()
