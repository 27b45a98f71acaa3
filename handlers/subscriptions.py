"""`/interview subscribe | unsubscribe | subscriptions`, and re-enabling a paused subscription."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.common import escape, section
from blocks.errors import error_message, notice
from blocks.ids import Action
from blocks.models import ManualWebhookView, Message
from blocks.subscriptions import (
    generic_renewal,
    parse_unsubscribe_choice,
    removed_notice,
    renewing_words,
    resumed_notice,
    still_paused_notice,
    subscribed_message,
    subscriptions_list,
    unsubscribe_choice_asked_at,
    unsubscribe_choice_tag,
    unsubscribe_choices_message,
    unsubscribed_message,
    webhook_credentials_modal,
    webhook_credentials_refused,
)
from bot.candidates import as_typed
from bot.crypto import SecretKeyMismatchError, constant_time_equals
from bot.errors import UserFacingError
from bot.notify import grammar
from bot.notify.paused import (
    paused_with,
    re_enabled_with,
    resume_shared_pause,
    shared_with_another_org,
    user_reachable,
)
from bot.notify.receiver import webhook_path
from bot.notify.subscriptions import (
    Outcome,
    missed_note,
    release_webhook_if_unused,
    replay,
    resume_catching_up,
    subscribe,
    to_view,
    unsubscribe,
    unsubscribe_chosen,
    views_naming_accounts,
)
from bot.services import Services
from bot.storage import Connection, Subscription
from bot.storage.repos import CatchUp
from handlers.common import (
    Recipient,
    after_ack,
    open_then_fill,
    recipient_from_body,
    services_of,
    team_of,
)
from handlers.connect import ADMIN_CHECK_SECONDS, is_workspace_admin, may_manage
from handlers.home import publish_home

logger = logging.getLogger(__name__)

PRIVATE_CHANNEL_HELP = (
    "I'm not in this private channel yet. Invite me with `/invite @Interview Bot`, then run the command again."
)


def direct_message_help(args: str) -> str:
    """Subscribe typed in a direct message: the same command, words and all, belongs in a channel
    (plain `/interview subscribe` there would follow other events or jobs than were asked for)."""
    words = retypable(args)
    command = f"/interview subscribe {words}".strip() if "`" not in words else "/interview subscribe"
    return (
        f"I can't post notifications in a direct message. Run `{command}` in the channel that should "
        "get them (in a private channel, first invite me with `/invite @Interview Bot`)."
    )


def is_direct_message(channel_id: str, channel_name: str | None = None) -> bool:
    """A direct message, or a group one: a slash command names it ``directmessage`` or ``mpdm-…``
    (its id alone does not tell a group DM from a private channel, and Slack does not show the bot
    one it is not in)."""
    name = channel_name or ""
    return channel_id.startswith("D") or name == "directmessage" or name.startswith("mpdm-")


async def ensure_member(client: AsyncWebClient, channel_id: str, *, allow_shared: bool, args: str) -> bool:
    """Join a public channel; explain how to invite the bot to a private one. Returns whether the
    channel is shared with another organisation, which is refused unless ``allow_shared`` (before
    joining: a refused subscribe leaves no "joined" line in another organisation's channel)."""
    # The bot cannot post in people's direct or group messages: the subscription would only fail later.
    if is_direct_message(channel_id):
        raise UserFacingError(direct_message_help(args))
    try:
        info = (await client.conversations_info(channel=channel_id))["channel"]
    except SlackApiError as exc:
        if exc.response.get("error") == "channel_not_found":
            raise UserFacingError(PRIVATE_CHANNEL_HELP) from None
        raise
    if info.get("is_im") or info.get("is_mpim"):
        raise UserFacingError(direct_message_help(args))
    shared = shared_with_another_org(info)
    if shared and not allow_shared:
        raise UserFacingError(shared_channel_warning(args))
    if info.get("is_member"):
        return shared
    if info.get("is_private") or info.get("is_group"):
        raise UserFacingError(PRIVATE_CHANNEL_HELP)
    await client.conversations_join(channel=channel_id)
    return shared


def retypable(args: str) -> str:
    """The words of a command as the person typed them, to quote back for typing again: an address
    Slack made a link of (``<mailto:…>``), typed as it is shown, would arrive escaped and be refused."""
    return " ".join(as_typed(args).split())


def shared_channel_warning(args: str) -> str:
    words = retypable(args)
    return (
        "This channel is shared with another organisation (Slack Connect): its people outside your company "
        "would see the candidates' names, email addresses, ratings and interview links posted here. Nothing "
        "was subscribed. If they should, add `shared`: "
        f"`/interview subscribe {words + ' ' if words else ''}shared`."
    )


SHARED_CHANNEL_NOTE = (
    "This channel is shared with another organisation (Slack Connect): its people outside your company "
    "see these posts too."
)


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
    shared = await ensure_member(client, channel_id, allow_shared=request.shared, args=args)
    outcome = await subscribe(
        services,
        request,
        team_id=team_id,
        channel_id=channel_id,
        user_id=recipient.user_id,
        explicit_vendor=request.explicit_vendor,
    )
    if shared:  # confirmed: what the channel's sharing paused may post here again, whatever its words
        await services.db.subscriptions.confirm_shared(team_id, channel_id)
        if resumed := await resume_shared_pause(
            services, team_id=team_id, channel_id=channel_id, user_id=recipient.user_id
        ):
            outcome.caught_up.append(resumed)
    confirmed, others = outcome.views()
    notes = [*_resumed_notes(services, outcome), *outcome.notes, *([SHARED_CHANNEL_NOTE] if shared else [])]
    by_hand = outcome.by_hand
    manual = (
        ManualWebhookView(connection_id=by_hand.connection_id, path=by_hand.path, owner=by_hand.owner)
        if by_hand
        else None
    )
    await recipient.send(subscribed_message(confirmed, notes=notes, others=others, by_hand=manual))


def _resumed_notes(services: Services, outcome: Outcome) -> list[str]:
    """For paused subscriptions ``subscribe`` re-enabled: what they missed is posted, as the Re-enable
    button says (first: notes past the message's budget are left out)."""
    if not outcome.caught_up:
        return []
    done = CatchUp(
        resumed=[s for c in outcome.caught_up for s in c.resumed],
        queued=sum(c.queued for c in outcome.caught_up),
        too_old=sum(c.too_old for c in outcome.caught_up),
        older_uncounted=any(c.older_uncounted for c in outcome.caught_up),
    )
    if not done.resumed:
        return []
    what = "the paused subscription" if len(done.resumed) == 1 else f"{len(done.resumed):,} paused subscriptions"
    return [f"Re-enabled {what} here. {missed_note(services, done)}"]


async def on_subscribe(
    *, ack: Any, args: str, command: dict[str, Any], context: Any, client: Any, respond: Any, **_: Any
) -> None:
    request = await _parsed_or_explained(ack, args)
    if request is None:
        return
    # A test only asks Spark Hire.
    if is_direct_message(command["channel_id"], command.get("channel_name")) and not request.test:
        await ack(**error_message(direct_message_help(args)).as_kwargs(), response_type="ephemeral")
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
        done = await unsubscribe(
            services_of(context),
            request,
            team_id=command["team_id"],
            channel_id=command["channel_id"],
            user_id=command["user_id"],
        )
        if done.choices:  # the channel reads several accounts: which of theirs should stop?
            events = request.events if request.explicit_events else ()
            tag = choice_tagger(services_of(context), team_id=command["team_id"], user_id=command["user_id"])
            await recipient.send(
                unsubscribe_choices_message(done.choices, events=events, tag=tag, asked_at=done.asked_at)
            )
        else:
            await recipient.send(unsubscribed_message(done.removed, done.narrowed, notes=done.notes))

    after_ack(context, run(), recipient=recipient, name="unsubscribe")


def choice_tagger(services: Services, *, team_id: str, user_id: str) -> Callable[[str], str]:
    """The tag of a "which account?" button asked of ``user_id``: keyed with ``BOT_SECRET_KEY``, so
    only the bot can make one, and bound to the user, so it is good for nobody else."""
    return lambda value: services.secret_box.tag(f"unsubscribe-choice:{team_id}:{user_id}:{value}")


async def is_channel_member(client: AsyncWebClient, channel_id: str, user_id: str) -> bool:
    """Whether Slack lists ``user_id`` among the channel's members.

    Raises:
        UserFacingError: Slack does not show the bot the channel (a private one it left).
    """
    cursor = None
    while True:
        try:
            page = await client.conversations_members(channel=channel_id, limit=1000, cursor=cursor)
        except SlackApiError as exc:
            if exc.response.get("error") in ("channel_not_found", "not_in_channel"):
                raise UserFacingError(
                    "I can no longer see who is in that channel, so I cannot check that you may change its "
                    "subscriptions. Nothing was removed: run `/interview unsubscribe` in the channel itself."
                ) from None
            raise
        if user_id in (page.get("members") or []):
            return True
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return False


async def check_choice_from_elsewhere(
    services: Services, client: AsyncWebClient, *, team_id: str, user_id: str, channel_id: str, value: str
) -> None:
    """A "which account?" button clicked outside its channel (the answer could only reach the
    user's DM): taken when its tag says it was asked of this user, and the user is still in the
    channel, where anyone may run `/interview unsubscribe`.

    Raises:
        UserFacingError: Not so; nothing may change.
    """
    covered, tag = unsubscribe_choice_tag(value)
    if tag is None:
        raise UserFacingError(
            "That button is for another channel's subscriptions: run `/interview unsubscribe` in the "
            "channel whose subscriptions should stop."
        )
    expected = choice_tagger(services, team_id=team_id, user_id=user_id)(covered)
    if not constant_time_equals(tag, expected):
        logger.warning("Refused an unsubscribe button of %s with a tag that is not theirs", user_id)
        raise UserFacingError(
            "That button was not made for you, or was changed: nothing was removed. Run "
            "`/interview unsubscribe` in the channel whose subscriptions should stop."
        )
    if not await is_channel_member(client, channel_id, user_id):
        raise UserFacingError(
            "You are no longer in that channel, so its subscriptions are not yours to change: nothing was removed."
        )


async def on_unsubscribe_choice(
    ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, context: Any, respond: Any
) -> None:
    """A button of unsubscribe's "which account?" answer: those subscriptions stop, and the answer
    is replaced by what was done.

    As ``unsubscribe`` in the channel the value names: clicked there, or elsewhere (the answer fell
    back to a DM) by the user it was asked of, still in that channel. A button naming another
    channel (copied, or forged) must not reach its subscriptions.
    """
    await ack()
    services = services_of(context)
    recipient = recipient_from_body(body, client, respond)
    team_id = team_of(body)
    clicked_in = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
    value = action.get("value") or ""

    async def run() -> None:
        choice = parse_unsubscribe_choice(value)
        if choice is None:
            raise UserFacingError("I could not read that button. Run `/interview unsubscribe` again.")
        channel_id, subscription_ids, events = choice
        if channel_id != clicked_in:
            await check_choice_from_elsewhere(
                services, client, team_id=team_id, user_id=recipient.user_id, channel_id=channel_id, value=value
            )
        done = await unsubscribe_chosen(
            services,
            team_id=team_id,
            channel_id=channel_id,
            user_id=recipient.user_id,
            subscription_ids=subscription_ids,
            events=events,
            asked_at=unsubscribe_choice_asked_at(value),
        )
        await recipient.send(unsubscribed_message(done.removed, done.narrowed), replace_original=True)

    after_ack(context, run(), recipient=recipient, name="unsubscribe.choice")


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
            everywhere = await views_naming_accounts(
                services,
                [s for s in await services.db.subscriptions.list_for_team(team_id) if s.channel_id != channel_id],
            )
        await recipient.send(subscriptions_list(await views_naming_accounts(services, here), everywhere))

    after_ack(context, run(), recipient=recipient, name="subscriptions")


SUBCOMMANDS = {"subscribe": on_subscribe, "unsubscribe": on_unsubscribe, "subscriptions": on_list}


def _from_home(body: dict[str, Any]) -> bool:
    return (body.get("view") or {}).get("type") == "home"


async def channel_problem(
    client: AsyncWebClient, channel_id: str, *, shared_confirmed: bool = False
) -> Literal["archived", "gone", "invite", "shared"] | None:
    """What keeps the bot from posting in a channel of a paused subscription, if anything; joins a
    public channel it is not in, as subscribing does.

    A channel shared with another organisation is one unless ``shared_confirmed`` (`subscribe ...
    shared` was run there): only that command may post in it again (a button cannot confirm that its
    people outside the company may see the candidates), whatever paused the subscription.
    """
    try:
        info = (await client.conversations_info(channel=channel_id))["channel"]
    except SlackApiError as exc:
        # A deleted channel, or a private one the bot is not in: Slack does not say which.
        if exc.response.get("error") == "channel_not_found":
            return "gone"
        raise
    if info.get("is_archived"):
        return "archived"
    if not shared_confirmed and shared_with_another_org(info):
        return "shared"
    if info.get("is_member"):
        return None
    if info.get("is_private") or info.get("is_group"):
        return "invite"
    try:
        await client.conversations_join(channel=channel_id)
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in ("is_archived", "channel_is_archived"):
            return "archived"
        if error == "channel_not_found":
            return "gone"
        if error == "method_not_supported_for_channel_type":
            return "invite"
        raise
    return None


@dataclass(frozen=True)
class Answer:
    """What a click on a paused subscription did: the reply, and the line the App Home shows."""

    message: Message
    home: str


def _answer(text: str) -> Answer:
    """An answer of markup the bot made (channel links) and escaped user text."""
    return Answer(Message(text=text, text_is_markup=True, blocks=[section(text)]), text)


async def _paused_one(services: Services, team_id: str, value: str) -> Subscription | None:
    subscription = await services.db.subscriptions.get(int(value)) if value.isdecimal() else None
    return subscription if subscription is not None and subscription.team_id == team_id else None


async def _theirs(
    client: AsyncWebClient, user_id: str, group: list[Subscription], *, refused: str
) -> list[Subscription]:
    """Those of ``group`` a button may act on for ``user_id``: as `/interview unsubscribe` and
    `subscribe`, which anyone in the channel may run; here, whoever created them, an admin, or
    anyone once their creator has left (a notice told them in the creator's stead). The button's
    value is the user's to change: a subscription id is a small number.

    Raises:
        UserFacingError: ``refused``, when none.
    """
    if await is_workspace_admin(client, user_id):
        return group
    left = {c: not await user_reachable(client, c) for c in {s.created_by for s in group} - {user_id}}
    group = [s for s in group if s.created_by == user_id or left[s.created_by]]
    if not group:
        raise UserFacingError(refused)
    return group


async def re_enable(services: Services, client: AsyncWebClient, *, team_id: str, user_id: str, value: str) -> Answer:
    """Re-enable the clicked subscription (with a pause about its channel, every one the channel had
    paused for that) once Slack lets the bot post there, queueing what it missed meanwhile."""
    subscription = await _paused_one(services, team_id, value)
    if subscription is None:
        raise UserFacingError("That subscription no longer exists; run `/interview subscribe` again.")
    if not subscription.paused:
        return _answer(f"The subscription in <#{subscription.channel_id}> is enabled already.")
    if subscription.connection_id and await services.db.connections.get(subscription.connection_id) is None:
        # Its account was disconnected: resumed, it would read from nothing and stay silent. Its own
        # words renew it; other words (plain `subscribe`) would add another and leave it paused.
        # The message is escaped as plain text: the command goes in as typed.
        shared = subscription.shared_confirmed_at is not None
        words = renewing_words(to_view(subscription), shared=shared)
        raise UserFacingError(
            "The account this subscription read its events from was disconnected. Run "
            f"{f'`{words}`' if words else generic_renewal(shared=shared)} in that channel again to use "
            "the account connected now."
        )
    group = await re_enabled_with(services, subscription)
    # Before anything is said of them (what to run in a shared channel quotes their job and exclude
    # words): one must be the user's to act on. The channel's others resume with it, as `subscribe`
    # run there resumes them.
    await _theirs(
        client,
        user_id,
        group,
        refused="Only whoever set it up or a workspace admin can re-enable it here; anyone in the channel can"
        " by running `/interview subscribe` there again with its words.",
    )
    confirmed = subscription.shared_confirmed_at is not None  # `subscribe … shared` was run there
    if (problem := await channel_problem(client, subscription.channel_id, shared_confirmed=confirmed)) is not None:
        notice = still_paused_notice([to_view(s) for s in group], cause=problem)
        return Answer(notice, notice.text)
    done = await resume_catching_up(services, group, user_id=user_id, via="button")
    if not done.resumed:  # another click got there first
        return _answer(f"The subscription in <#{subscription.channel_id}> is enabled already.")
    resumed = resumed_notice(subscription.channel_id, count=len(done.resumed), missed=missed_note(services, done))
    return Answer(resumed, resumed.text)


async def remove_paused(
    services: Services, client: AsyncWebClient, *, team_id: str, user_id: str, value: str
) -> Answer:
    """Remove the clicked subscription (with a pause about its channel, every one the channel had
    paused for that): for a channel that was deleted, where no command can be run any more."""
    subscription = await _paused_one(services, team_id, value)
    if subscription is None:
        return _answer("That subscription was removed already.")
    if not subscription.paused:
        # Re-enabled since the button was shown, or another made since with the id of the one it
        # named (SQLite reuses the last id): Remove is for a paused one, and the click confirmed that.
        return _answer(
            "That subscription is no longer paused (it was re-enabled, or removed and another set up since),"
            " so nothing was removed. `/interview unsubscribe` in its channel removes a subscription."
        )
    group = await _theirs(
        client,
        user_id,
        await paused_with(services, subscription),
        refused="Only whoever set it up or a workspace admin can remove it here; anyone in the channel can"
        " with `/interview unsubscribe` there.",
    )
    for s in group:
        await services.db.subscriptions.unsubscribe(s.id)
    for connection_id in {s.connection_id for s in group if s.connection_id}:
        await release_webhook_if_unused(services, connection_id)
    await services.db.audit.add(
        team_id=team_id,
        user_id=user_id,
        action="subscription.removed",
        target=subscription.channel_id,
        detail={"removed": len(group), "paused": subscription.paused},
    )
    removed = removed_notice(subscription.channel_id, len(group))
    return Answer(removed, removed.text)


def _on_paused_click(act: Callable[..., Awaitable[Answer]], name: str) -> Callable[..., Awaitable[None]]:
    """A listener for a paused subscription's button, in a notice or on the App Home: the answer
    replaces the notice (the user's own), or shows atop the Home, which is published again."""

    async def listener(
        ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, context: Any, respond: Any
    ) -> None:
        await ack()
        services = services_of(context)
        recipient = recipient_from_body(body, client, respond)
        team_id = team_of(body)

        async def run() -> None:
            try:
                answer = await act(
                    services, client, team_id=team_id, user_id=recipient.user_id, value=action.get("value") or ""
                )
            except UserFacingError as exc:
                if not _from_home(body):
                    raise
                answer = _answer(escape(exc.message))
            if _from_home(body):
                try:
                    await publish_home(services, client, team_id, recipient.user_id, notice=answer.home)
                    return
                except Exception as exc:  # done all the same: "Slack refused, try again" would be wrong
                    logger.warning("Could not publish the Home after %s (%r); the answer goes by message", name, exc)
                await recipient.send(answer.message)
            else:
                await recipient.send(answer.message, replace_original=True)

        after_ack(context, run(), recipient=recipient, name=name)

    return listener


on_resume = _on_paused_click(re_enable, "subscription.resume")
on_remove = _on_paused_click(remove_paused, "subscription.remove")


#: What the credentials modal shows while Slack says whether the user is a workspace admin.
LOADING_CREDENTIALS = "Loading the webhook credentials…"
CREDENTIALS_ADMIN_UNKNOWN = (
    "Slack could not say whether you are a workspace admin, so the webhook credentials are not shown. "
    "Try again in a moment."
)


def _only_who(connection: Connection) -> str:
    who = "the person whose own Spark Hire key this webhook uses" if connection.scope == "user" else "workspace admins"
    return f"Only {who} can see these webhook credentials."


async def show_webhook_credentials(
    services: Services, client: AsyncWebClient, *, team_id: str, user_id: str, connection_id: str, trigger_id: str
) -> None:
    """Open the modal with what registering a Spark Hire webhook by hand takes: its URL path and
    credentials. Only for whoever may manage the connection (the password lets anyone post events
    as Spark Hire); the button's value is the user's to change, so it is checked here.

    What the database alone decides (no such connection, a colleague's own key) is answered by
    message at once. Otherwise the modal opens first, on "Loading…" (the trigger_id expires 3 s after
    the click, and users.info, the admin check, may wait out a 429's Retry-After), then shows the
    credentials or why not."""
    connection = None
    if connection_id.isascii() and connection_id.isalnum() and len(connection_id) <= 64:
        try:
            connection = await services.db.connections.get(connection_id)
        except SecretKeyMismatchError:  # its key cannot be read: its webhook password neither
            connection = None
    if connection is None or connection.team_id != team_id or connection.vendor != "sparkhire":
        raise UserFacingError(
            "That Spark Hire account is no longer connected here. Run `/interview subscribe sparkhire` in the "
            "channel again to see how to get its events."
        )
    if connection.scope == "user" and not may_manage(connection, user_id, is_admin=False):
        raise UserFacingError(_only_who(connection))  # a user's own key is theirs alone

    async def fill(view_id: str) -> None:
        view = await _webhook_credentials_view(services, client, connection, user_id)
        await client.views_update(view_id=view_id, view=view)

    await open_then_fill(
        client, trigger_id=trigger_id, loading_text=LOADING_CREDENTIALS, fill=fill, what="webhook credentials modal"
    )


async def _webhook_credentials_view(
    services: Services, client: AsyncWebClient, connection: Connection, user_id: str
) -> dict[str, Any]:
    """The credentials modal for ``user_id``, or one saying why it shows none."""
    is_admin = False
    if connection.scope == "workspace":
        try:
            async with asyncio.timeout(ADMIN_CHECK_SECONDS):
                is_admin = await is_workspace_admin(client, user_id)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("Could not check that %s is an admin: %s", user_id, type(exc).__name__)
            return webhook_credentials_refused(CREDENTIALS_ADMIN_UNKNOWN)
    if not may_manage(connection, user_id, is_admin=is_admin):
        return webhook_credentials_refused(_only_who(connection))
    found = await services.db.connections.webhook_auth(connection.id)
    if found is None:
        return webhook_credentials_refused(
            "This account has no webhook credentials the bot can read. Run `/interview subscribe sparkhire` in "
            "the channel again: it makes new ones."
        )
    username, _, password = found[1].partition(":")
    return webhook_credentials_modal(
        path=webhook_path(connection.id),
        username=username,
        password=password,
        public_url=services.settings.public_url,
    )


async def on_show_webhook_credentials(
    ack: Any, body: dict[str, Any], action: dict[str, Any], client: Any, context: Any, respond: Any
) -> None:
    """The "Show webhook credentials" button of a subscribe answer without PUBLIC_URL."""
    await ack()
    recipient = recipient_from_body(body, client, respond)
    after_ack(
        context,
        show_webhook_credentials(
            services_of(context),
            client,
            team_id=team_of(body),
            user_id=recipient.user_id,
            connection_id=action.get("value") or "",
            trigger_id=body.get("trigger_id") or "",
        ),
        recipient=recipient,
        name="subscribe.webhook_credentials",
        opens_modal=True,
    )


def register(app: AsyncApp) -> None:
    app.action(Action.UNSUBSCRIBE_CHOICE)(on_unsubscribe_choice)
    app.action(Action.SUBSCRIPTION_RESUME)(on_resume)
    app.action(Action.SUBSCRIPTION_REMOVE)(on_remove)
    app.action(Action.SHOW_WEBHOOK_CREDENTIALS)(on_show_webhook_credentials)
