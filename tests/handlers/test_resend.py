"""The Resend buttons (a channel's card, find's results, resend's own prompt)."""

from blocks.ids import Action


async def test_a_resend_button_for_an_invite_deleted_at_wedgehr_says_so_plainly(bot):
    await bot.sender.block_action(
        Action.RESEND_WEDGE, value="4017600317622123", response_url=bot.slack.response_url("gone")
    )
    (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("gone"))
    # Was "WedgeHR: Not found. (WedgeHR said: Wedge not found)".
    assert told["text"].startswith("WedgeHR no longer has this invite (wedge 4017600317622123)")
    assert "/interview resend &lt;email&gt;" in told["text"] and told["response_type"] == "ephemeral"
    assert bot.wedgehr.resends == {}
