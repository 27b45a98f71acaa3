"""`/interview subscribe | unsubscribe | subscriptions`, and re-enabling a paused subscription."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.errors import error_message, notice
from blocks.ids import Action
from blocks.subscriptions import resumed_notice, subscribed_message, subscriptions_list, unsubscribed_message
from bot.errors import UserFacingError
from bot.notify import grammar
from bot.notify.subscriptions import replay, subscribe, to_view, unsubscribe
from bot.services import Services
from handlers.common import Recipient, after_ack, recipient_from_body, services_of, team_of

PRIVATE_CHANNEL_HELP = (
    "I'm not in this private channel yet. Invite me with `/invite @Interview Bot`, then run the command again."
)
DIRECT_MESSAGE_HELP = (
    "I can't post notifications in a direct message. Run `/interview subscribe` in the channel that should "
    "get them (in a private channel, first invite me with `/invite @Interview Bot`)."
)


def is_direct_message(channel_id: str) -> bool:
    return channel_id.startswith("D")


async def ensure_member(client: AsyncWebClient, channel_id: str) -> None:
    """Join a public channel; explain how to invite the bot to a private one."""
    # The bot cannot post in people's direct or group messages: the subscription would only fail later.
    if is_direct_message(channel_id):
        raise UserFacingError(DIRECT_MESSAGE_HELP)
    try:
        info = (await client.conversations_info(channel=channel_id))["channel"]
    except SlackApiError as exc:
        if exc.response.get("error") == "channel_not_found":
            raise UserFacingError(PRIVATE_CHANNEL_HELP) from None
        raise
    if info.get("is_im") or info.get("is_mpim"):
        raise UserFacingError(DIRECT_MESSAGE_HELP)
    if info.get("is_member"):
        return
    if info.get("is_private") or info.get("is_group"):
        raise UserFacingError(PRIVATE_CHANNEL_HELP)
    await client.conversations_join(channel=channel_id)


async def _parsed_or_explained(ack: Any, args: str) -> grammar.SubscriptionRequest | None:
    """Bad words get their explanation as the command's answer; nothing is saved."""
    try:
        return grammar.parse(args)
    except UserFacingError as exc:
        await ack(**error_message(exc.message).as_kwargs(), response_type="ephemeral")
        return None


async def run_subscribe(
    services: Services, client: AsyncWebClient, recipient: Recipient, *, team_id: str, channel_id: str, args: str
) -> None:
    request = grammar.parse(args)
    if request.test:
        answer = await replay(services, request, team_id=team_id, channel_id=channel_id, user_id=recipient.user_id)
        await recipient.send(notice(answer))
        return
    await ensure_member(client, channel_id)
    outcome = await subscribe(
        services,
        request,
        team_id=team_id,
        channel_id=channel_id,
        user_id=recipient.user_id,
        explicit_vendor=request.explicit_vendor,
    )
    await recipient.send(subscribed_message([to_view(s) for s in outcome.subscriptions], notes=outcome.notes))


async def on_subscribe(
    *, ack: Any, args: str, command: dict[str, Any], context: Any, client: Any, respond: Any, **_: Any
) -> None:
    request = await _parsed_or_explained(ack, args)
    if request is None:
        return
    if is_direct_message(command["channel_id"]) and not request.test:  # a test only asks Spark Hire
        await ack(**error_message(DIRECT_MESSAGE_HELP).as_kwargs(), response_type="ephemeral")
        return
    await ack()
    recipient = recipient_from_body(command, client, respond)
    after_ack(
        context,
        run_subscribe(
            services_of(context),
            client,
            recipient,
            team_id=command["team_id"],
            channel_id=command["channel_id"],
            args=args,
        ),
        recipient=recipient,
        name="subscribe",
    )


async def on_unsubscribe(
    *, ack: Any, args: str, command: dict[str, Any], context: Any, client: Any, respond: Any, **_: Any
) -> None:
    request = await _parsed_or_explained(ack, args)
    if request is None:
        return
    await ack()
    recipient = recipient_from_body(command, client, respond)

    async def run() -> None:
        removed, narrowed = await unsubscribe(
            services_of(context),
            request,
            team_id=command["team_id"],
            channel_id=command["channel_id"],
            user_id=command["user_id"],
        )
        await recipient.send(unsubscribed_message(removed, narrowed))

    after_ack(context, run(), recipient=recipient, name="unsubscribe")


async def on_list(*, ack: Any, command: dict[str, Any], context: Any, client: Any, respond: Any, **_: Any) -> None:
    await ack()
    recipient = recipient_from_body(command, client, respond)
    services = services_of(context)

    async def run() -> None:
        team_id, channel_id = command["team_id"], command["channel_id"]
        here = await services.db.subscriptions.list_for_channel(team_id, channel_id)
        user = (await client.users_info(user=command["user_id"]))["user"]
        everywhere = None
        if user.get("is_admin") or user.get("is_owner"):
            everywhere = [
                to_view(s) for s in await services.db.subscriptions.list_for_team(team_id) if s.channel_id != channel_id
            ]
        await recipient.send(subscriptions_list([to_view(s) for s in here], everywhere))

    after_ack(context, run(), recipient=recipient, name="subscriptions")


SUBCOMMANDS = {"subscribe": on_subscribe, "unsubscribe": on_unsubscribe, "subscriptions": on_list}


async def on_resume(
    ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, context: Any, respond: Any
) -> None:
    await ack()
    services = services_of(context)
    recipient = recipient_from_body(body, client, respond)
    value = action.get("value") or ""

    async def run() -> None:
        subscription = await services.db.subscriptions.get(int(value)) if value.isdecimal() else None
        if subscription is None or subscription.team_id != team_of(body):
            raise UserFacingError("That subscription no longer exists; run `/interview subscribe` again.")
        if subscription.connection_id and await services.db.connections.get(subscription.connection_id) is None:
            # Its account was disconnected: resumed, it would read from nothing and stay silent.
            raise UserFacingError(
                "The account this subscription read its events from was disconnected. Run"
                " `/interview subscribe` in that channel again to use the account connected now."
            )
        await ensure_member(client, subscription.channel_id)
        await services.db.subscriptions.resume(subscription.id)
        await recipient.send(resumed_notice(subscription.channel_id), replace_original=True)

    after_ack(context, run(), recipient=recipient, name="subscription.resume")


def register(app: AsyncApp) -> None:
    app.action(Action.SUBSCRIPTION_RESUME)(on_resume)
