"""`/interview find <email>` (more in tests/handlers/test_lookup.py)."""


async def test_find_with_a_name_says_it_looks_up_by_email_address_and_asks_no_vendor(bot):
    response = await bot.sender.command("find Ann Lee", response_url=bot.slack.response_url("f"))
    said = response.json()
    # Was only "Tell me whose interviews to find": the recruiter did, by name, and was not told why not.
    assert said["response_type"] == "ephemeral"
    assert said["text"].startswith("I look candidates up by email address, and “Ann Lee” is not one")
    assert "`/interview find ann@example.com`" in said["text"]
    assert not bot.wedgehr.requests and not bot.sparkhire.requests
    # With nothing typed, the plain usage.
    response = await bot.sender.command("find")
    assert response.json()["text"] == "Tell me whose interviews to find: `/interview find ann@example.com`."


async def test_find_shows_one_platforms_results_at_once_when_the_other_is_slow_then_the_whole_answer(bot):
    import time

    from blocks.ids import Action
    from tests.support.blockkit import assert_valid_blocks

    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
    bot.wedgehr.latency_seconds = 9  # WedgeHR hangs a while (it answers, late)
    started = time.monotonic()
    await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url("f"))
    # Was: nothing but the ack's "Looking up…" until WedgeHR answered (a minute when it times out).
    (first,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("f"), timeout=8)
    assert time.monotonic() - started < 8
    assert_valid_blocks(first["blocks"])
    assert first["response_type"] == "ephemeral"
    assert first["text"] == (
        "1 interview(s) for ann@example.com on Spark Hire so far (WedgeHR is slow to answer; the full answer follows)"
    )
    assert Action.SHARE_INTERVIEW in str(first["blocks"]) and Action.RESEND_WEDGE not in str(first["blocks"])
    # Then the whole answer, both platforms', as when both answer in time.
    final = await bot.slack.wait_for(lambda: len(bot.slack.responses["f"]) > 1 and bot.slack.responses["f"], timeout=15)
    assert len(final) == 2 and final[1]["text"] == "2 interview(s) for ann@example.com"
    assert Action.SHARE_INTERVIEW in str(final[1]["blocks"]) and Action.RESEND_WEDGE in str(final[1]["blocks"])


async def test_find_says_nothing_found_so_far_on_the_platform_that_answered_while_the_other_is_slow(bot):
    bot.sparkhire.latency_seconds = 9
    await bot.sender.command("find nobody@example.com", response_url=bot.slack.response_url("f"))
    (first,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("f"), timeout=8)
    assert first["text"] == (
        "No interviews found for nobody@example.com on WedgeHR so far (Spark Hire is slow to answer;"
        " the full answer follows)"
    )
    final = await bot.slack.wait_for(lambda: len(bot.slack.responses["f"]) > 1 and bot.slack.responses["f"], timeout=15)
    assert final[1]["text"] == "No interviews found for nobody@example.com on the connected platforms."
