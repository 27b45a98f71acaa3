"""The dependencies a request or worker needs, built once per process by the app factory.

Handlers get this object from Bolt's ``context["services"]``; nothing here is a
module-level singleton.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import aiohttp
from pydantic import SecretStr

from bot.crypto import SecretBox, SecretKeyMismatchError
from bot.settings import Settings
from bot.sparkhire.client import SparkHireClient
from bot.sparkhire.ratelimit import KeyRateLimiters
from bot.storage import Database
from bot.storage.database import ENV_CONNECTED_BY
from bot.storage.repos import CatchUp, Connection
from bot.tasks import BackgroundTasks
from bot.vendors.http import HttpPool, RetryPolicy
from bot.wedgehr.client import WedgeHRClient

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

Vendor = Literal["wedgehr", "sparkhire"]
#: Both platforms, in the order their results are shown.
VENDORS: tuple[Vendor, ...] = ("wedgehr", "sparkhire")
#: Why a WedgeHR subscription was paused; a new token re-enables it (``Services.follow_new_wedgehr_token``).
TOKEN_REJECTED = "WedgeHR rejected the workspace's token; an admin can connect a new one with /interview connect"


@dataclass
class _FormLookups:
    failed: dict[str, str] = field(default_factory=dict)  # picker -> why its last lookup failed
    told_reconnect: bool = False


@dataclass
class FailedLookups:
    """The type-ahead lookups that failed, per open form (its view id), in this process.

    A submit with nothing picked then says why, and a rejected key's reconnect message goes out
    once per form, not per keystroke. Kept in memory: forms live minutes, and another process
    at worst tells the recruiter once more. Bounded: the oldest forms are forgotten first.
    """

    limit: int = 2000
    _forms: OrderedDict[str, _FormLookups] = field(default_factory=OrderedDict)

    def record(self, view_id: str, picker: str, cause: str) -> bool:
        """Note that ``picker``'s lookup failed for ``cause``; True when the recruiter is yet to be told
        of a rejected key on this form (the caller tells them now)."""
        form = self._forms.setdefault(view_id, _FormLookups())
        self._forms.move_to_end(view_id)
        form.failed[picker] = cause
        while len(self._forms) > self.limit:
            self._forms.popitem(last=False)
        tell = cause == "key" and not form.told_reconnect
        form.told_reconnect = form.told_reconnect or tell
        return tell

    def clear(self, view_id: str, picker: str) -> None:
        """The lookup worked again: an empty pick is then the recruiter's, not the vendor's doing."""
        form = self._forms.get(view_id)
        if form is not None:
            form.failed.pop(picker, None)

    def cause(self, view_id: str, picker: str) -> str | None:
        form = self._forms.get(view_id)
        return form.failed.get(picker) if form is not None else None


@dataclass
class WebhookLists:
    """The webhooks each Spark Hire key listed lately, per connection, in this process.

    The lists and the App Home ask whether two keys are of one account on every render; Spark Hire
    allows 400 requests a minute, shared with the worker. An entry answers for ``seconds`` and only
    for the key it was asked with (a new key is asked again). Whenever this process registers or
    deletes a webhook every entry is dropped: keys of one account all list it, and which those are
    is what is being asked. Another process's change is seen within ``seconds``.
    """

    seconds: float = 180.0
    limit: int = 2000
    #: Counts the drops: a list asked before one is not kept (it may predate the change).
    generation: int = 0
    _lists: OrderedDict[str, tuple[str, float, frozenset[str]]] = field(default_factory=OrderedDict)

    @staticmethod
    def _key_of(connection: Connection) -> str:
        # A digest, not the key: nothing here needs the secret itself.
        return hashlib.sha256(connection.credential.get_secret_value().encode()).hexdigest()

    def get(self, connection: Connection) -> frozenset[str] | None:
        """The webhook uuids ``connection``'s key listed within ``seconds``; None: ask Spark Hire."""
        entry = self._lists.get(connection.id)
        if entry is None:
            return None
        key, at, uuids = entry
        if key != self._key_of(connection) or time.monotonic() - at > self.seconds:
            del self._lists[connection.id]
            return None
        return uuids

    def put(self, connection: Connection, uuids: set[str] | frozenset[str], *, asked_in: int) -> None:
        """Keep what ``connection``'s key listed, asked when ``generation`` was ``asked_in``."""
        if asked_in != self.generation:
            return
        self._lists[connection.id] = (self._key_of(connection), time.monotonic(), frozenset(uuids))
        self._lists.move_to_end(connection.id)
        while len(self._lists) > self.limit:
            self._lists.popitem(last=False)

    def forget(self) -> None:
        """A webhook was registered or deleted: every key of its account lists otherwise now."""
        self._lists.clear()
        self.generation += 1


#: The setting that gives each vendor's workspace credential.
ENV_SETTINGS = {"wedgehr": "WEDGEHR_TOKEN", "sparkhire": "SPARKHIRE_API_KEY"}


@dataclass(kw_only=True)
class Services:
    """Process-wide dependencies.

    Attributes:
        settings: Operator settings.
        db: Storage (repositories hang off it).
        http: One pooled HTTP client per vendor base URL.
        tasks: Work started after ``ack()``.
        wedgehr_url: WedgeHR API root in use (the sandbox's under ``--sandbox``).
        sparkhire_url: Spark Hire API root in use.
        vendor_retry: Retry policy for vendor calls.
    """

    settings: Settings
    db: Database
    secret_box: SecretBox
    http: HttpPool = field(default_factory=HttpPool)
    tasks: BackgroundTasks = field(default_factory=BackgroundTasks)
    sparkhire_limiters: KeyRateLimiters = field(default_factory=KeyRateLimiters)
    wedgehr_url: str = ""
    sparkhire_url: str = ""
    vendor_retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: The pooled HTTP session of every Slack Web API client (opened when the server starts).
    slack_session: aiohttp.ClientSession | None = None
    #: The Web API client of a workspace's installation, for work not started by its own request
    #: (set by the app factory: the outbox worker's, bot/app.py ``_delivery_clients``).
    slack_client_for: Callable[[str], Awaitable[AsyncWebClient]] | None = None
    #: The invite forms' type-ahead failures (handlers/invite.py).
    failed_lookups: FailedLookups = field(default_factory=FailedLookups)
    #: The webhooks Spark Hire keys listed lately, to tell keys of one account apart (bot/notify/subscriptions.py).
    webhook_lists: WebhookLists = field(default_factory=WebhookLists)
    _storing_env_secret: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict, init=False, repr=False)
    #: One App Home built and published at a time per user (handlers/home.py ``publish_home``), so that
    #: the last one Slack takes was read last; a lock is forgotten once nobody holds or waits for it.
    home_publishing: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary, init=False, repr=False
    )

    def __post_init__(self) -> None:
        self.wedgehr_url = (self.wedgehr_url or self.settings.wedgehr_base_url).rstrip("/")
        self.sparkhire_url = (self.sparkhire_url or self.settings.sparkhire_base_url).rstrip("/")

    # -- vendor clients ----------------------------------------------------------
    def wedgehr(self, token: str, *, base_url: str | None = None) -> WedgeHRClient:
        """A WedgeHR client on the shared pool (cheap: no connection is opened)."""
        url = (base_url or self.wedgehr_url).rstrip("/")
        return WedgeHRClient(token=token, base_url=url, http_client=self.http.get(url), retry=self.vendor_retry)

    def sparkhire(self, api_key: str) -> SparkHireClient:
        """A Spark Hire client on the shared pool, under the key's 400/min limiter."""
        return SparkHireClient(
            api_key=api_key,
            base_url=self.sparkhire_url,
            http_client=self.http.get(self.sparkhire_url),
            retry=self.vendor_retry,
            limiters=self.sparkhire_limiters,
        )

    def client_for(self, connection: Connection) -> WedgeHRClient | SparkHireClient:
        if not connection.readable:  # listed for display only: never send a vendor an empty key
            raise SecretKeyMismatchError(
                f"The {connection.vendor} credential of {connection.account_label} was saved under another "
                "BOT_SECRET_KEY: connect it again with /interview connect."
            )
        secret = connection.credential.get_secret_value()
        if connection.vendor == "wedgehr":
            return self.wedgehr(secret, base_url=self._wedgehr_url_for(connection))
        return self.sparkhire(secret)

    def _wedgehr_url_for(self, connection: Connection) -> str:
        # A connection made for the staging environment keeps talking to staging,
        # unless the operator pinned a URL (sandbox, WEDGEHR_API_URL).
        if self.settings.wedgehr_api_url or self.wedgehr_url != self.settings.wedgehr_base_url:
            return self.wedgehr_url
        env = connection.environment
        if env:
            from bot.settings import WEDGEHR_URLS

            return WEDGEHR_URLS.get(env, self.wedgehr_url)
        return self.wedgehr_url

    # -- connections ---------------------------------------------------------------
    async def resolve_both(
        self, team_id: str, user_id: str | None = None
    ) -> tuple[dict[Vendor, Connection | None], dict[Vendor, SecretKeyMismatchError]]:
        """Each platform's credential (:meth:`resolve_connection`), for a search of both: one saved
        under another BOT_SECRET_KEY is set aside with its error, so it costs only its own results."""
        found: dict[Vendor, Connection | None] = {}
        unreadable: dict[Vendor, SecretKeyMismatchError] = {}
        for vendor in VENDORS:
            try:
                found[vendor] = await self.resolve_connection(team_id, vendor, user_id)
            except SecretKeyMismatchError as exc:
                found[vendor], unreadable[vendor] = None, exc
        return found, unreadable

    async def resolve_connection(self, team_id: str, vendor: Vendor, user_id: str | None = None) -> Connection | None:
        """The credential to use: the user's own, else the workspace's, else the env's.

        ``WEDGEHR_TOKEN`` / ``SPARKHIRE_API_KEY`` are stored as the workspace
        connection of the first team that needs them, so webhooks, polling and
        the App Home treat them like any connection. Only the workspaces
        ``VENDOR_KEYS_TEAM_IDS`` names get them, when it is set.
        """
        serves = self.settings.vendor_keys_serve(team_id)
        connection = await self.db.connections.resolve(team_id, vendor, user_id)
        if connection is not None:
            # A copy made before VENDOR_KEYS_TEAM_IDS left this workspace out (start-up withdraws it).
            return connection if serves or connection.connected_by != ENV_CONNECTED_BY else None
        env_name, env_secret, environment = self._from_environment(vendor)
        if env_secret is None or not serves:
            return None
        # The first requests of a new team arrive together: one of them stores the secret, the rest
        # find it stored (each write would otherwise also drop every cached resolution).
        async with self._storing_env_secret.setdefault((team_id, vendor), asyncio.Lock()):
            connection = await self.db.connections.resolve(team_id, vendor, user_id)
            if connection is not None:
                return connection
            await self.db.connections.upsert_workspace(
                team_id,
                vendor,
                env_secret.get_secret_value(),
                account_label=f"from {env_name}",
                connected_by=ENV_CONNECTED_BY,
                environment=environment,
            )
            return await self.db.connections.resolve(team_id, vendor, user_id)

    def environment_credential(self, team_id: str, vendor: str) -> tuple[str, SecretStr, str | None] | None:
        """The setting that gives this workspace ``vendor``'s workspace credential, its value and
        environment; None when no setting does (unset, or ``VENDOR_KEYS_TEAM_IDS`` leaves it out)."""
        name, secret, environment = self._from_environment(vendor)
        if secret is None or not self.settings.vendor_keys_serve(team_id):
            return None
        return name, secret, environment

    def _from_environment(self, vendor: str) -> tuple[str, SecretStr | None, str | None]:
        """The setting that provides ``vendor``'s workspace credential, its value and its environment."""
        # Set but empty (``SPARKHIRE_API_KEY=``) is unset: never a workspace credential of "".
        if vendor == "wedgehr":
            return ENV_SETTINGS[vendor], self.settings.wedgehr_token or None, self.settings.wedgehr_env.value
        return ENV_SETTINGS[vendor], self.settings.sparkhire_api_key or None, None

    async def sync_env_connections(self) -> None:
        """Bring the workspace connections copied from the environment in line with it (at start-up).

        A copy is made the first time a workspace needs ``WEDGEHR_TOKEN`` or ``SPARKHIRE_API_KEY``.
        Without this, a rotated key or a new ``WEDGEHR_ENV`` was never used, and after a ``--sandbox``
        run the real vendors were sent the key "sandbox". A copy keeps its id (its subscriptions,
        poll state and webhook URL name it). One whose variable is no longer set is left as it is:
        one process started without it must not cut a workspace off. Never stops the start-up.
        """
        try:
            copies = await self.db.connections.list_connected_by(ENV_CONNECTED_BY)
        except Exception:
            logger.exception("Could not read the connections copied from the environment; left as they are")
            return
        for copy in copies:
            if not self.settings.vendor_keys_serve(copy.team_id):
                continue  # withdrawn instead (bot.workspaces.withdraw_vendor_keys)
            env_name, env_secret, environment = self._from_environment(copy.vendor)
            if env_secret is None:
                logger.warning(
                    "%s is not set, but workspace %s still uses the %s connection copied from it; "
                    "connect another account there with /interview connect to replace it",
                    env_name,
                    copy.team_id,
                    copy.vendor,
                )
                continue
            current = copy.readable and hmac.compare_digest(
                copy.credential.get_secret_value().encode(), env_secret.get_secret_value().encode()
            )
            if current and copy.environment == environment:
                continue
            try:
                await self.db.connections.upsert_workspace(
                    copy.team_id,
                    copy.vendor,
                    env_secret.get_secret_value(),
                    account_label=copy.account_label,
                    connected_by=ENV_CONNECTED_BY,
                    environment=environment,
                )
                if copy.vendor == "wedgehr":
                    await self.follow_new_wedgehr_token(copy.id)
            except Exception:
                logger.exception("Could not update %s's %s connection from %s", copy.team_id, copy.vendor, env_name)
                continue
            logger.info("Workspace %s's %s connection now follows %s", copy.team_id, copy.vendor, env_name)

    async def follow_new_wedgehr_token(self, connection_id: str, *, user_id: str = ENV_CONNECTED_BY) -> CatchUp:
        """After a connection's WedgeHR token changed: a new baseline (perhaps another company's account,
        whose past is not news), and the subscriptions paused because WedgeHR refused the old token
        re-enabled, posting what they missed meanwhile as the Re-enable button does (audited as
        ``user_id``'s: whoever connected the token, else the bot's settings)."""
        # Imported here: the notification pipeline is built on these services.
        from bot.notify.subscriptions import resume_catching_up

        await self.db.poll_state.restart_baseline(connection_id)
        refused = [
            s
            for s in await self.db.subscriptions.list_using_connection(connection_id)
            if s.paused and s.paused_reason == TOKEN_REJECTED
        ]
        return await resume_catching_up(self, refused, user_id=user_id, via="token")

    async def aclose(self) -> None:
        await self.tasks.drain()
        await self.http.aclose()
        await self.db.aclose()
