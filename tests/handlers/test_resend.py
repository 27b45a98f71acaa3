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


def resend_buttons(message) -> list[tuple[str, dict]]:
    """(block_id, button) of each Resend button, as Slack sends the block_id of the one clicked."""
    found = []
    for block in message["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id") == Action.RESEND_WEDGE:
                found.append((block.get("block_id", ""), element))
    return found


async def test_resend_from_a_find_list_answers_beside_the_list_and_keeps_it(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com")
    await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url("f"))
    (found,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("f"))
    ((block_id, button),) = resend_buttons(found)
    await bot.sender.block_action(
        Action.RESEND_WEDGE,
        value=button["value"],
        block_id=block_id,
        ephemeral=True,
        response_url=bot.slack.response_url("r"),
    )
    (done,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("r"))
    assert done["text"] == "Invite resent to ann@example.com for Movers."
    # Was: the answer replaced the whole find list (Ann's Spark Hire interview and its buttons too).
    assert done["replace_original"] is False

    # resend's own prompt, which asked only this, still gives way to the answer.
    other = bot.wedgehr.add_invite(interview_id=interview["id"], email="bo@example.com")
    await bot.sender.command("resend bo@example.com", response_url=bot.slack.response_url("p"))
    (prompt,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("p"))
    ((block_id, button),) = resend_buttons(prompt)
    assert button["value"] == str(other["_wedgeId"])
    await bot.sender.block_action(
        Action.RESEND_WEDGE,
        value=button["value"],
        block_id=block_id,
        ephemeral=True,
        response_url=bot.slack.response_url("p2"),
    )
    (done,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("p2"))
    assert done["text"] == "Invite resent to bo@example.com for Movers." and done["replace_original"] is True


async def test_a_resend_with_wedgehr_slow_says_so_at_once_then_that_it_was_sent(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    wedge_id = bot.wedgehr.add_invite(interview_id=interview["id"], email="dee@example.com")["_wedgeId"]
    bot.wedgehr.latency_seconds = 3
    await bot.sender.block_action(Action.RESEND_WEDGE, value=str(wedge_id), response_url=bot.slack.response_url("r"))
    (waiting,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("r"), timeout=5)
    assert waiting["text"] == "WedgeHR is slow to answer; whether the invite was resent follows here."
    final = await bot.slack.wait_for(lambda: len(bot.slack.responses["r"]) > 1 and bot.slack.responses["r"], timeout=15)
    assert final[1]["text"] == "Invite resent to dee@example.com for Movers." and bot.wedgehr.resends == {wedge_id: 1}
