"""find, resend and share."""

import asyncio
import base64
import re
import time
import unicodedata
import uuid as uuidlib
from email.utils import formatdate

import pytest

from blocks import share
from blocks.ids import Action, Block
from bot.candidates import SPARKHIRE_SCAN_LIMIT
from tests.support.blockkit import assert_valid_blocks, assert_valid_view
from tests.support.harness import SPARKHIRE_KEY, WEDGEHR_TOKEN, running_bot


async def replies(bot, key):
    return await bot.slack.wait_for(lambda: bot.slack.responses.get(key))


async def test_find_shows_both_vendors_with_actions(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
    await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url("find"))
    final = (
        await bot.slack.wait_for(
            lambda: [r for r in bot.slack.responses.get("find", []) if "blocks" in r and "interview(s)" in str(r)]
        )
    )[-1]
    assert_valid_blocks(final["blocks"])
    text = str(final["blocks"])
    assert "WedgeHR" in text and "Spark Hire" in text
    assert "★★★★★ 4.5" in text  # the seeded completed interview is rated 4.5
    assert Action.RESEND_WEDGE in text and Action.SHARE_INTERVIEW in text and Action.WATCH in text


async def test_find_with_a_rejected_spark_hire_key_says_so_and_offers_the_reconnect_button(bot):
    bot.sparkhire.fail_next(401, body={"reason": "Invalid API key", "code": "api.key_invalid"})
    await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url("find"))
    final = (await bot.slack.wait_for(lambda: [r for r in bot.slack.responses.get("find", []) if "blocks" in r]))[-1]
    assert_valid_blocks(final["blocks"])
    assert final["text"] == "No interviews found for ann@example.com on WedgeHR; Spark Hire could not be searched."
    shown = str(final["blocks"])
    assert "on the connected platforms" not in shown
    assert "Spark Hire: The API key or token was rejected" in shown
    reconnect = [e for b in final["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(e["action_id"], e.get("value")) for e in reconnect] == [(Action.OPEN_CONNECT, "sparkhire")]


async def test_find_shows_wedgehr_matches_and_says_spark_hire_could_not_be_searched(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
    bot.sparkhire.fail_next(403, body={"reason": "Forbidden", "code": "api.forbidden"})
    await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url("find"))
    final = (await bot.slack.wait_for(lambda: [r for r in bot.slack.responses.get("find", []) if "blocks" in r]))[-1]
    assert_valid_blocks(final["blocks"])
    assert final["text"] == "1 interview(s) for ann@example.com (Spark Hire could not be searched)"
    assert Action.RESEND_WEDGE in str(final["blocks"]) and "Ask an account admin" in str(final["blocks"])
    assert Action.OPEN_CONNECT not in str(final["blocks"])  # a 403 is not fixed by reconnecting


async def test_find_shows_spark_hire_matches_and_says_wedgehr_could_not_be_searched(bot):
    bot.wedgehr.fail_next(401, times=5, body={"message": "Unauthenticated."})
    await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url("find"))
    final = (await bot.slack.wait_for(lambda: [r for r in bot.slack.responses.get("find", []) if "blocks" in r]))[-1]
    assert_valid_blocks(final["blocks"])
    assert final["text"] == "1 interview(s) for ann@example.com (WedgeHR could not be searched)"
    shown = str(final["blocks"])
    assert Action.SHARE_INTERVIEW in shown and "WedgeHR: The API key or token was rejected" in shown
    assert (Action.OPEN_CONNECT, "wedgehr") in buttons(final)


def buttons(message) -> list[tuple[str, str | None]]:
    return [
        (e["action_id"], e.get("value")) for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]


async def test_find_and_share_with_nothing_connected_say_no_platform_is_and_offer_to_connect_one():
    async with running_bot(env_credentials=False) as bot:
        for command, key in (("find ann@example.com", "f"), ("share ann@example.com", "s")):
            await bot.sender.command(command, response_url=bot.slack.response_url(key))
            (told,) = await replies(bot, key)
            assert_valid_blocks(told["blocks"])
            # Not "Spark Hire is not connected": a WedgeHR-only team needs to hear about WedgeHR too.
            assert told["text"].startswith("Neither WedgeHR nor Spark Hire is connected yet, so I cannot ")
            assert buttons(told) == [(Action.OPEN_CONNECT, None)]  # the modal offers every vendor
        assert not bot.wedgehr.requests and not bot.sparkhire.requests


async def test_find_with_only_wedgehr_connected_searches_wedgehr():
    async with running_bot(env_credentials=False) as bot:
        await bot.services.db.connections.upsert_workspace(
            "T0001", "wedgehr", WEDGEHR_TOKEN, account_label="Acme", connected_by="U1"
        )
        interview = next(iter(bot.wedgehr.interviews.values()))
        bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
        await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url("f"))
        (told,) = await replies(bot, "f")
        assert_valid_blocks(told["blocks"])
        assert told["text"] == "1 interview(s) for ann@example.com"
        assert Action.RESEND_WEDGE in str(told["blocks"]) and not bot.sparkhire.requests


async def test_share_lists_every_wedgehr_interview_of_the_candidate_in_one_message_by_name(bot):
    for number in range(12):
        interview = bot.wedgehr.add_interview(f"Night shift {number:02d}")
        bot.wedgehr.add_invite(interview_id=interview["id"], email="many@example.com")
    done = bot.wedgehr.add_invite(interview_id=bot.wedgehr.add_interview("Day shift")["id"], email="many@example.com")
    bot.wedgehr.complete_invite(done["id"])
    await bot.sender.command("share many@example.com", response_url=bot.slack.response_url("s"))
    await replies(bot, "s")
    await asyncio.sleep(0.5)  # anything else would have been sent by now
    # Slack takes 5 posts per response_url: thirteen would lose eight.
    (told,) = bot.slack.responses["s"]
    assert_valid_blocks(told["blocks"])
    assert told["text"] == "WedgeHR results for many@example.com: 1 of 13 interviews completed."
    lines = "\n".join(b["text"]["text"] for b in told["blocks"][1:])
    assert lines.startswith(":link: *Day shift*: <https://app.wedgehr.com/results/")
    assert all(f"*Night shift {number:02d}*: invited, no result to share yet" in lines for number in range(12))


def interview_pages_read(bot) -> int:
    return sum(1 for r in bot.sparkhire.requests if r.path == "/interviews")


async def test_find_says_when_spark_hire_is_busy_and_retrying_then_answers(bot):
    bot.sparkhire.fail_next(429, headers={"Retry-After": "3"})
    await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url("find"))
    told = await bot.slack.wait_for(lambda: bot.slack.responses.get("find"), timeout=2)
    # Told within a moment, not after the wait: the ack's "Looking up…" is all the user had.
    assert told[0]["text"] == "Spark Hire is busy (rate limited); retrying in 3 s… The answer will follow here."
    assert_valid_blocks(told[0]["blocks"])
    final = await bot.slack.wait_for(
        lambda: len(bot.slack.responses["find"]) > 1 and bot.slack.responses["find"], timeout=10
    )
    assert final[1]["text"].startswith("1 interview(s) for ann@example.com") and "★★★★★ 4.5" in str(final[1]["blocks"])
    assert len(final) == 2


async def test_find_stops_waiting_on_a_busy_vendor_after_a_bound_and_shows_the_rest(bot, monkeypatch):
    monkeypatch.setattr("handlers.common.BUSY_WAIT_BUDGET_SECONDS", 5.0, raising=False)
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
    bot.sparkhire.fail_next(429, headers={"Retry-After": "3"}, times=10)
    await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url("find"))
    final = await bot.slack.wait_for(
        lambda: len(bot.slack.responses["find"]) > 1 and bot.slack.responses["find"], timeout=10
    )
    busy, answer = final
    assert busy["text"].startswith("Spark Hire is busy (rate limited); retrying in 3 s")
    # 3 s waited, and 3 more would pass the bound: given up after one retry, not three.
    assert interview_pages_read(bot) == 2
    assert answer["text"] == "1 interview(s) for ann@example.com (Spark Hire could not be searched)"
    assert "Spark Hire is busy right now (rate limited). Try again in about 3 seconds." in str(answer["blocks"])
    assert Action.RESEND_WEDGE in str(answer["blocks"])


@pytest.mark.parametrize("vendor", ["WedgeHR", "Spark Hire"])
async def test_find_on_a_busy_vendor_whose_retry_after_is_a_date_says_how_long_to_wait(bot, vendor):
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
    busy = bot.wedgehr if vendor == "WedgeHR" else bot.sparkhire
    # Retry-After as an HTTP-date (RFC 9110), two minutes after the answer's own Date.
    busy.fail_next(429, headers={"Retry-After": formatdate(time.time() + 120, usegmt=True)}, times=10)
    asked = len(busy.requests)
    await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url("find"))
    (answer,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("find"), timeout=10)
    said = re.search(rf"{vendor} is busy right now \(rate limited\)\. Try again in about (\d+) seconds\.", str(answer))
    assert said and 115 <= int(said[1]) <= 121  # the answer's Date is in whole seconds
    assert len(busy.requests) - asked == 1  # longer than the bot waits: not asked again meanwhile


async def test_find_without_email_explains(bot):
    response = await bot.sender.command("find")
    assert "/interview find ann@example.com" in response.json()["text"]


async def test_resend_one_match_confirms_then_resends(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.add_invite(interview_id=interview["id"], email="bo@example.com")
    await bot.sender.command("resend bo@example.com", response_url=bot.slack.response_url("rs"))
    offer = (await replies(bot, "rs"))[-1]
    assert_valid_blocks(offer["blocks"])
    assert "Current invite status: invited" in str(offer["blocks"])
    block, button = next((b, e) for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == Action.RESEND_WEDGE
    assert "Email bo@example.com the invitation" in button["confirm"]["text"]["text"]
    await bot.sender.block_action(
        Action.RESEND_WEDGE,
        value=button["value"],
        block_id=block["block_id"],
        response_url=bot.slack.response_url("rs2"),
        ephemeral=True,
    )
    done = (await replies(bot, "rs2"))[-1]
    # The prompt was the user's own ephemeral message: the answer takes its place.
    assert "Invite resent to bo@example.com" in done["text"] and done["replace_original"] is True
    assert bot.wedgehr.resends[int(button["value"])] == 1


async def test_resend_from_a_channel_card_answers_privately_and_a_second_click_sends_nothing(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    invite = bot.wedgehr.add_invite(interview_id=interview["id"], email="dee@example.com")
    wedge_id = str(invite["_wedgeId"])
    # A card in #hiring, clicked twice in a row (a double click), then by a colleague.
    for key, user in (("first", "U1"), ("second", "U1"), ("colleague", "U2")):
        await bot.sender.block_action(
            Action.RESEND_WEDGE, value=wedge_id, user=user, response_url=bot.slack.response_url(key)
        )
        await replies(bot, key)
    answers = {key: bot.slack.responses[key][-1] for key in ("first", "second", "colleague")}
    assert bot.wedgehr.resends[int(wedge_id)] == 1
    assert "Invite resent to dee@example.com" in answers["first"]["text"]
    for key in ("second", "colleague"):
        assert "was resent 0 s ago, so I did not send it again" in answers[key]["text"]
        assert "<@U1>" in str(answers[key]["blocks"])
    # The card is everyone's: the answers are new ephemeral messages, never a replacement of it.
    assert all(a["replace_original"] is False and a["response_type"] == "ephemeral" for a in answers.values())


async def test_resend_of_a_completed_interview_offers_no_button(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    invite = bot.wedgehr.add_invite(interview_id=interview["id"], email="eve@example.com")
    bot.wedgehr.complete_invite(invite["id"])
    await bot.sender.command("resend eve@example.com", response_url=bot.slack.response_url("done"))
    answer = (await replies(bot, "done"))[-1]
    assert "already completed" in answer["text"] and Action.RESEND_WEDGE not in str(answer["blocks"])


async def test_resend_several_matches_offers_a_choice(bot):
    first, second = list(bot.wedgehr.interviews.values())[:2]
    bot.wedgehr.add_invite(interview_id=first["id"], email="cy@example.com")
    bot.wedgehr.add_invite(interview_id=second["id"], email="cy@example.com")
    await bot.sender.command("resend cy@example.com", response_url=bot.slack.response_url("c"))
    offer = (await replies(bot, "c"))[-1]
    assert "2* WedgeHR interviews match" in str(offer["blocks"])
    assert sum(1 for b in offer["blocks"] if b.get("accessory", {}).get("action_id") == Action.RESEND_WEDGE) == 2


async def test_resend_not_found_is_said_plainly(bot):
    await bot.sender.command("resend nobody@example.com", response_url=bot.slack.response_url("n"))
    assert "No WedgeHR interview found for nobody@example.com" in (await replies(bot, "n"))[-1]["text"]


async def test_resend_of_something_that_is_neither_an_address_nor_a_wedge_id_explains_and_asks_nothing(bot):
    # Arabic-Indic digits, zero, and addresses missing a part: WedgeHR was asked, then "No interview found".
    for typed in ("foo@", "@bar", "\u0661\u0662\u0663", "0", "00"):
        response = await bot.sender.command(f"resend {typed}", response_url=bot.slack.response_url(typed))
        assert response.json()["text"].startswith("Tell me whose invite to resend"), typed
    # A well-formed one afterwards, answered in full: by then the others would have asked WedgeHR too.
    await bot.sender.command("resend nobody@example.com", response_url=bot.slack.response_url("ok"))
    assert "No WedgeHR interview found for nobody@example.com" in (await replies(bot, "ok"))[-1]["text"]
    await asyncio.sleep(0.3)
    asked = [r for r in bot.wedgehr.requests if "nobody@example.com" not in r.query.values()]
    assert asked == [] and not any(typed in bot.slack.responses for typed in ("foo@", "@bar", "0", "00"))


async def test_a_resend_button_with_a_value_that_is_no_wedge_id_says_so_and_asks_nothing(bot):
    # The button took what int() reads ("0", Arabic-Indic digits) and asked WedgeHR for it.
    for value in ("0", "\u0661\u0662\u0663"):
        await bot.sender.block_action(Action.RESEND_WEDGE, value=value, response_url=bot.slack.response_url(value))
        assert "does not carry a WedgeHR wedge id" in (await replies(bot, value))[-1]["text"]
    assert bot.wedgehr.requests == []


async def test_share_completed_interview_creates_link_and_can_deactivate(bot):
    ack = await bot.sender.command("share ann@example.com", response_url=bot.slack.response_url("s"))
    assert ack.json()["text"] == "Looking up ann@example.com…"  # said at once: the scan can take a while
    message = (await replies(bot, "s"))[-1]
    assert_valid_blocks(message["blocks"])
    assert "http://hire.li/" in message["text"]
    done = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
    link = bot.sparkhire.share_links[done["uuid"]]
    deactivate = next(
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == Action.SHARE_DEACTIVATE
    )
    await bot.sender.block_action(
        Action.SHARE_DEACTIVATE, value=deactivate["value"], response_url=bot.slack.response_url("d")
    )
    assert "deactivated" in (await replies(bot, "d"))[-1]["text"]
    assert link["status"] == "inactive"
    # Sharing again re-activates the same link rather than failing.
    ack = await bot.sender.command(f"share {done['uuid']}", response_url=bot.slack.response_url("s2"))
    assert ack.json()["text"] == f"Making a share link for interview {done['uuid']}…"
    await replies(bot, "s2")
    assert link["status"] == "active"


async def test_a_cards_share_button_clicked_by_someone_whose_own_key_is_of_another_account_still_shares_it(bot):
    from tests.bot.notify.test_subscriptions import subscribe

    await subscribe(bot)  # #C1 follows the workspace's Spark Hire account
    done = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
    bot.sparkhire.keep_to(done["uuid"], SPARKHIRE_KEY)
    bot.sparkhire.add_account("key-of-another-account-0001", "Other Co")
    await bot.services.db.connections.upsert_user(
        "T0001", "U2", "sparkhire", "key-of-another-account-0001", account_label="Other Co"
    )
    await bot.sender.block_action(
        Action.SHARE_INTERVIEW, value=done["uuid"], user="U2", response_url=bot.slack.response_url("s")
    )
    (told,) = await replies(bot, "s")
    link = bot.sparkhire.share_links[done["uuid"]]
    assert told["text"] == f"Share link for Ann Lee: {link['url']}"
    # Its Deactivate works for them too, with the same account's key.
    deactivate = next(
        e
        for b in told["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == Action.SHARE_DEACTIVATE
    )
    await bot.sender.block_action(
        Action.SHARE_DEACTIVATE, value=deactivate["value"], user="U2", response_url=bot.slack.response_url("d")
    )
    assert "deactivated" in (await replies(bot, "d"))[-1]["text"] and link["status"] == "inactive"


async def test_find_offers_a_share_link_while_it_is_active_and_not_once_deactivated(bot):
    await bot.sender.command("share ann@example.com", response_url=bot.slack.response_url("s"))
    shared = (await replies(bot, "s"))[-1]
    done = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
    url = bot.sparkhire.share_links[done["uuid"]]["url"]

    async def open_result_urls(key):
        await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url(key))
        (found,) = await replies(bot, key)
        actions = [e for b in found["blocks"] if b["type"] == "actions" for e in b["elements"]]
        return [e.get("url") for e in actions if e["action_id"] == Action.OPEN_RESULT]

    assert await open_result_urls("f1") == [url]
    deactivate = next(e for b in shared["blocks"] if b["type"] == "actions" for e in b["elements"])
    await bot.sender.block_action(
        Action.SHARE_DEACTIVATE, value=deactivate["value"], response_url=bot.slack.response_url("d")
    )
    await replies(bot, "d")
    # Spark Hire still lists the link with the interview, as inactive: not offered as a result to open.
    assert bot.sparkhire.share_links[done["uuid"]]["status"] == "inactive"
    assert await open_result_urls("f2") == []


async def test_advanced_share_for_slack_reviewers(bot):
    done = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
    await bot.sender.block_action(Action.SHARE_ADVANCED, value=done["uuid"])
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.update"))
    view = bot.slack.calls_to("views.update")[-1].args["view"]
    stored = {**view, "id": bot.slack.calls_to("views.update")[-1].args["view_id"]}
    values = {
        Block.SHARE_INTERVIEWS: {
            Action.INPUT: {"type": "multi_static_select", "selected_options": [{"value": done["uuid"]}]}
        },
        Block.REVIEWERS: {Action.INPUT: {"type": "multi_users_select", "selected_users": ["U2"]}},
        Block.REVIEWER_EMAILS: {Action.INPUT: {"type": "plain_text_input", "value": "boss@example.com"}},
        Block.REVIEWER_SEND_EMAIL: {Action.INPUT: {"type": "checkboxes", "selected_options": [{"value": "send"}]}},
    }
    assert (await bot.sender.view_submission(stored, values)).json() == {"response_action": "clear"}
    result = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
    assert "Created 2 reviewer link(s)" in result[-1].text and "emailed" in result[-1].text
    created = next(r for r in bot.sparkhire.requests if r.path == "/share_links" and r.method == "POST")
    assert created.json["send_email"] is True
    assert [r["email"] for r in created.json["reviewers"]] == ["mo@example.com", "boss@example.com"]


async def open_advanced_share(bot):
    """Click "Share with reviewers…" on a completed interview: the filled-in modal, and the state
    of its interview field with that interview chosen."""
    done = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
    await bot.sender.block_action(Action.SHARE_ADVANCED, value=done["uuid"])
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.update"))
    call = bot.slack.calls_to("views.update")[-1].args
    chosen = {
        Block.SHARE_INTERVIEWS: {
            Action.INPUT: {"type": "multi_static_select", "selected_options": [{"value": done["uuid"]}]}
        }
    }
    return {**call["view"], "id": call["view_id"]}, chosen


async def test_a_slack_reviewer_without_a_visible_email_is_a_field_error_and_the_form_stays(bot):
    bot.slack.add_user("U9", name="Pat Hidden", email="")
    view, chosen = await open_advanced_share(bot)
    reviewers = {Block.REVIEWERS: {Action.INPUT: {"type": "multi_users_select", "selected_users": ["U2", "U9"]}}}
    answer = (await bot.sender.view_submission(view, {**chosen, **reviewers})).json()
    # The form stays open with what was picked, and says whom to replace by a typed address.
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {
        Block.REVIEWERS: "Pat Hidden has no email address visible to me: remove them here and type their email below."
    }
    await asyncio.sleep(0.3)
    assert not bot.slack.ephemerals("U1")
    assert not [r for r in bot.sparkhire.requests if r.path == "/share_links" and r.method == "POST"]


async def test_a_slack_reviewer_slack_does_not_show_the_app_is_a_field_error_on_the_reviewers(bot, caplog):
    # users.info answers user_not_found (say, another organisation's member): it was shown on the
    # interviews field as "Slack refused the request", with an unexpected error logged.
    view, chosen = await open_advanced_share(bot)
    reviewers = {Block.REVIEWERS: {Action.INPUT: {"type": "multi_users_select", "selected_users": ["U2", "UGONE"]}}}
    answer = (await bot.sender.view_submission(view, {**chosen, **reviewers})).json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [Block.REVIEWERS]
    assert "type their email below" in answer["errors"][Block.REVIEWERS]
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
    assert not [r for r in bot.sparkhire.requests if r.path == "/share_links" and r.method == "POST"]


def deactivate_buttons(blocks) -> dict[str, dict]:
    """Each reviewer's Deactivate button in a reviewer links message, by the row's text."""
    return {b["text"]["text"]: b["accessory"] for b in blocks if "accessory" in b}


async def deactivate(bot, value: str, *, reply_to: str = "d") -> dict:
    """Click a Deactivate button carrying ``value`` in the ephemeral reviewer links list; the one answer."""
    await bot.sender.block_action(
        Action.SHARE_ADVANCED_DEACTIVATE, value=value, response_url=bot.slack.response_url(reply_to), ephemeral=True
    )
    (answer,) = await replies(bot, reply_to)
    return answer


async def test_a_reviewer_link_can_be_deactivated_from_slack(bot):
    view, chosen = await open_advanced_share(bot)
    typed = {
        Block.REVIEWER_EMAILS: {Action.INPUT: {"type": "plain_text_input", "value": "boss@example.com\nvp@example.com"}}
    }
    await bot.sender.view_submission(view, {**chosen, **typed})
    created = (await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1")))[-1]
    assert_valid_blocks(created.blocks)
    buttons = deactivate_buttons(created.blocks)
    (boss,) = [button for line, button in buttons.items() if "boss@example.com" in line] or [None]
    assert boss is not None, "no Deactivate button next to boss@example.com's link"
    assert boss["action_id"] == Action.SHARE_ADVANCED_DEACTIVATE and boss["confirm"]  # asks before deactivating
    # The list is an ephemeral message: Slack sends no copy of it with the click.
    await bot.sender.block_action(
        Action.SHARE_ADVANCED_DEACTIVATE, value=boss["value"], response_url=bot.slack.response_url("d"), ephemeral=True
    )
    assert (await replies(bot, "d"))[-1]["text"] == "Reviewer link for boss@example.com deactivated."
    links = {link["reviewer"]["email"]: link["status"] for link in bot.sparkhire.advanced_links.values()}
    assert links == {"boss@example.com": "inactive", "vp@example.com": "active"}
    entries = await bot.services.db.audit.recent("T0001", user_id="U1")
    assert ("share.deactivated", "boss@example.com") in [(e.action, e.target) for e in entries]


async def links_for_boss_and_vp(bot):
    """Reviewer links created for boss@ and vp@: their addresses by email, and boss's Deactivate button."""
    view, chosen = await open_advanced_share(bot)
    typed = {
        Block.REVIEWER_EMAILS: {Action.INPUT: {"type": "plain_text_input", "value": "boss@example.com\nvp@example.com"}}
    }
    await bot.sender.view_submission(view, {**chosen, **typed})
    created = (await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1")))[-1]
    url = {link["reviewer"]["email"]: link["url"] for link in bot.sparkhire.advanced_links.values()}
    boss = next(b for line, b in deactivate_buttons(created.blocks).items() if "boss@example.com" in line)
    return url, boss


async def test_a_deactivated_reviewer_link_is_no_longer_offered_in_the_message_that_listed_it(bot):
    url, boss = await links_for_boss_and_vp(bot)
    answer = await deactivate(bot, boss["value"])
    assert_valid_blocks(answer["blocks"])
    # The list is replaced, not followed by a note under it that still offers the link: boss's
    # row says it was deactivated, with neither its address nor a button; vp's is as it was.
    assert answer["replace_original"] is True
    shown = str(answer["blocks"])
    assert url["boss@example.com"] not in shown and "boss@example.com: link deactivated" in shown
    rows = deactivate_buttons(answer["blocks"])
    assert [line for line in rows] == [f"• vp@example.com: <{url['vp@example.com']}>"]
    # Deactivating vp from the message as it is now: both are listed as deactivated.
    (vp,) = rows.values()
    again = await deactivate(bot, vp["value"], reply_to="d2")
    assert again["replace_original"] is True and not deactivate_buttons(again["blocks"])
    assert "boss@example.com: link deactivated" in str(again["blocks"])
    assert "vp@example.com: link deactivated" in str(again["blocks"])
    assert {link["status"] for link in bot.sparkhire.advanced_links.values()} == {"inactive"}


async def test_a_deactivate_button_with_one_unreadable_listed_link_still_lists_the_others(bot):
    url, boss = await links_for_boss_and_vp(bot)
    vp_uuid = next(
        uuid for uuid, link in bot.sparkhire.advanced_links.items() if link["reviewer"]["email"] == "vp@example.com"
    )
    # One listed uuid garbled (a client, a proxy): only its row is lost, not the button.
    value = boss["value"].replace(
        base64.urlsafe_b64encode(uuidlib.UUID(vp_uuid).bytes).decode().rstrip("="), "not-a-uuid"
    )
    assert value != boss["value"]
    answer = await deactivate(bot, value)
    assert answer["replace_original"] is True
    assert "boss@example.com: link deactivated" in str(answer["blocks"]) and url["vp@example.com"] not in str(answer)
    assert bot.sparkhire.advanced_links[vp_uuid]["status"] == "active"


def link_reads(bot):
    return [r for r in bot.sparkhire.requests if r.method == "GET" and r.path.startswith("/share_links/")]


async def reviewer_links_for(bot, emails):
    """Reviewer links created for ``emails`` from the share form: the ephemeral message listing them."""
    view, chosen = await open_advanced_share(bot)
    typed = {Block.REVIEWER_EMAILS: {Action.INPUT: {"type": "plain_text_input", "value": "\n".join(emails)}}}
    await bot.sender.view_submission(view, {**chosen, **typed})
    return (await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"), timeout=10))[-1]


async def test_deactivate_in_a_long_list_lists_it_again_without_reading_the_links_its_button_carries(bot):
    emails = [f"reviewer{n:02d}@example.com" for n in range(30)]
    created = await reviewer_links_for(bot, emails)
    url = {link["reviewer"]["email"]: link["url"] for link in bot.sparkhire.advanced_links.values()}
    buttons = list(deactivate_buttons(created.blocks).values())
    reads = len(link_reads(bot))
    answer = await deactivate(bot, buttons[3]["value"])
    assert answer["replace_original"] is True
    assert len(link_reads(bot)) == reads  # the 29 others came with the click: none read again
    shown = str(answer["blocks"])
    assert "reviewer03@example.com: link deactivated" in shown and url["reviewer03@example.com"] not in shown
    rows = deactivate_buttons(answer["blocks"])
    assert list(rows) == [f"• {e}: <{url[e]}>" for e in emails if e != "reviewer03@example.com"]
    status = {link["reviewer"]["email"]: link["status"] for link in bot.sparkhire.advanced_links.values()}
    assert [e for e, s in status.items() if s == "inactive"] == ["reviewer03@example.com"]


async def test_deactivate_reads_only_the_listed_links_its_button_could_not_carry(bot):
    # Addresses long and unalike: the button's 2,000 characters carry some of the 48 whole, not all.
    emails = [f"reviewer.number{n:02d}@{'agency-' * 3}{n:02d}.example.org" for n in range(48)]
    created = await reviewer_links_for(bot, emails)
    buttons = list(deactivate_buttons(created.blocks).values())
    targets = share.reviewer_link_targets(buttons[0]["value"])
    listed, carried = targets.listed, targets.known
    assert len(listed) == len(buttons) > 30 and 0 < len(carried) < len(listed)
    reads = len(link_reads(bot))
    answer = await deactivate(bot, buttons[0]["value"])
    read = [r.path.rsplit("/", 1)[1] for r in link_reads(bot)[reads:]]
    assert sorted(read) == sorted(set(listed) - set(carried) - {listed[0]})
    assert len(deactivate_buttons(answer["blocks"])) == len(buttons) - 1


async def test_share_without_argument_explains(bot):
    assert "/interview share" in (await bot.sender.command("share")).json()["text"]


async def test_find_retries_through_vendor_5xx_and_429(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
    bot.wedgehr.fail_next(503, times=2)
    bot.sparkhire.fail_next(429, headers={"X-Rate-Limit-Try-Again-Seconds": "1"})
    await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url("find"))
    final = (
        await bot.slack.wait_for(
            lambda: [r for r in bot.slack.responses.get("find", []) if "blocks" in r and "interview(s)" in str(r)],
            timeout=15,
        )
    )[-1]
    text = str(final["blocks"])
    assert "WedgeHR" in text and "Spark Hire" in text and "★★★★★ 4.5" in text
    assert not any(":warning:" in str(r) for r in bot.slack.responses["find"])


async def test_share_shows_the_wedgehr_result_and_the_spark_hire_problem_when_spark_hire_fails(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    invite = bot.wedgehr.add_invite(interview_id=interview["id"], email="wes@example.com", first_name="Wes")
    bot.wedgehr.complete_invite(invite["id"])
    bot.sparkhire.fail_next(402, body={"reason": "Payment required", "code": "api.payment_required"})
    await bot.sender.command("share wes@example.com", response_url=bot.slack.response_url("s"))
    told = await bot.slack.wait_for(lambda: [r for r in bot.slack.responses.get("s", []) if "Spark Hire" in r["text"]])
    texts = [r["text"] for r in bot.slack.responses["s"]]
    assert any(t.startswith("WedgeHR result for Wes") for t in texts), texts
    assert told[-1]["text"].startswith(
        "Spark Hire interviews were not searched. The vendor account's plan does not allow this (payment required)."
    )
    assert "Spark Hire:" not in told[-1]["text"]  # said once, not "…not searched. Spark Hire: …"
    for reply in bot.slack.responses["s"]:
        assert_valid_blocks(reply["blocks"])


async def test_share_creates_the_spark_hire_link_and_names_the_wedgehr_problem_when_wedgehr_fails(bot):
    bot.wedgehr.fail_next(401, times=5, body={"message": "Unauthenticated."})
    await bot.sender.command("share ann@example.com", response_url=bot.slack.response_url("s"))
    told = await bot.slack.wait_for(lambda: [r for r in bot.slack.responses.get("s", []) if "WedgeHR" in r["text"]])
    texts = [r["text"] for r in bot.slack.responses["s"]]
    done = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
    link = bot.sparkhire.share_links[done["uuid"]]
    assert link["status"] == "active"
    assert any(link["url"] in t for t in texts), texts  # the completed Spark Hire interview is shared
    assert told[-1]["text"].startswith("WedgeHR interviews were not searched. The API key or token was rejected."), (
        told[-1]["text"]
    )
    assert buttons(told[-1]) == [(Action.OPEN_CONNECT, "wedgehr")]
    for reply in bot.slack.responses["s"]:
        assert_valid_blocks(reply["blocks"])


async def test_share_shows_the_wedgehr_result_when_spark_hire_refuses_the_link_after_finding_the_interview(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    invite = bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
    bot.wedgehr.complete_invite(invite["id"])
    bot.sparkhire.fail_next(
        403, times=3, body={"reason": "Forbidden", "code": "api.forbidden"}, when=lambda r: "share" in r.path
    )
    await bot.sender.command("share ann@example.com", response_url=bot.slack.response_url("s"))
    told = await bot.slack.wait_for(lambda: [r for r in bot.slack.responses.get("s", []) if "share link" in r["text"]])
    texts = [r["text"] for r in bot.slack.responses["s"]]
    assert any(t.startswith("WedgeHR result for Ann") for t in texts), texts
    assert told[-1]["text"].startswith(
        "ann@example.com's completed Spark Hire interview was found, but no share link was made. "
        "This account is not allowed to do that."
    ), told[-1]["text"]
    assert not bot.sparkhire.share_links
    for reply in bot.slack.responses["s"]:
        assert_valid_blocks(reply["blocks"])


async def test_share_names_both_problems_when_both_vendors_fail(bot):
    bot.wedgehr.fail_next(401, times=5, body={"message": "Unauthenticated."})
    bot.sparkhire.fail_next(403, body={"reason": "Forbidden", "code": "api.forbidden"})
    await bot.sender.command("share ann@example.com", response_url=bot.slack.response_url("s"))
    await bot.slack.wait_for(lambda: len(bot.slack.responses.get("s", [])) >= 2)
    await asyncio.sleep(0.3)  # nothing more follows
    spark, wedge = (r["text"] for r in bot.slack.responses["s"])
    assert spark.startswith("Spark Hire interviews were not searched. This account is not allowed to do that."), spark
    assert wedge.startswith("WedgeHR interviews were not searched. The API key or token was rejected."), wedge
    assert [buttons(r) for r in bot.slack.responses["s"]] == [[], [(Action.OPEN_CONNECT, "wedgehr")]]
    assert not bot.sparkhire.share_links


async def test_advanced_share_modal_says_what_went_wrong_when_spark_hire_fails(bot):
    done = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
    bot.sparkhire.fail_next(403, body={"reason": "Forbidden", "code": "api.forbidden"})
    await bot.sender.block_action(Action.SHARE_ADVANCED, value=done["uuid"], response_url=bot.slack.response_url("a"))
    updated = await bot.slack.wait_for(lambda: bot.slack.calls_to("views.update"))
    assert list(bot.slack.views) == [updated[-1].args["view_id"]]  # the modal that was opened, now updated
    view = updated[-1].args["view"]
    assert_valid_view(view)
    shown = str(view["blocks"])
    assert "Loading" not in shown
    assert "not allowed to do that" in shown and "Ask an account admin" in shown


async def test_an_advanced_share_modal_closed_while_loading_tells_nobody_of_an_error(bot):
    # It told the user "Slack refused the request (not_found)" for closing a window.
    done = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
    bot.slack.fail("views.update", error="not_found")
    await bot.sender.block_action(Action.SHARE_ADVANCED, value=done["uuid"], response_url=bot.slack.response_url("a"))
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.update"))
    await asyncio.sleep(0.5)  # anything else would have been sent by now
    assert bot.slack.responses.get("a") is None and bot.slack.ephemerals("U1") == []
    assert len(bot.slack.calls_to("views.update")) == 1  # no error view tried on a closed window


async def test_find_looks_up_an_address_with_non_ascii_letters_whole(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.add_invite(interview_id=interview["id"], email="jöhn@example.com", first_name="Jöhn")
    bot.wedgehr.add_invite(interview_id=interview["id"], email="hn@example.com", first_name="Someone Else")
    ack = await bot.sender.command("find jöhn@example.com", response_url=bot.slack.response_url("find"))
    assert ack.json()["text"] == "Looking up jöhn@example.com…"
    final = (await bot.slack.wait_for(lambda: [r for r in bot.slack.responses.get("find", []) if "blocks" in r]))[-1]
    assert "Jöhn" in str(final["blocks"]) and "Someone Else" not in str(final["blocks"])


async def final_find(bot, key):
    return (
        await bot.slack.wait_for(
            lambda: [r for r in bot.slack.responses.get(key, []) if "blocks" in r and ":mag:" in str(r)], timeout=30
        )
    )[-1]


async def test_find_says_when_spark_hire_was_searched_only_in_part(bot):
    job = next(iter(bot.sparkhire.jobs.values()))
    old = bot.sparkhire.add_interview(job_uuid=job["uuid"], name="Old Timer", email="old@example.com")
    bot.sparkhire.set_status(old["uuid"], "completed")["updated_at"] = "2020-01-01T00:00:00+00:00"
    for n in range(SPARKHIRE_SCAN_LIMIT):
        bot.sparkhire.add_interview(job_uuid=job["uuid"], name=f"N{n}", email=f"n{n}@example.com")
    await bot.sender.command("find old@example.com", response_url=bot.slack.response_url("f"))
    answer = await final_find(bot, "f")
    assert_valid_blocks(answer["blocks"])
    assert answer["text"] == "No interviews found for old@example.com on the connected platforms."
    # Not a plain "not found": the candidate may be among the older interviews left unread.
    assert "Spark Hire was searched through its 2,000 most recently updated interviews only" in str(answer["blocks"])


async def test_share_of_the_one_interview_found_in_part_of_the_account_says_older_ones_were_not_read(bot):
    job = next(iter(bot.sparkhire.jobs.values()))
    old = bot.sparkhire.add_interview(job_uuid=job["uuid"], name="Sam Again", email="sam@example.com")
    bot.sparkhire.set_status(old["uuid"], "completed")["updated_at"] = "2020-01-01T00:00:00+00:00"
    for n in range(SPARKHIRE_SCAN_LIMIT - 1):
        bot.sparkhire.set_status(
            bot.sparkhire.add_interview(job_uuid=job["uuid"], name=f"N{n}", email=f"n{n}@x.io")["uuid"], "completed"
        )
    new = bot.sparkhire.add_interview(job_uuid=job["uuid"], name="Sam Again", email="sam@example.com")
    bot.sparkhire.set_status(new["uuid"], "completed")["updated_at"] = "2030-01-01T00:00:00+00:00"
    await bot.sender.command("share sam@example.com", response_url=bot.slack.response_url("s"))
    said = await bot.slack.wait_for(lambda: len(bot.slack.responses.get("s", [])) >= 2 and bot.slack.responses["s"])
    assert "http://hire.li/" in said[0]["text"] and new["uuid"] in bot.sparkhire.share_links
    assert "2,000 most recently updated completed interviews only" in said[1]["text"]


async def test_find_with_many_matches_shows_both_vendors(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    for _ in range(20):
        bot.wedgehr.add_completed_wedge(interview_id=interview["id"], email="max@example.com", first_name="Max")
    job = next(iter(bot.sparkhire.jobs.values()))
    bot.sparkhire.add_interview(job_uuid=job["uuid"], name="Max Spark", email="max@example.com")
    await bot.sender.command("find max@example.com", response_url=bot.slack.response_url("m"))
    answer = await final_find(bot, "m")
    assert_valid_blocks(answer["blocks"])
    assert answer["text"] == "21 interview(s) for max@example.com"
    shown = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section" and "·" in b["text"]["text"]]
    assert any("Spark Hire" in line for line in shown) and any("WedgeHR" in line for line in shown)


async def test_the_advanced_share_modal_reads_no_more_than_it_can_offer(bot):
    done = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
    for n in range(450):
        extra = bot.sparkhire.add_interview(job_uuid=done["job_post"]["uuid"], name=f"C{n}", email=f"c{n}@example.com")
        bot.sparkhire.set_status(extra["uuid"], "completed")
    view, _ = await open_advanced_share(bot)
    assert_valid_view(view)
    listed = [r for r in bot.sparkhire.requests if r.method == "GET" and r.path == "/interviews"]
    assert len(listed) <= 2, f"{len(listed)} list requests for 100 options"
    (interviews,) = [b for b in view["blocks"] if b.get("block_id") == Block.SHARE_INTERVIEWS]
    assert len(interviews["element"]["options"]) == 100


async def test_resend_lists_the_newest_invites_first(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    # Made in date order, listed by WedgeHR in id order: the newest last.
    for day in range(1, 26):
        wedge = bot.wedgehr.add_completed_wedge(interview_id=interview["id"], email="nia@example.com")
        wedge.update(completedAt=None, createdAt=f"2026-01-{day:02d}T00:00:00Z")
    await bot.sender.command("resend nia@example.com", response_url=bot.slack.response_url("n"))
    offer = (await replies(bot, "n"))[-1]
    assert_valid_blocks(offer["blocks"])
    lines = [b["text"]["text"] for b in offer["blocks"] if "accessory" in b]
    assert len(lines) == 20 and lines[0].endswith(f"wedge {wedge['id']}")
    assert "…and 5 older ones not shown" in str(offer["blocks"])


async def submit_advanced_share(bot, *, emails: str):
    view, chosen = await open_advanced_share(bot)
    typed = {Block.REVIEWER_EMAILS: {Action.INPUT: {"type": "plain_text_input", "value": emails}}}
    return view, (await bot.sender.view_submission(view, {**chosen, **typed})).json()


async def test_what_spark_hire_refuses_in_the_advanced_share_form_is_said_on_the_form(bot):
    bot.sparkhire.fail_next(
        422,
        body={"reason": "The reviewer email boss@example.com is blocked.", "code": "api.validation"},
        when=lambda r: r.method == "POST" and r.path.endswith("/share_links"),
    )
    _, answer = await submit_advanced_share(bot, emails="boss@example.com")
    # The form stays open with what it holds, and says what to change.
    assert answer["response_action"] == "errors"
    assert "boss@example.com is blocked" in answer["errors"][Block.REVIEWER_EMAILS]
    assert not bot.sparkhire.advanced_links
    await asyncio.sleep(0.3)
    assert not bot.slack.ephemerals("U1")


async def test_a_slow_spark_hire_keeps_the_advanced_share_form_open_until_the_links_exist(bot):
    bot.sparkhire.slow_next(3.5, when=lambda r: r.method == "POST" and r.path.endswith("/share_links"))
    view, answer = await submit_advanced_share(bot, emails="boss@example.com")
    assert answer["response_action"] == "update" and "Creating the reviewer links" in str(answer["view"])
    told = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"), timeout=10)
    assert "Created 1 reviewer link(s)" in told[-1].text
    updated = [c.args for c in bot.slack.calls_to("views.update") if c.args.get("view_id") == view["id"]]
    assert "Created 1 reviewer link(s)" in str(updated[-1]["view"]) and "in your messages" in str(updated[-1]["view"])


async def test_a_refused_address_of_a_reviewer_picked_in_slack_is_said_next_to_the_picker(bot):
    bot.sparkhire.fail_next(
        422,
        body={"reason": "The reviewer email mo@example.com is blocked.", "code": "api.validation"},
        when=lambda r: r.method == "POST" and r.path.endswith("/share_links"),
    )
    view, chosen = await open_advanced_share(bot)
    picked = {Block.REVIEWERS: {Action.INPUT: {"type": "multi_users_select", "selected_users": ["U2"]}}}
    answer = (await bot.sender.view_submission(view, {**chosen, **picked})).json()
    assert answer["response_action"] == "errors" and list(answer["errors"]) == [Block.REVIEWERS]
    assert "mo@example.com is blocked" in answer["errors"][Block.REVIEWERS]


async def test_one_spark_hire_interview_the_bot_cannot_read_does_not_hide_the_others(bot):
    job = next(iter(bot.sparkhire.jobs.values()))
    bot.sparkhire.add_interview(job_uuid=job["uuid"], name="Max Spark", email="max@example.com")
    odd = bot.sparkhire.add_interview(job_uuid=job["uuid"], name="Max Again", email="max@example.com")
    odd["rating"] = "excellent"  # not a number: this one record is unreadable
    await bot.sender.command("find max@example.com", response_url=bot.slack.response_url("m"))
    answer = await final_find(bot, "m")
    assert_valid_blocks(answer["blocks"])
    assert answer["text"] == "1 interview(s) for max@example.com"
    assert "Max Spark" in str(answer["blocks"]) and "could not be searched" not in answer["text"]


async def test_share_takes_the_candidate_as_find_does_and_a_pasted_watch_link(bot):
    done = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")
    watch = f"https://www.sparkhire.com/interview/{done['uuid'].upper()}/watch"
    commands = ["share Ann Lee <ann@example.com>", "share Ann Lee ann@example.com", f"share {watch}"]
    for number, command in enumerate(commands):
        response = await bot.sender.command(command, response_url=bot.slack.response_url(f"s{number}"))
        assert "Tell me what to share" not in response.text, command
        (told,) = await replies(bot, f"s{number}")
        assert told["text"] == f"Share link for Ann Lee: {bot.sparkhire.share_links[done['uuid']]['url']}", command


async def test_a_reviewer_picked_and_typed_or_typed_twice_gets_one_link_and_one_email(bot):
    view, chosen = await open_advanced_share(bot)
    values = {
        **chosen,
        Block.REVIEWERS: {Action.INPUT: {"type": "multi_users_select", "selected_users": ["U2"]}},
        # U2 is mo@example.com; the boss typed twice, once in capitals.
        Block.REVIEWER_EMAILS: {
            Action.INPUT: {"type": "plain_text_input", "value": "Mo@example.com\nboss@example.com\nBOSS@example.com"}
        },
        Block.REVIEWER_SEND_EMAIL: {Action.INPUT: {"type": "checkboxes", "selected_options": [{"value": "send"}]}},
    }
    assert (await bot.sender.view_submission(view, values)).json() == {"response_action": "clear"}
    result = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
    assert "Created 2 reviewer link(s)" in result[-1].text
    created = next(r for r in bot.sparkhire.requests if r.path == "/share_links" and r.method == "POST")
    assert created.json["reviewers"] == [
        {"name": "Mo Member", "email": "mo@example.com"},
        {"name": "boss", "email": "boss@example.com"},
    ]


async def test_find_matches_a_spark_hire_address_stored_with_decomposed_accents_or_spaces(bot):
    job = next(iter(bot.sparkhire.jobs))
    # As a candidate's browser on macOS may have sent them: "é" as "e" and a combining accent.
    bot.sparkhire.add_interview(job_uuid=job, name="José Ruiz", email=unicodedata.normalize("NFD", "José@example.com"))
    bot.sparkhire.add_interview(job_uuid=job, name="Bo Space", email=" bo@example.com ")
    for key, command in (("f1", "find josé@example.com"), ("f2", "find bo@example.com")):
        await bot.sender.command(command, response_url=bot.slack.response_url(key))
        (told,) = await replies(bot, key)
        assert told["text"] == f"1 interview(s) for {command.split()[1]}"


async def test_reviewers_pasted_from_a_mail_program_are_taken_with_their_names(bot):
    view, chosen = await open_advanced_share(bot)
    pasted = "Boss Lady <boss@example.com>; cfo@example.com"  # as Outlook copies its To: line
    values = {**chosen, Block.REVIEWER_EMAILS: {Action.INPUT: {"type": "plain_text_input", "value": pasted}}}
    assert (await bot.sender.view_submission(view, values)).json() == {"response_action": "clear"}
    await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
    created = next(r for r in bot.sparkhire.requests if r.path == "/share_links" and r.method == "POST")
    assert created.json["reviewers"] == [
        {"name": "Boss Lady", "email": "boss@example.com"},
        {"name": "cfo", "email": "cfo@example.com"},
    ]
    # What is not an address is still a field error, the form kept.
    values = {**chosen, Block.REVIEWER_EMAILS: {Action.INPUT: {"type": "plain_text_input", "value": "boss@"}}}
    answer = (await bot.sender.view_submission(view, values)).json()
    assert answer == {"response_action": "errors", "errors": {Block.REVIEWER_EMAILS: "Not an email address: boss@"}}


async def test_find_with_a_key_saved_under_another_bot_secret_key_still_shows_the_other_platform(tmp_path):
    from cryptography.fernet import Fernet

    database = f"sqlite:///{tmp_path}/bot.sqlite3"
    async with running_bot(database_url=database, secret_key=Fernet.generate_key().decode()) as bot:
        await bot.services.db.connections.upsert_user("T0001", "U1", "sparkhire", "k" * 20, account_label="Dee's key")
    async with running_bot(database_url=database, secret_key=Fernet.generate_key().decode()) as bot:
        interview = next(iter(bot.wedgehr.interviews.values()))
        bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
        await bot.sender.command("find ann@example.com", response_url=bot.slack.response_url("f"))
        (told,) = await replies(bot, "f")
        assert_valid_blocks(told["blocks"])
        assert told["text"] == "1 interview(s) for ann@example.com (Spark Hire could not be searched)"
        shown = str(told["blocks"])
        assert Action.RESEND_WEDGE in shown and "Spark Hire: A stored credential could not be decrypted" in shown
        assert buttons(told)[-1:] == [(Action.OPEN_CONNECT, "sparkhire")]


async def test_share_with_a_key_saved_under_another_bot_secret_key_still_shares_the_other_platform(tmp_path):
    from cryptography.fernet import Fernet

    database = f"sqlite:///{tmp_path}/bot.sqlite3"
    async with running_bot(database_url=database, secret_key=Fernet.generate_key().decode()) as bot:
        await bot.services.db.connections.upsert_user("T0001", "U1", "sparkhire", "k" * 20, account_label="Dee's key")
    async with running_bot(database_url=database, secret_key=Fernet.generate_key().decode()) as bot:
        interview = next(iter(bot.wedgehr.interviews.values()))
        done = bot.wedgehr.add_invite(interview_id=interview["id"], email="wes@example.com")
        bot.wedgehr.complete_invite(done["id"])
        await bot.sender.command("share wes@example.com", response_url=bot.slack.response_url("s"))
        result, problem = await bot.slack.wait_for(
            lambda: len(bot.slack.responses.get("s", [])) == 2 and bot.slack.responses["s"]
        )
        assert result["text"].startswith("WedgeHR result for ")
        assert problem["text"].startswith("Spark Hire interviews were not searched. A stored credential could not")
        assert buttons(problem) == [(Action.OPEN_CONNECT, "sparkhire")]


async def test_a_resend_whose_answer_cannot_be_read_says_it_may_have_gone_out(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    invite = bot.wedgehr.add_invite(interview_id=interview["id"], email="fay@example.com")
    bot.wedgehr.fail_next(200, body={"data": "not a wedge"}, when=lambda r: r.method == "POST")
    await bot.sender.block_action(
        Action.RESEND_WEDGE, value=str(invite["_wedgeId"]), response_url=bot.slack.response_url("fay")
    )
    answer = (await replies(bot, "fay"))[-1]["text"]
    # "Something went wrong… Please try again" would have the candidate emailed twice.
    assert "may have gone through" in answer and "Please try again" not in answer


async def test_a_click_again_after_a_resend_without_a_clear_answer_sends_no_second_email(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    invite = bot.wedgehr.add_invite(interview_id=interview["id"], email="gil@example.com")
    wedge_id = str(invite["_wedgeId"])
    # A proxy's 502: WedgeHR behind it may have emailed the candidate all the same.
    bot.wedgehr.fail_next(502, when=lambda r: r.method == "POST")
    await bot.sender.block_action(Action.RESEND_WEDGE, value=wedge_id, response_url=bot.slack.response_url("g1"))
    assert "may have gone through" in (await replies(bot, "g1"))[-1]["text"]
    await bot.sender.block_action(
        Action.RESEND_WEDGE, value=wedge_id, user="U2", response_url=bot.slack.response_url("g2")
    )
    again = (await replies(bot, "g2"))[-1]
    assert "may have gone out, so I did not send it again" in again["text"]
    assert "no clear answer from WedgeHR" in str(again["blocks"]) and "<@U1>" in str(again["blocks"])
    assert len([r for r in bot.wedgehr.requests if r.method == "POST"]) == 1  # the 502'd one alone
    assert bot.wedgehr.resends.get(int(wedge_id), 0) == 0


async def test_resend_lists_wedges_whose_deadline_wedgehr_wrote_without_a_zone(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    for email, expires in (("hal@example.com", "2099-01-01T09:00:00"), ("hal@example.com", "2001-01-01T09:00:00")):
        other = bot.wedgehr.add_interview(f"Interview {expires[:4]}") if expires < "2050" else interview
        invite = bot.wedgehr.add_invite(interview_id=other["id"], email=email)
        bot.wedgehr.wedges[invite["_wedgeId"]]["expiresAt"] = expires  # no zone: WedgeHR's is UTC
    await bot.sender.command("resend hal@example.com", response_url=bot.slack.response_url("hal"))
    listed = str((await replies(bot, "hal"))[-1]["blocks"])
    assert "expires <!date^4070941200^" in listed and "expired <!date^978339600^" in listed


async def test_resend_finds_the_address_in_a_name_and_address_pasted_from_an_email(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.add_invite(interview_id=interview["id"], email="gus@example.com")
    # As a mail program writes people: the name first was taken for the query, and refused.
    await bot.sender.command("resend Gus Ng <gus@example.com>", response_url=bot.slack.response_url("gus"))
    offer = (await replies(bot, "gus"))[-1]
    assert "Resend the WedgeHR invite to *gus@example.com*" in str(offer["blocks"])


async def test_resend_when_every_match_is_completed_says_there_is_nothing_to_resend(bot):
    first, second = list(bot.wedgehr.interviews.values())[:2]
    for interview in (first, second):
        invite = bot.wedgehr.add_invite(interview_id=interview["id"], email="hal@example.com")
        bot.wedgehr.complete_invite(invite["id"])
    await bot.sender.command("resend hal@example.com", response_url=bot.slack.response_url("hal"))
    answer = (await replies(bot, "hal"))[-1]
    assert_valid_blocks(answer["blocks"])
    # "Which invite should I resend?" with not one button to press.
    assert "Which invite should I resend?" not in str(answer["blocks"])
    assert "no invite to resend" in answer["text"] and Action.RESEND_WEDGE not in str(answer["blocks"])
    assert "hal@example.com" in str(answer["blocks"])


async def test_find_with_several_addresses_says_it_looks_up_one_and_how_to_look_up_the_next(bot):
    typed = "find ann@example.com <mailto:bo@example.com|bo@example.com> ANN@example.com"
    ack = await bot.sender.command(typed, response_url=bot.slack.response_url("f"))
    assert ack.json()["text"] == (
        "Looking up ann@example.com… (one address at a time: `/interview find bo@example.com` looks up the next)"
    )


async def test_resend_with_several_candidates_offers_one_and_names_the_next(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.add_invite(interview_id=interview["id"], email="ivy@example.com")
    typed = "resend ivy@example.com <mailto:jo@example.com|jo@example.com>"
    ack = await bot.sender.command(typed, response_url=bot.slack.response_url("ivy"))
    # jo@example.com was left out without a word.
    assert ack.json()["text"] == (
        "Looking up ivy@example.com… (one at a time: `/interview resend jo@example.com` offers the next)"
    )
    offer = (await replies(bot, "ivy"))[-1]
    assert "Resend the WedgeHR invite to *ivy@example.com*" in str(offer["blocks"])
    ack = await bot.sender.command("resend 4242 4343", response_url=bot.slack.response_url("ids"))
    assert "`/interview resend 4343` offers the next" in ack.json()["text"]


async def test_the_resend_dialog_keeps_its_warning_whatever_the_length_of_the_interview_name(bot):
    long_name = "Registered Nurse & Care Coordinator, " * 6 + "Springfield"
    interview = bot.wedgehr.add_interview(long_name)
    bot.wedgehr.add_invite(interview_id=interview["id"], email="kim@example.com", status="send_failure")
    await bot.sender.command("resend kim@example.com", response_url=bot.slack.response_url("kim"))
    offer = (await replies(bot, "kim"))[-1]
    assert_valid_blocks(offer["blocks"])
    button = next(e for b in offer["blocks"] if b["type"] == "actions" for e in b["elements"])
    said = button["confirm"]["text"]["text"]
    # Slack's 300 characters went to the name: "…Springfield a…", the question and the warning cut off.
    assert len(said) <= 300 and said.endswith("could not deliver this invite before; check the address first.")
    assert said.startswith("Email kim@example.com the invitation to Registered Nurse &amp; Care Coordinator")


async def test_find_and_share_with_every_saved_credential_unreadable_say_which_to_connect_again(tmp_path):
    # Saved under another BOT_SECRET_KEY: both were refused with one message about "the account", whose
    # button did not say which platform to connect again.
    from cryptography.fernet import Fernet

    from tests.bot.notify.test_poller import connect_token
    from tests.handlers.test_connect import connect_own_key

    database = f"sqlite:///{tmp_path}/bot.sqlite3"
    async with running_bot(database_url=database, env_credentials=False) as bot:
        await connect_token(bot, "company-a-token-0123")
        await connect_own_key(bot, SPARKHIRE_KEY, user="U1")
    async with running_bot(
        database_url=database, env_credentials=False, secret_key=Fernet.generate_key().decode()
    ) as bot:
        for command in ("find ann@example.com", "share ann@example.com"):
            key = command.split()[0]
            await bot.sender.command(command, response_url=bot.slack.response_url(key))
            await bot.slack.wait_for(lambda key=key: len(bot.slack.responses.get(key, [])) >= 2 or None)
            answers = [r for r in bot.slack.responses[key] if r.get("blocks")]
            for answer in answers:
                assert_valid_blocks(answer["blocks"])
            buttons = [
                (e["action_id"], e.get("value"))
                for a in answers
                for b in a["blocks"]
                if b["type"] == "actions"
                for e in b["elements"]
            ]
            assert buttons == [(Action.OPEN_CONNECT, "wedgehr"), (Action.OPEN_CONNECT, "sparkhire")], command
            assert [a["text"].split(":")[0] for a in answers] == ["WedgeHR", "Spark Hire"]
