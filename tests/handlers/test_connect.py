import sqlalchemy as sa

from blocks.ids import Action, Block, Callback
from bot.storage import schema
from tests.support.blockkit import assert_valid_view
from tests.support.harness import running_bot


def state(**fields):
    return {block: {Action.INPUT: {"type": "plain_text_input", "value": value}} for block, value in fields.items()}


async def open_connect(bot, user="U1"):
    opened = len(bot.slack.calls_to("views.open"))
    await bot.sender.command("connect", user=user)
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.open")) > opened)
    view = list(bot.slack.views.values())[-1]
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
        assert (
            "Reconnect" in body["errors"][Block.SPARKHIRE_USER_KEY]
            or "rejected" in body["errors"][Block.SPARKHIRE_USER_KEY]
        )
        assert "invalid-key-xyz" not in str(body)
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
        connection = await bot.services.db.connections.resolve("T0001", "wedgehr")
        assert connection.environment == "staging" and "WedgeHR company" in connection.account_label


async def test_reconnect_button_from_an_error_opens_the_modal():
    async with running_bot(env_credentials=False) as bot:
        await bot.sender.block_action(Action.OPEN_CONNECT, value="sparkhire")
        await bot.slack.wait_for(lambda: bot.slack.calls_to("views.open"))
        assert bot.slack.calls_to("views.open")[-1].args["view"]["callback_id"] == Callback.CONNECT
