"""Paused subscriptions on the App Home and their Re-enable and Remove buttons."""

import asyncio
import html
import re

from blocks.ids import Action
from bot.notify.subscriptions import SHARED_REASON
from tests.handlers.test_home import open_home
from tests.support.blockkit import assert_valid_view


async def subscribe(bot, text="subscribe sparkhire", channel="C1", user="U1"):
    key = f"sub-{len(bot.slack.calls)}-{channel}"
    await bot.sender.command(text, channel=channel, user=user, response_url=bot.slack.response_url(key))
    return (await bot.slack.wait_for(lambda: bot.slack.responses.get(key), timeout=10))[-1]


async def a_card_is_refused_in(bot, channel):
    """A candidate completes their interview; the card for ``channel`` is refused by Slack (the test
    archived or deleted the channel first), which pauses the channel's subscriptions."""
    job = next(j for j in bot.sparkhire.jobs.values() if j["title"] == "Barista")
    n = len(bot.sparkhire.interviews)
    interview = bot.sparkhire.add_interview(job_uuid=job["uuid"], name=f"Cand {n}", email=f"cand{n}@acme.io")
    await bot.sparkhire.emit("InterviewCompleted", bot.sparkhire.set_status(interview["uuid"], "completed"))
    for _ in range(200):
        subs = await bot.services.db.subscriptions.list_for_channel("T0001", channel)
        if subs and all(s.paused for s in subs):
            return subs
        await asyncio.sleep(0.05)
    raise AssertionError(f"the subscriptions of {channel} were not paused")


async def click_on_home(bot, action, subscription_id, user="U1"):
    """A button of the Home tab; the Home as published again."""
    before = bot.slack.published_home.get(user)
    home = {**before, "id": "VHOME", "type": "home"}
    await bot.sender.block_action(action, value=str(subscription_id), user=user, channel=None, view=home)
    after = await bot.slack.wait_for(
        lambda: bot.slack.published_home.get(user) is not before and bot.slack.published_home.get(user), timeout=10
    )
    assert_valid_view(after)
    return after


def paused_rows(home):
    """Each paused entry's text and the buttons under it, in order."""
    blocks = home["blocks"]
    return [
        (blocks[i - 1]["text"]["text"], [e["action_id"] for e in b["elements"]])
        for i, b in enumerate(blocks)
        if b["type"] == "actions" and any(e["action_id"] == Action.SUBSCRIPTION_RESUME for e in b["elements"])
    ]


async def test_the_home_lists_paused_subscriptions_first_with_re_enable_and_remove(bot):
    bot.slack.add_channel("C2", name="archived-search")
    bot.slack.add_channel("C3", name="deleted-search")
    await subscribe(bot)  # active, and the oldest
    await subscribe(bot, "subscribe sparkhire completed", channel="C2")
    await subscribe(bot, "subscribe sparkhire completed compact job:Barista", channel="C2")
    await subscribe(bot, channel="C3")
    del bot.slack.channels["C3"]
    await a_card_is_refused_in(bot, "C3")
    bot.slack.channels["C2"]["is_archived"] = True
    await a_card_is_refused_in(bot, "C2")

    text = await open_home(bot)
    home = bot.slack.published_home["U1"]
    assert text.index("Paused") < text.index("<#C1>")
    rows = paused_rows(home)
    # One entry per channel paused for the channel, the oldest pause first; both of #C2's together.
    assert [("<#C3>" in t, "<#C2>" in t and "job: Barista" in t) for t, _ in rows] == [(True, False), (False, True)]
    assert all(buttons == [Action.SUBSCRIPTION_RESUME, Action.SUBSCRIPTION_REMOVE] for _, buttons in rows)
    remove = next(e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"] if "Remove" in str(e))
    assert remove["style"] == "danger" and "confirm" in remove
    # Plain `/interview subscribe` would set up another (every job, full cards): its words set it up again.
    assert "`/interview subscribe` with its words in the channel sets it up again" in str(remove["confirm"])


async def test_re_enable_on_the_home_refuses_while_archived_then_resumes_the_channel_and_says_what_is_posted(bot):
    bot.slack.add_channel("C2", name="archived-search")
    await subscribe(bot, "subscribe sparkhire completed", channel="C2")
    await subscribe(bot, "subscribe sparkhire completed compact job:Barista", channel="C2")
    bot.slack.channels["C2"]["is_archived"] = True
    first, _ = await a_card_is_refused_in(bot, "C2")
    await open_home(bot)

    home = await click_on_home(bot, Action.SUBSCRIPTION_RESUME, first.id)
    assert "<#C2> is still archived" in str(home["blocks"]) and paused_rows(home)

    bot.slack.channels["C2"]["is_archived"] = False
    home = await click_on_home(bot, Action.SUBSCRIPTION_RESUME, first.id)
    assert "Re-enabled 2 subscriptions in <#C2>" in str(home["blocks"])
    assert "Posting the 1 notification missed while paused" in str(home["blocks"])
    assert paused_rows(home) == [] and "Paused" not in str(home["blocks"])
    assert not any(s.paused for s in await bot.services.db.subscriptions.list_for_channel("T0001", "C2"))
    (card,) = await bot.slack.wait_for(lambda: bot.slack.posted("C2"), timeout=10)
    assert "Cand" in card.text


async def test_remove_on_the_home_deletes_a_deleted_channels_subscriptions(bot):
    bot.slack.add_channel("C3", name="deleted-search")
    await subscribe(bot, channel="C3")
    del bot.slack.channels["C3"]
    (subscription,) = await a_card_is_refused_in(bot, "C3")
    await open_home(bot)

    home = await click_on_home(bot, Action.SUBSCRIPTION_REMOVE, subscription.id)
    assert "Removed the subscription of <#C3>" in str(home["blocks"]) and paused_rows(home) == []
    assert await bot.services.db.subscriptions.list_for_channel("T0001", "C3") == []
    (entry,) = await bot.services.db.audit.recent("T0001", user_id="U1", action_prefix="subscription.removed")
    assert entry.target == "C3"


async def test_only_its_creator_or_an_admin_removes_a_paused_subscription_from_a_notice(bot):
    await subscribe(bot)  # by Rita (U1), an admin
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    await bot.services.db.subscriptions.pause(subscription.id, "WedgeHR rejected the workspace's token")
    await bot.sender.block_action(
        Action.SUBSCRIPTION_REMOVE,
        value=str(subscription.id),
        user="U2",
        channel="C1",
        response_url=bot.slack.response_url("mo"),
    )
    (refused,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("mo"), timeout=10)
    assert "Only whoever set it up or a workspace admin" in refused["text"]
    assert "/interview unsubscribe" in refused["text"]
    assert await bot.services.db.subscriptions.get(subscription.id) is not None


async def test_re_enable_of_a_subscription_enabled_meanwhile_says_so(bot):
    await subscribe(bot)
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    await bot.sender.block_action(
        Action.SUBSCRIPTION_RESUME, value=str(subscription.id), channel="DU1", response_url=bot.slack.response_url("re")
    )
    (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("re"))
    assert told["text"] == "The subscription in <#C1> is enabled already."


async def test_subscribe_run_again_in_a_paused_channel_re_enables_it_and_says_what_is_posted(bot):
    bot.slack.add_channel("C2", name="archived-search")
    await subscribe(bot, "subscribe sparkhire completed", channel="C2")
    await subscribe(bot, "subscribe sparkhire completed compact job:Barista", channel="C2")
    bot.slack.channels["C2"]["is_archived"] = True
    full, compact = await a_card_is_refused_in(bot, "C2")
    bot.slack.channels["C2"]["is_archived"] = False

    reply = await subscribe(bot, "subscribe sparkhire completed", channel="C2")
    said = str(reply["blocks"])
    assert "Re-enabled 2 paused subscriptions here. Posting the 1 notification missed while paused" in said
    (card,) = await bot.slack.wait_for(lambda: bot.slack.posted("C2"), timeout=10)
    assert "Cand" in card.text
    # As the Re-enable button of either: the channel's other, paused with it, is re-enabled too.
    assert [(s.id, s.paused) for s in await bot.services.db.subscriptions.list_for_channel("T0001", "C2")] == [
        (full.id, False),
        (compact.id, False),
    ]
    await open_home(bot)
    assert paused_rows(bot.slack.published_home["U1"]) == []


async def test_remove_on_the_home_while_slack_refuses_to_publish_it_says_what_was_done_by_message(bot):
    bot.slack.add_channel("C3", name="deleted-search")
    await subscribe(bot, channel="C3")
    del bot.slack.channels["C3"]
    (subscription,) = await a_card_is_refused_in(bot, "C3")
    await open_home(bot)
    home = {**bot.slack.published_home["U1"], "id": "VHOME", "type": "home"}
    bot.slack.fail("views.publish", error="internal_error")
    before = len(bot.slack.posted("U1"))  # the pause notice

    await bot.sender.block_action(
        Action.SUBSCRIPTION_REMOVE, value=str(subscription.id), user="U1", channel=None, view=home
    )
    (told,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1")[before:], timeout=10)
    # The subscription is gone: the recruiter is told so, not that Slack refused (and to try again).
    assert "Removed the subscription of <#C3>" in str(told.blocks or told.text)
    assert "refused" not in told.text and "try again" not in told.text.lower()
    assert await bot.services.db.subscriptions.list_for_channel("T0001", "C3") == []


async def test_re_enable_after_a_disconnect_names_the_command_that_renews_this_subscription(bot):
    # A filtered subscription: plain `/interview subscribe` would add another (every job, full cards,
    # both platforms) and leave this one paused. The command the answer names renews this one.
    bos_key = "bos-own-key-0123456789"
    bot.sparkhire.add_account(bos_key, "Bo's agency")
    await subscribe(bot, "subscribe sparkhire completed compact job:Barista exclude:@test.example.com")
    (old,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    await bot.services.db.subscriptions.pause(old.id, "the account was disconnected")
    await bot.services.db.connections.delete(old.connection_id)
    await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", bos_key, account_label="Bo's agency")
    await bot.sender.block_action(
        Action.SUBSCRIPTION_RESUME, value=str(old.id), response_url=bot.slack.response_url("re")
    )
    (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("re"))
    assert "was disconnected" in told["text"]
    (command,) = re.findall(r"`(/interview [^`]*)`", told["text"])

    reply = await subscribe(bot, html.unescape(command).removeprefix("/interview "), user="U2")
    assert "Subscribed" in str(reply["blocks"])
    (renewed,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    assert renewed.id == old.id and not renewed.paused
    assert renewed.connection_id == (await bot.services.resolve_connection("T0001", "sparkhire", "U2")).id


async def test_remove_on_an_old_home_does_not_delete_a_subscription_made_since_with_the_same_id(bot):
    bot.slack.add_channel("C3", name="deleted-search")
    bot.slack.add_channel("C4", name="new-search")
    await subscribe(bot, channel="C3")
    del bot.slack.channels["C3"]
    (subscription,) = await a_card_is_refused_in(bot, "C3")
    await open_home(bot)
    old_home = {**bot.slack.published_home["U1"], "id": "VHOME", "type": "home"}
    await click_on_home(bot, Action.SUBSCRIPTION_REMOVE, subscription.id)
    await subscribe(bot, channel="C4")  # SQLite gives it the id of the one removed
    (made_since,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C4")
    assert made_since.id == subscription.id

    # Remove clicked again on the Home as it was before (another tab, a double click).
    bot.slack.published_home["U1"] = old_home
    home = await click_on_home(bot, Action.SUBSCRIPTION_REMOVE, subscription.id)
    text = str(home["blocks"])
    assert "nothing was removed" in text and "Removed the subscription" not in text
    assert await bot.services.db.subscriptions.list_for_channel("T0001", "C4") == [made_since]


async def test_a_channel_with_many_paused_subscriptions_shows_each_on_the_home_or_counts_it(bot):
    # A channel following 40 jobs (one job: per subscription) is archived: all 40 pause together.
    bot.slack.add_channel("C2", name="eng-hiring")
    for n in range(40):
        await bot.services.db.subscriptions.add(
            team_id="T0001",
            channel_id="C2",
            vendor="sparkhire",
            events=["completed", "rated"],
            created_by="U1",
            job_filter=f"Senior Backend Engineer, Payments Platform (Berlin) #{n:02}",
        )
    await bot.services.db.subscriptions.pause_channel("T0001", "C2", "is archived", error="is_archived")

    await open_home(bot)
    texts = [b["text"]["text"] for b in bot.slack.published_home["U1"]["blocks"] if b["type"] == "section"]
    texts += [
        e["text"] for b in bot.slack.published_home["U1"]["blocks"] if b["type"] == "context" for e in b["elements"]
    ]
    shown = sum(t.count("job: Senior Backend Engineer") for t in texts)
    assert 0 < shown < 40  # not all fit in one section of Slack's
    # Every line is whole, and those left out are counted, with where to see them.
    assert all(line.endswith("paused (is archived)") for t in texts for line in t.split("\n") if "job: Senior" in line)
    assert any(f"…and {40 - shown} more of <#C2>" in t and "the buttons act on all 40" in t for t in texts)
    (buttons,) = [b for b in bot.slack.published_home["U1"]["blocks"] if b["type"] == "actions"][1:]
    assert "Remove 40 subscriptions?" in str(buttons)


async def test_a_home_opened_while_a_click_on_it_is_answered_never_shows_the_older_state_last(bot):
    bot.slack.add_channel("C3", name="deleted-search")
    await subscribe(bot, channel="C3")
    del bot.slack.channels["C3"]
    (subscription,) = await a_card_is_refused_in(bot, "C3")
    await open_home(bot)
    home = {**bot.slack.published_home["U1"], "id": "VHOME", "type": "home"}

    # The Home is opened again (another device) and Slack is slow to take that Home; meanwhile
    # the recruiter clicks Remove on the Home they see.
    publishes = len(bot.slack.calls_to("views.publish"))
    bot.slack.before_answering["views.publish"] = lambda: asyncio.sleep(0.5)
    await bot.sender.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.publish")) > publishes)
    await bot.sender.block_action(
        Action.SUBSCRIPTION_REMOVE, value=str(subscription.id), user="U1", channel=None, view=home
    )
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.publish")) == publishes + 2, timeout=10)
    await asyncio.sleep(0.7)  # the slow one is answered too

    last = bot.slack.published_home["U1"]
    assert "Removed the subscription of <#C3>" in str(last["blocks"]) and paused_rows(last) == []
    assert await bot.services.db.subscriptions.list_for_channel("T0001", "C3") == []


async def test_re_enable_sent_by_a_member_for_someone_elses_private_search_tells_them_nothing_of_it(bot):
    # The admin's confidential search in a private channel, paused since the channel was shared.
    bot.slack.add_channel("G9", name="cfo-search", is_private=True, is_member=True)
    bot.sparkhire.add_job("Secret CFO search")
    await subscribe(bot, 'subscribe sparkhire job:"Secret CFO search" exclude:heir@rival.example', channel="G9")
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "G9")
    bot.slack.share_externally("G9")
    await bot.services.db.subscriptions.pause_channel("T0001", "G9", SHARED_REASON, error="shared")

    # A member, not in the channel, sends a Re-enable with that id (ids are small numbers).
    await bot.sender.block_action(
        Action.SUBSCRIPTION_RESUME,
        value=str(subscription.id),
        user="U2",
        channel="DU2",
        response_url=bot.slack.response_url("mo"),
    )
    (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("mo"), timeout=10)
    said = str(told)
    assert "Secret CFO search" not in said and "heir@rival.example" not in said
    assert "Only whoever set it up or a workspace admin" in said
    assert (await bot.services.db.subscriptions.get(subscription.id)).paused


async def test_a_members_re_enable_resumes_the_channels_others_paused_with_theirs(bot):
    bot.slack.add_channel("C2", name="archived-search")
    await subscribe(bot, "subscribe sparkhire completed", channel="C2", user="U2")  # the member's
    await subscribe(bot, "subscribe sparkhire completed compact job:Barista", channel="C2")  # the admin's
    bot.slack.channels["C2"]["is_archived"] = True
    theirs, _ = await a_card_is_refused_in(bot, "C2")
    bot.slack.channels["C2"]["is_archived"] = False

    await open_home(bot, user="U2")
    home = await click_on_home(bot, Action.SUBSCRIPTION_RESUME, theirs.id, user="U2")
    assert "Re-enabled 2 subscriptions in <#C2>" in str(home["blocks"])
    assert not any(s.paused for s in await bot.services.db.subscriptions.list_for_channel("T0001", "C2"))
