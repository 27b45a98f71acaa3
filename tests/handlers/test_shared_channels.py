"""A subscribed channel shared with another organisation since (Slack Connect): Slack's
``channel_shared`` event pauses its subscriptions, their creators are told by direct message, and
only `/interview subscribe ... shared` in the channel resumes them."""

import asyncio
import json
import re
import time

from blocks.ids import Action
from bot.notify.paused import SHARED_REASON
from tests.bot.notify.test_subscriptions import (
    cards,
    completed_for,
    completed_interview,
    said,
    subscribe,
    subscriptions,
)
from tests.handlers.test_home import open_home
from tests.handlers.test_paused_subscriptions import click_on_home
from tests.support.blockkit import assert_valid_blocks
from tests.support.slack_requests import SlackSender


def channel_shared(channel="C1"):
    return {"type": "channel_shared", "connected_team_id": "T0THEIRS", "channel": channel, "event_ts": f"{time.time()}"}


async def share(bot, channel="C1"):
    """The channel is shared with another company, and Slack sends the event."""
    bot.slack.share_externally(channel)
    response = await bot.sender.event(channel_shared(channel))
    assert response.status_code == 200 and response.text == ""


async def paused_in(bot, channel="C1"):
    for _ in range(200):
        subs = await subscriptions(bot, channel)
        if subs and all(s.paused for s in subs):
            return subs
        await asyncio.sleep(0.05)
    raise AssertionError(f"the subscriptions of {channel} were not paused")


async def settled(bot, *, info_calls):
    """The event's work is done: Slack was asked ``info_calls`` times in all, and nothing runs after it."""
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("conversations.info")) >= info_calls)
    for _ in range(100):
        if len(bot.services.tasks) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the event's work did not finish")


def barista(bot):
    return next(j for j in bot.sparkhire.jobs.values() if j["title"] == "Barista")


async def test_a_channel_shared_after_it_subscribed_posts_nothing_until_subscribe_shared_resumes_it(bot):
    await subscribe(bot, user="U2")
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    await bot.slack.wait_for(lambda: cards(bot), timeout=10)  # the channel got its cards until then
    in_channel = len(bot.slack.posted("C1"))

    await share(bot)
    (paused,) = await paused_in(bot)
    assert paused.paused_reason == SHARED_REASON
    # Its creator is told by direct message, with the command that resumes it; not the channel.
    (told,) = await bot.slack.wait_for(lambda: bot.slack.posted("U2"))
    assert_valid_blocks(told.blocks)
    assert "<#C1>" in told.text and "now shared with another organisation" in told.text
    assert "`/interview subscribe sparkhire completed shared`" in told.text
    assert "posts what it missed" in told.text

    later = completed_for(bot, barista(bot), name="Lee Later", email="lee@acme.io")
    (delivery,) = await bot.sparkhire.emit("InterviewCompleted", later)
    assert delivery.status == 200  # taken and kept, not posted
    await asyncio.sleep(0.5)
    assert len(bot.slack.posted("C1")) == in_channel
    assert not any("Lee Later" in m.text for m in bot.slack.messages)

    # Without `shared` it stays paused; with it, what it missed is posted.
    reply = await subscribe(bot, user="U2")
    assert "shared with another organisation" in said(reply) and "Nothing was subscribed" in said(reply)
    assert (await subscriptions(bot))[0].paused
    reply = await subscribe(bot, "subscribe sparkhire completed shared", user="U2")
    text = said(reply)
    assert "Re-enabled the paused subscription here. Posting the 1 notification missed while paused." in text
    assert "its people outside your company see these posts too" in text
    await bot.slack.wait_for(lambda: [c for c in cards(bot) if "Lee Later" in c.text], timeout=10)
    (after,) = await subscriptions(bot)
    assert after.id == paused.id and not after.paused and after.events == ("completed",)


async def test_a_deactivated_creator_is_stood_in_for_by_an_admin_never_by_the_shared_channel(bot):
    await subscribe(bot, user="U2")
    in_channel = len(bot.slack.posted("C1"))
    bot.slack.deactivate_user("U2")  # Mo left the company; U1 is the workspace's admin
    await share(bot)
    await paused_in(bot)
    (told,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"))
    assert_valid_blocks(told.blocks)
    assert "now shared with another organisation" in told.text
    assert "`/interview subscribe sparkhire completed shared`" in told.text
    assert "<@U2>, who set it up, can no longer be reached" in str(told.blocks)
    await asyncio.sleep(0.3)
    assert bot.slack.posted("U2") == [] and len(bot.slack.posted("C1")) == in_channel


async def test_re_enable_while_the_channel_is_shared_is_refused_with_the_command_that_resumes_it(bot):
    await subscribe(bot, 'subscribe sparkhire completed job:"barista" compact')
    await share(bot)
    (paused,) = await paused_in(bot)
    await bot.sparkhire.emit("InterviewCompleted", completed_for(bot, barista(bot), name="Mia Missed", email="m@x.io"))
    await open_home(bot)

    home = await click_on_home(bot, Action.SUBSCRIPTION_RESUME, paused.id)
    text = str(home["blocks"])
    assert "<#C1> is shared with another organisation (Slack Connect), so I did not re-enable it" in text
    command = "/interview subscribe sparkhire completed job:Barista compact shared"
    assert f"`{command}`" in text
    # Its Re-enable button is gone (it cannot work there); Remove stays.
    offered = [e["action_id"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert Action.SUBSCRIPTION_REMOVE in offered and Action.SUBSCRIPTION_RESUME not in offered
    assert (await subscriptions(bot))[0].paused
    await asyncio.sleep(0.3)
    assert cards(bot) == []

    # The command it names is the subscription's own: it resumes it, with what it missed.
    reply = await subscribe(bot, command.removeprefix("/interview "))
    assert "Re-enabled the paused subscription here" in said(reply)
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    assert "Mia Missed" in card.text
    (after,) = await subscriptions(bot)
    assert after.id == paused.id and not after.paused


async def test_an_event_slack_delivers_to_another_workspaces_installation_still_pauses_the_channel(bot):
    # Slack names one installation in `authorizations`: in a Slack Connect channel where the other
    # company installed the app too, or a Grid organisation, it may not be the subscribed workspace's.
    await subscribe(bot, user="U2")
    bot.slack.share_externally("C1")
    response = await bot.sender.event(channel_shared(), installation_team="T0THEIRS")
    assert response.status_code == 200
    (paused,) = await paused_in(bot)
    assert paused.paused_reason == SHARED_REASON
    (told,) = await bot.slack.wait_for(lambda: bot.slack.posted("U2"))
    assert "now shared with another organisation" in told.text


async def test_a_channel_confirmed_shared_stays_subscribed_when_another_organisation_joins_and_re_enable_works(bot):
    bot.slack.share_externally("C1")
    await subscribe(bot, "subscribe sparkhire completed shared", user="U2")
    await share(bot)  # a second organisation joins: `shared` already said outsiders may read it
    await settled(bot, info_calls=len(bot.slack.calls_to("conversations.info")) + 1)
    (subscription,) = await subscriptions(bot)
    assert not subscription.paused and not bot.slack.posted("U2")

    # Paused for another reason (the bot was removed, say), Re-enable on the App Home resumes it.
    await bot.services.db.subscriptions.pause(subscription.id, "not in channel")
    await open_home(bot, user="U2")
    home = await click_on_home(bot, Action.SUBSCRIPTION_RESUME, subscription.id, user="U2")
    assert "is shared with another organisation" not in str(home["blocks"])
    assert not (await subscriptions(bot))[0].paused


async def test_the_hourly_check_pauses_a_channel_shared_without_an_event_and_leaves_the_others(bot):
    # Shared while the bot was down (Slack gave up on the event), or before this version.
    await subscribe(bot, user="U2")
    for channel in ("C2", "C3"):
        bot.slack.add_channel(channel, name=channel.lower())
    await subscribe(bot, channel="C2")
    bot.slack.share_externally("C3")
    await subscribe(bot, "subscribe sparkhire completed shared", channel="C3")  # confirmed
    bot.slack.share_externally("C1")

    assert await bot.pipeline.shared_check.check_all() == 1
    (paused,) = await subscriptions(bot, "C1")
    assert paused.paused and paused.paused_reason == SHARED_REASON
    assert [s.paused for s in await subscriptions(bot, "C2") + await subscriptions(bot, "C3")] == [False, False]
    (told,) = await bot.slack.wait_for(lambda: bot.slack.posted("U2"))
    assert "<#C1>" in told.text and "now shared with another organisation" in told.text

    assert await bot.pipeline.shared_check.check_all() == 0  # paused already: nobody told twice
    await asyncio.sleep(0.3)
    assert len(bot.slack.posted("U2")) == 1


async def test_subscribe_shared_resumes_every_subscription_the_sharing_paused_whatever_its_words(bot):
    await subscribe(bot, "subscribe sparkhire completed compact")
    await subscribe(bot, "subscribe wedgehr completed")
    await share(bot)
    assert len(await paused_in(bot)) == 2

    reply = await subscribe(bot, "subscribe sparkhire completed shared")  # not the compact one's words
    assert "Re-enabled 2 paused subscriptions here" in said(reply)
    subs = await subscriptions(bot)
    assert [s.paused for s in subs] == [False, False, False]  # and the new one it asked for


async def test_a_subscription_paused_for_another_reason_takes_the_shared_pause_and_its_creator_is_told(bot):
    # Paused because WedgeHR refused the token: a new token must not resume it in a shared channel.
    await subscribe(bot, "subscribe wedgehr completed", user="U2")
    (sub,) = await subscriptions(bot)
    await bot.services.db.subscriptions.pause(sub.id, "WedgeHR rejected the workspace's token")
    await share(bot)
    (told,) = await bot.slack.wait_for(lambda: bot.slack.posted("U2"))
    assert "`/interview subscribe wedgehr completed shared`" in told.text
    (after,) = await subscriptions(bot)
    assert after.paused_reason == SHARED_REASON

    # Slack sends the event again (a retry, another organisation joining): nobody is told twice.
    await bot.sender.event(channel_shared())
    await settled(bot, info_calls=len(bot.slack.calls_to("conversations.info")) + 1)
    assert len(bot.slack.posted("U2")) == 1


async def test_an_event_for_a_channel_slack_says_is_not_shared_outside_changes_nothing(bot):
    bot.slack.add_channel("C8", name="grid-wide")
    await subscribe(bot, user="U2")
    await subscribe(bot, channel="C8", user="U2")
    bot.slack.channels["C8"].update(is_shared=True, is_org_shared=True)  # one Enterprise Grid organisation
    asked = len(bot.slack.calls_to("conversations.info"))
    for channel in ("C1", "C8"):
        response = await bot.sender.event(channel_shared(channel))
        assert response.status_code == 200
    await settled(bot, info_calls=asked + 2)

    assert [s.paused for s in [*await subscriptions(bot, "C1"), *await subscriptions(bot, "C8")]] == [False, False]
    assert bot.slack.posted("U2") == []
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    await bot.slack.wait_for(lambda: cards(bot, "C1") and cards(bot, "C8"), timeout=10)


async def test_when_slack_cannot_say_whether_it_is_shared_the_channel_is_paused_all_the_same(bot):
    await subscribe(bot, user="U2")
    bot.slack.fail("conversations.info", error="internal_error")
    response = await bot.sender.event(channel_shared())  # conversations.info still says "not shared"
    assert response.status_code == 200
    (paused,) = await paused_in(bot)
    assert paused.paused_reason == SHARED_REASON
    (told,) = await bot.slack.wait_for(lambda: bot.slack.posted("U2"))
    assert_valid_blocks(told.blocks)


async def test_an_unsigned_or_forged_channel_shared_event_changes_nothing(bot):
    await subscribe(bot, user="U2")
    bot.slack.share_externally("C1")
    asked = len(bot.slack.calls_to("conversations.info"))
    forger = SlackSender(bot.url, secret="not-the-signing-secret-0123456789")
    try:
        forged = await forger.event(channel_shared())
    finally:
        await forger.aclose()
    body = json.dumps({"type": "event_callback", "team_id": "T0001", "api_app_id": "A1", "event": channel_shared()})
    unsigned = await bot.sender.client.post(bot.sender.url, content=body, headers={"Content-Type": "application/json"})
    assert (forged.status_code, unsigned.status_code) == (401, 401)

    await asyncio.sleep(0.3)
    assert not (await subscriptions(bot))[0].paused
    assert len(bot.slack.calls_to("conversations.info")) == asked and bot.slack.posted("U2") == []


def test_the_notice_quotes_a_command_that_parses_back_to_the_subscription():
    from blocks.models import SubscriptionView
    from blocks.subscriptions import shared_pause_notice, still_paused_notice
    from bot.notify import grammar

    view = SubscriptionView(
        id=1,
        channel_id="C1",
        vendor="sparkhire",
        events=("completed", "rated"),
        job_filter="Sr. Account Executive",
        excludes=("a@b.io", "@rival.com"),
        compact=True,
    )
    for message in (shared_pause_notice([view, view]), still_paused_notice([view], cause="shared")):
        assert_valid_blocks(message.blocks)
        (command,) = re.findall(r"`/interview (subscribe [^`]+)`", message.text)
        request = grammar.parse(command.removeprefix("subscribe "))
        assert request.vendors == ("sparkhire",) and request.events == ("completed", "rated")
        assert request.job == "Sr. Account Executive" and set(request.excludes) == {"a@b.io", "@rival.com"}
        assert request.compact and request.shared


async def test_slack_sending_the_event_again_while_the_first_is_handled_tells_the_creator_once(bot):
    # Slack retries an event it got no answer to in 3 s, and sends one per organisation joining:
    # two at once both read the channel's subscriptions before either paused them.
    await subscribe(bot, user="U2")
    bot.slack.share_externally("C1")
    responses = await asyncio.gather(*(bot.sender.event(channel_shared()) for _ in range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    await settled(bot, info_calls=3)
    (told,) = bot.slack.posted("U2")
    assert "now shared with another organisation" in told.text
