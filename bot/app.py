"""App factory: one aiohttp server carrying Slack, the vendor webhooks and health checks.

``create_web_app(settings)`` builds everything for one process; nothing is
global, so tests start as many independent bots as they like.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from aiolimiter import AsyncLimiter
from pydantic import SecretStr
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.crypto import SecretBox
from bot.errors import NotInstalledError
from bot.logs import UNVERIFIED_REQUEST, quiet_malformed_requests, quiet_unverified_requests
from bot.services import Services
from bot.settings import SLACK_INSTALL_PATH, Settings, SlackMode
from bot.slack_tokens import (
    EXPIRED_ALREADY_MINUTES,
    REFRESH_MINUTES_BEFORE_EXPIRY,
    WorkspaceTokenRotator,
    expires_within,
)
from bot.storage import Database
from bot.tasks import answered_first
from bot.web_limits import body_timed_out, read_within
from bot.workspaces import warn_if_vendor_keys_serve_everyone, withdraw_vendor_keys

if TYPE_CHECKING:
    from bot.notify.worker import SlackClientFor

logger = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
# SLACK_INSTALL_PATH is in bot/settings.py, which builds the install URL from it (Settings.slack_install_url).
SLACK_OAUTH_REDIRECT_PATH = "/slack/oauth_redirect"
HEALTH_PATH = "/healthz"
SANDBOX_WEDGEHR_PREFIX = "/sandbox/wedgehr/connect/v2"
SANDBOX_SPARKHIRE_PREFIX = "/sandbox/sparkhire/v1.0"
SANDBOX_CREDENTIAL = "sandbox"
#: /slack/install pages (each stores an OAuth state) one process serves at once, then one per
#: INSTALL_PERIOD_SECONDS / INSTALL_BURST seconds; beyond that, 429 with Retry-After.
INSTALL_BURST = 10
INSTALL_PERIOD_SECONDS = 60.0

# The formats Slack signs with. slack_sdk's verifier raises on some others (a timestamp "abc", a
# non-ASCII signature) instead of answering "invalid", and Bolt would hand that error, with the
# unverified body, to the error handler, which answers the user the body names.
SLACK_TIMESTAMP = re.compile(r"[0-9]{1,15}")
SLACK_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
#: A workspace (or organisation) id, the only ``?team=`` /slack/install passes on to Slack.
SLACK_TEAM_ID = re.compile(r"[TE][A-Z0-9]{1,31}")


def may_be_ssl_check(body: bytes) -> bool:
    """Whether the raw body has ``ssl_check=1``: a quick test before Bolt parses it (``is_ssl_check``)."""
    values = parse_qs(body.decode("utf-8", "replace")).get("ssl_check") or [""]
    return values[0] == "1"


def is_ssl_check(bolt_request: AsyncBoltRequest) -> bool:
    """Slack's unsigned ``ssl_check=1``, which Bolt answers (200) before it verifies anything.

    As Bolt reads the body: a form with a ``payload`` is that payload alone, so ``ssl_check=1&payload=…``
    is no ssl_check to Bolt, which goes on to verify (and run) the payload.
    """
    return bolt_request.body.get("ssl_check") == "1"


def get_request(request: web.Request) -> AsyncBoltRequest:
    """A GET page's request for Bolt's OAuth flow, which reads its query and cookie, never a body.

    Bolt's adapter decodes any body by the Content-Type's charset: an unknown one, or bytes that are
    not of it, were a 500 (and an ERROR with a traceback) for anyone who sent them.
    """
    return AsyncBoltRequest(body="", query=request.query_string, headers=request.headers)  # type: ignore[arg-type]


def signature_headers_well_formed(request: web.Request) -> bool:
    """Whether the request's signature headers are in Slack's format (not whether they verify).

    Each must come once: Bolt verifies the last of a repeated header, which the first, checked here,
    would have vouched for.
    """
    timestamps = request.headers.getall("X-Slack-Request-Timestamp", [])
    signatures = request.headers.getall("X-Slack-Signature", [])
    return (
        len(timestamps) == len(signatures) == 1
        and SLACK_TIMESTAMP.fullmatch(timestamps[0]) is not None
        and SLACK_SIGNATURE.fullmatch(signatures[0]) is not None
    )


SERVICES_KEY: web.AppKey[Services] = web.AppKey("services", Services)
BOLT_KEY: web.AppKey[AsyncApp] = web.AppKey("bolt", AsyncApp)
PIPELINE_KEY: web.AppKey[object] = web.AppKey("pipeline", object)


@dataclass
class Readiness:
    """What ``/healthz`` still waits for before it answers 200; ``None`` once the bot can serve Slack."""

    waiting_for: str | None = None


READINESS_KEY: web.AppKey[Readiness] = web.AppKey("readiness", Readiness)


@dataclass(frozen=True, kw_only=True)
class SandboxUrls:
    """Where the in-process vendor sandboxes answer."""

    wedgehr: str
    sparkhire: str


def configure_web_client(client: AsyncWebClient, settings: Settings) -> AsyncWebClient:
    """Point a Web API client at ``SLACK_API_URL``, with ``SLACK_TIMEOUT_SECONDS`` and our retry handlers.

    slack-sdk retries nothing by default; we add 429 (honouring Retry-After),
    5xx and connection retries. Bolt copies these into the client it makes for
    each request.
    """
    client.base_url = settings.slack_api_url
    # Applies when the client makes its own session (doctor's): it waited slack-sdk's 30 s.
    client.timeout = settings.slack_timeout_seconds  # type: ignore[assignment] - aiohttp takes a float
    client.retry_handlers = [
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=2),
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
    ]
    return client


class ProvideServices(AsyncMiddleware):
    """Puts ``services`` in every request's context (handlers take it as ``context["services"]``).

    A class middleware: Bolt calls it directly, where a function middleware costs an
    introspected keyword-argument build on every request.
    """

    def __init__(self, services: Services) -> None:
        self._services = services

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        req.context["services"] = self._services
        return await next()


@contextlib.contextmanager
def _hidden_from_bolt(*names: str) -> Iterator[None]:
    """Environment variables Bolt's constructor must not read (it runs synchronously, nothing else does)."""
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def signing_secret_value(settings: Settings) -> str:
    return settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""


def signing_secret_set(settings: Settings) -> bool:
    return bool(signing_secret_value(settings))


def create_bolt_app(settings: Settings, services: Services) -> AsyncApp:
    """The Bolt app with every listener registered and services in the context.

    ``process_before_response=True``: Bolt answers as soon as the listener returns
    instead of polling for ``ack()`` every 10 ms; listeners ack first and hand
    slow work to ``services.tasks``.
    """
    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    common = {
        "signing_secret": signing_secret or None,
        "process_before_response": True,
        # Always verified where there is a secret; Bolt itself skips Socket Mode traffic, which has
        # no signature. (Without a secret, Socket Mode's HTTP route refuses everything.)
        "request_verification_enabled": bool(signing_secret) or settings.slack_mode is not SlackMode.socket,
    }
    if settings.slack_mode is SlackMode.oauth:
        client = configure_web_client(AsyncWebClient(), settings)
        oauth_settings = AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret.get_secret_value(),  # type: ignore[union-attr]
            scopes=BOT_SCOPES,
            user_scopes=[],
            installation_store=services.db.installation_store(settings.slack_client_id),
            state_store=services.db.oauth_state_store(),
            install_path=SLACK_INSTALL_PATH,
            redirect_uri_path=SLACK_OAUTH_REDIRECT_PATH,
            # Token rotation, if turned on for the Slack app: Bolt refreshes an installation's
            # expiring bot token before it answers a request of that workspace.
            token_rotation_expiration_minutes=REFRESH_MINUTES_BEFORE_EXPIRY,
        )
        # As Bolt's own, but auth.test once per token rather than before every request's ack: the
        # installation is still looked up each time, so an uninstalled workspace is refused.
        authorize = AsyncInstallationStoreAuthorize(
            logger=logging.getLogger("slack_bolt.AsyncApp"),
            installation_store=oauth_settings.installation_store,
            client_id=oauth_settings.client_id,
            client_secret=oauth_settings.client_secret,
            token_rotation_expiration_minutes=REFRESH_MINUTES_BEFORE_EXPIRY,
            cache_enabled=True,
            client=client,
        )
        # Bolt's own rotator refreshes without a lock and races the outbox worker's refreshes (Slack
        # revokes a refresh token once used): ours, shared with the worker, takes one at a time.
        authorize.token_rotator = token_rotator(settings, services, client)
        install_url = settings.slack_install_url
        # Bolt reads SLACK_BOT_TOKEN from the environment, unused here: it warned "`token` will be
        # unused" at every start (the start says so itself, naming the settings).
        with _hidden_from_bolt("SLACK_BOT_TOKEN"):
            bolt = AsyncApp(
                client=client,
                oauth_settings=oauth_settings,
                authorize=authorize,
                user_facing_authorize_error_message=(
                    "Interview Bot is not installed in this workspace yet. "
                    + (f"An admin can install it at {install_url}" if install_url else "Ask an admin to install it.")
                ),
                **common,
            )
    else:
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        # The token, not a client: Bolt reads SLACK_BOT_TOKEN from the environment when given none,
        # and warns at every start that it ignores it if a client was given too. Bolt also turns on
        # its own OAuth when SLACK_CLIENT_ID/SECRET are in the environment, which in Socket Mode
        # dropped the bot token ("installation no longer available"): it must not see them here.
        with _hidden_from_bolt("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
            bolt = AsyncApp(token=token, **common)
        configure_web_client(bolt.client, settings)

    from handlers import register_all
    from handlers.common import RefuseOutsiders

    bolt.use(ProvideServices(services))
    # Before every listener: a Slack Connect guest must not act with this workspace's vendor keys.
    bolt.use(RefuseOutsiders())

    register_all(bolt)
    return bolt


def token_rotator(settings: Settings, services: Services, client: AsyncWebClient) -> WorkspaceTokenRotator:
    """The refresher of expiring bot tokens (OAuth), calling Slack through ``client``."""
    return WorkspaceTokenRotator(
        client_id=settings.slack_client_id or "",
        client_secret=settings.slack_client_secret.get_secret_value() if settings.slack_client_secret else "",
        client=client,
        store=services.db.installation_store(settings.slack_client_id or ""),
        db=services.db,
    )


def _delivery_clients(settings: Settings, services: Services, rotation_client: AsyncWebClient) -> SlackClientFor:
    """Web API clients for the outbox worker, one per workspace.

    These retry nothing: a 429 goes back to the worker, which reschedules that channel instead
    of sleeping inside the call, and a post whose connection drops may have landed, so the worker
    looks for it in the channel before posting again, where a blind retry would repeat it.

    In OAuth mode with token rotation, an installation's bot token expires every 12 hours: it is
    refreshed (``rotation_client`` calls Slack for that) when it expires within two hours, or
    when Slack says it has expired (``token_expired``) though the stored expiry says otherwise.
    """
    clients: dict[str, AsyncWebClient] = {}  # by workspace: a refreshed token replaces its client
    store = (
        services.db.installation_store(settings.slack_client_id or "")
        if settings.slack_mode is SlackMode.oauth
        else None
    )
    rotator = token_rotator(settings, services, rotation_client) if store is not None else None

    async def installed_token(team_id: str, *, token_expired: bool) -> str:
        assert store is not None and rotator is not None
        bot = await store.async_find_bot_of_team(team_id)
        if bot is None or not bot.bot_token:
            clients.pop(team_id, None)
            raise NotInstalledError(team_id)
        minutes = EXPIRED_ALREADY_MINUTES if token_expired else REFRESH_MINUTES_BEFORE_EXPIRY
        if not bot.bot_refresh_token or not expires_within(bot.bot_token_expires_at, minutes):
            return bot.bot_token
        installation = await store.async_find_installation(
            enterprise_id=bot.enterprise_id, team_id=team_id, is_enterprise_install=bot.is_enterprise_install
        )
        if installation is None or not installation.bot_token:
            return bot.bot_token
        try:
            refreshed = await rotator.perform_token_rotation(
                installation=installation, minutes_before_expiration=minutes
            )
        except SlackTokenRotationError as exc:
            # Slack's own answer (invalid_refresh_token, a 5xx): the worker tries the row again later.
            logger.error(
                "Could not refresh the Slack bot token of workspace %s: %s",
                team_id,
                exc.api_error.response.get("error"),
            )
            raise exc.api_error from exc
        # None: nothing due, as the installation now stands (refreshed since ``bot`` was read).
        return (refreshed or installation).bot_token or bot.bot_token

    async def client_for(team_id: str, *, token_expired: bool = False) -> AsyncWebClient:
        """The client for ``team_id``; ``token_expired``: Slack refused its token as expired."""
        if store is not None:
            token = await installed_token(team_id, token_expired=token_expired)
        else:
            token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
        client = clients.get(team_id)
        if client is None or client.token != token:
            client = clients[team_id] = AsyncWebClient(
                token=token,
                base_url=settings.slack_api_url,
                session=services.slack_session,
                retry_handlers=[],  # not None: that would be slack-sdk's connection-error retry
            )
        return client

    return client_for


#: Stored secrets of each kind a start tries with its key: enough to tell a wrong key, cheap to open.
SECRETS_TRIED_AT_START = 5


async def warn_if_stored_secrets_unreadable(settings: Settings, db: Database) -> None:
    """One warning at start when the key does not open the stored credentials it tried (a lost,
    mistyped or another process's ``BOT_SECRET_KEY``): otherwise only each failing request said so."""
    try:
        counted = await db.secrets_opened(
            slack_client_id=settings.slack_client_id if settings.slack_mode is SlackMode.oauth else None,
            most=SECRETS_TRIED_AT_START,
        )
    except Exception as exc:  # never stops the start; the requests say it, and doctor counts them all
        logger.warning("Could not check that BOT_SECRET_KEY opens the stored credentials (%s)", type(exc).__name__)
        return
    if counted.all:
        return
    named = "BOT_SECRET_KEY" if settings.bot_secret_key else "The development key (BOT_SECRET_KEY is not set)"
    why = (
        "it is not the key they were saved with (a lost or mistyped key, or another process's)"
        if not counted.opened
        else "the others were saved under another key (processes that ran with keys of their own)"
    )
    logger.warning(
        "%s opens %d of the %d stored credentials tried: %s. Set BOT_SECRET_KEY to the key they were saved "
        "with, or reconnect them with /interview connect; until then what uses them fails. "
        "`python -m bot doctor` counts them all.",
        named,
        counted.opened,
        counted.tried,
        why,
    )


# Minimal bot scopes; manifest.yml lists the same ones (a test compares them).
BOT_SCOPES = [
    "commands",
    "chat:write",
    "channels:join",
    "channels:read",
    "groups:read",
    # Read only after a crash or a lost answer: was a notification in flight already posted?
    "channels:history",
    "groups:history",
    "im:write",
    "users:read",
    "users:read.email",
]


LOOPBACK = ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP", "CF-Connecting-IP")


@web.middleware
async def _from_this_machine_only(request: web.Request, handler: Any) -> web.StreamResponse:
    """The sandboxes take any key: only the bot on this machine may use them, not whoever reaches
    the port (they would read and change the data the bot posts to Slack)."""
    try:
        local = any(ipaddress.ip_address(request.remote or "") in net for net in LOOPBACK)
    except ValueError:  # a Unix socket or no address: not the bot's own loopback client
        local = False
    # A tunnel or proxy on this machine (ngrok, cloudflared, nginx) connects from loopback too, but
    # says whom it forwards for.
    if not local or any(h in request.headers for h in FORWARDING_HEADERS):
        raise web.HTTPNotFound()
    return await handler(request)


def create_web_app(
    settings: Settings,
    *,
    sandbox: bool = False,
    start_workers: bool = True,
) -> web.Application:
    """Build the aiohttp application for one bot process.

    Args:
        settings: Operator settings.
        sandbox: Mount the vendor sandboxes on this server and point the clients at them.
        start_workers: Run the outbox worker and the WedgeHR poller in this process.
    """
    quiet_malformed_requests()  # anyone can send them; aiohttp logs each as an ERROR
    quiet_unverified_requests()  # Bolt logs their bodies, which are Slack's own when the secret is wrong
    web_app = web.Application(client_max_size=1024**2)
    secret_box = SecretBox(settings.fernet_key())
    db = Database.for_settings(settings, secret_box=secret_box)

    wedgehr_url = sparkhire_url = ""
    if sandbox:
        from bot.sparkhire.sandbox import SparkHireSandbox
        from bot.wedgehr.sandbox import WedgeHRSandbox

        local = f"http://127.0.0.1:{settings.port}"
        wedgehr_url = local + SANDBOX_WEDGEHR_PREFIX
        sparkhire_url = local + SANDBOX_SPARKHIRE_PREFIX
        sparkhire_sandbox = SparkHireSandbox()
        sparkhire_sandbox.mount_prefix = SANDBOX_SPARKHIRE_PREFIX
        for prefix, sandbox_app in (
            (SANDBOX_WEDGEHR_PREFIX, WedgeHRSandbox().app),
            (SANDBOX_SPARKHIRE_PREFIX, sparkhire_sandbox.app),
        ):
            sandbox_app.middlewares.insert(0, _from_this_machine_only)  # before their key checks
            web_app.add_subapp(prefix, sandbox_app)
        settings = settings.model_copy(
            update={
                "wedgehr_token": settings.wedgehr_token or SecretStr(SANDBOX_CREDENTIAL),
                "sparkhire_api_key": settings.sparkhire_api_key or SecretStr(SANDBOX_CREDENTIAL),
            }
        )

    services = Services(
        settings=settings,
        db=db,
        secret_box=secret_box,
        wedgehr_url=wedgehr_url,
        sparkhire_url=sparkhire_url,
    )
    bolt = create_bolt_app(settings, services)
    web_app[SERVICES_KEY] = services
    web_app[BOLT_KEY] = bolt

    # None in Socket Mode without a secret, where the route refuses everything (``unsigned``).
    verifier = SignatureVerifier(signing_secret_value(settings)) if signing_secret_set(settings) else None

    def signed_by_slack(request: web.Request, body: bytes) -> bool:
        """Whether Slack signed these very bytes, within its five minutes; never raises."""
        if verifier is None or not signature_headers_well_formed(request):  # slack_sdk's raises on some such
            return False
        try:
            return verifier.is_valid(
                body, request.headers["X-Slack-Request-Timestamp"], request.headers["X-Slack-Signature"]
            )
        except ValueError:  # a body that is not UTF-8: Slack's never is
            return False

    async def slack_events(request: web.Request) -> web.Response:
        # Read here, within a deadline: Bolt and the checks below reuse it (request.read() keeps it).
        try:
            body = await read_within(request, settings.http_body_timeout_seconds)
        except TimeoutError:
            return body_timed_out()
        # Only what Slack signed reaches Bolt (which verifies it again), and Slack's unsigned ssl_check.
        # Bolt hands a request whose verification raised, body and all, to the error handler, which
        # answers whatever response_url or user that body names: a body Bolt decodes otherwise than
        # the bytes (a charset), a header sent twice or an "ssl_check" Bolt does not see as one did.
        signed = signed_by_slack(request, body)
        if not signed and not may_be_ssl_check(body):
            return refused(request)
        try:
            # Slack's bodies are UTF-8 whatever charset a Content-Type claims (Bolt's adapter decodes by it).
            bolt_request = AsyncBoltRequest(
                body=body.decode("utf-8"),
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type] - as Bolt's aiohttp adapter
            )
        except Exception:
            # Bolt parses the body, and reads ids out of it, as it builds the request: a payload that is
            # not a JSON object, a "channel" that is a number (TypeError), bytes that are not UTF-8.
            return malformed() if signed else refused(request)
        if not signed and not is_ssl_check(bolt_request):
            return refused(request)
        with answered_first() as sent:
            try:
                bolt_response = await bolt.async_dispatch(bolt_request)
            except Exception:
                # Bolt answers listener errors through the error handler; what escapes dispatch is a
                # request it could not even route (a block_actions with "actions": null).
                logger.warning("Slack request Bolt could not route; answered 400", exc_info=True)
                return web.json_response({"error": "the payload does not have Slack's shape"}, status=400)
            response = await to_aiohttp_response(bolt_response)
            # Write the acknowledgement now; only then may the work handed off after ack() start.
            await response.prepare(request)
            await response.write_eof()
            sent.set()
        return response

    # Each install page stores an OAuth state row, and anyone may ask for one: a flood would grow
    # the table (and slow every write) faster than housekeeping deletes expired states. A leaky
    # bucket per process (aiolimiter, as for Spark Hire) lets a few through at once, then one every
    # few seconds: far more than people installing the app, far less than a flood.
    installs = AsyncLimiter(INSTALL_BURST, INSTALL_PERIOD_SECONDS)
    install_retry_after = str(math.ceil(INSTALL_PERIOD_SECONDS / INSTALL_BURST))

    async def oauth_get(request: web.Request) -> web.Response:
        flow = bolt.oauth_flow
        if request.path == SLACK_INSTALL_PATH:
            if not installs.has_capacity():
                return web.Response(
                    status=429,
                    text="Too many installs started just now; try again in a few seconds.",
                    headers={"Retry-After": install_retry_after},
                )
            if request.method == "HEAD":
                # aiohttp routes HEAD to a GET's handler. Link checkers and unfurlers send it: the
                # answer a GET would get, without the page, so no state is stored and no slot used.
                return web.Response(status=200, content_type="text/html", charset="utf-8")
            await installs.acquire()  # at once: has_capacity() said so, and nothing awaited since
            install_request = get_request(request)
            # Bolt appends ?team= to the "Add to Slack" link unencoded: a link to this page could
            # smuggle scopes, a user_scope or a redirect_uri into what the admin approves.
            team = install_request.query.get("team")
            if team is not None and not (len(team) == 1 and SLACK_TEAM_ID.fullmatch(team[0])):
                del install_request.query["team"]
            return await to_aiohttp_response(await flow.handle_installation(install_request))
        if request.method == "HEAD":
            # A link prefetcher's HEAD would use the single-use state and the code, and the admin's
            # browser, following with its GET, would be refused: nothing is done for a HEAD.
            return web.Response(status=200, content_type="text/html", charset="utf-8")
        return await to_aiohttp_response(await flow.handle_callback(get_request(request)))

    readiness = web_app[READINESS_KEY] = Readiness()

    async def health(request: web.Request) -> web.Response:
        # The port answers from the start (platforms kill a process that does not bind it), but a
        # 200 means Slack's requests can be answered: in Socket Mode, once the socket is open.
        if readiness.waiting_for is not None:
            return web.json_response({"ok": False, "waiting_for": readiness.waiting_for}, status=503)
        return web.json_response({"ok": True})

    def malformed() -> web.Response:
        """Slack's own body that Bolt could not read (a forger is told only ``unsigned``)."""
        return web.json_response({"error": "the payload does not have Slack's shape"}, status=400)

    async def unsigned(request: web.Request) -> web.Response:
        """The answer to anything not signed by Slack, the same whatever was wrong with it."""
        return web.json_response({"error": "invalid signature"}, status=401)

    def refused(request: web.Request) -> web.Response:
        """``unsigned``, logged as Bolt did when the headers are in Slack's format: perhaps Slack's own
        request, signed with a secret other than SLACK_SIGNING_SECRET."""
        if signature_headers_well_formed(request):
            logger.info("%s", UNVERIFIED_REQUEST)
        return web.json_response({"error": "invalid signature"}, status=401)

    # In Socket Mode Slack sends nothing over HTTP. The route still verifies what reaches it, and
    # without a signing secret it has nothing to verify against: it refuses everything.
    web_app.router.add_post(SLACK_EVENTS_PATH, slack_events if signing_secret_set(settings) else unsigned)
    web_app.router.add_get(HEALTH_PATH, health)
    if bolt.oauth_flow is not None:
        web_app.router.add_get(SLACK_INSTALL_PATH, oauth_get)
        web_app.router.add_get(SLACK_OAUTH_REDIRECT_PATH, oauth_get)

    from bot.notify import Pipeline

    services.slack_client_for = _delivery_clients(settings, services, bolt.client)
    pipeline = Pipeline(services=services, slack_client_for=services.slack_client_for)
    pipeline.register_routes(web_app)
    web_app[PIPELINE_KEY] = pipeline

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        # One pooled HTTP session for every Web API call; without it slack-sdk opens (and for
        # slack.com, TLS-handshakes) a new connection per call. Bolt's per-request clients reuse it.
        # slack-sdk applies its timeout only to sessions it makes itself: without one here a call
        # Slack never answered waited aiohttp's default, five minutes.
        services.slack_session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=settings.slack_timeout_seconds)
        )
        bolt.client.session = services.slack_session
        try:
            if (version := await db.migrate()) > Database.latest_schema_version():
                logger.warning(
                    "The database is at schema version %d, newer than this release's %d: a newer release "
                    "migrated it (a rollback?); run that release, as this one may fail on what it changed",
                    version,
                    Database.latest_schema_version(),
                )
            # Several processes on one PostgreSQL: each forgets at once the keys and webhooks another changed.
            db.on_connections_changed.append(services.webhook_lists.forget)
            db.follow_changes()
            if not sandbox:  # the sandbox's placeholder keys must not replace real ones in a shared database
                await services.sync_env_connections()
        except BaseException:
            # The start fails (a database that cannot be opened): what is open must close, or the
            # process ends on "Unclosed client session" under the operator's one-line error.
            await services.aclose()
            await services.slack_session.close()
            raise
        if not sandbox:
            # In the background: deleting Spark Hire webhooks can take minutes when Spark Hire is slow,
            # and platforms kill a process that does not serve its port within a minute.
            services.tasks.spawn(withdraw_vendor_keys(services), name="withdraw-vendor-keys")
        warn_if_vendor_keys_serve_everyone(settings)
        await warn_if_stored_secrets_unreadable(settings, db)
        if lost := settings.lost_database():
            logger.warning("%s.", lost)
        for line in [*settings.mistyped_names(), *settings.unused_slack_settings()]:
            logger.warning("%s", line)
        workers: list[asyncio.Task[None]] = pipeline.start() if start_workers else []
        try:
            yield
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await pipeline.aclose()
            await services.aclose()
            await services.slack_session.close()

    web_app.cleanup_ctx.append(lifecycle)
    return web_app
