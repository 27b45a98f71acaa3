"""Payloads no flow claims: acknowledged, and a button that no longer does anything says so."""

import asyncio

from tests.support.blockkit import assert_valid_blocks


async def test_a_button_of_an_older_release_tells_the_clicker_it_no_longer_works(bot):
    # A card posted by a release whose action id was renamed since: Slack shows nothing for a click,
    # so silence looked like a button that did not take.
    response = await bot.sender.block_action(
        "resend_invite_v0", value="123", response_url=bot.slack.response_url("old")
    )
    assert response.status_code == 200
    (answer,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("old"), timeout=10)
    assert "no longer does anything" in answer["text"] and "/interview help" in answer["text"]
    assert answer.get("response_type", "ephemeral") == "ephemeral" and not answer.get("replace_original")
    assert_valid_blocks(answer.get("blocks") or [])


async def test_an_unclaimed_select_in_a_form_is_acknowledged_without_a_message(bot):
    view = {"id": "V1", "callback_id": "some_form", "type": "modal"}
    response = await bot.sender.block_action(
        "a_select", channel=None, view=view, response_url=bot.slack.response_url("form")
    )
    assert response.status_code == 200
    await asyncio.sleep(0.3)
    assert not bot.slack.responses.get("form") and not bot.slack.ephemerals("U1")
