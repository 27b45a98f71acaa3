"""How answers reach the user: a response_url Slack refuses, a form Slack no longer opens."""

import logging

from tests.support.blockkit import assert_valid_blocks


def logged_by_handlers(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("handlers")]


async def test_an_expired_response_url_still_gets_the_answer_to_the_user_as_an_ephemeral(bot, caplog):
    url = bot.slack.response_url("gone")
    bot.slack.expire_response_url("gone")
    await bot.sender.command("find ann@example.com", response_url=url)
    told = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
    assert told[-1].channel == "C1" and "interview(s) for ann@example.com" in told[-1].text
    assert_valid_blocks(told[-1].blocks)
    assert bot.slack.refused_responses["gone"], "the response_url was not tried first"
    warned = [r for r in logged_by_handlers(caplog) if "response_url" in r.getMessage()]
    assert [r.levelno for r in warned] == [logging.WARNING]
    assert "expired_url" in warned[0].getMessage()
    assert not any(url in r.getMessage() for r in logged_by_handlers(caplog))  # the URL is a credential


async def test_when_neither_the_response_url_nor_an_ephemeral_works_the_answer_comes_by_direct_message(bot):
    bot.slack.expire_response_url("gone")
    bot.slack.fail("chat.postEphemeral", error="channel_not_found")
    await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url("gone"))
    told = await bot.slack.wait_for(lambda: bot.slack.posted("U1"))
    assert "interview(s) for ann@example.com" in told[-1].text


async def test_a_form_slack_no_longer_opens_asks_to_run_the_command_again_and_logs_no_traceback(bot, caplog):
    bot.slack.fail("views.open", error="expired_trigger_id")
    await bot.sender.command("connect", response_url=bot.slack.response_url("c"))
    told = (await bot.slack.wait_for(lambda: bot.slack.responses.get("c")))[-1]
    assert_valid_blocks(told["blocks"])
    assert "took too long for Slack" in told["text"] and "Run the command" in told["text"]
    assert "expired_trigger_id" not in told["text"]
    logged = [r for r in logged_by_handlers(caplog) if r.levelno >= logging.WARNING]
    assert [(r.levelno, r.exc_info) for r in logged] == [(logging.WARNING, None)]
    assert "trigger_id had expired" in logged[0].getMessage()


async def test_a_slack_rate_limit_past_its_retries_says_when_to_try_again_not_refused(bot):
    # slack-sdk waits out three 429s; a fourth is the user's to wait out, and they are told how long.
    bot.slack.fail("views.open", status=429, error="ratelimited", retry_after=0, times=4)
    await bot.sender.command("connect", response_url=bot.slack.response_url("c"))
    told = (await bot.slack.wait_for(lambda: bot.slack.responses.get("c"), timeout=10))[-1]
    assert_valid_blocks(told["blocks"])
    assert "Slack is limiting how fast the app may call it (rate limited). Try again in a minute." in told["text"]
    assert "Slack refused the request" not in told["text"]
