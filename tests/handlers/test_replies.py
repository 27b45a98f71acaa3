"""How answers reach the user: a response_url Slack refuses, a form Slack no longer opens."""

import asyncio
import logging

import pytest

from blocks.ids import Block
from tests.handlers.test_invite import values, wedgehr_values
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


async def test_share_with_both_platforms_busy_says_so_once_each_and_answers_within_the_five_posts(bot, monkeypatch):
    """Spark Hire busy at the search and again at the link, WedgeHR busy once: the recruiter hears
    once per platform (not twice of Spark Hire, which also spent a sixth post of the response_url,
    Slack's limit being five, and sent the last answer another way)."""
    monkeypatch.setattr("handlers.common.BUSY_NOTICE_AFTER_SECONDS", 0.0)  # real waits are 3 s and more
    monkeypatch.setattr("bot.candidates.SPARKHIRE_SCAN_LIMIT", 2)  # the scan is cut short: one more note
    job = next(iter(bot.sparkhire.jobs.values()))
    for name, email in (("Sam Again", "sam@example.com"), ("Other One", "o1@x.io"), ("Other Two", "o2@x.io")):
        done = bot.sparkhire.set_status(
            bot.sparkhire.add_interview(job_uuid=job["uuid"], name=name, email=email)["uuid"], "completed"
        )
        if email == "sam@example.com":
            done["updated_at"] = "2030-01-01T00:00:00+00:00"  # the newest: the first one scanned
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.add_invite(interview_id=interview["id"], email="sam@example.com", first_name="Sam")
    busy = {"Retry-After": "0"}
    bot.sparkhire.fail_next(429, headers=busy, when=lambda r: r.path.endswith("/interviews"))
    bot.sparkhire.fail_next(429, headers=busy, when=lambda r: "/interviews/" in r.path)
    bot.wedgehr.fail_next(429, headers=busy)
    await bot.sender.command("share sam@example.com", response_url=bot.slack.response_url("s"))
    answers = lambda: [r["text"] for r in bot.slack.responses["s"]] + [m.text for m in bot.slack.ephemerals()]  # noqa: E731
    await bot.slack.wait_for(lambda: any(text.startswith("Sam has not") for text in answers()))
    await asyncio.sleep(0.3)  # anything else would have been sent by now
    said = [r["text"] for r in bot.slack.responses["s"]]
    assert [text.split(" is busy")[0] for text in said if " is busy (rate limited)" in text] == [
        "Spark Hire",
        "WedgeHR",
    ]
    assert len(said) == 5 and not bot.slack.refused_responses["s"] and not bot.slack.ephemerals()
    assert any("http://hire.li/" in text for text in said)
    assert any("2 most recently updated completed interviews only" in text for text in said)
    assert said[-1].startswith("Sam has not completed the WedgeHR interview")
    assert all(r["response_type"] == "ephemeral" for r in bot.slack.responses["s"])


@pytest.mark.parametrize(
    ("channel", "after_opening", "refused"),
    [
        # Slack runs a command in a private channel the app is not in, but does not show it the channel.
        ("G1", lambda slack: None, "channel_not_found"),
        # The recruiter left the channel while the form was open.
        ("C1", lambda slack: slack.members.update(C1=["U2"]), "user_not_in_channel"),
    ],
)
async def test_an_invite_confirmed_where_slack_takes_no_ephemeral_comes_by_direct_message(
    bot, channel, after_opening, refused
):
    bot.slack.add_channel("G1", name="secret-hiring", is_private=True)
    response = await bot.sender.command("invite ann@example.com", channel=channel)
    assert response.status_code == 200
    choice = await bot.slack.wait_for(lambda: list(bot.slack.views.values()))
    modal = (
        await bot.sender.view_submission(
            choice[-1],
            values(**{Block.VENDOR: (None, {"type": "radio_buttons", "selected_option": {"value": "wedgehr"}})}),
        )
    ).json()["view"]
    after_opening(bot.slack)
    interview = next(iter(bot.wedgehr.interviews.values()))
    response = await bot.sender.view_submission({**modal, "id": choice[-1]["id"]}, wedgehr_values(interview))
    assert response.json() == {"response_action": "clear"}
    (confirmation,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"))
    assert "Invited Ann Lee (ann@example.com)" in str(confirmation.blocks)
    assert_valid_blocks(confirmation.blocks)
    assert not bot.slack.ephemerals("U1")
    tried = bot.slack.calls_to("chat.postEphemeral")
    assert [c.args["channel"] for c in tried] == [channel], f"the ephemeral ({refused}) was not tried first"


async def test_a_form_opened_after_its_trigger_expired_asks_to_run_the_command_again(bot):
    # The request reached Slack after the 3 s a trigger_id lives (the fake's lifetime, shortened).
    bot.slack.trigger_lifetime = 0.05
    bot.slack.before_answering["views.open"] = lambda: asyncio.sleep(0.1)
    await bot.sender.command("connect", response_url=bot.slack.response_url("c"))
    told = (await bot.slack.wait_for(lambda: bot.slack.responses.get("c")))[-1]
    assert_valid_blocks(told["blocks"])
    assert "took too long for Slack" in told["text"] and "Run the command" in told["text"]
    assert not bot.slack.views
