"""A card refresh Slack rate-limited after its reply: made later, the reply posted once, the row never dropped."""

import asyncio
import logging
import time

import sqlalchemy as sa

from blocks.ids import Action
from bot.storage import schema
from tests.bot.notify.test_pipeline import (
    cards,
    completed_interview,
    outbox_when_settled,
    replies,
    subscribe,
)
from tests.support.harness import running_bot

BOB_5 = "Ann Lee was rated: ★★★★★ 5 by Bob"


async def refresh_refused(bot, *, retry_after: int, stars: float = 5, reviewer: str = "Bob"):
    """Rate Ann Lee; her reply goes, and Slack answers the card's refresh "ratelimited, retry after"."""
    card = next(c for c in cards(bot) if "Ann Lee" in c.text)
    bot.slack.fail("chat.update", status=429, error="ratelimited", retry_after=retry_after)
    updates = len(bot.slack.calls_to("chat.update"))
    await bot.sparkhire.rate_interview(completed_interview(bot)["uuid"], stars, reviewer=reviewer)
    (refused,) = await bot.slack.wait_for(lambda: bot.slack.calls_to("chat.update")[updates:])
    return card, refused


async def posted_card(bot):
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", {**interview, "rating": 0})
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    await asyncio.sleep(1.1)  # past the channel's pacing
    return card


async def test_a_reply_waiting_for_its_card_refresh_is_not_posted_again_when_an_older_row_of_the_thread_goes_first(
    database_url,
):
    # Re-enable queues what a pause failed under its old, smaller id: that row goes before the one
    # waiting out Slack's limit on its card's refresh, and its record of the card dropped the
    # waiting row's mark. Leased again, the waiting row posted its reply a second time.
    async with running_bot(database_url=database_url) as bot:
        await subscribe(bot)  # everything: ratings are queued under this one while it is active
        await subscribe(bot, "subscribe sparkhire rated job:Barista")  # and under this one meanwhile
        first, _rated_for_barista = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
        card = await posted_card(bot)
        # Alice's rating meets a refusal that pauses the first subscription (its row fails).
        bot.slack.fail("chat.postMessage", error="no_permission", when=lambda call: call.args.get("thread_ts"))
        await bot.sparkhire.rate_interview(completed_interview(bot)["uuid"], 2, reviewer="Alice")
        await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)  # its creator is told
        assert (await bot.services.db.subscriptions.get(first.id)).paused
        await asyncio.sleep(1.1)
        # Bob's rating goes through the other subscription; its card refresh must wait 4 s.
        card, refused = await refresh_refused(bot, retry_after=4)
        assert [r.text for r in replies(bot, card)] == [BOB_5]
        await bot.sender.block_action(
            Action.SUBSCRIPTION_RESUME, value=str(first.id), response_url=bot.slack.response_url("re")
        )
        await bot.slack.wait_for(lambda: bot.slack.responses.get("re"), timeout=10)
        assert time.monotonic() - refused.at < 4, "re-enabled too late to queue Alice's row before Bob's went"
        assert await outbox_when_settled(bot) == {"sent": 3}
        await asyncio.sleep(1.2)  # nothing more comes
        texts = sorted(r.text for r in replies(bot, card))
        assert texts == sorted(["Ann Lee was rated: ★★☆☆☆ 2 by Alice", BOB_5])  # each once
        assert "★★★★★ 5" in str(card.blocks) and bot.slack.too_early == []


async def test_a_reply_waiting_for_its_card_refresh_whose_mark_was_lost_is_found_in_the_thread_not_posted_again(bot):
    await subscribe(bot)
    card = await posted_card(bot)
    card, _ = await refresh_refused(bot, retry_after=2)
    # The card's record is written without the mark, as the previous release wrote it for another row.
    t = schema.slack_messages
    deadline = time.monotonic() + 1.5  # the worker writes the mark just after Slack's 429 answer
    while True:
        async with bot.services.db.engine.connect() as conn:
            key, record = (await conn.execute(sa.select(t.c.thread_key, t.c.card))).one()
        if "refresh_owed" in record or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
    assert "refresh_owed" in record
    async with bot.services.db.engine.begin() as conn:
        record.pop("refresh_owed")
        await conn.execute(sa.update(t).where(t.c.thread_key == key).values(card=record))
    await bot.slack.wait_for(lambda: card.updates == 1, timeout=10)
    assert await outbox_when_settled(bot) == {"sent": 2}
    await asyncio.sleep(1.2)
    assert [r.text for r in replies(bot, card)] == [BOB_5]
    assert bot.slack.calls_to("conversations.replies")  # looked for by its metadata, found
    assert "★★★★★ 5" in str(card.blocks)


async def test_a_card_refresh_whose_interview_spark_hire_cannot_serve_for_a_while_is_made_once_it_can(bot, caplog):
    caplog.set_level(logging.INFO, logger="bot.notify.worker")
    await subscribe(bot)
    card = await posted_card(bot)
    uuid = completed_interview(bot)["uuid"]
    card, _ = await refresh_refused(bot, retry_after=1)
    # When the row is leased again for the refresh, Spark Hire is down through all of one fetch's retries.
    bot.sparkhire.fail_next(503, times=4, when=lambda request: request.method == "GET" and uuid in request.path)
    await bot.slack.wait_for(lambda: card.updates == 1, timeout=20)
    assert "★★★★★ 5" in str(card.blocks)
    assert await outbox_when_settled(bot) == {"sent": 2}
    assert [r.text for r in replies(bot, card)] == [BOB_5]
    assert "older than the card" not in caplog.text


async def test_a_card_refresh_whose_interview_was_deleted_meanwhile_is_given_up_and_the_log_says_why(bot, caplog):
    caplog.set_level(logging.INFO, logger="bot.notify.worker")
    await subscribe(bot)
    card = await posted_card(bot)
    card, _ = await refresh_refused(bot, retry_after=1)
    row_id = max(int(r.metadata["event_payload"]["outbox_id"]) for r in replies(bot, card))
    bot.sparkhire.interviews.pop(completed_interview(bot)["uuid"])  # deleted at Spark Hire
    assert await outbox_when_settled(bot) == {"sent": 2}
    await asyncio.sleep(1.2)
    assert [r.text for r in replies(bot, card)] == [BOB_5] and card.updates == 0
    assert f"Outbox row {row_id} is older than the card" not in caplog.text  # it was not
    assert f"Outbox row {row_id}: its interview could not be fetched" in caplog.text


async def test_a_reply_posted_before_its_subscription_went_is_marked_sent_once_its_card_is_refreshed(bot, caplog):
    caplog.set_level(logging.INFO, logger="bot.notify.worker")
    await subscribe(bot)
    card = await posted_card(bot)
    card, _ = await refresh_refused(bot, retry_after=2)
    # Another process removes the subscription while the row waits, leaving it pending.
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    await bot.services.db.subscriptions.remove(subscription.id)
    assert await outbox_when_settled(bot) == {"sent": 2}
    assert "not posted" not in caplog.text  # it was
    assert [r.text for r in replies(bot, card)] == [BOB_5]
    await bot.slack.wait_for(lambda: card.updates == 1)


async def test_a_reply_posted_before_its_subscription_was_paused_is_marked_sent_not_filtered_out(bot, caplog):
    # A rating's job filter is checked once its interview is fetched; leased again for the card's
    # refresh, the paused subscription no longer passed it, and the row was 'skipped', "not posted".
    caplog.set_level(logging.INFO, logger="bot.notify.worker")
    await subscribe(bot, "subscribe sparkhire job:Barista")
    card = await posted_card(bot)
    card, _ = await refresh_refused(bot, retry_after=2)
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    await bot.services.db.subscriptions.pause(subscription.id, "WedgeHR refused the token")
    assert await outbox_when_settled(bot) == {"sent": 2}
    assert "not posted" not in caplog.text
    assert [r.text for r in replies(bot, card)] == [BOB_5]


async def test_a_card_refresh_owed_when_the_channel_unsubscribes_is_still_made_when_slack_allows(bot):
    # Unsubscribe skipped every row still waiting, this one too: its reply was in the thread, but
    # the card kept showing the candidate's old state for good.
    await subscribe(bot)
    card = await posted_card(bot)
    card, _ = await refresh_refused(bot, retry_after=3)
    await bot.sender.command("unsubscribe sparkhire", response_url=bot.slack.response_url("u"))
    reply = (await bot.slack.wait_for(lambda: bot.slack.responses.get("u")))[-1]
    assert "Removed 1" in reply["text"]
    await bot.slack.wait_for(lambda: card.updates == 1, timeout=10)
    assert "★★★★★ 5" in str(card.blocks)
    assert await outbox_when_settled(bot) == {"sent": 2}
    await asyncio.sleep(1.2)  # nothing more comes
    assert [r.text for r in replies(bot, card)] == [BOB_5] and card.updates == 1


async def test_a_card_refresh_another_row_made_first_is_not_logged_as_a_late_delivery(bot, caplog):
    # Bob's completion waits to refresh the card; Re-enable queues Alice's rating under its old,
    # smaller id, which goes first and brings the card up to date. Bob's row then found nothing
    # to do, but the log said it was "older than the card shows: replied, card kept".
    caplog.set_level(logging.INFO, logger="bot.notify.worker")
    await subscribe(bot)  # everything: Alice's rating is queued under this one
    await subscribe(bot, "subscribe sparkhire job:Barista")  # and the completion under this one
    first, _ = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    card = await posted_card(bot)
    bot.slack.fail("chat.postMessage", error="no_permission", when=lambda call: call.args.get("thread_ts"))
    await bot.sparkhire.rate_interview(completed_interview(bot)["uuid"], 2, reviewer="Alice")
    await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)  # paused, its creator told
    await asyncio.sleep(1.1)
    bot.slack.fail("chat.update", status=429, error="ratelimited", retry_after=4)
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))  # as of Alice's rating
    (refused,) = await bot.slack.wait_for(lambda: bot.slack.calls_to("chat.update"))
    await bot.sender.block_action(
        Action.SUBSCRIPTION_RESUME, value=str(first.id), response_url=bot.slack.response_url("re")
    )
    await bot.slack.wait_for(lambda: bot.slack.responses.get("re"), timeout=10)
    assert time.monotonic() - refused.at < 4, "re-enabled too late to queue Alice's row before Bob's went"
    assert await outbox_when_settled(bot) == {"sent": 3}
    assert card.updates == 1 and "★★☆☆☆ 2" in str(card.blocks)
    assert len(replies(bot, card)) == 2
    assert "older than the card" not in caplog.text


async def test_a_delivery_older_than_the_card_replies_keeps_the_card_and_the_log_says_so(bot, caplog):
    caplog.set_level(logging.INFO, logger="bot.notify.worker")
    await subscribe(bot)
    card = await posted_card(bot)
    late = {**completed_interview(bot), "updated_at": "2020-01-01T00:00:00+00:00"}
    await bot.sparkhire.emit("InterviewCompleted", late)  # delivered out of order, long after
    await bot.slack.wait_for(lambda: replies(bot, card))
    assert await outbox_when_settled(bot) == {"sent": 2}
    assert card.updates == 0
    row_id = int(replies(bot, card)[0].metadata["event_payload"]["outbox_id"])
    assert f"Outbox row {row_id} is older than the card {card.ts} shows: replied, card kept" in caplog.text


async def test_a_compact_ratings_refresh_of_a_full_card_also_waits_out_a_spark_hire_outage(bot):
    # Completions as cards, ratings as compact lines: the card's refresh a compact rating owes is
    # made too, not dropped because Spark Hire could not serve the interview at that moment.
    await subscribe(bot, "subscribe sparkhire completed")
    await subscribe(bot, "subscribe sparkhire rated compact")
    card = await posted_card(bot)
    uuid = completed_interview(bot)["uuid"]
    card, _ = await refresh_refused(bot, retry_after=1)
    bot.sparkhire.fail_next(503, times=4, when=lambda request: request.method == "GET" and uuid in request.path)
    await bot.slack.wait_for(lambda: card.updates == 1, timeout=20)
    assert "★★★★★ 5" in str(card.blocks)
    assert [r.text for r in replies(bot, card)] == [BOB_5]
