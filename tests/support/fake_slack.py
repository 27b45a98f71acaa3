"""A stateful fake of the Slack Web API, served over HTTP on loopback.

The bot reaches it through ``SLACK_API_URL``. It records every call, keeps the
messages and views it was sent, and can be told to fail (429 with Retry-After,
5xx, Slack error codes) or to enforce Slack's one-message-per-second pacing.

It enforces, as Slack does, the limits a product bug could otherwise hide: a ``response_url``
takes 5 posts within 30 minutes; a ``trigger_id`` (issued by :meth:`FakeSlack.issue_trigger_id`)
opens one view within 3 s; an ephemeral goes only to a member of a channel Slack shows the app.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from tests.support.blockkit import MAX_MESSAGE_BLOCKS_TEXT, blocks_text_length

BOT_TOKEN = "xoxb-test-bot-token-0123456789"
APP_TOKEN = "xapp-1-A1-test-app-token-0123456789"
TEAM_ID = "T0001"
BOT_USER_ID = "UBOT"
#: A response_url takes this many posts, within this many seconds of the request (Slack's limits).
RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0
#: A trigger_id opens one view, within this many seconds of the request.
TRIGGER_LIFETIME = 3.0
#: What an install from manifest.yml grants.
MANIFEST_SCOPES = tuple(
    yaml.safe_load((Path(__file__).resolve().parents[2] / "manifest.yml").read_text())["oauth_config"]["scopes"]["bot"]
)


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    #: Only calls this says yes to fail (default: every call of the method).
    when: Callable[[Call], bool] | None = None


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None = None
    user: str | None = None
    ephemeral: bool = False
    updates: int = 0
    metadata: dict[str, Any] | None = None


class FakeSlack:
    """Fake Slack Web API. ``base_url`` (set by :func:`serve`) ends in ``/api/``.

    Users are configured with :meth:`add_user`; channels with :meth:`add_channel`.
    """

    def __init__(self, *, bot_token: str = BOT_TOKEN, team_id: str = TEAM_ID) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.calls: list[Call] = []
        self.messages: list[Message] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.published_home: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        #: Who is in a channel (conversations.members, and whom an ephemeral there reaches); a channel
        #: not here has every user in it.
        self.members: dict[str, list[str]] = {}
        self.failures: dict[str, list[Failure]] = defaultdict(list)
        #: One-shot hooks awaited when a call of the method arrives, before it is answered.
        self.before_answering: dict[str, Callable[[], Awaitable[None]]] = {}
        #: One-shot hooks awaited after a call did its work (a post is in the channel), before the
        #: answer goes back: stall it, or raise CancelledError to drop the connection unanswered.
        self.after_handling: dict[str, Callable[[], Awaitable[None]]] = {}
        #: The token's scopes, as auth.test lists them; history reads are refused without theirs.
        self.scopes: set[str] = set(MANIFEST_SCOPES)
        self.pace_per_channel: float | None = None
        self._last_post: dict[str, float] = {}
        #: Bot tokens of other workspaces (OAuth mode), taken like ``bot_token``.
        self.other_bot_tokens: set[str] = set()
        #: After a 429 with Retry-After, Slack refuses the method to that token (its workspace's
        #: limit: every channel) until then; calls that came too early (and got another 429) are kept here.
        self._limited_until: dict[tuple[str | None, str], float] = {}
        self.too_early: list[Call] = []
        self._ts = 0.0
        self._view_seq = 0
        #: Messages deleted (``delete_message``), as (channel, ts).
        self._deleted: set[tuple[str, str]] = set()
        self.changed = asyncio.Event()
        self.oauth_codes: set[str] = set()
        #: Token rotation: bot tokens that expire (token -> Unix time), and the refresh tokens not yet
        #: used (each is revoked by the refresh that uses it, as Slack does).
        self.expiring_tokens: dict[str, float] = {}
        self.refresh_tokens: set[str] = set()
        #: Every refresh token ever granted, used or not.
        self.granted_refresh_tokens: list[str] = []
        #: With token rotation on for the app: an install (the OAuth code exchange) grants an expiring
        #: bot token that expires in this many seconds, and its refresh token; None: a token that never does.
        self.install_token_expires_in: float | None = None
        self._rotations = 0
        self.add_user("U1", name="Rita Recruiter", email="rita@example.com", is_admin=True)
        self.add_user("U2", name="Mo Member", email="mo@example.com")
        self.add_channel("C1", name="hiring")
        self.app = web.Application()
        self.app.router.add_route("*", "/api/{method}", self._handle)
        self.app.router.add_post("/response/{key}", self._response_url)
        self.app.router.add_get("/socket", self._socket)
        self.app_token = APP_TOKEN
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: dict[str, dict[str, Any]] = {}
        self.responses: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.expired_response_urls: set[str] = set()
        #: When each response_url was handed out (monotonic); posts after RESPONSE_URL_LIFETIME are refused.
        self._response_url_issued: dict[str, float] = {}
        #: None: a response_url takes any number of posts (Slack: RESPONSE_URL_USES).
        self.response_url_uses: int | None = RESPONSE_URL_USES
        self.response_url_lifetime = RESPONSE_URL_LIFETIME
        #: trigger_ids handed out with requests (monotonic time of issue), and those already exchanged.
        self._triggers: dict[str, float] = {}
        self._exchanged_triggers: set[str] = set()
        self.trigger_lifetime = TRIGGER_LIFETIME
        #: False: views.open/push take any trigger_id, any number of times (payloads made up by hand).
        self.triggers_enforced = True
        #: Bodies posted to an expired response_url: Slack showed none of them.
        self.refused_responses: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.base_url = ""  # set by the harness once served

    def response_url(self, key: str = "r1") -> str:
        """A ``response_url`` for a command or action; bodies posted there land in ``responses[key]``.

        Like Slack's, it takes ``response_url_uses`` posts within ``response_url_lifetime`` seconds
        of the first time it was handed out.
        """
        self._response_url_issued.setdefault(key, time.monotonic())
        return f"{self.base_url}/response/{key}"

    def issue_trigger_id(self) -> str:
        """A new ``trigger_id``, as Slack puts in a command or interaction: it opens one view
        (views.open or views.push) within ``trigger_lifetime`` seconds."""
        trigger_id = f"{len(self._triggers) + 1}.{time.monotonic_ns()}.fake"
        self._triggers[trigger_id] = time.monotonic()
        return trigger_id

    def _trigger_refused(self, trigger_id: Any) -> web.Response | None:
        """Slack's refusal to open a view with ``trigger_id``; None (and it is used up) when it opens one."""
        if not self.triggers_enforced:
            return None
        issued = self._triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if issued is None:  # one Slack never issued: views.open's documented example answer
            return web.json_response(
                {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": ["invalid `trigger_id`"]}}
            )
        if trigger_id in self._exchanged_triggers:
            return web.json_response({"ok": False, "error": "exchanged_trigger_id"})
        if time.monotonic() - issued > self.trigger_lifetime:
            return web.json_response({"ok": False, "error": "expired_trigger_id"})
        self._exchanged_triggers.add(trigger_id)
        return None

    def expire_response_url(self, key: str) -> None:
        """Answer posts to ``response_url(key)`` as Slack does once it expired: 404 ``expired_url``."""
        self.expired_response_urls.add(key)

    async def _response_url(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        issued = self._response_url_issued.get(key, time.monotonic())
        if key in self.expired_response_urls or time.monotonic() - issued > self.response_url_lifetime:
            self.refused_responses[key].append(await request.json())
            self.changed.set()
            return web.Response(status=404, text="expired_url")
        body = await request.json()
        if self.response_url_uses is not None and len(self.responses[key]) >= self.response_url_uses:
            # Slack's docs give the limit (5 uses) but not the answer past it: a 404 like an expired URL's.
            self.refused_responses[key].append(body)
            self.changed.set()
            return web.Response(status=404, text="used_url")
        if _too_much_text(body.get("blocks")):
            self.refused_responses[key].append(body)
            self.changed.set()
            return web.Response(status=400, text="invalid_blocks")
        self.responses[key].append(body)
        self.changed.set()
        return web.Response(text="ok")

    # -- configuration -----------------------------------------------------------
    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        email: str,
        is_admin: bool = False,
        is_owner: bool = False,
        tz: str = "America/Chicago",
        team_id: str | None = None,
        enterprise_id: str | None = None,
        is_stranger: bool = False,
    ) -> None:
        """A user; with ``enterprise_id`` a member of that Enterprise Grid organisation, and with
        ``is_stranger`` a Slack Connect guest as the workspace's token sees one."""
        self.users[user_id] = {
            "id": user_id,
            "team_id": team_id or self.team_id,
            "name": name.split()[0].lower(),
            "real_name": name,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_bot": False,
            "tz": tz,
            "tz_offset": -21600,
            "profile": {"email": email, "real_name": name, "display_name": name.split()[0]},
        }
        if enterprise_id:
            self.users[user_id]["enterprise_user"] = {
                "id": user_id,
                "enterprise_id": enterprise_id,
                "enterprise_name": "Org " + enterprise_id,
                "teams": [team_id or self.team_id],
            }
        if is_stranger:
            self.users[user_id]["is_stranger"] = True

    def deactivate_user(self, user_id: str) -> None:
        """Deactivate a user, as an admin does when someone leaves: Slack still answers users.info
        (``deleted: true``) and, as it does, still takes a DM to them, which nobody reads."""
        self.users[user_id]["deleted"] = True

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        is_private: bool = False,
        is_member: bool = False,
        is_archived: bool = False,
        is_mpim: bool = False,
        is_ext_shared: bool = False,
    ) -> None:
        """A channel; ``is_ext_shared``: shared with another organisation (Slack Connect), as
        :meth:`share_externally` makes one later."""
        is_private = is_private or is_mpim
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "is_channel": not is_private,
            "is_group": is_private and not is_mpim,
            "is_mpim": is_mpim,
            "is_private": is_private,
            "is_member": is_member,
            "is_archived": is_archived,
        }
        if is_ext_shared:
            self.share_externally(channel_id)

    def share_externally(self, channel_id: str) -> None:
        """The channel is now shared with another organisation: conversations.info says so, as Slack
        does once the other side accepted the invitation."""
        self.channels[channel_id].update(is_shared=True, is_ext_shared=True, is_pending_ext_shared=False)

    def rotating_token(self, *, expires_in: float = 43200) -> tuple[str, str]:
        """An expiring bot token and its refresh token, as an install grants them with token rotation on."""
        self._rotations += 1
        token, refresh = f"xoxe.xoxb-1-rotated-{self._rotations}", f"xoxe-1-refresh-{self._rotations}"
        self.expiring_tokens[token] = time.time() + expires_in
        self.refresh_tokens.add(refresh)
        self.granted_refresh_tokens.append(refresh)
        return token, refresh

    def _refused(self, token: str | None) -> str | None:
        """Why Slack refuses a bot token: ``invalid_auth``, ``token_expired``; None when it takes it."""
        if token == self.bot_token or token in self.other_bot_tokens:
            return None
        expires_at = self.expiring_tokens.get(token or "")
        if expires_at is None:
            return "invalid_auth"
        return "token_expired" if expires_at <= time.time() else None

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        when: Callable[[Call], bool] | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (HTTP status and/or Slack error).

        ``when``: only the calls it says yes to (e.g. one workspace's token, one channel).
        """
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.failures[method].append(Failure(status=status, error=error, headers=headers, times=times, when=when))

    def show_view(self, view: dict[str, Any]) -> dict[str, Any]:
        """A view as if ``views.open`` had shown it (without a call): its id, hash and team added."""
        return self._store_view(view)

    def show_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]], *, user: str | None = None
    ) -> Message:
        """A message as if the bot had posted it (without a call); with ``user``, an ephemeral to them."""
        message = Message(
            channel=channel, ts=self._next_ts(), text=text, blocks=blocks, user=user, ephemeral=user is not None
        )
        self.messages.append(message)
        return message

    def delete_message(self, channel: str, ts: str) -> None:
        """A user deletes a message (one without replies): gone, and a reply to it is refused with
        ``thread_not_found``, as Slack answers for a thread whose parent no longer exists."""
        self.messages = [m for m in self.messages if not (m.channel == channel and m.ts == ts)]
        self._deleted.add((channel, ts))

    # -- inspection ------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posted(self, channel: str | None = None) -> list[Message]:
        return [m for m in self.messages if not m.ephemeral and (channel is None or m.channel == channel)]

    def ephemerals(self, user: str | None = None) -> list[Message]:
        return [m for m in self.messages if m.ephemeral and (user is None or m.user == user)]

    async def wait_for(self, predicate, timeout: float = 5.0) -> Any:
        """Wait until ``predicate()`` is truthy (checked after each call); return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"fake Slack: condition not met within {timeout}s")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=min(remaining, 0.25))

    # -- the API ---------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or args.get("token")
        self.calls.append(Call(method, args, token))
        hook = self.before_answering.pop(method, None)
        if hook is not None:
            await hook()
        try:
            response = await self._answer(method, args, token)
            hook = self.after_handling.pop(method, None)
            if hook is not None:
                await hook()
            return response
        finally:
            self.changed.set()

    async def _args(self, request: web.Request) -> dict[str, Any]:
        # slack-sdk sends some arguments in the query string, others in the body.
        args: dict[str, Any] = dict(request.query)
        if request.method == "GET":
            return args
        if request.content_type == "application/json":
            return {**args, **await request.json()}
        form = await request.post()
        for key, value in form.items():
            if key in {"blocks", "view", "attachments"} and isinstance(value, str):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            args[key] = value
        return args

    async def _answer(self, method: str, args: dict[str, Any], token: str | None) -> web.Response:
        wait = self._limited_until.get((token, method), 0.0) - time.monotonic()
        if wait > 0:
            self.too_early.append(self.calls[-1])
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(max(1, round(wait)))}
            )
        queue = self.failures.get(method) or []
        at = next((i for i, f in enumerate(queue) if f.when is None or f.when(self.calls[-1])), None)
        if at is not None:
            failure = queue[at]
            failure.times -= 1
            if failure.times <= 0:
                del queue[at]
            if failure.status == 429 and "Retry-After" in failure.headers:
                self._limited_until[(token, method)] = time.monotonic() + float(failure.headers["Retry-After"])
            if failure.status != 200:
                return web.json_response(
                    {"ok": False, "error": failure.error or "fake_failure"},
                    status=failure.status,
                    headers=failure.headers,
                )
            return web.json_response({"ok": False, "error": failure.error})
        if method == "apps.connections.open":
            if token != self.app_token:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True, "url": self.base_url.replace("http", "ws", 1) + "/socket"})
        if method == "oauth.v2.access":
            return web.json_response(self._oauth_v2_access(args, token))
        if (refused := self._refused(token)) is not None:
            return web.json_response({"ok": False, "error": refused})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        if method.startswith("chat.") and _too_much_text(args.get("blocks")):
            return web.json_response({"ok": False, "error": "msg_blocks_too_long"})
        result = handler(args)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, **result})

    def _next_ts(self) -> str:
        # Slack's ts is the wall-clock time of the post, unique within a channel.
        self._ts = max(time.time(), self._ts + 0.000001)
        return f"{self._ts:.6f}"

    # -- Socket Mode ---------------------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        async for message in ws:
            if message.type != web.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "envelope_id" in data:
                self.socket_acks[data["envelope_id"]] = data
                self.changed.set()
        return ws

    async def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Push a request to the connected Socket Mode client; its ack lands in ``socket_acks``."""
        envelope_id = f"env-{len(self.socket_acks)}-{time.monotonic_ns()}"
        await self.wait_for(lambda: self.sockets, timeout=10)
        await self.sockets[-1].send_json(
            {"envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": True}
        )
        return envelope_id

    #: OAuth app credentials and the one-time codes Slack would hand out on "Allow".
    client_id = "1111.2222"
    client_secret = "fake-client-secret-0123456789"

    def _oauth_v2_access(self, args: dict[str, Any], basic: str | None) -> dict[str, Any]:
        """Exchange a code for the installation, as Slack does after the user allows the app."""
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        presented = (basic or "").removeprefix("Basic ")
        by_form = args.get("client_id") == self.client_id and args.get("client_secret") == self.client_secret
        if presented != expected and not by_form:
            return {"ok": False, "error": "invalid_client_id"}
        if args.get("grant_type") == "refresh_token":
            return self._refresh(args.get("refresh_token"))
        if args.get("code") not in self.oauth_codes:
            return {"ok": False, "error": "invalid_code"}
        self.oauth_codes.discard(args["code"])
        rotation: dict[str, Any] = {}
        token = self.bot_token
        if self.install_token_expires_in is not None:
            token, refresh = self.rotating_token(expires_in=self.install_token_expires_in)
            rotation = {"refresh_token": refresh, "expires_in": int(self.install_token_expires_in)}
        return {
            "ok": True,
            "app_id": "A1",
            "authed_user": {"id": "U1"},
            "scope": "commands,chat:write",
            "token_type": "bot",
            "access_token": token,
            **rotation,
            "bot_user_id": BOT_USER_ID,
            "team": {"id": self.team_id, "name": "Acme"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _refresh(self, refresh_token: str | None) -> dict[str, Any]:
        """A new bot token and refresh token for a refresh token (token rotation); that one is revoked."""
        if refresh_token not in self.refresh_tokens:
            return {"ok": False, "error": "invalid_refresh_token"}
        self.refresh_tokens.discard(refresh_token)
        token, refresh = self.rotating_token()
        return {
            "ok": True,
            "app_id": "A1",
            "scope": ",".join(sorted(self.scopes)),
            "token_type": "bot",
            "access_token": token,
            "refresh_token": refresh,
            "expires_in": 43200,
            "bot_user_id": BOT_USER_ID,
            "team": {"id": self.team_id, "name": "Acme"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _m_auth_test(self, args):
        body = {
            "ok": True,
            "team_id": self.team_id,
            "team": "Acme",
            "user_id": BOT_USER_ID,
            "bot_id": "B1",
            "user": "interviewbot",
            "url": "https://acme.slack.com/",
        }
        return web.json_response(body, headers={"x-oauth-scopes": ",".join(sorted(self.scopes))})

    def _m_chat_postMessage(self, args):
        channel = args.get("channel")
        info = self.channels.get(channel)
        if info is None and channel not in self.users and not str(channel).startswith("D"):
            return web.json_response({"ok": False, "error": "channel_not_found"})
        if info is not None and info["is_archived"]:
            return web.json_response({"ok": False, "error": "is_archived"})
        if info is not None and info["is_private"] and not info["is_member"]:
            return web.json_response({"ok": False, "error": "not_in_channel"})
        if (channel, args.get("thread_ts")) in self._deleted:
            return web.json_response({"ok": False, "error": "thread_not_found"})
        if self.pace_per_channel is not None:
            now = time.monotonic()
            last = self._last_post.get(channel)
            if last is not None and now - last < self.pace_per_channel:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
                )
            self._last_post[channel] = now
        ts = self._next_ts()
        self.messages.append(
            Message(
                channel=channel,
                ts=ts,
                text=args.get("text", ""),
                blocks=args.get("blocks"),
                thread_ts=args.get("thread_ts"),
                metadata=json.loads(metadata) if isinstance(metadata := args.get("metadata"), str) else metadata,
            )
        )
        return {"channel": channel, "ts": ts, "message": {"text": args.get("text", ""), "ts": ts}}

    def _readable(self, channel: str | None) -> web.Response | None:
        """Slack's refusals of a history read: unknown channel, missing scope, not a member."""
        info = self.channels.get(channel)
        if info is None:
            return web.json_response({"ok": False, "error": "channel_not_found"})
        needed = "groups:history" if info["is_private"] else "channels:history"
        if needed not in self.scopes:
            return web.json_response({"ok": False, "error": "missing_scope", "needed": needed})
        if not info["is_member"]:
            return web.json_response({"ok": False, "error": "not_in_channel"})
        return None

    def _page(self, messages: list[Message], args: dict[str, Any], *, newest_first: bool) -> dict[str, Any]:
        oldest = float(args.get("oldest") or 0)
        found = [m for m in messages if float(m.ts) > oldest]
        found.sort(key=lambda m: float(m.ts), reverse=newest_first)
        start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
        page = found[start : start + limit]
        with_metadata = str(args.get("include_all_metadata", "")).lower() in {"1", "true"}
        rendered = []
        for m in page:
            item = {"type": "message", "ts": m.ts, "text": m.text, "bot_id": "B1"}
            if m.thread_ts:
                item["thread_ts"] = m.thread_ts
            if with_metadata and m.metadata:
                item["metadata"] = m.metadata
            rendered.append(item)
        more = start + limit < len(found)
        return {
            "messages": rendered,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _m_conversations_history(self, args):
        channel = args.get("channel")
        if (refused := self._readable(channel)) is not None:
            return refused
        top_level = [m for m in self.posted(channel) if m.thread_ts in (None, m.ts)]
        return self._page(top_level, args, newest_first=True)

    def _m_conversations_replies(self, args):
        channel, parent = args.get("channel"), args.get("ts")
        if (refused := self._readable(channel)) is not None:
            return refused
        thread = [m for m in self.posted(channel) if m.ts == parent or m.thread_ts == parent]
        if not any(m.ts == parent for m in thread):
            return web.json_response({"ok": False, "error": "thread_not_found"})
        return self._page(thread, args, newest_first=False)

    def _m_chat_postEphemeral(self, args):
        if (refused := self._ephemeral_refused(args.get("channel"), args.get("user"))) is not None:
            return web.json_response({"ok": False, "error": refused})
        ts = self._next_ts()
        self.messages.append(
            Message(
                channel=args.get("channel"),
                ts=ts,
                text=args.get("text", ""),
                blocks=args.get("blocks"),
                user=args.get("user"),
                ephemeral=True,
            )
        )
        return {"message_ts": ts}

    def _ephemeral_refused(self, channel: Any, user: Any) -> str | None:
        """Slack's refusals of an ephemeral: a channel it does not know (or a private one the bot is
        not in: Slack does not show it), an archived one, and a user not in it (as ``members`` says)."""
        if str(channel).startswith("D"):
            return None  # the user's DM with the app
        info = self.channels.get(channel)
        if info is None or (info["is_private"] and not info["is_member"]):
            return "channel_not_found"
        if info["is_archived"]:
            return "is_archived"
        if user not in self.members.get(channel, [user]):
            return "user_not_in_channel"
        return None

    def _m_chat_update(self, args):
        for message in self.messages:
            if message.channel == args.get("channel") and message.ts == args.get("ts"):
                message.text = args.get("text", message.text)
                message.blocks = args.get("blocks", message.blocks)
                message.updates += 1
                return {"channel": message.channel, "ts": message.ts}
        return web.json_response({"ok": False, "error": "message_not_found"})

    def _m_chat_getPermalink(self, args):
        return {"permalink": f"https://acme.slack.com/archives/{args.get('channel')}/p{args.get('message_ts')}"}

    def _store_view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        if view_id is None:
            self._view_seq += 1
            view_id = f"V{self._view_seq:04d}"
        stored = {**view, "id": view_id, "hash": f"h{len(self.calls)}", "team_id": self.team_id}
        self.views[view_id] = stored
        return stored

    def _m_views_open(self, args):
        if (refused := self._trigger_refused(args.get("trigger_id"))) is not None:
            return refused
        return {"view": self._store_view(args["view"])}

    def _m_views_push(self, args):
        if (refused := self._trigger_refused(args.get("trigger_id"))) is not None:
            return refused
        return {"view": self._store_view(args["view"])}

    def _m_views_update(self, args):
        view_id = args.get("view_id")
        if view_id not in self.views:
            return web.json_response({"ok": False, "error": "not_found"})
        return {"view": self._store_view(args["view"], view_id)}

    def _m_views_publish(self, args):
        self.published_home[args["user_id"]] = args["view"]
        return {"view": self._store_view(args["view"])}

    def _m_users_info(self, args):
        user = self.users.get(args.get("user"))
        if user is None:
            return web.json_response({"ok": False, "error": "user_not_found"})
        return {"user": user}

    def _m_users_list(self, args):
        """Every user (deactivated ones too, as Slack lists them), ``limit`` per page."""
        members = list(self.users.values())
        start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
        more = start + limit < len(members)
        return {
            "members": members[start : start + limit],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _m_users_lookupByEmail(self, args):
        for user in self.users.values():
            if user["profile"]["email"] == args.get("email"):
                return {"user": user}
        return web.json_response({"ok": False, "error": "users_not_found"})

    def _m_conversations_info(self, args):
        info = self.channels.get(args.get("channel"))
        if info is None:
            return web.json_response({"ok": False, "error": "channel_not_found"})
        return {"channel": info}

    def _m_conversations_members(self, args):
        """The channel's members, ``limit`` per page; a private channel the bot is not in is not found."""
        info = self.channels.get(args.get("channel"))
        if info is None or (info["is_private"] and not info["is_member"]):
            return web.json_response({"ok": False, "error": "channel_not_found"})
        members = self.members.get(info["id"], list(self.users))
        start, limit = int(args.get("cursor") or 0), int(args.get("limit") or 100)
        more = start + limit < len(members)
        return {
            "members": members[start : start + limit],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _m_conversations_join(self, args):
        info = self.channels.get(args.get("channel"))
        if info is None:
            return web.json_response({"ok": False, "error": "channel_not_found"})
        if info["is_private"]:
            return web.json_response({"ok": False, "error": "method_not_supported_for_channel_type"})
        info["is_member"] = True
        return {"channel": info}

    def _m_conversations_open(self, args):
        users = args.get("users", "")
        return {"channel": {"id": f"D{users.split(',')[0]}"}}


def _too_much_text(blocks: Any) -> bool:
    """More text in a message's blocks than Slack takes (msg_blocks_too_long)."""
    if isinstance(blocks, str):
        with contextlib.suppress(ValueError):
            blocks = json.loads(blocks)
    return isinstance(blocks, list) and blocks_text_length(blocks) > MAX_MESSAGE_BLOCKS_TEXT
