"""`/interview subscribe` and `unsubscribe` as the user sees their answers: shared channels, long
names, long confirmations, channels reading several accounts, jobs renamed at the vendor."""

import asyncio
import itertools
import logging
import os
import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.fernet import Fernet

from blocks.ids import Action, Callback
from blocks.subscriptions import CHOICE_GROUPS_MOST, PASSWORD_LABEL, parse_unsubscribe_choice
from bot.logs import RedactingFilter
from bot.notify.jobs import JOB_CHECK_SECONDS
from bot.notify.receiver import webhook_path
from tests.bot.notify.test_subscriptions import (
    BOS_KEY,
    cards,
    completed_interview,
    said,
    subscribe,
    subscriptions,
)
from tests.handlers.test_connect import click_disconnect, connect_own_key, disconnect_buttons, open_connect
from tests.handlers.test_home import open_home
from tests.handlers.test_paused_subscriptions import click_on_home
from tests.support.blockkit import assert_valid_blocks, assert_valid_view
from tests.support.harness import SPARKHIRE_KEY, running_bot


def slack_connect_channel(bot, channel_id="C9"):
    bot.slack.add_channel(channel_id, name="agency-shared")
    bot.slack.channels[channel_id].update(is_shared=True, is_ext_shared=True)


async def test_subscribing_a_slack_connect_channel_asks_for_shared_first_and_saves_nothing(bot):
    slack_connect_channel(bot)
    reply = await subscribe(bot, "subscribe sparkhire completed", channel="C9")
    text = said(reply)
    assert "shared with another organisation" in text and "names, email addresses, ratings" in text
    assert "`/interview subscribe sparkhire completed shared`" in text
    assert await bot.services.db.subscriptions.list_for_channel("T0001", "C9") == []
    assert not bot.slack.calls_to("conversations.join")  # no "joined" line in their channel either

    reply = await subscribe(bot, "subscribe sparkhire completed shared", channel="C9")
    assert "Subscribed" in said(reply) and "its people outside your company see these posts too" in said(reply)
    assert len(await bot.services.db.subscriptions.list_for_channel("T0001", "C9")) == 1


async def test_a_channel_shared_only_within_the_organisation_needs_no_shared(bot):
    bot.slack.add_channel("C8", name="grid-wide")
    bot.slack.channels["C8"].update(is_shared=True, is_org_shared=True)
    reply = await subscribe(bot, "subscribe sparkhire", channel="C8")
    assert "Subscribed" in said(reply) and "another organisation" not in said(reply)


async def test_a_job_name_too_long_to_store_is_refused_with_what_to_do_on_either_database(database_url):
    async with running_bot(database_url=database_url) as bot:
        response = await bot.sender.command('subscribe sparkhire job:"' + "x" * 230 + '"')
        text = response.json()["text"]
        assert "230 characters long; a job filter takes at most 200" in text and "Give the job's id instead" in text
        response = await bot.sender.command("subscribe sparkhire exclude:" + "a" * 250 + "@example.com")
        assert "at most 254 characters" in response.json()["text"]
        assert await bot.services.db.subscriptions.list_for_team("T0001") == []


async def test_subscribe_all_with_many_excludes_confirms_each_platform_in_its_own_section(bot):
    excludes = [f"person{i}@a-rather-long-agency-name-for-testing.example.com" for i in range(70)]
    reply = await subscribe(bot, "subscribe all completed " + " ".join(f"exclude:{e}" for e in excludes))
    sections = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section"]
    wedgehr = next(s for s in sections if "*WedgeHR*" in s)
    sparkhire = next(s for s in sections if "*Spark Hire*" in s)
    for line in (wedgehr, sparkhire):
        assert excludes[0] in line and "more" in line  # those that do not fit are counted
        shown = sum(e in line for e in excludes)
        assert f"and {70 - shown} more" in line
    assert len(await bot.services.db.subscriptions.list_for_channel("T0001", "C1")) == 2


async def test_subscribe_all_with_one_platform_connected_says_the_other_was_not_subscribed_and_how_to_add_it():
    async with running_bot(env_credentials=False, sparkhire_api_key=SPARKHIRE_KEY) as bot:
        reply = await subscribe(bot, "subscribe all completed")
        assert "WedgeHR is not connected yet" in str(reply) and "/interview connect" in str(reply)
        (only,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
        assert only.vendor == "sparkhire"
        # Without ``all``, subscribe means "what is connected": a Spark Hire-only team is not nagged.
        again = await subscribe(bot, "subscribe completed")
        assert "WedgeHR" not in str(again)


# -- unsubscribe in a channel reading several accounts -----------------------------------------

KEYS = itertools.count()


async def command(bot, text, channel="C1", user="U1"):
    """Run ``/interview <text>``; its answer (each under a key of its own)."""
    key = f"command-{next(KEYS)}"
    await bot.sender.command(text, channel=channel, user=user, response_url=bot.slack.response_url(key))
    reply = (await bot.slack.wait_for(lambda: bot.slack.responses.get(key), timeout=15))[-1]
    assert_valid_blocks(reply["blocks"])
    return reply


async def two_accounts_in(bot, text="subscribe sparkhire completed", channel="C1"):
    """U1 subscribes with the workspace's key (the sandbox's default account), U2 the same words
    with their own key, of Bo's agency: the channel reads both accounts."""
    bot.sparkhire.add_account(BOS_KEY, "Bo's agency")
    await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", BOS_KEY, account_label="Bo's agency")
    await command(bot, text, channel=channel)
    await command(bot, text, channel=channel, user="U2")
    first, second = await bot.services.db.subscriptions.list_for_channel("T0001", channel)
    assert first.connection_id != second.connection_id
    return first, second


def choice_buttons(reply):
    """The buttons of unsubscribe's "which account?" answer, each with the section text above it."""
    blocks = reply["blocks"]
    return [
        (blocks[i - 1].get("text", {}).get("text", ""), element)
        for i, block in enumerate(blocks)
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == Action.UNSUBSCRIBE_CHOICE
    ]


async def click(bot, button, key, user="U1", channel="C1"):
    await bot.sender.block_action(
        button["action_id"],
        value=button["value"],
        user=user,
        channel=channel,
        ephemeral=True,
        response_url=bot.slack.response_url(key),
    )
    (answer,) = await bot.slack.wait_for(lambda: bot.slack.responses.get(key), timeout=10)
    return answer


async def test_unsubscribe_in_a_channel_reading_two_accounts_asks_which_and_removes_only_the_one_picked(bot):
    first, _ = await two_accounts_in(bot)
    # Words that reach one account's subscriptions only remove them at once, as they always did.
    await command(bot, "subscribe sparkhire completed job:Barista")
    reply = await command(bot, "unsubscribe job:Barista")
    assert "Removed 1 and narrowed 0" in said(reply) and not choice_buttons(reply)

    reply = await command(bot, "unsubscribe", user="U2")
    text = said(reply)
    assert "more than one account" in text and "Which account's should I remove?" in text
    assert len(await subscriptions(bot)) == 2  # nothing removed before the user picks
    (workspace, _), (bos, bos_button), (_, every) = choice_buttons(reply)
    assert "account: the workspace's key (from SPARKHIRE_API_KEY)" in workspace
    assert "account: Bo's agency, <@U2>'s own key" in bos
    assert bos_button["text"]["text"] == "Remove" and every["text"]["text"] == "Remove all 2"

    answer = await click(bot, bos_button, "picked", user="U2")
    assert answer["replace_original"] is True and "Removed 1 and narrowed 0" in answer["text"]
    (left,) = await subscriptions(bot)
    assert left.id == first.id
    # Bo's account's webhook went with the last subscription reading it; the first account's stays.
    (hook,) = bot.sparkhire.webhooks.values()
    assert hook["url"].endswith(f"/webhooks/sparkhire/{first.connection_id}")

    # One account left: `unsubscribe` means what it always did.
    reply = await command(bot, "unsubscribe")
    assert "Removed 1 and narrowed 0" in said(reply) and not choice_buttons(reply)
    assert await subscriptions(bot) == []


async def test_an_old_which_account_button_leaves_a_subscription_made_since_with_a_reused_id(bot):
    """SQLite gives a new subscription the id of the newest one removed: a button of an answer made
    before must not remove it."""
    _, bos = await two_accounts_in(bot)
    reply = await command(bot, "unsubscribe", user="U2")
    (_, (_, bos_button), _) = choice_buttons(reply)
    await bot.services.db.subscriptions.remove(bos.id)  # removed another way meanwhile
    await command(bot, "subscribe sparkhire rated job:Barista", user="U2")
    newer = next(s for s in await subscriptions(bot) if s.job_filter == "Barista")
    assert newer.id == bos.id  # as SQLite numbers it

    answer = await click(bot, bos_button, "late", user="U2")
    assert "Nothing to remove" in answer["text"]
    assert newer.id in [s.id for s in await subscriptions(bot)]


async def test_unsubscribe_reaching_more_accounts_than_one_answer_can_list_says_to_name_fewer(bot):
    await command(bot, "subscribe sparkhire completed")  # the workspace's key
    for n in range(1, CHOICE_GROUPS_MOST + 1):  # and one more account per colleague's own key
        key = f"key-of-agency-{n}-0123456789"
        bot.sparkhire.add_account(key, f"Agency {n}")
        await bot.services.db.connections.upsert_user("T0001", f"U{n + 10}", "sparkhire", key, account_label=key)
        await command(bot, "subscribe sparkhire completed", user=f"U{n + 10}")
    reply = await command(bot, "unsubscribe")
    assert "reading different accounts. Name fewer with `job:` or the platform" in said(reply)
    assert not choice_buttons(reply)
    assert len(await subscriptions(bot)) == CHOICE_GROUPS_MOST + 1


#: A recruiter's own key of the sandbox's default account, the account of the workspace's key too.
SAME_ACCOUNT_KEY = "spark-key-of-u3-0123456789"


async def own_key_of_the_same_account(bot, user="U3"):
    await bot.services.db.connections.upsert_user(
        "T0001", user, "sparkhire", SAME_ACCOUNT_KEY, account_label="Company User at Shermer Staffing"
    )


async def test_unsubscribe_where_two_keys_read_one_account_removes_at_once_as_before(bot):
    """The workspace's key and a recruiter's own key of the same Spark Hire account: one account."""
    await own_key_of_the_same_account(bot)
    await command(bot, "subscribe sparkhire completed job:Barista")
    await command(bot, 'subscribe sparkhire completed job:"Sr. Account Executive"', user="U3")
    first, second = await subscriptions(bot)
    assert first.connection_id != second.connection_id

    # Spark Hire cannot say whether the keys are of one account: asked rather than both removed.
    bot.sparkhire.fail_next(403, times=2, when=lambda r: r.method == "GET" and r.path == "/webhooks")
    reply = await command(bot, "unsubscribe sparkhire")
    assert "Which account's should I remove?" in said(reply) and len(await subscriptions(bot)) == 2

    reply = await command(bot, "unsubscribe sparkhire")
    assert "Removed 2 and narrowed 0" in said(reply) and not choice_buttons(reply)
    assert await subscriptions(bot) == []


async def test_two_keys_of_one_account_are_one_choice_beside_another_accounts(bot):
    first, bos = await two_accounts_in(bot)  # U1: the workspace's key; U2: Bo's agency's own key
    await own_key_of_the_same_account(bot)
    await command(bot, "subscribe sparkhire completed job:Barista", user="U3")
    (mine,) = [s for s in await subscriptions(bot) if s.id not in {first.id, bos.id}]

    reply = await command(bot, "unsubscribe")
    (workspace, workspace_button), (theirs, bos_button), (_, every) = choice_buttons(reply)
    assert "account: the workspace's key (from SPARKHIRE_API_KEY)" in workspace and "job: Barista" in workspace
    assert "account: Bo's agency" in theirs
    assert parse_unsubscribe_choice(workspace_button["value"])[1] == [first.id, mine.id]
    assert parse_unsubscribe_choice(bos_button["value"])[1] == [bos.id]
    assert every["text"]["text"] == "Remove all 3"

    answer = await click(bot, workspace_button, "workspace")
    assert "Removed 2 and narrowed 0" in answer["text"]
    assert [s.id for s in await subscriptions(bot)] == [bos.id]


def lines_of(message):
    """The Spark Hire subscription lines of a listing, the App Home or a confirmation."""
    texts = [b["text"]["text"] for b in message["blocks"] if "text" in b]
    return [line for text in texts for line in text.split("\n") if line.startswith("• ") and "*Spark Hire*" in line]


async def home_of(bot, user="U1"):
    await open_home(bot, user=user)
    return bot.slack.published_home[user]


async def test_two_keys_of_one_account_are_listed_as_one_account_everywhere(bot):
    """The workspace's key and a recruiter's own key of the same Spark Hire account: the lists,
    the App Home and subscribe's answer say nothing of accounts, as one account needs no naming."""
    await own_key_of_the_same_account(bot)
    await command(bot, "subscribe sparkhire completed job:Barista")
    reply = await command(bot, 'subscribe sparkhire completed job:"Sr. Account Executive"', user="U3")
    assert "reading other accounts" not in said(reply) and "account:" not in said(reply)
    first, second = await subscriptions(bot)
    assert first.connection_id != second.connection_id
    for shown in (await command(bot, "subscriptions"), await home_of(bot)):
        assert len(lines_of(shown)) == 2 and "account:" not in said(shown)

    # Another account's subscription beside them: each line names its account, the two keys' alike.
    bot.sparkhire.add_account(BOS_KEY, "Bo's agency")
    await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", BOS_KEY, account_label="Bo's agency")
    reply = await command(bot, "subscribe sparkhire completed", user="U2")
    workspace = "account: the workspace's key (from SPARKHIRE_API_KEY)"
    assert "*This channel also has, reading other accounts*" in said(reply)
    bos, *others = lines_of(reply)
    assert "account: Bo's agency, <@U2>'s own key" in bos
    assert len(others) == 2 and all(workspace in line for line in others)
    for shown in (await command(bot, "subscriptions"), await home_of(bot)):
        barista, executive, bos = lines_of(shown)
        assert workspace in barista and workspace in executive and "Bo's agency" in bos


def webhook_lists_asked(bot):
    return sum(r.method == "GET" and r.path == "/webhooks" for r in bot.sparkhire.requests)


async def test_the_app_home_and_the_list_ask_spark_hire_for_each_keys_webhooks_once_in_a_while(bot):
    """Spark Hire allows 400 requests a minute, shared with the worker: opening the App Home again
    and again asks nothing more. A webhook the bot registers makes it ask again."""
    await own_key_of_the_same_account(bot)
    await command(bot, "subscribe sparkhire completed job:Barista")
    await command(bot, 'subscribe sparkhire completed job:"Sr. Account Executive"', user="U3")
    before = webhook_lists_asked(bot)
    for _ in range(5):
        assert "account:" not in said(await home_of(bot))
    for _ in range(2):
        assert "account:" not in said(await command(bot, "subscriptions"))
    assert webhook_lists_asked(bot) - before <= 2  # each key once at most

    bot.sparkhire.add_account(BOS_KEY, "Bo's agency")
    await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", BOS_KEY, account_label="Bo's agency")
    await command(bot, "subscribe sparkhire completed", user="U2")  # registers Bo's agency's webhook
    before = webhook_lists_asked(bot)
    for _ in range(3):
        barista, executive, bos = lines_of(await home_of(bot))
        assert "SPARKHIRE_API_KEY" in barista and "SPARKHIRE_API_KEY" in executive and "Bo's agency" in bos
    assert webhook_lists_asked(bot) - before <= 3  # each of the three keys once at most


async def test_the_list_and_home_name_each_keys_account_in_time_when_spark_hire_cannot_say(bot):
    await own_key_of_the_same_account(bot)
    await command(bot, "subscribe sparkhire completed job:Barista")
    await command(bot, 'subscribe sparkhire completed job:"Sr. Account Executive"', user="U3")
    bot.services.webhook_lists.seconds = 0  # the lists subscribe was given are too old by now
    for _ in range(4):  # each key's list of webhooks, for the listing and for the App Home
        bot.sparkhire.slow_next(JOB_CHECK_SECONDS + 5, when=lambda r: r.method == "GET" and r.path == "/webhooks")

    began = time.monotonic()
    listing = await command(bot, "subscriptions")
    assert time.monotonic() - began < JOB_CHECK_SECONDS + 3
    workspace, own = lines_of(listing)
    assert "account: the workspace's key (from SPARKHIRE_API_KEY)" in workspace
    assert "account: Company User at Shermer Staffing, <@U3>'s own key" in own

    began = time.monotonic()
    before = bot.slack.published_home.get("U1")
    await bot.sender.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    home = await bot.slack.wait_for(
        lambda: bot.slack.published_home.get("U1") is not before and bot.slack.published_home.get("U1"),
        timeout=JOB_CHECK_SECONDS + 5,
    )
    assert time.monotonic() - began < JOB_CHECK_SECONDS + 3
    workspace, own = lines_of(home)
    assert "<@U3>'s own key" in own and "SPARKHIRE_API_KEY" in workspace


async def test_unsubscribe_of_some_events_across_two_accounts_narrows_each_once_all_is_picked(bot):
    await two_accounts_in(bot, "subscribe sparkhire completed rated")
    reply = await command(bot, "unsubscribe rated")
    assert "Which account's should stop getting rated?" in said(reply)
    *_, (_, every) = choice_buttons(reply)
    assert every["text"]["text"] == "Stop rated for all"

    answer = await click(bot, every, "all")
    assert "Removed 0 and narrowed 2" in answer["text"]
    assert [s.events for s in await subscriptions(bot)] == [("completed",), ("completed",)]
    # A second click on the same answer finds nothing more to do, and says so.
    again = await click(bot, every, "again")
    assert "Nothing to remove" in again["text"]


async def test_a_choice_button_for_another_channels_subscriptions_removes_nothing(bot):
    bot.slack.add_channel("C2", name="hiring-leads", is_private=True, is_member=True)
    first, second = await two_accounts_in(bot, channel="C2")
    forged = {"action_id": Action.UNSUBSCRIBE_CHOICE, "value": f"C1:{first.id},{second.id}:"}
    answer = await click(bot, forged, "forged")
    assert "Nothing to remove" in answer["text"]
    assert len(await subscriptions(bot, "C2")) == 2
    # A button naming the private #C2, clicked in #C1 by U3 (never in #C2): it is #C1's answer that
    # was clicked, and it reaches nothing of #C2's.
    forged = {"action_id": Action.UNSUBSCRIBE_CHOICE, "value": f"C2:{first.id},{second.id}:"}
    answer = await click(bot, forged, "forged-c2", user="U3")
    assert "That button is for another channel's subscriptions" in answer["text"] and "Removed" not in answer["text"]
    assert len(await subscriptions(bot, "C2")) == 2
    answer = await click(bot, {"action_id": Action.UNSUBSCRIBE_CHOICE, "value": "C2:x"}, "garbled")
    assert "Run `/interview unsubscribe` again" in answer["text"]
    assert len(await subscriptions(bot, "C2")) == 2


async def which_account_asked_in_a_dm(bot, user="U2"):
    """`/interview unsubscribe` in #C1, which reads two accounts, when neither the command's
    response_url nor an ephemeral in #C1 takes the answer: "which account?" reaches the user's DM."""
    first, second = await two_accounts_in(bot)
    key = f"command-{next(KEYS)}"
    bot.slack.expire_response_url(key)
    bot.slack.fail("chat.postEphemeral", error="channel_not_found")
    await bot.sender.command("unsubscribe", user=user, response_url=bot.slack.response_url(key))
    (dm,) = await bot.slack.wait_for(lambda: bot.slack.posted(user), timeout=15)
    assert_valid_blocks(dm.blocks)
    assert max(len(b["value"]) for _, b in choice_buttons({"blocks": dm.blocks})) <= 2000
    return first, second, [b for _, b in choice_buttons({"blocks": dm.blocks})]


async def click_in_dm(bot, value, key, user="U2"):
    await bot.sender.block_action(
        Action.UNSUBSCRIBE_CHOICE, value=value, user=user, channel=f"D{user}", response_url=bot.slack.response_url(key)
    )
    (answer,) = await bot.slack.wait_for(lambda: bot.slack.responses.get(key), timeout=10)
    return answer


async def test_a_which_account_answer_that_reached_a_dm_can_be_answered_there(bot):
    first, _, (_, bos, _) = await which_account_asked_in_a_dm(bot)
    answer = await click_in_dm(bot, bos["value"], "from-dm")
    assert answer["replace_original"] is True and "Removed 1 and narrowed 0" in answer["text"]
    assert [s.id for s in await subscriptions(bot)] == [first.id]


async def test_a_dm_answers_button_changed_or_clicked_by_another_or_a_leaver_removes_nothing(bot):
    first, second, (workspace, bos, _) = await which_account_asked_in_a_dm(bot)
    # The ids of one button with the tag of another: changed.
    changed = workspace["value"].rsplit(":", 1)[0] + ":" + bos["value"].rsplit(":", 1)[1]
    answer = await click_in_dm(bot, changed, "changed")
    assert "That button was not made for you, or was changed: nothing was removed." in answer["text"]
    # U2's button, clicked by U3 (a copy of its value): not theirs.
    answer = await click_in_dm(bot, bos["value"], "another", user="U3")
    assert "That button was not made for you, or was changed" in answer["text"]
    # Without its tag, a click outside #C1 is refused as before.
    answer = await click_in_dm(bot, bos["value"].rsplit(":", 1)[0], "untagged")
    assert "That button is for another channel's subscriptions" in answer["text"]
    # U2 left #C1 since: the channel's subscriptions are no longer theirs to change.
    bot.slack.members["C1"] = ["U1"]
    answer = await click_in_dm(bot, bos["value"], "left")
    assert "You are no longer in that channel" in answer["text"] and "Removed" not in answer["text"]
    assert {s.id for s in await subscriptions(bot)} == {first.id, second.id}


async def test_a_choice_button_naming_too_many_or_too_long_ids_is_unreadable_and_logs_no_error(bot, caplog):
    first, second = await two_accounts_in(bot)
    for n, value in enumerate(
        [
            f"C1:{first.id},{second.id}," + ",".join(str(10_000 + i) for i in range(700)) + ":",
            f"C1:{first.id},{'9' * 25}:",
            f"C1:{first.id},{2**63}:",
        ]
    ):
        answer = await click(bot, {"action_id": Action.UNSUBSCRIBE_CHOICE, "value": value}, f"forged-{n}")
        assert "I could not read that button. Run `/interview unsubscribe` again." in answer["text"], value
    assert len(await subscriptions(bot)) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no traceback of a failed read


# -- a job renamed at the vendor ---------------------------------------------------------------


def retitle(job, title):
    """Rename ``job`` in Spark Hire, whose ``updated_at`` moves on by at least a second (its times' precision)."""
    later = datetime.fromisoformat(job["updated_at"]) + timedelta(seconds=1)
    job.update(title=title, updated_at=max(later, datetime.now(UTC).replace(microsecond=0)).isoformat())


def rename(bot, job, title):
    """Rename ``job`` in Spark Hire: its interviews' copies too, as Spark Hire's deliveries show them."""
    retitle(job, title)
    for interview in bot.sparkhire.interviews.values():
        if interview["job_post"]["uuid"] == job["uuid"]:
            interview["job_post"]["title"] = title


def barista(bot):
    return next(j for j in bot.sparkhire.jobs.values() if j["title"] == "Barista")


async def job_shown(bot, name, channel="C1"):
    """Wait until the channel's one subscription shows ``name`` as its job; the subscription."""
    for _ in range(100):
        (sub,) = await subscriptions(bot, channel)
        if sub.job_filter == name:
            break
        await asyncio.sleep(0.05)
    return sub


async def test_a_job_updated_shows_the_new_name_and_a_late_interview_built_before_does_not_bring_the_old_back(bot):
    await command(bot, "subscribe sparkhire completed job:Barista")
    job = barista(bot)
    early = bot.sparkhire.add_interview(job_uuid=job["uuid"], name="Zed Early", email="zed@acme.io")
    retitle(job, "Barista (Downtown)")  # the interview built before still says "Barista"
    await bot.sparkhire.emit("JobUpdated", job)
    assert (await job_shown(bot, "Barista (Downtown)")).job_filter == "Barista (Downtown)"

    # Spark Hire delivers the interview's completion after the rename, with the job as it was.
    await bot.sparkhire.emit("InterviewCompleted", bot.sparkhire.set_status(early["uuid"], "completed"))
    (card,) = await bot.slack.wait_for(lambda: bot.slack.posted("C1"), timeout=10)
    assert "Zed Early" in card.text  # still followed by its id
    listing = said(await command(bot, "subscriptions"))
    assert "job: Barista (Downtown)" in listing and "job: Barista ·" not in listing
    home = await open_home(bot)
    assert "job: Barista (Downtown)" in home
    reply = await command(bot, 'unsubscribe job:"Barista (Downtown)"')
    assert "Removed 1 and narrowed 0" in said(reply)
    assert await subscriptions(bot) == []


async def test_a_job_renamed_while_its_subscription_is_paused_shows_its_new_name_once_re_enabled(bot):
    await command(bot, "subscribe sparkhire completed job:Barista")
    (sub,) = await subscriptions(bot)
    job = barista(bot)
    bot.slack.fail("chat.postMessage", error="no_permission")  # a card refused: the subscription pauses
    ann = bot.sparkhire.add_interview(job_uuid=job["uuid"], name="Ann Paused", email="ann@acme.io")
    await bot.sparkhire.emit("InterviewCompleted", bot.sparkhire.set_status(ann["uuid"], "completed"))
    await bot.slack.wait_for(lambda: [m for m in bot.slack.posted("U1") if "paused" in m.text], timeout=10)
    rename(bot, job, "Barista (Downtown)")
    (delivery,) = await bot.sparkhire.emit("JobUpdated", dict(job))
    assert delivery.status == 200  # recorded before Spark Hire is answered

    assert "job: Barista (Downtown)" in said(await command(bot, "subscriptions"))
    await open_home(bot)
    home = await click_on_home(bot, Action.SUBSCRIPTION_RESUME, sub.id)
    assert "job: Barista (Downtown)" in str(home["blocks"]) and "job: Barista ·" not in str(home["blocks"])
    (card,) = await bot.slack.wait_for(lambda: bot.slack.posted("C1"), timeout=10)
    assert "Ann Paused" in card.text


async def test_another_accounts_job_updated_does_not_rename_this_accounts_subscription(bot):
    bot.sparkhire.add_account(BOS_KEY, "Bo's agency")
    await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", BOS_KEY, account_label="Bo's agency")
    await command(bot, "subscribe sparkhire completed job:Barista")
    await command(bot, "subscribe sparkhire jobs", user="U2")  # Bo's account's webhook, in #C1 too
    job = barista(bot)
    await bot.sparkhire.emit("JobUpdated", {**job, "title": "Not ours"}, api_key=BOS_KEY)
    await bot.slack.wait_for(lambda: bot.slack.posted("C1"), timeout=10)  # Bo's subscription took it
    following = next(s for s in await subscriptions(bot) if s.job_id)
    assert following.job_filter == "Barista"


async def test_a_wedge_carrying_the_interviews_name_from_its_creation_does_not_rename_it():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        interview = next(i for i in bot.wedgehr.interviews.values() if i["name"] == "Movers")
        await command(bot, "subscribe wedgehr completed job:Movers")
        await bot.pipeline.poller.poll_all()  # the baseline
        (sub,) = await subscriptions(bot)
        assert sub.job_id == str(interview["id"])
        await asyncio.sleep(1.1)  # WedgeHR's times are in whole seconds
        invite = bot.wedgehr.add_invite(interview_id=interview["id"], email="mo@example.com", first_name="Mo")
        bot.wedgehr.wedges[invite["_wedgeId"]]["interviewName"] = "Movers (2019)"  # as copied when it began
        bot.wedgehr.complete_invite(invite["id"])
        assert await bot.pipeline.poller.poll_all() == 1
        await bot.slack.wait_for(lambda: bot.slack.posted("C1"), timeout=10)
        (sub,) = await subscriptions(bot)
        assert sub.job_filter == "Movers"


async def test_a_job_updated_delivery_renames_it_though_the_channel_does_not_take_job_events(database_url):
    async with running_bot(database_url=database_url) as bot:
        await command(bot, "subscribe sparkhire completed job:Barista")
        job = barista(bot)
        rename(bot, job, "Head Barista")
        await bot.sparkhire.emit("JobUpdated", job)
        sub = await job_shown(bot, "Head Barista")
        assert sub.job_filter == "Head Barista" and sub.job_id == job["uuid"]
        assert not bot.slack.posted("C1")


async def test_job_renames_delivered_out_of_order_leave_the_newest_name_on_either_database(database_url):
    async with running_bot(database_url=database_url) as bot:
        await command(bot, "subscribe sparkhire completed job:Barista")
        job = barista(bot)
        rename(bot, job, "Barista (Downtown)")
        first = dict(job)
        rename(bot, job, "Head Barista")
        (delivery,) = await bot.sparkhire.emit("JobUpdated", dict(job))
        assert delivery.status == 200
        assert (await job_shown(bot, "Head Barista")).job_filter == "Head Barista"
        # Spark Hire retries the first rename's delivery, and it arrives last: not news about the name.
        (delivery,) = await bot.sparkhire.emit("JobUpdated", first)
        assert delivery.status == 200  # recorded and committed before Spark Hire is answered
        assert "job: Head Barista" in said(await command(bot, "subscriptions"))
        assert "job: Head Barista" in await open_home(bot)

        # A name looked up at Spark Hire is its name now: a delivery of an older one after it changes nothing.
        rename(bot, job, "Barista (Uptown)")
        uptown = dict(job)
        rename(bot, job, "Lead Barista")
        await command(bot, 'subscribe sparkhire completed rated job:"Lead Barista"')
        (sub,) = await subscriptions(bot)
        assert sub.job_filter == "Lead Barista" and sub.events == ("completed", "rated")
        await bot.sparkhire.emit("JobUpdated", uptown)
        assert "job: Lead Barista" in said(await command(bot, "subscriptions"))
        # A newer one still renames it.
        rename(bot, job, "Barista Captain")
        await bot.sparkhire.emit("JobUpdated", dict(job))
        assert (await job_shown(bot, "Barista Captain")).job_filter == "Barista Captain"


@pytest.fixture
def new_york_server():
    """The bot's process in New York's zone, where a zone-less time read as local is 4-5 hours off."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


async def test_zone_less_job_times_are_utc_in_lookups_and_deliveries_alike(new_york_server, bot):
    """A name looked up, then a rename delivered a minute later, both timed without a zone: the
    rename is news whatever the server's zone."""
    job = barista(bot)
    looked_up = datetime.now(UTC).replace(microsecond=0, tzinfo=None) - timedelta(minutes=10)
    job["updated_at"] = looked_up.isoformat()
    await command(bot, "subscribe sparkhire completed job:Barista")
    (sub,) = await subscriptions(bot)
    assert sub.job_named_at == looked_up.replace(tzinfo=UTC).timestamp()

    job.update(title="Barista (Downtown)", updated_at=(looked_up + timedelta(minutes=1)).isoformat())
    (delivery,) = await bot.sparkhire.emit("JobUpdated", dict(job))
    assert delivery.status == 200
    assert "job: Barista (Downtown)" in said(await command(bot, "subscriptions"))


async def test_a_rename_that_gives_no_time_applies_without_holding_back_the_vendors_later_ones(bot):
    job = barista(bot)
    looked_up = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    job["updated_at"] = looked_up.isoformat()
    await command(bot, "subscribe sparkhire completed job:Barista")

    untimed = {k: v for k, v in job.items() if k != "updated_at"} | {"title": "Barista (Downtown)"}
    (delivery,) = await bot.sparkhire.emit("JobUpdated", untimed)
    assert delivery.status == 200
    (sub,) = await subscriptions(bot)
    # Renamed, and as recent as Spark Hire last said: our clock is not Spark Hire's.
    assert sub.job_filter == "Barista (Downtown)" and sub.job_named_at == looked_up.timestamp()

    # Spark Hire's next rename, timed by its clock (minutes behind ours here), is news.
    job.update(title="Head Barista", updated_at=(looked_up + timedelta(minutes=1)).isoformat())
    await bot.sparkhire.emit("JobUpdated", dict(job))
    assert "job: Head Barista" in said(await command(bot, "subscriptions"))
    # A lookup Spark Hire gives no time for keeps the time known too.
    del job["updated_at"]
    job["title"] = "Lead Barista"
    await command(bot, 'subscribe sparkhire completed rated job:"Lead Barista"')
    (sub,) = await subscriptions(bot)
    assert sub.job_filter == "Lead Barista" and sub.job_named_at == (looked_up + timedelta(minutes=1)).timestamp()


async def test_subscribing_another_channel_to_a_renamed_job_shows_its_new_name_in_every_list(bot):
    bot.slack.add_channel("C2", name="baristas")
    await command(bot, "subscribe sparkhire completed job:Barista")
    rename(bot, barista(bot), "Barista (Downtown)")
    await command(bot, 'subscribe sparkhire completed job:"Barista (Downtown)"', channel="C2")
    (sub,) = await subscriptions(bot)
    assert sub.job_filter == "Barista (Downtown)"
    # U2 is no admin: the list is #C1's own only.
    assert "job: Barista (Downtown)" in said(await command(bot, "subscriptions", user="U2"))


async def test_unsubscribe_by_the_new_name_of_a_job_renamed_since_looks_it_up_at_the_vendor(bot):
    bot.slack.add_channel("C2", name="baristas")
    await command(bot, "subscribe sparkhire completed job:Barista")
    await command(bot, "subscribe sparkhire completed job:Barista", channel="C2")
    rename(bot, barista(bot), "Barista (Downtown)")  # no event since: the bot has not seen the new name

    reply = await command(bot, 'unsubscribe job:"Barista (Downtown)"')
    assert "Removed 1 and narrowed 0" in said(reply)
    assert await subscriptions(bot) == []
    # The name the lookup found is the one #C2's list shows now.
    assert "job: Barista (Downtown)" in said(await command(bot, "subscriptions", channel="C2"))
    # A name neither the channel nor Spark Hire knows still removes nothing, as before.
    reply = await command(bot, "unsubscribe job:Sommelier", channel="C2")
    assert "Nothing to remove" in said(reply)


async def test_unsubscribe_by_a_name_spark_hire_is_too_slow_to_look_up_says_so_in_the_time_subscribe_waits(bot):
    await command(bot, "subscribe sparkhire completed job:Barista")
    rename(bot, barista(bot), "Barista (Downtown)")
    bot.sparkhire.slow_next(JOB_CHECK_SECONDS + 5, when=lambda r: r.path == "/jobs")
    began = time.monotonic()
    reply = await command(bot, 'unsubscribe job:"Barista (Downtown)"')
    assert time.monotonic() - began < JOB_CHECK_SECONDS + 3
    text = said(reply)
    assert "Nothing to remove" in text and 'I could not look `job:"Barista (Downtown)"` up at Spark Hire' in text
    assert "A job renamed since is listed under its old name: `/interview subscriptions`" in text
    assert len(await subscriptions(bot)) == 1


# -- no PUBLIC_URL: the webhook registered by hand ---------------------------------------------

OLD_KEY = "shermer-key-123456"


def show_credentials_button(reply):
    return next(
        element
        for block in reply["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == Action.SHOW_WEBHOOK_CREDENTIALS
    )


def credentials_in(view) -> tuple[str, str]:
    """The username and password the credentials modal shows."""
    text = " ".join(b["text"]["text"] for b in view["blocks"] if b["type"] == "section")
    username = re.search(r"Webhook username: `([^`]+)`", text)
    password = re.search(re.escape(PASSWORD_LABEL) + r" `([^`]+)`", text)
    assert username and password, text
    return username.group(1), password.group(1)


async def register_by_hand(bot, url: str, username: str, password: str, *, key: str = SPARKHIRE_KEY) -> None:
    """What a recruiter does in Spark Hire's webhook console (of ``key``'s account): Spark Hire then
    delivers there."""
    async with httpx.AsyncClient(base_url=bot.settings.sparkhire_api_url) as client:
        response = await client.post(
            "/webhooks",
            json={"description": "by hand", "url": url, "http_auth": f"{username}:{password}"},
            auth=(key, ""),
        )
    assert response.status_code < 300, response.text


async def show_credentials(bot, connection_id: str, user: str = "U1") -> dict:
    """Click "Show webhook credentials": the modal once filled in (it opens on "Loading…")."""
    opened, updates = len(bot.slack.calls_to("views.open")), len(bot.slack.calls_to("views.update"))
    await bot.sender.block_action(Action.SHOW_WEBHOOK_CREDENTIALS, value=connection_id, user=user, ephemeral=True)
    (call, *_) = await bot.slack.wait_for(
        lambda: [
            c
            for c in bot.slack.calls_to("views.update")[updates:]
            if c.args["view"]["callback_id"] == Callback.WEBHOOK_CREDENTIALS
        ],
        timeout=15,
    )
    (open_call,) = bot.slack.calls_to("views.open")[opened:]
    assert Callback.WEBHOOK_CREDENTIALS not in str(open_call.args["view"])  # "Loading…" only
    assert_valid_view(call.args["view"])
    return call.args["view"]


async def test_without_public_url_the_webhook_can_be_registered_by_hand_with_credentials_only_an_admin_sees(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RedactingFilter())  # as every handler has in production (bot/logs.py)
    async with running_bot(public_url=None) as bot:
        reply = await subscribe(bot, "subscribe sparkhire completed")
        text = said(reply)
        # The headline does not promise events; the reply says both ways to get them.
        assert "Spark Hire events will arrive once the webhook is registered" in text and "Subscribed." not in text
        assert "set `PUBLIC_URL`" in text and "run this command again" in text
        connection = await bot.services.resolve_connection("T0001", "sparkhire", "U1")
        path = webhook_path(connection.id)
        assert f"address followed by `{path}`" in text and "HTTP basic auth" in text
        assert len(await subscriptions(bot)) == 1 and bot.sparkhire.webhooks == {}
        button = show_credentials_button(reply)
        assert button["value"] == connection.id

        # Someone who may not manage the workspace's key is refused, and sees nothing.
        refusal = str(await show_credentials(bot, connection.id, user="U2"))
        assert "Only workspace admins can see these webhook credentials" in refusal
        assert PASSWORD_LABEL not in refusal and not bot.slack.ephemerals("U2")

        # A workspace admin (the subscriber) sees the URL path and the credentials, in a modal only.
        view = await show_credentials(bot, connection.id)
        assert f"`{path}`" in str(view["blocks"])
        username, password = credentials_in(view)
        assert password not in str(reply) and password not in refusal

        # Registered by hand with those, Spark Hire's deliveries are taken and posted.
        await register_by_hand(bot, bot.url + path, username, password)
        (delivery,) = await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
        assert delivery.status == 200
        (card,) = await bot.slack.wait_for(lambda: cards(bot))
        assert "Ann Lee" in card.text

    # The password is in no log line, not even slack-sdk's DEBUG lines of the views.open call.
    assert not [r for r in caplog.records if password in r.getMessage()]


async def test_subscribe_test_checks_a_webhook_registered_by_hand_and_says_what_to_check_when_nothing_arrives():
    async with running_bot(public_url=None) as bot:
        await subscribe(bot, "subscribe sparkhire completed")
        await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))  # before any webhook

        # Not registered yet: Spark Hire replays to nowhere; the answer says what to check.
        await bot.sender.command("subscribe test", response_url=bot.slack.response_url("t1"))
        (answer,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("t1"), timeout=10)
        assert "had not arrived" in answer["text"] and "registered by hand" in answer["text"]
        assert "no webhook yet" not in answer["text"]

        # Registered by hand: the replay arrives and is posted.
        username, password = credentials_in(await show_credentials(bot, await connection_id(bot)))
        await register_by_hand(bot, bot.url + webhook_path(await connection_id(bot)), username, password)
        await bot.sender.command("subscribe test", response_url=bot.slack.response_url("t2"))
        (answer,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("t2"), timeout=5)
        assert "so its webhook reaches the bot" in answer["text"], answer["text"]
        (card,) = await bot.slack.wait_for(lambda: cards(bot))
        assert "Ann Lee" in card.text


async def test_subscribe_test_after_a_failed_registration_with_public_url_says_to_subscribe_again(bot):
    bot.sparkhire.fail_next(403, times=3, when=lambda r: r.method == "POST" and r.path.endswith("/webhooks"))
    await bot.sender.command("subscribe sparkhire", response_url=bot.slack.response_url("s"))
    await bot.slack.wait_for(lambda: bot.slack.responses.get("s"))
    assert bot.sparkhire.webhooks == {}
    await bot.sender.command("subscribe test", response_url=bot.slack.response_url("t"))
    (answer,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("t"))
    assert "no webhook yet" in answer["text"] and "PUBLIC_URL" not in answer["text"], answer["text"]


async def test_a_disconnect_that_cannot_ask_spark_hire_says_to_delete_a_hand_registered_webhook_only_if_one_was():
    async with running_bot(public_url=None, env_credentials=False) as bot:
        await connect_own_key(bot, OLD_KEY)
        await subscribe(bot, "subscribe sparkhire completed", user="U2")  # credentials made, none registered
        bot.sparkhire.fail_next(401, times=5, when=lambda r: r.method == "GET" and r.path.endswith("/webhooks"))
        view = await open_connect(bot, "U2")
        updated = await click_disconnect(bot, view, next(iter(disconnect_buttons(view).values())), user="U2")
        shown = str(updated["blocks"])
        assert "Disconnected your Spark Hire account" in shown
        assert "the webhook registered by hand, if one was" in shown and "webhook None" not in shown


async def test_a_forged_credentials_button_shows_nothing_of_another_workspace_or_a_colleagues_own_key(bot):
    await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", BOS_KEY, account_label="Bo's agency")
    own = await bot.services.resolve_connection("T0001", "sparkhire", "U2")
    await bot.services.db.connections.set_webhook(own.id, webhook_uuid=None, webhook_auth="interview-bot:bos-secret")
    # U1 is a workspace admin, but U2's own key is U2's alone.
    await bot.sender.block_action(Action.SHOW_WEBHOOK_CREDENTIALS, value=own.id, ephemeral=True)
    await bot.sender.block_action(Action.SHOW_WEBHOOK_CREDENTIALS, value="not-a-connection", ephemeral=True)
    first, second = await bot.slack.wait_for(
        lambda: len(bot.slack.ephemerals("U1")) == 2 and bot.slack.ephemerals("U1")
    )
    assert "Only the person whose own Spark Hire key this webhook uses can see" in first.text + second.text
    assert "no longer connected here" in first.text + second.text
    assert not bot.slack.calls_to("views.open")
    # U2 sees them.
    assert credentials_in(await show_credentials(bot, own.id, user="U2")) == ("interview-bot", "bos-secret")


async def test_once_public_url_is_set_subscribe_registers_the_webhook_with_the_credentials_given_by_hand(tmp_path):
    database = f"sqlite:///{tmp_path}/bot.sqlite3"
    secret_key = Fernet.generate_key().decode()
    async with running_bot(database_url=database, secret_key=secret_key, public_url=None) as bot:
        await subscribe(bot, "subscribe sparkhire completed")
        username, password = credentials_in(await show_credentials(bot, await connection_id(bot)))
    async with running_bot(database_url=database, secret_key=secret_key) as bot:
        reply = await subscribe(bot, "subscribe sparkhire completed")
        assert "Subscribed." in said(reply) and Action.SHOW_WEBHOOK_CREDENTIALS not in str(reply["blocks"])
        (hook,) = bot.sparkhire.webhooks.values()
        # The same credentials: a webhook registered by hand with them goes on being accepted.
        assert hook["_auth"] == f"{username}:{password}"
        await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
        (card,) = await bot.slack.wait_for(lambda: cards(bot))
        assert "Ann Lee" in card.text


async def connection_id(bot) -> str:
    return (await bot.services.resolve_connection("T0001", "sparkhire", "U1")).id


async def test_the_credentials_modal_opens_at_once_while_slack_makes_the_admin_check_wait():
    async with running_bot(public_url=None) as bot:
        await subscribe(bot)
        bot.slack.fail("users.info", status=429, retry_after=3)  # slack-sdk waits it out, then asks again
        clicked = time.monotonic()
        view = await show_credentials(bot, await connection_id(bot))
        since = [c.method for c in bot.slack.calls if c.at >= clicked]
        (opened,) = bot.slack.calls_to("views.open")
        # Opened while the trigger_id is valid (3 s), before Slack was asked whether U1 is an admin.
        assert opened.at - clicked < 1
        assert since.index("views.open") < since.index("users.info")
        # The admin sees the credentials once Slack answered.
        username, password = credentials_in(view)
        assert username == "interview-bot" and password


async def subscribed_by_hand(bot, key: str) -> tuple[str, str]:
    """U2 connects ``key`` (their own), subscribes C1 without PUBLIC_URL and registers the webhook by
    hand in that key's account; returns the connection and the password."""

    await connect_own_key(bot, key)
    await subscribe(bot, user="U2")
    own = (await bot.services.resolve_connection("T0001", "sparkhire", "U2")).id
    username, password = credentials_in(await show_credentials(bot, own, user="U2"))
    await register_by_hand(bot, bot.url + webhook_path(own), username, password, key=key)
    (delivery,) = await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot), api_key=key)
    assert delivery.status == 200
    await bot.slack.wait_for(lambda: cards(bot))
    return own, password


def another_completed(bot, name: str):
    job = next(iter(bot.sparkhire.jobs.values()))
    interview = bot.sparkhire.add_interview(job_uuid=job["uuid"], name=name, email=f"{name.split()[0]}@x.example")
    return bot.sparkhire.set_status(interview["uuid"], "completed")


async def test_a_key_of_another_account_stops_the_old_accounts_hand_registered_webhook_and_says_to_register_again():

    async with running_bot(public_url=None, env_credentials=False) as bot:
        bot.sparkhire.add_account("acme-key-123456", "Acme Corp")
        own, old_password = await subscribed_by_hand(bot, OLD_KEY)

        reply = await connect_own_key(bot, "acme-key-123456")

        # The old account's webhook, registered by hand, is deleted with the old key.
        assert bot.sparkhire.webhooks == {}
        assert await bot.sparkhire.emit("InterviewCompleted", another_completed(bot, "Old"), api_key=OLD_KEY) == []
        # U2 is told to register it again in the new account, and that the old one is gone.
        assert "Register the webhook again in this account (Company User at Acme Corp)" in reply.text
        # Its own words, whose answer has the credentials button (others would add a subscription).
        assert "`/interview subscribe` in a subscribed channel with the words of its Spark Hire" in reply.text
        assert "The webhook registered by hand in Company User at Shermer" in reply.text and "was deleted" in reply.text
        assert old_password not in reply.text

        # The new credentials, registered by hand in the new account, are taken.
        username, password = credentials_in(await show_credentials(bot, own, user="U2"))
        assert password != old_password
        await register_by_hand(bot, bot.url + webhook_path(own), username, password, key="acme-key-123456")
        (delivery,) = await bot.sparkhire.emit(
            "InterviewCompleted", another_completed(bot, "New Account"), api_key="acme-key-123456"
        )
        assert delivery.status == 200
        await bot.slack.wait_for(lambda: len(cards(bot)) == 2)
        assert "New Account" in cards(bot)[-1].text


async def test_disconnecting_a_key_deletes_the_webhook_registered_by_hand_for_it():
    async with running_bot(public_url=None, env_credentials=False) as bot:
        await subscribed_by_hand(bot, OLD_KEY)
        assert len(bot.sparkhire.webhooks) == 1
        view = await open_connect(bot, "U2")
        updated = await click_disconnect(bot, view, next(iter(disconnect_buttons(view).values())), user="U2")
        shown = str(updated["blocks"])
        assert "Disconnected your Spark Hire account" in shown and "Delete the webhook" not in shown
        assert bot.sparkhire.webhooks == {}  # Spark Hire no longer calls a bot that would refuse it


async def test_another_key_of_the_same_account_keeps_the_webhook_registered_by_hand():

    async with running_bot(public_url=None, env_credentials=False) as bot:
        own, password = await subscribed_by_hand(bot, "shermer-key-123456")
        reply = await connect_own_key(bot, "shermer-key-654321")  # the sandbox's default account too
        assert "Register the webhook again" not in reply.text
        assert credentials_in(await show_credentials(bot, own, user="U2"))[1] == password
        (delivery,) = await bot.sparkhire.emit("InterviewCompleted", another_completed(bot, "Same Account"))
        assert delivery.status == 200
        await bot.slack.wait_for(lambda: len(cards(bot)) == 2)
