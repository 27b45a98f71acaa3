"""Build and send correctly signed Slack requests to a running bot, as Slack does."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "test-signing-secret-abcdef0123456789"
TEAM = {"id": "T0001", "domain": "acme"}


def sign(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def slash_command_form(
    text: str,
    *,
    trigger_id: str,
    user: str = "U1",
    channel: str = "C1",
    command: str = "/interview",
    response_url: str = "",
    **extra: str,
) -> dict[str, str]:
    """The form fields Slack posts for a slash command."""
    return {
        "token": "legacy",
        "team_id": TEAM["id"],
        "team_domain": TEAM["domain"],
        "channel_id": channel,
        "channel_name": "hiring",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A1",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
        **extra,
    }


class SlackSender:
    """Sends slash commands and interactivity payloads to ``{bot_url}/slack/events``."""

    def __init__(
        self, bot_url: str, *, secret: str = SIGNING_SECRET, trigger_ids: Callable[[], str] | None = None
    ) -> None:
        """``trigger_ids``: where each request's trigger_id comes from (the fake Slack's
        ``issue_trigger_id``, so views.open takes it once, within 3 s, as Slack does)."""
        self.url = bot_url.rstrip("/") + "/slack/events"
        self.secret = secret
        self._trigger = 0
        self._trigger_ids = trigger_ids
        self.client = httpx.AsyncClient(timeout=10)

    async def aclose(self) -> None:
        await self.client.aclose()

    def trigger_id(self) -> str:
        if self._trigger_ids is not None:
            return self._trigger_ids()
        self._trigger += 1
        return f"trigger-{self._trigger}"

    async def post_form(
        self,
        form: dict[str, str],
        *,
        headers: dict[str, str] | None = None,
        timestamp: int | None = None,
    ) -> httpx.Response:
        body = urlencode(form)
        signed = sign(body, secret=self.secret, timestamp=timestamp)
        return await self.client.post(
            self.url,
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                **signed,
                **(headers or {}),
            },
        )

    async def command(
        self,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        command: str = "/interview",
        response_url: str = "",
        **extra: str,
    ) -> httpx.Response:
        form = slash_command_form(
            text,
            trigger_id=self.trigger_id(),
            user=user,
            channel=channel,
            command=command,
            response_url=response_url,
            **extra,
        )
        return await self.post_form(form)

    async def payload(self, payload: dict[str, Any]) -> httpx.Response:
        base = {"team": TEAM, "api_app_id": "A1", "token": "legacy", "is_enterprise_install": False}
        return await self.post_form({"payload": json.dumps({**base, **payload})})

    async def block_action(
        self,
        action_id: str,
        *,
        value: str | None = None,
        user: str = "U1",
        channel: str | None = "C1",
        view: dict[str, Any] | None = None,
        block_id: str = "b",
        message: dict[str, Any] | None = None,
        response_url: str = "",
        selected: dict[str, Any] | None = None,
        user_team: str = TEAM["id"],
        ephemeral: bool = False,
        **extra: Any,
    ) -> httpx.Response:
        """A button click; ``ephemeral`` clicks one in a message only the user sees (Slack sends no
        copy of those)."""
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": "button",
            "action_ts": str(time.time()),
        }
        if value is not None:
            action["value"] = value
        if selected is not None:
            action.update(selected)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "team_id": user_team},
            "trigger_id": self.trigger_id(),
            "actions": [action],
            "response_url": response_url or None,
        }
        if channel:
            payload["channel"] = {"id": channel}
            payload["container"] = {
                "type": "message",
                "channel_id": channel,
                "message_ts": (message or {}).get("ts", "1.0"),
                "is_ephemeral": ephemeral,
            }
            if not ephemeral:
                payload["message"] = message or {"ts": "1.0", "text": ""}
        if view is not None:
            payload["view"] = view
            payload["container"] = {"type": "view", "view_id": view.get("id")}
        return await self.payload({**payload, **extra})

    async def suggestion(
        self,
        action_id: str,
        value: str,
        *,
        view: dict[str, Any],
        user: str = "U1",
        block_id: str = "b",
        user_team: str = TEAM["id"],
    ) -> httpx.Response:
        return await self.payload(
            {
                "type": "block_suggestion",
                "user": {"id": user, "team_id": user_team},
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "view": view,
            }
        )

    async def view_submission(
        self,
        view: dict[str, Any],
        values: dict[str, dict[str, Any]],
        *,
        user: str = "U1",
        user_team: str = TEAM["id"],
        **extra: Any,
    ) -> httpx.Response:
        submitted = {**view, "state": {"values": values}}
        return await self.payload(
            {
                "type": "view_submission",
                "user": {"id": user, "team_id": user_team},
                "trigger_id": self.trigger_id(),
                "view": submitted,
                **extra,
            }
        )

    async def shortcut(
        self,
        callback_id: str,
        *,
        user: str = "U1",
        message: dict[str, Any] | None = None,
        channel: str = "C1",
    ) -> httpx.Response:
        payload: dict[str, Any] = {
            "type": "message_action" if message is not None else "shortcut",
            "callback_id": callback_id,
            "user": {"id": user, "team_id": TEAM["id"]},
            "trigger_id": self.trigger_id(),
            "action_ts": str(time.time()),
        }
        if message is not None:
            payload.update({"message": message, "channel": {"id": channel}, "response_url": ""})
        return await self.payload(payload)

    async def event(
        self, event: dict[str, Any], *, event_time: float | None = None, installation_team: str | None = None
    ) -> httpx.Response:
        """``installation_team``: the workspace whose installation Slack names in ``authorizations``
        (in a Slack Connect channel or a Grid organisation, maybe not the one the channel is of)."""
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": TEAM["id"],
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": f"Ev{time.time_ns()}",
                "event_time": int(event_time if event_time is not None else time.time()),
                "event": event,
                "authorizations": [{"team_id": installation_team or TEAM["id"], "user_id": "UBOT", "is_bot": True}],
            }
        )
        return await self.client.post(
            self.url,
            content=body,
            headers={"Content-Type": "application/json", **sign(body, secret=self.secret)},
        )
