"""Connecting vendor accounts: admins set workspace credentials, everyone their own Spark Hire key."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.connect import (
    REFUSED_HEADING,
    connect_modal,
    connected_message,
    connected_view,
    disconnected_pause_notice,
    label_digest,
    parse_disconnect_value,
)
from blocks.errors import error_message, notice
from blocks.forms import refilled_form
from blocks.ids import Action, Block, Callback
from blocks.invite import working_view
from blocks.models import VENDOR_LABELS, ConnectionStatusView
from blocks.subscriptions import subscribe_command
from bot.connections import VerifiedCredentials, disconnect, save_verified
from bot.notify.paused import PauseNotifier
from bot.notify.subscriptions import to_view
from bot.services import ENV_CONNECTED_BY, ENV_SETTINGS, Services
from bot.settings import WEDGEHR_URLS
from bot.storage import Connection, Subscription
from bot.vendors.errors import AuthenticationError, VendorError
from bot.vendors.http import RetryPolicy
from handlers.common import (
    Recipient,
    after_ack,
    as_field_error,
    dump_metadata,
    is_view_gone,
    load_metadata,
    open_then_fill,
    recipient_from_body,
    selected_value,
    services_of,
    show_error_in_view,
    state_values,
    team_of,
    text_value,
)

logger = logging.getLogger(__name__)

#: Checking the user and the new credentials, before answering the submission (Slack waits 3 s).
VERIFY_BUDGET_SECONDS = 2.2
SLACK_TOO_SLOW = "Slack did not answer in time. Try again in a moment."
SLACK_UNAVAILABLE = "Slack could not say whether you are a workspace admin. Try again in a moment."
#: The working view a submission becomes when the vendor takes longer than the budget.
CHECKING = "Checking the keys with the vendor…"
VERIFY_RETRY = RetryPolicy(max_retries=0)
#: The connect form's key and token inputs: a form shown again leaves them empty (never sent back to Slack).
SECRET_INPUTS = (Block.WEDGEHR_TOKEN, Block.SPARKHIRE_WORKSPACE_KEY, Block.SPARKHIRE_USER_KEY)
#: Under the refusal when the form is shown again without the keys typed in it.
RETYPE_KEYS = "Keys and tokens are not kept in the form: paste each one you want to connect again."
#: What the connect modal shows while Slack says whether the user is an admin.
LOADING = "Loading your connections…"
#: How long the open modal waits on that answer (slack-sdk waits out a 429's Retry-After).
ADMIN_CHECK_SECONDS = 10.0
ADMIN_UNKNOWN = (
    "Slack could not say whether you are a workspace admin, so this form offers only your own Spark Hire key. "
    "Admins: open it again in a moment to set the workspace's credentials."
)


async def is_workspace_admin(client: AsyncWebClient, user_id: str) -> bool:
    user = (await client.users_info(user=user_id))["user"]
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


def may_manage(connection: Connection, user_id: str, *, is_admin: bool) -> bool:
    """Whether ``user_id`` may manage a connection (its key, its webhook's credentials): a user's own
    key is theirs alone; the workspace's is its admins'."""
    if connection.scope == "user":
        return connection.user_id == user_id
    return is_admin


async def connection_statuses(services: Services, team_id: str, user_id: str) -> list[ConnectionStatusView]:
    connections = await services.db.connections.list_for_team(team_id)
    statuses = []
    for vendor in ("wedgehr", "sparkhire"):
        workspace = next((c for c in connections if c.vendor == vendor and c.scope == "workspace"), None)
        own = next((c for c in connections if c.vendor == vendor and c.scope == "user" and c.user_id == user_id), None)
        # None when VENDOR_KEYS_TEAM_IDS leaves this workspace out: then the environment's keys are not its.
        env = services.environment_credential(team_id, vendor)
        env_set = bool(env and env[1])
        workspace_label = _label(workspace) if workspace else ("from environment" if env_set else None)
        environment = None
        if vendor == "wedgehr" and workspace_label:
            environment = workspace.environment if workspace else services.settings.wedgehr_env.value
        # A copy of WEDGEHR_TOKEN / SPARKHIRE_API_KEY would come back at the next request if deleted.
        from_setting = (workspace is None and env_set) or (workspace and workspace.connected_by == ENV_CONNECTED_BY)
        statuses.append(
            ConnectionStatusView(
                vendor=vendor,
                workspace_label=workspace_label,
                own_label=_label(own) if own else None,
                workspace_environment=environment,
                workspace_id=workspace.id if workspace and not from_setting else None,
                workspace_setting=ENV_SETTINGS[vendor] if from_setting else None,
                own_id=own.id if own else None,
            )
        )
    return statuses


def _label(connection: Connection) -> str:
    if connection.readable:
        return connection.account_label
    return f"{connection.account_label} (saved under another BOT_SECRET_KEY: connect it again)"


async def open_connect_modal(
    *,
    services: Services,
    client: AsyncWebClient,
    team_id: str,
    user_id: str,
    trigger_id: str,
    channel_id: str | None,
) -> None:
    # users.info (the admin check) may wait out a 429's Retry-After: the form replaces "Loading…".
    async def fill(view_id: str) -> None:
        await _fill_connect_modal(
            services, client, team_id=team_id, user_id=user_id, view_id=view_id, channel_id=channel_id
        )

    await open_then_fill(client, trigger_id=trigger_id, loading_text=LOADING, fill=fill, what="connect form")


async def _fill_connect_modal(
    services: Services, client: AsyncWebClient, *, team_id: str, user_id: str, view_id: str, channel_id: str | None
) -> None:
    notices: list[str] = []
    try:
        async with asyncio.timeout(ADMIN_CHECK_SECONDS):
            is_admin = await is_workspace_admin(client, user_id)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        # Still a form: everyone may connect their own key; the submission checks admins again.
        logger.warning("Could not check that %s is an admin: %s", user_id, type(exc).__name__)
        is_admin = False
        notices.append(ADMIN_UNKNOWN)
    statuses = await connection_statuses(services, team_id, user_id)
    await client.views_update(
        view_id=view_id,
        view=connect_modal(
            is_admin=is_admin,
            statuses=statuses,
            wedgehr_env=_wedgehr_env(services, statuses),
            private_metadata=dump_metadata(channel=channel_id),
            notices=notices,
        ),
    )


def _wedgehr_env(services: Services, statuses: list[ConnectionStatusView]) -> str:
    """The environment the form pre-selects: the stored token's, so pasting its rotated successor works."""
    stored = next((s.workspace_environment for s in statuses if s.vendor == "wedgehr"), None)
    return stored or services.settings.wedgehr_env.value


async def on_connect(*, ack: Any, command: dict[str, Any], context: Any, client: Any, respond: Any, **_: Any) -> None:
    await ack()
    after_ack(
        context,
        open_connect_modal(
            services=services_of(context),
            client=client,
            team_id=command["team_id"],
            user_id=command["user_id"],
            trigger_id=command["trigger_id"],
            channel_id=command.get("channel_id"),
        ),
        recipient=Recipient(
            client=client,
            user_id=command["user_id"],
            channel_id=command.get("channel_id"),
            respond=respond if command.get("response_url") else None,
        ),
        name="connect.open",
        opens_modal=True,
    )


SUBCOMMANDS = {"connect": on_connect}


async def _verify_wedgehr(services: Services, token: str, env: str) -> str:
    base = (
        services.wedgehr_url
        if (services.settings.wedgehr_api_url or services.wedgehr_url != services.settings.wedgehr_base_url)
        else WEDGEHR_URLS[env]
    )
    client = services.wedgehr(token, base_url=base)
    client.retry = VERIFY_RETRY
    return await client.verify()


async def _verify_sparkhire(services: Services, key: str) -> str:
    client = services.sparkhire(key)
    client.retry = VERIFY_RETRY
    return (await client.verify()).display_name


def field_error(block: str, error: VendorError) -> str:
    """What the form says under a credential the vendor refused: the fix is in this very form."""
    if isinstance(error, AuthenticationError):
        if block == Block.WEDGEHR_TOKEN:
            return "WedgeHR rejected this token. Check you copied all of it and its environment, then paste it again."
        return "Spark Hire rejected this API key. Check you copied all of it, then paste it again."
    return str(error)


async def on_submit(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any, context: Any) -> None:
    services = services_of(context)
    values = state_values(view)
    team_id, user_id = team_of(body), body["user"]["id"]
    wedgehr_token = text_value(values, Block.WEDGEHR_TOKEN)
    wedgehr_env = selected_value(values, Block.WEDGEHR_ENV) or services.settings.wedgehr_env.value
    workspace_key = text_value(values, Block.SPARKHIRE_WORKSPACE_KEY)
    user_key = text_value(values, Block.SPARKHIRE_USER_KEY)
    if wedgehr_env not in WEDGEHR_URLS:
        # Only a crafted client sends another option: it would be stored, and then picked no server.
        await ack(response_action="errors", errors={Block.WEDGEHR_ENV: "Choose Production or Staging."})
        return
    if not (wedgehr_token or workspace_key or user_key):
        await ack(response_action="errors", errors={Block.SPARKHIRE_USER_KEY: "Enter a key or token to connect."})
        return
    # Everything before the answer shares one budget: Slack shows an error after 3 s.
    deadline = asyncio.get_running_loop().time() + VERIFY_BUDGET_SECONDS
    if wedgehr_token or workspace_key:
        # The modal only shows these fields to admins; check again, the payload is the user's.
        try:
            async with asyncio.timeout(VERIFY_BUDGET_SECONDS):
                is_admin = await is_workspace_admin(client, user_id)
        except TimeoutError:
            await ack(response_action="errors", errors={Block.SPARKHIRE_USER_KEY: SLACK_TOO_SLOW})
            return
        except (SlackApiError, aiohttp.ClientError) as exc:
            # Answered with a field error, the form keeps what was typed; closed, the keys would
            # have to be pasted again.
            logger.warning("Could not check that %s is an admin: %s", user_id, type(exc).__name__)
            await ack(response_action="errors", errors={Block.SPARKHIRE_USER_KEY: SLACK_UNAVAILABLE})
            return
        if not is_admin:
            await ack(
                response_action="errors",
                errors={Block.SPARKHIRE_USER_KEY: "Only workspace admins can set workspace credentials."},
            )
            return
    checks: dict[str, Any] = {}
    if wedgehr_token:
        checks[Block.WEDGEHR_TOKEN] = _verify_wedgehr(services, wedgehr_token, wedgehr_env)
    if workspace_key:
        checks[Block.SPARKHIRE_WORKSPACE_KEY] = _verify_sparkhire(services, workspace_key)
    if user_key:
        checks[Block.SPARKHIRE_USER_KEY] = _verify_sparkhire(services, user_key)
    tasks = {block: asyncio.ensure_future(coro) for block, coro in checks.items()}
    remaining = max(deadline - asyncio.get_running_loop().time(), 0.1)
    _done, pending = await asyncio.wait(tasks.values(), timeout=remaining)
    channel = load_metadata(view.get("private_metadata")).get("channel")
    recipient = Recipient(client=client, user_id=user_id, channel_id=channel)

    def credentials_of(labels: dict[str, str]) -> VerifiedCredentials:
        return VerifiedCredentials(
            team_id=team_id,
            user_id=user_id,
            wedgehr=(wedgehr_token, labels[Block.WEDGEHR_TOKEN], wedgehr_env) if wedgehr_token else None,
            sparkhire_workspace=(workspace_key, labels[Block.SPARKHIRE_WORKSPACE_KEY]) if workspace_key else None,
            sparkhire_user=(user_key, labels[Block.SPARKHIRE_USER_KEY]) if user_key else None,
        )

    if pending:
        # Past the budget: answer Slack now, keep the modal alive, update it when the vendor answers
        # (a vendor that is always a little slow must not make connecting impossible).
        await ack(response_action="update", view=working_view(CHECKING))
        after_ack(
            context,
            _finish_slow_check(services, client, recipient, tasks=tasks, view=view, credentials_of=credentials_of),
            recipient=recipient,
            name="connect.finish",
        )
        return
    errors, labels = _outcome(tasks)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await ack(response_action="clear")
    after_ack(
        context,
        save_and_confirm(services, credentials_of(labels), recipient=recipient),
        recipient=recipient,
        name="connect.save",
    )


def _outcome(tasks: dict[str, asyncio.Future[str]]) -> tuple[dict[str, str], dict[str, str]]:
    """The finished checks' field errors (block_id -> what to fix) and account labels."""
    errors: dict[str, str] = {}
    labels: dict[str, str] = {}
    for block, task in tasks.items():
        if isinstance(task.exception(), VendorError):
            errors[block] = as_field_error(field_error(block, task.exception()))  # type: ignore[arg-type]
        elif task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
        else:
            labels[block] = task.result()
    return errors, labels


async def _finish_slow_check(
    services: Services,
    client: AsyncWebClient,
    recipient: Recipient,
    *,
    tasks: dict[str, asyncio.Future[str]],
    view: dict[str, Any],
    credentials_of: Any,
) -> None:
    """The vendor answered after the submission was: show the outcome on the working view.

    A modal closed meanwhile loses nothing: the credentials are still saved and confirmed by
    message, and a refusal is sent by message instead.
    """
    view_id = view["id"]
    await asyncio.wait(tasks.values())
    try:
        errors, labels = _outcome(tasks)
    except Exception as exc:
        await show_error_in_view(client, view_id, exc, what="connect form")
        raise
    if errors:
        form = refilled_form(
            view, heading=REFUSED_HEADING, problems=[RETYPE_KEYS], field_problems=errors, blank=SECRET_INPUTS
        )
        try:
            await client.views_update(view_id=view_id, view=form)
            return
        except (SlackApiError, TimeoutError, aiohttp.ClientError) as exc:
            logger.info("Could not show the refused keys on the connect form: %r", exc)
        await recipient.send(error_message(f"Nothing was connected. {' '.join(errors.values())}", reconnect=True))
        return
    try:
        saved = await save_verified(services, credentials_of(labels))
    except Exception as exc:
        await show_error_in_view(client, view_id, exc, what="connect form")
        raise
    try:
        await client.views_update(view_id=view_id, view=connected_view(saved.connected, notes=saved.notes))
    except (SlackApiError, TimeoutError, aiohttp.ClientError) as exc:
        logger.info("Could not show the connected accounts on the connect form: %r", exc)
    await recipient.send(connected_message(saved.connected, notes=saved.notes))
    await _refresh_home(services, client, credentials_of(labels))


async def save_and_confirm(services: Services, credentials: VerifiedCredentials, *, recipient: Recipient) -> None:
    saved = await save_verified(services, credentials)
    await recipient.send(connected_message(saved.connected, notes=saved.notes))
    await _refresh_home(services, recipient.client, credentials)


async def _refresh_home(services: Services, client: AsyncWebClient, credentials: VerifiedCredentials) -> None:
    """The Home the form was opened from shows the accounts connected now once the form closes."""
    from handlers.home import refresh_home  # handlers.home reads connections through this module

    await refresh_home(services, client, credentials.team_id, credentials.user_id)


async def on_open_connect(ack: Any, body: dict[str, Any], client: Any, context: Any) -> None:
    await ack()
    channel = (body.get("channel") or {}).get("id")
    after_ack(
        context,
        open_connect_modal(
            services=services_of(context),
            client=client,
            team_id=team_of(body),
            user_id=body["user"]["id"],
            trigger_id=body["trigger_id"],
            channel_id=channel,
        ),
        recipient=Recipient(client=client, user_id=body["user"]["id"], channel_id=channel),
        name="connect.button",
        opens_modal=True,
    )


async def on_disconnect(ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, context: Any) -> None:
    await ack()
    view = body.get("view") or {}
    if not view.get("id"):  # the button lives in the connect form only: nothing to show a result in
        logger.info("Ignored a Disconnect click from outside the connect form")
        return
    user_id = body["user"]["id"]
    recipient = recipient_from_body(body, client)  # the form's channel, from its metadata
    after_ack(
        context,
        disconnect_and_refresh(
            services_of(context),
            client,
            team_id=team_of(body),
            user_id=user_id,
            connection_id=action.get("value") or "",
            view=view,
            recipient=recipient,
        ),
        recipient=recipient,
        name="connect.disconnect",
    )


async def disconnect_and_refresh(
    services: Services,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_id: str,
    connection_id: str,
    view: dict[str, Any],
    recipient: Recipient,
) -> None:
    """Disconnect what the button names, if this user may, then show the form's new state; a form
    closed meanwhile gets the outcome by message instead."""
    connection_id, digest = parse_disconnect_value(connection_id)
    connections = await services.db.connections.list_for_team(team_id)
    connection = next((c for c in connections if c.id == connection_id), None)
    is_admin = await is_workspace_admin(client, user_id)
    notices: list[str] = []
    disconnected = False
    # The button is offered only where allowed; the payload is the user's, so check again.
    if connection is None:
        notices.append("That connection was already disconnected.")
    elif digest is not None and digest != label_digest(_label(connection)):
        # Replaced by another account's key since the form was opened: the click confirmed the old one.
        notices.append(
            f"That {VENDOR_LABELS[connection.vendor]} key was replaced since this form was opened, now by "
            f"{_label(connection)}, so nothing was disconnected."
        )
    elif connection.connected_by == ENV_CONNECTED_BY:
        setting = ENV_SETTINGS[connection.vendor]
        notices.append(f"{setting} is set in the bot's settings: it cannot be disconnected here.")
    elif not may_manage(connection, user_id, is_admin=is_admin):
        if connection.scope == "user":
            notices.append("You can disconnect only your own key.")
        else:
            notices.append("Only workspace admins can disconnect workspace credentials.")
    else:
        done = await disconnect(services, connection, user_id=user_id)
        disconnected = True
        whose = "your" if connection.scope == "user" else "the workspace's"
        notices.append(f"Disconnected {whose} {VENDOR_LABELS[connection.vendor]} account {connection.account_label}.")
        if done.paused:
            untold = await _tell_paused(services, client, done.paused, by_user=user_id, reason=done.reason)
            told = (
                "their creators were told"
                if not untold
                else f"I could not tell {len(untold)} of their creators (Slack refused the direct message)"
            )
            notices.append(f"Paused {len(done.paused)} channel subscription(s) that read through it; {told}.")
        notices += done.notes
    statuses = await connection_statuses(services, team_id, user_id)
    try:
        await client.views_update(
            view_id=view.get("id"),
            view=connect_modal(
                is_admin=is_admin,
                statuses=statuses,
                wedgehr_env=_wedgehr_env(services, statuses),
                private_metadata=view.get("private_metadata") or "",
                notices=notices,
            ),
        )
    except Exception as exc:  # done all the same: "Slack refused, try again" would be wrong
        if is_view_gone(exc):
            logger.info("The connect form was closed before the disconnect finished; telling the user by message")
        else:
            logger.warning("Could not refresh the connect form after disconnecting (%r); told by message", exc)
        await recipient.send(notice(" ".join(notices)))
    if disconnected:
        from handlers.home import refresh_home  # handlers.home reads connections through this module

        # The form may have been opened from the Home: it shows the accounts left once the form closes.
        await refresh_home(services, client, team_id, user_id)


async def _tell_paused(
    services: Services, client: AsyncWebClient, paused: list[Subscription], *, by_user: str, reason: str
) -> list[str]:
    """One direct message per creator of ``paused`` (not to ``by_user``, who reads it in the form);
    returns those Slack would not let the bot tell."""
    by_creator: dict[str, list[Subscription]] = {}
    for subscription in paused:
        if subscription.created_by != by_user:
            by_creator.setdefault(subscription.created_by, []).append(subscription)
    notifier = PauseNotifier(services)
    untold: list[str] = []
    for creator, theirs in by_creator.items():
        channels = [s.channel_id for s in theirs]
        commands = [subscribe_command(to_view(s), shared=s.shared_confirmed_at is not None) for s in theirs]
        pause_notice = disconnected_pause_notice(
            channels, theirs[0].vendor, by_user=by_user, reason=reason, commands=commands
        )
        if not await notifier.post(client, creator, pause_notice):
            untold.append(creator)
    return untold


def register(app: AsyncApp) -> None:
    app.view(Callback.CONNECT)(on_submit)
    app.action(Action.DISCONNECT)(on_disconnect)
    app.action(Action.OPEN_CONNECT)(on_open_connect)
