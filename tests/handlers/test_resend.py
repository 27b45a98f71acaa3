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


async def test_a_stale_cards_resend_for_a_candidate_who_completed_since_sends_nothing_and_says_so(bot):
    # The card (or a find result) was posted while the invite was open; the candidate recorded since,
    # and the card still shows "Resend invite" (its channel does not follow completions, say).
    interview = next(iter(bot.wedgehr.interviews.values()))
    invite = bot.wedgehr.add_invite(interview_id=interview["id"], email="dee@example.com")
    bot.wedgehr.complete_invite(invite["id"])
    wedge_id = invite["_wedgeId"]
    await bot.sender.block_action(Action.RESEND_WEDGE, value=str(wedge_id), response_url=bot.slack.response_url("r"))
    (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("r"))
    # Was: "Invite resent to dee@example.com", an invitation emailed to someone who had recorded.
    assert bot.wedgehr.resends == {}
    assert told["text"] == "dee@example.com already completed Movers: there is no invite to resend."
    assert told["response_type"] == "ephemeral" and told["replace_original"] is False
    assert (Action.OPEN_RESULT, invite["resultUrl"]) in [
        (e["action_id"], e.get("url")) for b in told["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
