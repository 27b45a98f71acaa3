"""What a recruiter is told when a vendor fails a click (handlers/common.py: user_message_for)."""

import pytest

from blocks.ids import Action


@pytest.mark.parametrize("vendor", ["wedgehr", "sparkhire"])
async def test_a_vendor_that_keeps_rate_limiting_without_saying_how_long_is_said_with_what_to_do(bot, vendor):
    interview = next(iter(bot.wedgehr.interviews.values()))
    wedge_id = bot.wedgehr.add_invite(interview_id=interview["id"], email="dee@example.com")["_wedgeId"]
    uuid = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")["uuid"]
    busy = bot.wedgehr if vendor == "wedgehr" else bot.sparkhire
    busy.fail_next(429, times=100)  # no Retry-After (Spark Hire: the header "may not always be present")
    action, value = (Action.RESEND_WEDGE, str(wedge_id)) if vendor == "wedgehr" else (Action.SHARE_INTERVIEW, uuid)
    await bot.sender.block_action(action, value=value, response_url=bot.slack.response_url("busy"))
    # (A "slow to answer" notice may come first, while the bot backs off and asks again.)
    told = await bot.slack.wait_for(
        lambda: [r for r in bot.slack.responses.get("busy", []) if "busy right now" in r["text"]], timeout=60
    )
    # Was "Spark Hire is busy right now (rate limited)." and no more: retry now, later, or never?
    assert told[-1]["text"].endswith("is busy right now (rate limited). Try again in a minute.")
    assert bot.wedgehr.resends == {} and not bot.sparkhire.share_links
