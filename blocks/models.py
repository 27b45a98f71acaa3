"""Neutral view models the builders take; handlers and the pipeline map vendor models into them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Vendor = Literal["wedgehr", "sparkhire"]
VENDOR_LABELS: dict[str, str] = {"wedgehr": "WedgeHR", "sparkhire": "Spark Hire"}


@dataclass(frozen=True, kw_only=True)
class CandidateView:
    """One candidate's interview at one vendor."""

    vendor: Vendor
    name: str
    email: str | None
    interview_name: str | None
    status: str | None
    rating: float | None = None
    deadline: datetime | None = None
    completed_at: datetime | None = None
    watch_url: str | None = None
    result_url: str | None = None
    invite_url: str | None = None
    wedge_id: int | None = None
    interview_uuid: str | None = None

    @property
    def completed(self) -> bool:
        return (self.status or "").lower() in {"complete", "completed"}


@dataclass(frozen=True, kw_only=True)
class InviteResult:
    row: int
    email: str
    ok: bool
    link: str | None = None
    error: str | None = None
    #: Not attempted on purpose (e.g. a repeated address); ``error`` says why.
    skipped: bool = False
    #: Failed, or was not sent, because the vendor rejected the API key: reconnecting fixes it.
    key_rejected: bool = False
    #: Set when the vendor surely did not take the row (not sent, rate limited, key refused): the
    #: line to paste into a new invite to send it again.
    retry_line: str | None = None


@dataclass(frozen=True, kw_only=True)
class ConnectionStatusView:
    vendor: Vendor
    workspace_label: str | None
    own_label: str | None = None
    #: WedgeHR: the environment the workspace's token is for ("production" or "staging").
    workspace_environment: str | None = None
    #: The stored workspace connection's id, when it can be disconnected from Slack.
    workspace_id: str | None = None
    #: The setting the workspace connection comes from (``WEDGEHR_TOKEN``...): not changed from Slack.
    workspace_setting: str | None = None
    own_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class SubscriptionView:
    id: int
    channel_id: str
    vendor: Vendor
    events: tuple[str, ...]
    job_filter: str | None = None
    excludes: tuple[str, ...] = ()
    compact: bool = False
    paused: bool = False
    paused_reason: str | None = None
    #: False when only a command may resume it (paused because its channel was shared outside).
    resumable_by_button: bool = True
    #: The vendor account it reads (its connection's label), when the line must say so: the
    #: channel has subscriptions of this platform reading different accounts.
    account: str | None = None
    #: Whose own key that account is connected with (a Slack user id); None: ``account`` says it.
    account_owner: str | None = None


@dataclass(frozen=True, kw_only=True)
class ManualWebhookView:
    """A Spark Hire webhook the bot could not register (no PUBLIC_URL), for someone to register by hand."""

    connection_id: str
    #: The path under the bot's public address Spark Hire must call.
    path: str
    #: Whose own key the connection is (they alone may see its credentials); None: the workspace's
    #: key, whose workspace admins may.
    owner: str | None = None


@dataclass(frozen=True, kw_only=True)
class AuditEntryView:
    action: str
    vendor: str | None
    target: str | None
    at: datetime


@dataclass(frozen=True, kw_only=True)
class ReviewerLinkView:
    """A reviewer's (advanced) share link: ``active`` false once deactivated (it no longer opens)."""

    uuid: str
    email: str
    url: str
    active: bool = True


@dataclass(frozen=True, kw_only=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True, kw_only=True)
class Message:
    """A message to send: ``text`` is the notification/accessibility fallback.

    ``text`` is plain text and is escaped on the way out, because Slack reads it as mrkdwn: a
    candidate named ``<!channel>`` must not ping a channel from a notification. A builder that
    puts markup of its own there (a channel mention) sets ``text_is_markup`` and escapes the rest.
    """

    text: str
    blocks: list[dict] = field(default_factory=list)
    text_is_markup: bool = False

    def as_kwargs(self) -> dict:
        text = self.text
        if not self.text_is_markup:
            text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return {"text": text, "blocks": self.blocks}
