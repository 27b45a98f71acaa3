import asyncio
import logging
import time

import sqlalchemy as sa

from blocks.ids import Action, Block, Callback
from bot.logs import RedactingFilter
from bot.storage import schema
from tests.support.blockkit import assert_valid_blocks, assert_valid_view
from tests.support.harness import running_bot


def state(**fields):
    return {block: {Action.INPUT: {"type": "plain_text_input", "value": value}} for block, value in fields.items()}


async def open_connect(bot, user="U1"):
    updates = len(bot.slack.calls_to("views.update"))
    await bot.sender.command("connect", user=user)
    return await connect_form(bot, updates)


async def connect_form(bot, updates=0, timeout=5.0):
    """The connect form, once it replaced the "Loading…" view that views.open showed at once."""
    (call, *_) = await bot.slack.wait_for(
        lambda: [
            c for c in bot.slack.calls_to("views.update")[updates:] if c.args["view"]["callback_id"] == Callback.CONNECT
        ],
        timeout=timeout,
    )
    view = bot.slack.views[call.args["view_id"]]
    assert view["callback_id"] == Callback.CONNECT
    assert_valid_view(view)
    return view


async def test_admin_sees_workspace_fields_member_only_their_key():
    async with running_bot(env_credentials=False) as bot:
        admin_view = await open_connect(bot, "U1")
        assert Block.WEDGEHR_TOKEN in str(admin_view["blocks"])
        member_view = await open_connect(bot, "U2")
        assert Block.WEDGEHR_TOKEN not in str(member_view["blocks"])
        assert Block.SPARKHIRE_USER_KEY in str(member_view["blocks"])


async def test_user_key_verified_live_stored_encrypted_and_named():
    async with running_bot(env_credentials=False) as bot:
        view = await open_connect(bot, "U2")
        response = await bot.sender.view_submission(
            view, state(**{Block.SPARKHIRE_USER_KEY: "mo-own-key-123456"}), user="U2"
        )
        assert response.json() == {"response_action": "clear"}
        assert bot.sparkhire.requests[-1].path == "/me" and bot.sparkhire.requests[-1].api_key == "mo-own-key-123456"
        reply = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U2") or bot.slack.posted("U2"))
        assert "Company User at Shermer Staffing" in reply[-1].text
        async with bot.services.db.engine.connect() as conn:
            raw = (await conn.execute(sa.select(schema.connections.c.credential))).scalar_one()
        assert "mo-own-key-123456" not in raw
        connection = await bot.services.db.connections.resolve("T0001", "sparkhire", "U2")
        assert connection.credential.get_secret_value() == "mo-own-key-123456"


async def test_rejected_key_is_a_field_error_and_not_stored():
    async with running_bot(env_credentials=False) as bot:
        view = await open_connect(bot, "U2")
        response = await bot.sender.view_submission(
            view, state(**{Block.SPARKHIRE_USER_KEY: "invalid-key-xyz"}), user="U2"
        )
        body = response.json()
        assert body["response_action"] == "errors"
        # The user is in the connect form already: ask for the key again, not to "reconnect with a command".
        assert body["errors"][Block.SPARKHIRE_USER_KEY] == (
            "Spark Hire rejected this API key. Check you copied all of it, then paste it again."
        )
        assert "invalid-key-xyz" not in str(body)
        assert await bot.services.db.connections.list_for_team("T0001") == []


async def test_a_rejected_wedgehr_token_asks_for_the_token_again_in_plain_words():
    async with running_bot(env_credentials=False) as bot:
        view = await open_connect(bot, "U1")
        response = await bot.sender.view_submission(view, state(**{Block.WEDGEHR_TOKEN: "invalid-token-123"}))
        body = response.json()
        assert body["response_action"] == "errors"
        shown = body["errors"][Block.WEDGEHR_TOKEN]
        assert shown.startswith("WedgeHR rejected this token.") and "paste it again" in shown
        assert "/interview connect" not in shown and "`" not in shown  # a form error is plain text
        assert await bot.services.db.connections.list_for_team("T0001") == []


async def test_member_cannot_set_workspace_token_even_by_crafting_the_payload():
    async with running_bot(env_credentials=False) as bot:
        view = await open_connect(bot, "U2")
        response = await bot.sender.view_submission(view, state(**{Block.WEDGEHR_TOKEN: "sneaky-token-123"}), user="U2")
        assert response.json()["response_action"] == "errors"
        assert not any(r.path == "/interviews" for r in bot.wedgehr.requests)


async def test_admin_connects_wedgehr_token():
    async with running_bot(env_credentials=False) as bot:
        view = await open_connect(bot, "U1")
        values = state(**{Block.WEDGEHR_TOKEN: "company-token-123"})
        values[Block.WEDGEHR_ENV] = {Action.INPUT: {"type": "radio_buttons", "selected_option": {"value": "staging"}}}
        assert (await bot.sender.view_submission(view, values)).json() == {"response_action": "clear"}
        assert bot.wedgehr.requests[-1].query == {"page[size]": "1"}
        reply = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
        assert "Connected *WedgeHR*" in str(reply[-1].blocks)
        connection = await bot.services.db.connections.resolve("T0001", "wedgehr")
        assert connection.environment == "staging" and "WedgeHR company" in connection.account_label


async def test_reconnect_button_from_an_error_opens_the_modal():
    async with running_bot(env_credentials=False) as bot:
        await bot.sender.block_action(Action.OPEN_CONNECT, value="sparkhire")
        form = await connect_form(bot)
        assert len(bot.slack.calls_to("views.open")) == 1 and list(bot.slack.views) == [form["id"]]


async def connect_own_key(bot, key, user="U2"):
    replies = len(bot.slack.ephemerals(user))
    view = await open_connect(bot, user)
    response = await bot.sender.view_submission(view, state(**{Block.SPARKHIRE_USER_KEY: key}), user=user)
    assert response.json() == {"response_action": "clear"}
    return (await bot.slack.wait_for(lambda: bot.slack.ephemerals(user)[replies:]))[-1]


async def subscribe_channel(bot, user="U2"):
    key = f"sub-{len(bot.slack.calls)}"
    await bot.sender.command("subscribe sparkhire", user=user, response_url=bot.slack.response_url(key))
    reply = (await bot.slack.wait_for(lambda: bot.slack.responses.get(key)))[-1]
    assert "Subscribed" in str(reply["blocks"])


async def test_the_submission_is_answered_in_time_while_slack_is_slow_to_take_the_confirmation():
    async with running_bot(env_credentials=False) as bot:
        view = await open_connect(bot, "U2")
        bot.slack.before_answering["chat.postEphemeral"] = lambda: asyncio.sleep(4)
        began = time.monotonic()
        response = await bot.sender.view_submission(
            view, state(**{Block.SPARKHIRE_USER_KEY: "mo-own-key-123456"}), user="U2"
        )
        assert response.json() == {"response_action": "clear"}
        assert time.monotonic() - began < 2.5  # Slack shows the user an error after 3 s
        reply = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U2"), timeout=8)
        assert "Company User at Shermer Staffing" in reply[-1].text


async def test_reconnecting_with_another_accounts_key_moves_the_channels_events_to_that_account():
    async with running_bot(env_credentials=False) as bot:
        await subscribed_with_shermers_key_and_acmes_at_hand(bot)
        (old_hook,) = bot.sparkhire.webhooks

        reply = await connect_own_key(bot, "acme-key-123456")
        assert "Acme Corp" in reply.text and "now get Spark Hire events from this account" in reply.text
        assert_valid_blocks(reply.blocks)
        (hook,) = bot.sparkhire.webhooks  # registered under Acme; Shermer's registration deleted
        assert hook != old_hook
        interview = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
        (delivery,) = await bot.sparkhire.emit("InterviewCompleted", interview, api_key="acme-key-123456")
        assert delivery.status == 200
        (card,) = await bot.slack.wait_for(lambda: bot.slack.posted("C1"))
        assert "Ann Lee" in card.text
        assert await bot.sparkhire.emit("InterviewCompleted", interview) == []


async def test_a_new_key_of_the_same_account_keeps_the_registration():
    async with running_bot(env_credentials=False) as bot:
        await connect_own_key(bot, "shermer-key-123456")
        await subscribe_channel(bot)
        registered = dict(bot.sparkhire.webhooks)
        reply = await connect_own_key(bot, "shermer-rotated-key-654321")
        assert "events from this account" not in reply.text
        assert bot.sparkhire.webhooks == registered
        listed_with = [r.api_key for r in bot.sparkhire.requests if r.path == "/webhooks" and r.method == "GET"]
        assert listed_with[-1] == "shermer-rotated-key-654321"


async def test_an_admins_submission_gets_a_field_error_in_time_when_slack_cannot_say_who_is_admin():
    async with running_bot(env_credentials=False) as bot:
        view = await open_connect(bot, "U1")
        bot.slack.before_answering["users.info"] = lambda: asyncio.sleep(4)
        began = time.monotonic()
        response = await bot.sender.view_submission(view, state(**{Block.WEDGEHR_TOKEN: "company-token-123"}))
        assert time.monotonic() - began < 2.8
        body = response.json()
        assert body["response_action"] == "errors" and "Try again" in body["errors"][Block.SPARKHIRE_USER_KEY]
        assert await bot.services.db.connections.list_for_team("T0001") == []


async def test_an_admins_submission_keeps_the_form_when_slack_answers_an_error_about_the_user():
    async with running_bot(env_credentials=False) as bot:
        view = await open_connect(bot, "U1")
        bot.slack.fail("users.info", error="fatal_error")
        response = await bot.sender.view_submission(view, state(**{Block.WEDGEHR_TOKEN: "company-token-123"}))
        body = response.json()
        assert body["response_action"] == "errors"
        assert "could not say whether you are a workspace admin" in body["errors"][Block.SPARKHIRE_USER_KEY]
        assert await bot.services.db.connections.list_for_team("T0001") == []


async def subscribed_with_shermers_key_and_acmes_at_hand(bot):
    bot.sparkhire.add_account("acme-key-123456", "Acme Corp")
    await connect_own_key(bot, "shermer-key-123456")
    await subscribe_channel(bot)


def spark_hire_fails_after(bot, request: str, status: int, *, times: int = 1) -> None:
    """Once ``request`` ("METHOD /path") is handled, Spark Hire answers ``status`` to the next ``times``."""

    async def fail() -> None:
        bot.sparkhire.fail_next(status, times=times)

    bot.sparkhire.after_handling[request] = fail


async def test_a_new_key_that_cannot_list_webhooks_says_to_subscribe_again():
    async with running_bot(env_credentials=False) as bot:
        await subscribed_with_shermers_key_and_acmes_at_hand(bot)
        spark_hire_fails_after(bot, "GET /me", 503, times=10)  # the key check passes, then nothing does
        reply = await connect_own_key(bot, "acme-key-123456")
        assert "Run `/interview subscribe`" in reply.text


async def test_when_the_new_account_refuses_the_webhook_the_old_one_goes_and_subscribe_repairs_it():
    async with running_bot(env_credentials=False) as bot:
        await subscribed_with_shermers_key_and_acmes_at_hand(bot)
        spark_hire_fails_after(bot, "GET /webhooks", 500)  # the registration that follows the listing
        reply = await connect_own_key(bot, "acme-key-123456")
        assert "did not take this account's webhook" in reply.text
        assert bot.sparkhire.webhooks == {}  # the old one, whose password was replaced, is deleted
        await subscribe_channel(bot)
        (hook,) = bot.sparkhire.webhooks.values()
        assert hook["_company"] == bot.sparkhire.company_of("acme-key-123456")["uuid"]


def env_choice(view) -> str:
    (radio,) = [b for b in view["blocks"] if b.get("block_id") == Block.WEDGEHR_ENV]
    return radio["element"]["initial_option"]["value"]


async def test_a_staging_token_is_named_as_such_and_the_form_keeps_staging_for_the_next_one():
    async with running_bot(env_credentials=False) as bot:
        view = await open_connect(bot, "U1")
        assert env_choice(view) == "production"  # WEDGEHR_ENV, while nothing is stored
        values = state(**{Block.WEDGEHR_TOKEN: "company-token-123"})
        values[Block.WEDGEHR_ENV] = {Action.INPUT: {"type": "radio_buttons", "selected_option": {"value": "staging"}}}
        assert (await bot.sender.view_submission(view, values)).json() == {"response_action": "clear"}
        reply = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
        assert "(staging)" in reply[-1].text

        view = await open_connect(bot, "U1")
        assert env_choice(view) == "staging"
        assert "(staging)" in str(view["blocks"][0])
        # Slack submits the pre-selected option as chosen: a rotated staging token stays on staging.
        values = state(**{Block.WEDGEHR_TOKEN: "company-token-456"})
        values[Block.WEDGEHR_ENV] = {
            Action.INPUT: {"type": "radio_buttons", "selected_option": {"value": env_choice(view)}}
        }
        assert (await bot.sender.view_submission(view, values)).json() == {"response_action": "clear"}
        await bot.slack.wait_for(lambda: len(bot.slack.ephemerals("U1")) > 1)
        assert (await bot.services.db.connections.resolve("T0001", "wedgehr")).environment == "staging"


def disconnect_buttons(view) -> dict[str, str]:
    """The Disconnect buttons of a connect form: the line each sits on -> the connection it names."""
    return {
        b["text"]["text"]: b["accessory"]["value"]
        for b in view["blocks"]
        if b.get("accessory", {}).get("action_id") == Action.DISCONNECT
    }


async def click_disconnect(bot, view, connection_id, user="U1"):
    updates = len(bot.slack.calls_to("views.update"))
    response = await bot.sender.block_action(Action.DISCONNECT, value=connection_id, view=view, user=user, channel=None)
    assert response.status_code == 200
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.update")) > updates)
    updated = bot.slack.views[view["id"]]
    assert_valid_view(updated)
    return updated


async def test_a_member_disconnects_their_own_key_and_falls_back_to_the_workspace_key_with_their_channel():
    async with running_bot() as bot:  # SPARKHIRE_API_KEY: the workspace's key
        bot.sparkhire.add_account("acme-key-123456", "Acme Corp")
        await connect_own_key(bot, "acme-key-123456")
        await subscribe_channel(bot)
        (acme_hook,) = bot.sparkhire.webhooks

        view = await open_connect(bot, "U2")
        buttons = disconnect_buttons(view)
        assert [line for line in buttons if "yours: Company User at Acme Corp" in line]
        (button,) = [b for b in view["blocks"] if b.get("accessory", {}).get("action_id") == Action.DISCONNECT]
        assert button["accessory"]["confirm"]  # asks first
        assert "SPARKHIRE_API_KEY" in str(view["blocks"])  # the workspace's key: no button, and why

        updated = await click_disconnect(bot, view, next(iter(buttons.values())), user="U2")
        shown = str(updated["blocks"])
        assert "Disconnected your Spark Hire account" in shown and "yours: not connected" in shown
        assert not disconnect_buttons(updated)
        own = await bot.services.db.connections.resolve("T0001", "sparkhire", "U2")
        assert own.scope == "workspace"  # invites now use the workspace's key
        (entry,) = await bot.services.db.audit.recent("T0001", action_prefix="connection.removed")
        assert entry.user_id == "U2" and entry.vendor == "sparkhire"

        # The channel follows the workspace's account; the disconnected account's webhook is gone.
        assert acme_hook not in bot.sparkhire.webhooks
        interview = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
        assert await bot.sparkhire.emit("InterviewCompleted", interview, api_key="acme-key-123456") == []
        (delivery,) = await bot.sparkhire.emit("InterviewCompleted", interview)
        assert delivery.status == 200
        await bot.slack.wait_for(lambda: bot.slack.posted("C1"))


async def test_a_disconnect_whose_form_was_closed_meanwhile_is_confirmed_by_message(caplog):
    async with running_bot() as bot:
        bot.sparkhire.add_account("acme-key-123456", "Acme Corp")
        await connect_own_key(bot, "acme-key-123456")
        view = await open_connect(bot, "U2")
        replies = len(bot.slack.ephemerals("U2"))
        del bot.slack.views[view["id"]]  # closed before the refresh: views.update says not_found
        response = await bot.sender.block_action(
            Action.DISCONNECT, value=next(iter(disconnect_buttons(view).values())), view=view, user="U2", channel=None
        )
        assert response.status_code == 200
        (told,) = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U2")[replies:])
        assert "Disconnected your Spark Hire account" in told.text and "refused" not in told.text
        assert (await bot.services.db.connections.resolve("T0001", "sparkhire", "U2")).scope == "workspace"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_disconnect_whose_form_slack_fails_to_refresh_is_confirmed_by_message_not_as_refused():
    async with running_bot() as bot:
        bot.sparkhire.add_account("acme-key-123456", "Acme Corp")
        await connect_own_key(bot, "acme-key-123456")
        view = await open_connect(bot, "U2")
        replies = len(bot.slack.ephemerals("U2"))
        bot.slack.fail("views.update", error="internal_error")  # Slack's hiccup, after the key is deleted
        await bot.sender.block_action(
            Action.DISCONNECT, value=next(iter(disconnect_buttons(view).values())), view=view, user="U2", channel=None
        )
        (told,) = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U2")[replies:] or bot.slack.posted("U2"))
        # The key is gone: "Slack refused the request" would send the user to disconnect it again.
        assert "Disconnected your Spark Hire account" in told.text and "refused" not in told.text
        assert (await bot.services.db.connections.resolve("T0001", "sparkhire", "U2")).scope == "workspace"


async def test_an_admin_disconnects_the_workspace_token_its_subscriptions_pause_and_their_creators_are_told():
    async with running_bot(env_credentials=False) as bot:
        await bot.services.db.connections.upsert_workspace(
            "T0001", "wedgehr", "company-token-123", account_label="WedgeHR company 7", connected_by="U1"
        )
        await bot.sender.command("subscribe wedgehr", user="U2", response_url=bot.slack.response_url("sub"))
        await bot.slack.wait_for(lambda: bot.slack.responses.get("sub"))

        member_view = await open_connect(bot, "U2")
        assert not disconnect_buttons(member_view)
        (connection,) = await bot.services.db.connections.list_for_team("T0001")
        # A member crafting the click is refused, and told so in the form.
        refused = await click_disconnect(bot, member_view, connection.id, user="U2")
        assert "Only workspace admins" in str(refused["blocks"])
        assert await bot.services.db.connections.list_for_team("T0001") == [connection]

        view = await open_connect(bot, "U1")
        (line,) = disconnect_buttons(view)
        assert "WedgeHR company 7" in line
        updated = await click_disconnect(bot, view, connection.id)
        assert "workspace: not connected" in str(updated["blocks"])
        assert await bot.services.db.connections.list_for_team("T0001") == []
        (subscription,) = await bot.services.db.subscriptions.list_for_team("T0001")
        assert subscription.paused and "disconnected" in subscription.paused_reason
        (told,) = await bot.slack.wait_for(lambda: bot.slack.posted("U2"))
        assert "paused the WedgeHR subscription in <#C1>" in told.text and "/interview subscribe" in told.text


async def test_a_disconnect_tells_each_creator_once_for_all_their_channels_and_says_who_could_not_be_told():
    async with running_bot(env_credentials=False) as bot:
        await bot.services.db.connections.upsert_workspace(
            "T0001", "wedgehr", "company-token-123", account_label="WedgeHR company 7", connected_by="U1"
        )
        bot.slack.add_user("U3", name="Cy Coordinator", email="cy@example.com")
        for channel, user in (("C1", "U2"), ("C2", "U2"), ("C3", "U1"), ("C4", "U3")):
            if channel != "C1":
                bot.slack.add_channel(channel, name=channel.lower(), is_member=True)
            await bot.sender.command(
                "subscribe wedgehr", user=user, channel=channel, response_url=bot.slack.response_url(channel)
            )
            await bot.slack.wait_for(lambda c=channel: bot.slack.responses.get(c))
        (connection,) = await bot.services.db.connections.list_for_team("T0001")
        # Cy's direct message is refused.
        bot.slack.fail("chat.postMessage", error="channel_not_found", when=lambda c: c.args.get("channel") == "U3")
        updated = await click_disconnect(bot, await open_connect(bot, "U1"), connection.id)
        said = str(updated["blocks"])
        assert "Paused 4 channel subscription(s)" in said and "I could not tell 1 of their creators" in said
        (told,) = await bot.slack.wait_for(lambda: bot.slack.posted("U2"))
        assert "paused 2 WedgeHR subscriptions in <#C1>, <#C2>" in told.text
        await asyncio.sleep(0.2)
        assert bot.slack.posted("U1") == []  # the admin who clicked reads it in the form


async def test_a_workspace_key_from_the_bots_settings_cannot_be_disconnected_from_slack():
    async with running_bot() as bot:
        await bot.services.resolve_connection("T0001", "wedgehr")  # the copy WEDGEHR_TOKEN gives the workspace
        view = await open_connect(bot, "U1")
        assert not disconnect_buttons(view)
        assert "Set by `WEDGEHR_TOKEN`" in str(view["blocks"])
        (copy,) = await bot.services.db.connections.list_for_team("T0001")
        refused = await click_disconnect(bot, view, copy.id)
        assert "cannot be disconnected here" in str(refused["blocks"])
        assert await bot.services.db.connections.list_for_team("T0001") == [copy]


async def test_an_admins_workspace_key_disconnected_gives_way_to_the_bots_settings():
    async with running_bot() as bot:
        await connect_own_key(bot, "shermer-key-123456")  # a user's key of its own stays untouched
        view = await open_connect(bot, "U1")
        response = await bot.sender.view_submission(view, state(**{Block.SPARKHIRE_WORKSPACE_KEY: "admin-key-1234"}))
        assert response.json() == {"response_action": "clear"}
        await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
        view = await open_connect(bot, "U1")
        (connection_id,) = disconnect_buttons(view).values()
        updated = await click_disconnect(bot, view, connection_id)
        assert "SPARKHIRE_API_KEY from the bot's settings again" in str(updated["blocks"])
        workspace = await bot.services.db.connections.resolve("T0001", "sparkhire")
        assert (
            workspace.id == connection_id.partition(":")[0]
            and workspace.credential.get_secret_value() == "spark-key-0123456789abcdef"
        )
        assert (await bot.services.db.connections.resolve("T0001", "sparkhire", "U2")).scope == "user"


async def test_a_disconnect_click_from_outside_the_form_changes_nothing():
    async with running_bot(env_credentials=False) as bot:
        await connect_own_key(bot, "shermer-key-123456", user="U1")
        (connection,) = await bot.services.db.connections.list_for_team("T0001")
        response = await bot.sender.block_action(Action.DISCONNECT, value=connection.id)  # in a channel message
        assert response.status_code == 200
        await asyncio.sleep(0.3)
        assert await bot.services.db.connections.list_for_team("T0001") == [connection]


async def test_the_form_opens_at_once_while_slack_rate_limits_the_admin_check():
    async with running_bot(env_credentials=False) as bot:
        # slack-sdk waits out the Retry-After: 3 s, when the trigger_id of the command has expired.
        bot.slack.fail("users.info", status=429, error="ratelimited", retry_after=3)
        began = time.monotonic()
        await bot.sender.command("connect", user="U1")
        form = await connect_form(bot, timeout=10)
        (opened,) = bot.slack.calls_to("views.open")
        assert opened.at - began < 1.0
        assert bot.slack.calls.index(opened) < bot.slack.calls.index(bot.slack.calls_to("users.info")[0])
        assert "Loading" in str(opened.args["view"]["blocks"])
        assert len(bot.slack.calls_to("users.info")) == 2  # answered once the wait was over
        assert Block.WEDGEHR_TOKEN in str(form["blocks"])  # the admin's form, in the modal opened in time


async def test_the_form_offers_the_own_key_when_slack_cannot_say_who_is_admin():
    async with running_bot(env_credentials=False) as bot:
        bot.slack.fail("users.info", error="fatal_error")
        form = await open_connect(bot, "U1")
        shown = str(form["blocks"])
        assert Block.WEDGEHR_TOKEN not in shown and Block.SPARKHIRE_USER_KEY in shown
        assert "could not say whether you are a workspace admin" in shown


async def updated(bot, view, updates):
    """``view`` as the first views.update after the submission left it."""
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.update")) > updates, timeout=8)
    (call, *_) = bot.slack.calls_to("views.update")[updates:]
    assert call.args["view_id"] == view["id"]
    return bot.slack.views[view["id"]]


async def submit_slowly_checked_key(bot, key, user="U2"):
    """Submit ``key`` while Spark Hire takes longer to check it than Slack waits for the answer."""
    view = await open_connect(bot, user)
    updates = len(bot.slack.calls_to("views.update"))
    bot.sparkhire.slow_next(2.5)
    began = time.monotonic()
    response = await bot.sender.view_submission(view, state(**{Block.SPARKHIRE_USER_KEY: key}), user=user)
    assert time.monotonic() - began < 2.8  # Slack shows the user an error after 3 s
    body = response.json()
    assert body["response_action"] == "update" and body["view"]["callback_id"] == Callback.WORKING
    assert_valid_view(body["view"])
    return view, updates


async def test_a_key_the_vendor_checks_slowly_is_still_connected():
    async with running_bot(env_credentials=False) as bot:
        view, updates = await submit_slowly_checked_key(bot, "mo-own-key-123456")
        done = await updated(bot, view, updates)
        assert_valid_view(done)
        assert done["title"]["text"] == "Connected"
        assert "Company User at Shermer Staffing" in str(done["blocks"])
        reply = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U2"))
        assert "Company User at Shermer Staffing" in reply[-1].text
        connection = await bot.services.db.connections.resolve("T0001", "sparkhire", "U2")
        assert connection.credential.get_secret_value() == "mo-own-key-123456"
        (entry,) = await bot.services.db.audit.recent("T0001", action_prefix="connection.set")
        assert entry.user_id == "U2"


async def test_a_key_the_vendor_rejects_slowly_shows_the_form_again_with_why():
    async with running_bot(env_credentials=False) as bot:
        view, updates = await submit_slowly_checked_key(bot, "invalid-key-xyz")
        form = await updated(bot, view, updates)
        assert form["callback_id"] == Callback.CONNECT
        assert_valid_view(form)
        assert "Spark Hire rejected this API key" in str(form["blocks"][0])
        (key_input,) = [b for b in form["blocks"] if b.get("block_id") == Block.SPARKHIRE_USER_KEY]
        assert "initial_value" not in key_input["element"]  # a key is never sent back to Slack: typed again
        assert "paste" in str(form["blocks"][0]).lower()
        assert await bot.services.db.connections.list_for_team("T0001") == []


async def test_a_slow_refusal_shows_the_form_again_without_any_typed_key_in_it_or_in_the_debug_log(caplog):
    caplog.set_level(logging.DEBUG)  # slack-sdk logs each views.update body and Slack's answer at DEBUG
    caplog.handler.addFilter(RedactingFilter())  # as every handler has in production (bot/logs.py)
    token, workspace_key = "wedge-typed-token-7777777", "spark-typed-workspace-8888888"
    user_key = "invalid-typed-9999999"  # refused
    async with running_bot(env_credentials=False) as bot:
        view = await open_connect(bot, "U1")
        updates = len(bot.slack.calls_to("views.update"))
        values = state(
            **{Block.WEDGEHR_TOKEN: token, Block.SPARKHIRE_WORKSPACE_KEY: workspace_key},
            **{Block.SPARKHIRE_USER_KEY: user_key},
        )
        values[Block.WEDGEHR_ENV] = {Action.INPUT: {"type": "radio_buttons", "selected_option": {"value": "staging"}}}
        bot.sparkhire.slow_next(2.5)
        response = await bot.sender.view_submission(view, values, user="U1")
        assert response.json()["view"]["callback_id"] == Callback.WORKING
        form = await updated(bot, view, updates)
        assert form["callback_id"] == Callback.CONNECT
        assert_valid_view(form)
        # The refused field is named, with what to do; every key and token field is empty to type again.
        warning = str(form["blocks"][0])
        assert "Your Spark Hire API key" in warning and "Spark Hire rejected this API key" in warning
        inputs = {b["block_id"]: b["element"] for b in form["blocks"] if b.get("type") == "input"}
        for block in (Block.WEDGEHR_TOKEN, Block.SPARKHIRE_WORKSPACE_KEY, Block.SPARKHIRE_USER_KEY):
            assert "initial_value" not in inputs[block]
        assert inputs[Block.WEDGEHR_ENV]["initial_option"]["value"] == "staging"  # a choice is kept
        assert await bot.services.db.connections.list_for_team("T0001") == []
        sent = str([c.args for c in bot.slack.calls_to("views.update")])
    # The log looked at holds what slack-sdk logs of each views.update at DEBUG.
    assert [r for r in caplog.records if r.levelno == logging.DEBUG and "views.update" in r.getMessage()]
    for secret in (token, workspace_key, user_key):
        assert secret not in sent, "a typed key was sent back to Slack"
        assert not [r for r in caplog.records if secret in r.getMessage()], "a typed key is in the log"


async def test_a_slowly_checked_key_is_connected_and_confirmed_though_the_form_was_closed():
    async with running_bot(env_credentials=False) as bot:
        view, _ = await submit_slowly_checked_key(bot, "mo-own-key-123456")
        del bot.slack.views[view["id"]]  # the user closed the working view: views.update says not_found
        reply = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U2"), timeout=8)
        assert "Company User at Shermer Staffing" in reply[-1].text
        assert await bot.services.db.connections.resolve("T0001", "sparkhire", "U2")


async def test_a_key_rejected_slowly_after_the_form_was_closed_is_told_by_message():
    async with running_bot(env_credentials=False) as bot:
        view, _ = await submit_slowly_checked_key(bot, "invalid-key-xyz")
        del bot.slack.views[view["id"]]
        (told,) = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U2"), timeout=8)
        assert "Nothing was connected" in told.text and "Spark Hire rejected this API key" in told.text
        assert Action.OPEN_CONNECT in str(told.blocks)  # the way to paste it again
        assert "invalid-key-xyz" not in told.text
        assert await bot.services.db.connections.list_for_team("T0001") == []


def other_accounts_barista(bot):
    """Spark Hire's ids are an account's own: the account a channel moves to has a Barista of its own.
    (The sandbox lists one set of jobs to every key: the first account's Barista gives way to it.)"""
    (old,) = [j for j in bot.sparkhire.jobs.values() if j["title"] == "Barista"]
    del bot.sparkhire.jobs[old["uuid"]]
    return bot.sparkhire.add_job("Barista")


async def test_a_job_followed_through_a_disconnected_key_is_followed_in_the_account_its_channel_moves_to():
    async with running_bot() as bot:  # SPARKHIRE_API_KEY: the workspace's key, Shermer Staffing's account
        bot.sparkhire.add_account("acme-key-123456", "Acme Corp")
        await connect_own_key(bot, "acme-key-123456")
        key = f"sub-{len(bot.slack.calls)}"
        await bot.sender.command("subscribe sparkhire job:Barista", user="U2", response_url=bot.slack.response_url(key))
        await bot.slack.wait_for(lambda: bot.slack.responses.get(key))
        barista = other_accounts_barista(bot)

        view = await open_connect(bot, "U2")
        updated = await click_disconnect(bot, view, next(iter(disconnect_buttons(view).values())), user="U2")
        assert "now get Spark Hire events through the workspace's connection" in str(updated["blocks"])
        (sub,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
        assert sub.job_id == barista["uuid"] and sub.job_filter == "Barista"
        # The workspace's account's Barista candidates reach the channel, as the form said.
        interview = bot.sparkhire.add_interview(job_uuid=barista["uuid"], name="Bea Brew", email="bea@example.com")
        await bot.sparkhire.emit("InterviewCompleted", bot.sparkhire.set_status(interview["uuid"], "completed"))
        (card,) = await bot.slack.wait_for(lambda: bot.slack.posted("C1"))
        assert "Bea Brew" in card.text


async def test_a_key_of_another_account_without_the_job_follows_it_by_name_and_says_so():
    async with running_bot(env_credentials=False) as bot:
        bot.sparkhire.add_account("acme-key-123456", "Acme Corp")
        await connect_own_key(bot, "shermer-key-123456")
        key = f"sub-{len(bot.slack.calls)}"
        await bot.sender.command("subscribe sparkhire job:Barista", user="U2", response_url=bot.slack.response_url(key))
        await bot.slack.wait_for(lambda: bot.slack.responses.get(key))
        (old,) = [j for j in bot.sparkhire.jobs.values() if j["title"] == "Barista"]
        del bot.sparkhire.jobs[old["uuid"]]  # Acme has no Barista (yet)

        reply = await connect_own_key(bot, "acme-key-123456")
        assert "Subscriptions following `job:Barista` now follow the job by its name" in reply.text
        assert "has no single job of that name" in reply.text
        (barista,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
        assert barista.job_id is None and barista.job_filter == "Barista"
        job = bot.sparkhire.add_job("Barista")  # Acme opens its Barista job: its candidates are posted
        interview = bot.sparkhire.add_interview(job_uuid=job["uuid"], name="Bea Brew", email="bea@example.com")
        interview = bot.sparkhire.set_status(interview["uuid"], "completed")
        await bot.sparkhire.emit("InterviewCompleted", interview, api_key="acme-key-123456")
        await bot.slack.wait_for(lambda: [m for m in bot.slack.posted("C1") if "Bea Brew" in m.text])


async def test_a_wedgehr_environment_the_form_does_not_offer_is_refused_and_nothing_stored():
    # A crafted client can submit any option value: the environment names the WedgeHR servers to use.
    async with running_bot(env_credentials=False) as bot:
        view = await open_connect(bot, "U1")
        values = state(**{Block.WEDGEHR_TOKEN: "company-token-123"})
        forged = {"value": "<!channel> evil"}
        values[Block.WEDGEHR_ENV] = {Action.INPUT: {"type": "radio_buttons", "selected_option": forged}}
        body = (await bot.sender.view_submission(view, values)).json()
        assert body["response_action"] == "errors"
        assert body["errors"][Block.WEDGEHR_ENV] == "Choose Production or Staging."
        assert await bot.services.db.connections.list_for_team("T0001") == []


async def test_disconnect_on_a_form_opened_before_the_key_was_replaced_keeps_the_new_account():
    async with running_bot() as bot:
        bot.sparkhire.add_account("acme-key-123456", "Acme Corp")
        bot.sparkhire.add_account("globex-key-123456", "Globex")
        await connect_own_key(bot, "acme-key-123456")
        old_form = await open_connect(bot, "U2")  # left open; its Disconnect names Acme's key
        await connect_own_key(bot, "globex-key-123456")  # from another form meanwhile

        updated = await click_disconnect(bot, old_form, next(iter(disconnect_buttons(old_form).values())), user="U2")
        shown = str(updated["blocks"])
        assert "nothing was disconnected" in shown and "Globex" in shown
        own = await bot.services.db.connections.resolve("T0001", "sparkhire", "U2")
        assert own.scope == "user" and "Globex" in own.account_label
        # The refreshed form's button names the account connected now, and disconnects it.
        updated = await click_disconnect(bot, updated, next(iter(disconnect_buttons(updated).values())), user="U2")
        assert "Disconnected your Spark Hire account Company User at Globex" in str(updated["blocks"])
