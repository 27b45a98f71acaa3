"""Subscriptions, the Spark Hire receiver, the WedgeHR poller and delivery, through the running bot."""

import asyncio
import base64
import dataclasses
import hashlib
import json
import time

import httpx
import sqlalchemy as sa

from blocks.ids import Action
from bot.notify import subscriptions
from bot.notify.events import sparkhire_event
from bot.notify.receiver import webhook_path
from bot.notify.worker import OutboxWorker
from bot.storage import schema
from bot.storage.repos import DEFERRED_FILTERS_REFUSED, DEFERRED_FILTERS_UNCHECKED
from bot.vendors.http import RetryPolicy
from tests.support import fixtures
from tests.support.harness import OAUTH, SPARKHIRE_KEY, WEDGEHR_TOKEN, install_workspace, running_bot


async def subscribe(bot, text="subscribe sparkhire", channel="C1"):
    key = f"sub-{len(bot.slack.calls)}-{channel}"
    await bot.sender.command(text, channel=channel, response_url=bot.slack.response_url(key))
    return (await bot.slack.wait_for(lambda: bot.slack.responses.get(key)))[-1]


def completed_interview(bot):
    return next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")


def cards(bot, channel="C1"):
    return [m for m in bot.slack.posted(channel) if m.thread_ts is None]


async def answer_lost():
    raise asyncio.CancelledError  # aiohttp closes the connection without an answer


async def test_subscribe_joins_channel_registers_webhook_and_confirms(bot):
    reply = await subscribe(bot)
    assert "Subscribed" in str(reply["blocks"]) and "completed, rated, expired" in str(reply["blocks"])
    assert bot.slack.calls_to("conversations.join")[-1].args["channel"] == "C1"
    (hook,) = bot.sparkhire.webhooks.values()
    connection = await bot.services.resolve_connection("T0001", "sparkhire", "U1")
    assert hook["url"] == bot.settings.public_url + webhook_path(connection.id)
    assert hook["_auth"].startswith("interview-bot:")
    # Subscribing another channel reuses the registration.
    bot.slack.add_channel("C2", name="other")
    await subscribe(bot, channel="C2")
    assert len(bot.sparkhire.webhooks) == 1


async def test_completed_interview_posts_one_card_and_duplicates_post_nothing(bot):
    await subscribe(bot)
    interview = completed_interview(bot)
    (delivery,) = await bot.sparkhire.emit("InterviewCompleted", interview)
    assert delivery.status == 200
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    assert "Ann Lee" in card.text and "completed" in card.text
    assert "Watch interview" in str(card.blocks) and "★" in str(card.blocks)
    # Spark Hire retries and replays: stored once, posted once.
    await bot.sparkhire.emit("InterviewCompleted", interview)
    await bot.sparkhire.emit("InterviewCompleted", interview)
    await asyncio.sleep(0.5)
    assert len(bot.slack.posted("C1")) == 1
    assert await bot.services.db.events.count() == 1


async def test_wrong_credentials_get_401_and_post_nothing(bot):
    await subscribe(bot)
    (hook,) = bot.sparkhire.webhooks.values()
    url = hook["url"]
    async with httpx.AsyncClient() as client:
        bad = await client.post(
            url,
            json={"uuid": "x"},
            headers={
                "Authorization": "Basic " + base64.b64encode(b"interview-bot:guess").decode(),
                "X-SparkHire-Event": "InterviewCompleted",
            },
        )
        missing = await client.post(url, json={"uuid": "x"})
        unknown = await client.post(
            url.rsplit("/", 1)[0] + "/nope",
            json={"uuid": "x"},
            headers={"Authorization": "Basic " + base64.b64encode(hook["_auth"].encode()).decode()},
        )
    assert (bad.status_code, missing.status_code, unknown.status_code) == (401, 401, 401)
    await asyncio.sleep(0.3)
    assert bot.slack.posted("C1") == [] and await bot.services.db.events.count() == 0


async def test_bad_bodies_get_4xx_and_unknown_events_2xx(bot):
    await subscribe(bot)
    (hook,) = bot.sparkhire.webhooks.values()
    auth = {"Authorization": "Basic " + base64.b64encode(hook["_auth"].encode()).decode()}
    async with httpx.AsyncClient() as client:
        not_object = await client.post(hook["url"], content=b"[1,2]", headers=auth)
        not_json = await client.post(hook["url"], content=b"{nope", headers=auth)
        too_big = await client.post(hook["url"], content=b"{" + b" " * (1024 * 1024 + 10) + b"}", headers=auth)
        unknown = await client.post(
            hook["url"], json={"uuid": "u-1"}, headers={**auth, "X-SparkHire-Event": "SomethingNew"}
        )
    assert (not_object.status_code, not_json.status_code, too_big.status_code) == (400, 400, 413)
    assert unknown.status_code == 200
    assert await bot.services.db.events.count() == 1  # stored, matched by no subscription
    await asyncio.sleep(0.3)
    assert bot.slack.posted("C1") == []


async def test_rating_is_a_thread_reply_and_updates_the_card(bot):
    await subscribe(bot)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", interview)
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    await bot.sparkhire.rate_interview(interview["uuid"], 3.5)
    replies = await bot.slack.wait_for(lambda: [m for m in bot.slack.posted("C1") if m.thread_ts == card.ts])
    assert "3.5" in replies[0].text
    await bot.slack.wait_for(lambda: card.updates >= 1)
    assert "★★★★☆ 3.5" in str(card.blocks)


async def test_a_post_slack_counted_late_still_has_a_full_second_before_the_next(bot):
    # Slack counts a post when it handles it: here the first is handled 0.4 s after it was sent, as
    # when many channels' first posts queue at once. Paced from its sending, the second post came
    # 0.6 s after Slack counted the first, and Slack answers that with a 429.
    await subscribe(bot)
    counted_at: list[float] = []

    async def slack_counts(delay: float = 0.0):
        await asyncio.sleep(delay)
        counted_at.append(time.monotonic())
        bot.slack.before_answering["chat.postMessage"] = slack_counts

    bot.slack.before_answering["chat.postMessage"] = lambda: slack_counts(0.4)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", interview)
    await bot.sparkhire.emit("InterviewCompleted", {**interview, "uuid": "another-interview"})
    await bot.slack.wait_for(lambda: len(cards(bot)) == 2, timeout=10)
    assert counted_at[1] - counted_at[0] >= 1.0


async def test_a_card_refresh_that_fails_after_its_reply_does_not_post_the_reply_again(bot):
    await subscribe(bot)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", interview)
    (card,) = await bot.slack.wait_for(lambda: cards(bot))

    async def connection_dropped():
        bot.slack.before_answering["chat.update"] = connection_dropped  # every retry too
        await answer_lost()

    bot.slack.before_answering["chat.update"] = connection_dropped
    await bot.sparkhire.rate_interview(interview["uuid"], 3.5)
    await bot.slack.wait_for(lambda: bot.slack.calls_to("chat.update"))
    await asyncio.sleep(1.5)  # a retry of the row would come now
    replies = [m for m in bot.slack.posted("C1") if m.thread_ts == card.ts]
    assert len(replies) == 1 and "3.5" in replies[0].text
    assert (await bot.services.db.outbox.counts()).get("pending", 0) == 0


async def test_a_post_whose_answer_is_lost_is_found_in_the_channel_not_posted_again(bot):
    await subscribe(bot)
    bot.slack.after_handling["chat.postMessage"] = answer_lost  # the card is posted; the bot never hears
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", interview)
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    await bot.slack.wait_for(lambda: bot.slack.calls_to("conversations.history"), timeout=10)
    await bot.sparkhire.rate_interview(interview["uuid"], 3.5)
    (reply,) = await bot.slack.wait_for(lambda: [m for m in bot.slack.posted("C1") if m.thread_ts == card.ts])
    assert cards(bot) == [card] and "3.5" in reply.text
    for _ in range(50):  # the reply is recorded just after Slack answers it
        if await bot.services.db.outbox.counts() == {"sent": 2}:
            break
        await asyncio.sleep(0.1)
    assert await bot.services.db.outbox.counts() == {"sent": 2}


async def test_another_apps_message_carrying_the_rows_metadata_is_not_taken_for_the_bots_post():
    import sqlalchemy as sa

    from bot.storage import schema
    from tests.support.fake_slack import Message

    async with running_bot(start_workers=False) as bot:
        await subscribe(bot)
        await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
        async with bot.services.db.engine.begin() as conn:  # an attempt that died before reaching Slack
            (row_id,) = (await conn.execute(sa.select(schema.outbox.c.id))).one()
            await conn.execute(sa.update(schema.outbox).values(posting_since=time.time() - 1))
        # Another app in the channel (a Slack Connect partner's, say) posts the same metadata shape.
        forged = Message(
            channel="C1",
            ts=f"{time.time():.6f}",
            text="not a notification",
            blocks=None,
            metadata={"event_type": "interview_notification_posted", "event_payload": {"outbox_id": str(row_id)}},
        )
        bot.slack.messages.append(forged)
        tasks = bot.pipeline.start()
        try:
            (card,) = await bot.slack.wait_for(lambda: [m for m in cards(bot) if m.ts != forged.ts], timeout=10)
            assert bot.slack.calls_to("conversations.history")  # it looked, and did not trust what it found
            for _ in range(50):
                if await bot.services.db.outbox.counts() == {"sent": 1}:
                    break
                await asyncio.sleep(0.1)
            async with bot.services.db.engine.connect() as conn:
                (threaded_under,) = (await conn.execute(sa.select(schema.slack_messages.c.ts))).one()
            assert threaded_under == card.ts  # later events reply under the bot's card, not the forged one
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def test_without_the_history_scopes_a_lost_answer_is_posted_again_and_the_log_says_what_to_grant(bot, caplog):
    await subscribe(bot)
    bot.slack.scopes.clear()
    bot.slack.after_handling["chat.postMessage"] = answer_lost
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    # Nothing is lost: without a way to look, the bot posts again rather than risk dropping it.
    await bot.slack.wait_for(lambda: len(cards(bot)) == 2, timeout=10)
    assert "Grant the channels:history and groups:history scopes" in caplog.text
    assert "missing_scope" in caplog.text


async def test_rating_still_posts_when_the_interview_cannot_be_fetched(bot):
    await subscribe(bot)
    bot.sparkhire.fail_next(503, times=10)
    await bot.sparkhire.emit(
        "InterviewRated", {"rating": 2.0, "interview": {"uuid": "5a0c2a35-0000-4000-8000-000000000001"}}
    )
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    assert "★★☆☆☆ 2" in str(card.blocks)
    assert "5a0c2a35-0000-4000-8000-000000000001/watch" in str(card.blocks)


async def test_a_rating_whose_interview_cannot_be_fetched_replies_but_keeps_the_card(bot):
    await subscribe(bot)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", interview)
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    bot.sparkhire.fail_next(503, times=50)
    await bot.sparkhire.rate_interview(interview["uuid"], 3.0)
    (reply,) = await bot.slack.wait_for(lambda: [m for m in bot.slack.posted("C1") if m.thread_ts == card.ts])
    assert "★★★☆☆ 3" in str(reply.blocks)
    await asyncio.sleep(0.3)
    # Overwritten with what the reply knew, the card read "A candidate", with no name, email or job.
    assert card.updates == 0 and "Ann Lee" in str(card.blocks)


async def test_a_rating_naming_its_interview_by_a_bare_uuid_replies_in_the_candidates_thread(bot):
    await subscribe(bot)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", interview)
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    await bot.sparkhire.emit(
        "InterviewRated", {"uuid": "99999999-0000-4000-8000-000000000000", "rating": 4, "interview": interview["uuid"]}
    )
    (reply,) = await bot.slack.wait_for(lambda: [m for m in bot.slack.posted("C1") if m.thread_ts == card.ts])
    assert "Ann Lee was rated" in reply.text  # found by the uuid it names, not taken for a new candidate


async def test_ratings_face_the_job_and_exclude_filters_once_their_interview_is_fetched(bot):
    # A rating names only its interview; the filters apply to the interview it names.
    bot.sparkhire.add_job("Chef")
    await subscribe(bot, "subscribe sparkhire rated job:Barista")
    bot.slack.add_channel("C2", name="chefs")
    await subscribe(bot, "subscribe sparkhire rated job:Chef", channel="C2")
    bot.slack.add_channel("C3", name="no-tests")
    await subscribe(bot, "subscribe sparkhire completed rated exclude:@example.com", channel="C3")
    bot.slack.add_channel("C4", name="kitchen-and-bar")  # one subscription per job, as the grammar says
    await subscribe(bot, "subscribe sparkhire rated job:Chef", channel="C4")
    await subscribe(bot, "subscribe sparkhire rated job:Barista", channel="C4")
    interview = completed_interview(bot)  # Ann Lee <ann@example.com>, a Barista interview
    await bot.sparkhire.rate_interview(interview["uuid"], 4.0)
    (card,) = await bot.slack.wait_for(lambda: cards(bot, "C1"))
    assert "Ann Lee" in card.text and "★★★★☆ 4" in str(card.blocks)
    (card,) = await bot.slack.wait_for(lambda: cards(bot, "C4"))
    assert "Ann Lee" in card.text
    # The other two channels' rows end without a post, and hold nothing up behind them.
    for _ in range(100):  # a post is recorded as sent just after Slack has it
        if await bot.services.db.outbox.counts() == {"sent": 2, "skipped": 2}:
            break
        await asyncio.sleep(0.05)
    assert await bot.services.db.outbox.counts() == {"sent": 2, "skipped": 2}
    assert bot.slack.posted("C2") == bot.slack.posted("C3") == []


async def test_a_rating_for_a_job_filtered_channel_waits_out_a_spark_hire_outage_then_faces_the_filter(bot):
    # A rating's job filter is checked once its interview is fetched. With Spark Hire down through one
    # fetch's retries, the row was skipped for good ("its interview could not be fetched to check the
    # filters"): the Barista rating never reached #hiring, even after Spark Hire was back.
    bot.services.vendor_retry = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.05)
    await subscribe(bot, "subscribe sparkhire rated job:Barista")
    barista = completed_interview(bot)  # Ann Lee, a Barista interview
    chef = bot.sparkhire.add_interview(job_uuid=bot.sparkhire.add_job("Chef")["uuid"], name="Cy Cook", email="cy@a.io")
    bot.sparkhire.set_status(chef["uuid"], "completed")
    fetch = lambda r: r.method == "GET" and r.path.startswith("/interviews/")  # noqa: E731
    bot.sparkhire.fail_next(503, times=10, when=fetch)  # two whole fetches and half of a third
    await bot.sparkhire.rate_interview(barista["uuid"], 4.0)
    await bot.sparkhire.rate_interview(chef["uuid"], 2.0)
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=20)
    assert "Ann Lee" in card.text and "★★★★☆ 4" in str(card.blocks)
    for _ in range(200):
        if await bot.services.db.outbox.counts() == {"sent": 1, "skipped": 1}:
            break
        await asyncio.sleep(0.05)
    assert await bot.services.db.outbox.counts() == {"sent": 1, "skipped": 1}
    # The Chef rating was refused by the filter once its interview could be read, not for want of it.
    async with bot.services.db.engine.connect() as conn:
        query = sa.select(schema.outbox.c.last_error).where(schema.outbox.c.status == "skipped")
        assert (await conn.execute(query)).scalar_one() == DEFERRED_FILTERS_REFUSED
    await asyncio.sleep(1.2)  # past the channel's pacing: nothing more goes out
    assert len(bot.slack.posted("C1")) == 1 and "Cy Cook" not in str(bot.slack.posted("C1")[0].blocks)
    fetches = [r for r in bot.sparkhire.requests if r.method == "GET" and r.path.startswith("/interviews/")]
    assert len(fetches) == 12  # the ten refused, then one each that worked


async def test_a_filtered_rating_whose_interview_spark_hire_refuses_is_skipped_at_once_not_holding_the_channel(bot):
    # A 403 (the key cannot see that interview) is not a moment's outage: retried with the worker's
    # backoff, the rating held the channel's later events for minutes, then was skipped anyway.
    bot.services.vendor_retry = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.05)
    await subscribe(bot, "subscribe sparkhire rated job:Barista")
    hidden = completed_interview(bot)  # Ann Lee, a Barista interview this key may not read
    later = bot.sparkhire.add_interview(job_uuid=hidden["job_post"]["uuid"], name="Bo Bean", email="bo@a.io")
    bot.sparkhire.set_status(later["uuid"], "completed")
    fetch = lambda r: r.method == "GET" and r.path == f"/interviews/{hidden['uuid']}"  # noqa: E731
    bot.sparkhire.fail_next(403, times=50, when=fetch)
    await bot.sparkhire.rate_interview(hidden["uuid"], 4.0)
    await bot.sparkhire.rate_interview(later["uuid"], 5.0)
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=3)  # the later rating did not wait
    assert "Bo Bean" in card.text
    async with bot.services.db.engine.connect() as conn:
        query = sa.select(schema.outbox.c.last_error).where(schema.outbox.c.status == "skipped")
        assert (await conn.execute(query)).scalar_one() == DEFERRED_FILTERS_UNCHECKED
    await asyncio.sleep(1.2)  # past the channel's pacing: nothing more is tried or posted
    assert await bot.services.db.outbox.counts() == {"sent": 1, "skipped": 1}
    asked = [r for r in bot.sparkhire.requests if r.method == "GET" and r.path == f"/interviews/{hidden['uuid']}"]
    assert len(asked) == 1  # asked once: no retry of what a retry cannot fix
    assert len(bot.slack.posted("C1")) == 1


async def test_a_filtered_rating_is_skipped_when_its_interview_is_gone_or_spark_hire_stays_down(bot):
    bot.services.vendor_retry = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.05)
    bot.pipeline.worker.max_attempts = 2
    await subscribe(bot, "subscribe sparkhire rated job:Barista")
    gone = "5a0c2a35-0000-4000-8000-000000000001"  # deleted at Spark Hire: a 404, asked once
    await bot.sparkhire.emit("InterviewRated", {"rating": 2.0, "interview": {"uuid": gone}})
    barista = completed_interview(bot)
    fetch = lambda r: r.method == "GET" and r.path == f"/interviews/{barista['uuid']}"  # noqa: E731
    bot.sparkhire.fail_next(503, times=50, when=fetch)  # down for longer than the row's attempts
    await bot.sparkhire.rate_interview(barista["uuid"], 4.0)
    for _ in range(200):
        if await bot.services.db.outbox.counts() == {"skipped": 2}:
            break
        await asyncio.sleep(0.05)
    assert await bot.services.db.outbox.counts() == {"skipped": 2}
    async with bot.services.db.engine.connect() as conn:
        query = sa.select(schema.outbox.c.last_error).order_by(schema.outbox.c.id)
        assert (await conn.execute(query)).scalars().all() == [DEFERRED_FILTERS_UNCHECKED] * 2
    asked = [r.path.rsplit("/", 1)[-1] for r in bot.sparkhire.requests if r.path.startswith("/interviews/")]
    assert asked.count(gone) == 1 and asked.count(barista["uuid"]) == 2 * 4  # each attempt: one fetch's tries
    assert bot.slack.posted("C1") == []


async def test_a_channel_with_two_matching_subscriptions_gets_each_event_once(bot):
    await subscribe(bot, "subscribe sparkhire completed")
    await subscribe(bot, "subscribe sparkhire completed job:Barista compact")
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    assert "Watch interview" in str(card.blocks)  # the full card, not the compact line
    await asyncio.sleep(1.5)  # past the channel's pacing: a second row would have gone out by now
    assert len(bot.slack.posted("C1")) == 1


async def test_filters_and_compact(bot):
    bot.sparkhire.add_job("Chef")
    await subscribe(bot, "subscribe sparkhire completed job:Chef compact")
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))  # job Barista: filtered out
    bot.slack.add_channel("C2", name="barista")
    await subscribe(bot, "subscribe sparkhire completed job:Barista exclude:@example.com", channel="C2")
    await bot.sparkhire.emit("InterviewCompleted", {**completed_interview(bot), "updated_at": "later"})
    job = next(j for j in bot.sparkhire.jobs.values() if j["title"] == "Barista")
    other = bot.sparkhire.add_interview(job_uuid=job["uuid"], name="Zed", email="zed@acme.io")
    bot.sparkhire.set_status(other["uuid"], "completed")
    await bot.sparkhire.emit("InterviewCompleted", other)
    (card,) = await bot.slack.wait_for(lambda: cards(bot, "C2"))
    assert "Zed" in card.text
    await asyncio.sleep(0.3)
    assert cards(bot, "C1") == []


async def test_a_job_name_typed_in_curly_single_quotes_or_with_a_comma_after_it_filters_by_that_job(bot):
    await subscribe(bot, "subscribe sparkhire completed job:\u2018Barista\u2019 compact")
    bot.slack.add_channel("C2", name="barista")
    await subscribe(bot, "subscribe sparkhire completed job:Barista,", channel="C2")
    (sub,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    assert sub.job_filter == "Barista"
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))  # a Barista interview
    await bot.slack.wait_for(lambda: bot.slack.posted("C1") and bot.slack.posted("C2"))


async def test_a_job_name_with_spaces_left_unquoted_is_refused_with_how_to_quote_it(bot):
    response = await bot.sender.command("subscribe sparkhire job:Sr. Account Executive")
    assert 'A job name with spaces goes in quotes: `job:"Sr. Account Executive"`' in response.json()["text"]
    reply = await subscribe(bot, 'subscribe sparkhire job:"Sr. Account Executive"')
    assert "Sr. Account Executive" in str(reply["blocks"])


async def test_unsubscribe_job_removes_a_subscription_saved_with_the_quotes_in_its_name(bot):
    await subscribe(bot, "subscribe sparkhire completed job:Barista")
    (sub,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    await bot.services.db.subscriptions.remove(sub.id)
    # As an older version saved job:\u2018Barista\u2019, its curly quotes kept as part of the name.
    await bot.services.db.subscriptions.add(
        team_id="T0001",
        channel_id="C1",
        vendor="sparkhire",
        events=("completed",),
        created_by="U1",
        job_filter="\u2018Barista\u2019",
        excludes=(),
        compact=False,
        connection_id=sub.connection_id,
    )
    await bot.sender.command("unsubscribe job:\u2018Barista\u2019", response_url=bot.slack.response_url("u"))
    reply = (await bot.slack.wait_for(lambda: bot.slack.responses.get("u")))[-1]
    assert "Removed 1" in reply["text"]
    assert await bot.services.db.subscriptions.list_for_channel("T0001", "C1") == []


async def test_unsubscribe_last_removes_the_webhook(bot):
    await subscribe(bot)
    assert len(bot.sparkhire.webhooks) == 1
    await bot.sender.command("unsubscribe sparkhire", response_url=bot.slack.response_url("u"))
    reply = (await bot.slack.wait_for(lambda: bot.slack.responses.get("u")))[-1]
    assert "Removed 1" in reply["text"]
    assert bot.sparkhire.webhooks == {}
    assert await bot.services.db.subscriptions.list_for_channel("T0001", "C1") == []


async def subscribe_test(bot, key="t", channel="C1"):
    await bot.sender.command("subscribe test", channel=channel, response_url=bot.slack.response_url(key))
    return (await bot.slack.wait_for(lambda: bot.slack.responses.get(key)))[-1]["text"]


async def test_subscribe_test_of_an_event_already_posted_says_nothing_new_will_appear(bot):
    await subscribe(bot)
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    await bot.slack.wait_for(lambda: cards(bot))
    said = await subscribe_test(bot)
    assert len(bot.sparkhire.deliveries) == 2
    assert said == (
        "Spark Hire replayed its last InterviewCompleted (Ann Lee), so its webhook reaches the bot. "
        "The bot already had that event and posts each event once, so nothing new appears."
    )
    await asyncio.sleep(1.5)  # past the channel's pacing
    assert len(bot.slack.posted("C1")) == 1


async def test_a_replay_through_a_webhook_registered_again_is_not_posted_again(bot):
    await subscribe(bot)
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    (first_hook,) = bot.sparkhire.webhooks
    await bot.sender.command("unsubscribe sparkhire", response_url=bot.slack.response_url("u"))
    await bot.slack.wait_for(lambda: bot.slack.responses.get("u"))
    await subscribe(bot)
    (second_hook,) = bot.sparkhire.webhooks
    assert second_hook != first_hook
    said = await subscribe_test(bot)
    assert bot.sparkhire.deliveries[-1].status == 200
    assert "already had that event" in said
    await asyncio.sleep(1.5)  # past the channel's pacing: a thread reply would have gone out by now
    assert len(bot.slack.posted("C1")) == 1 and card.updates == 0


async def test_subscribe_test_of_an_event_the_bot_never_had_says_it_appears_here(bot):
    # Completed while no webhook was registered: Spark Hire keeps it as its last, the bot never had it.
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    await subscribe(bot)
    said = await subscribe_test(bot)
    assert said.endswith("It is new to the bot: it appears here in a moment.")
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    assert "Ann Lee" in card.text
    bot.slack.add_channel("C2", name="other")
    elsewhere = await subscribe_test(bot, key="t2", channel="C2")
    assert elsewhere.endswith("already had that event and posts each event once, so nothing new appears.")


async def test_subscribe_test_whose_replay_does_not_arrive_says_what_to_expect(bot, monkeypatch):
    monkeypatch.setattr(subscriptions, "REPLAY_WAIT_SECONDS", 0.3)
    await subscribe(bot)
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    await bot.slack.wait_for(lambda: cards(bot))
    bot.sparkhire.webhooks.clear()  # Spark Hire sends it nowhere this process can see
    said = await subscribe_test(bot)
    assert "had not arrived after 0.3 seconds" in said and "each event is posted once" in said
    assert "should appear here" not in said


async def test_private_channel_explains_how_to_invite_the_bot(bot):
    bot.slack.add_channel("G1", name="secret", is_private=True)
    await bot.sender.command("subscribe", channel="G1", response_url=bot.slack.response_url("p"))
    reply = (await bot.slack.wait_for(lambda: bot.slack.responses.get("p")))[-1]
    assert "/invite @Interview Bot" in reply["text"]
    assert await bot.services.db.subscriptions.list_for_channel("T0001", "G1") == []


async def test_subscribe_in_a_direct_message_says_to_run_it_in_the_channel_and_saves_nothing(bot):
    response = await bot.sender.command("subscribe sparkhire", channel="D0123")
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    assert "can't post notifications in a direct message" in answer["text"]
    assert "in the channel that should get them" in answer["text"]
    assert "Subscribed" not in response.text
    bot.slack.add_channel("G0123", name="mpdm-ann--bo-1", is_mpim=True, is_member=True)
    reply = await subscribe(bot, channel="G0123")
    assert "can't post notifications in a direct message" in reply["text"]
    await asyncio.sleep(0.2)
    assert await bot.services.db.subscriptions.list_for_team("T0001") == []
    assert bot.sparkhire.webhooks == {}


async def test_subscribe_in_a_group_dm_the_bot_is_not_in_is_not_told_to_invite_the_bot(bot):
    # Slack does not show the bot a group DM it is not in (channel_not_found), and nobody can invite
    # it there: the command's channel name says what it is.
    group_dm = {"channel": "C0456", "channel_name": "mpdm-ann--bo--cy-1"}
    response = await bot.sender.command("subscribe sparkhire", **group_dm, response_url=bot.slack.response_url("g"))
    if response.content:  # answered at once
        text = response.json()["text"]
    else:
        text = (await bot.slack.wait_for(lambda: bot.slack.responses.get("g")))[-1]["text"]
    assert "not in this private channel" not in text
    assert "can't post notifications in a direct message" in text
    await asyncio.sleep(0.2)
    assert await bot.services.db.subscriptions.list_for_team("T0001") == []


async def test_unsubscribe_with_compact_and_exclude_removes_only_the_subscription_they_name(bot):
    await subscribe(bot, "subscribe sparkhire completed")
    await subscribe(bot, "subscribe sparkhire completed compact exclude:@test.example.com")
    await bot.sender.command(
        "unsubscribe sparkhire completed compact exclude:@test.example.com", response_url=bot.slack.response_url("u")
    )
    reply = (await bot.slack.wait_for(lambda: bot.slack.responses.get("u")))[-1]
    assert "Removed 1" in reply["text"]
    (left,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    assert (left.compact, left.excludes) == (False, ())


async def test_a_wedgehr_event_without_wedgehr_connected_offers_to_connect_wedgehr():
    async with running_bot(env_credentials=False, sparkhire_api_key=SPARKHIRE_KEY) as bot:
        reply = await subscribe(bot, "subscribe send_failure")
        assert "WedgeHR is not connected yet" in str(reply) and "Spark Hire" not in str(reply)
        assert await bot.services.db.subscriptions.list_for_channel("T0001", "C1") == []


async def test_with_nothing_connected_subscribe_names_no_platform_and_offers_to_connect():
    async with running_bot(env_credentials=False) as bot:
        reply = await subscribe(bot, "subscribe")
        assert reply["text"].startswith("Neither WedgeHR nor Spark Hire is connected yet.")
        assert "Spark Hire API key" in reply["text"] and "/interview connect" in reply["text"]
        buttons = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert [(e["action_id"], e.get("value")) for e in buttons] == [(Action.OPEN_CONNECT, None)]
        one = await subscribe(bot, "subscribe wedgehr")
        assert one["text"].startswith("WedgeHR is not connected yet.") and "Spark Hire" not in one["text"]
        assert await bot.services.db.subscriptions.list_for_team("T0001") == []


async def test_subscribe_test_with_only_wedgehr_connected_does_not_ask_to_connect_spark_hire():
    async with running_bot(env_credentials=False, wedgehr_token=WEDGEHR_TOKEN) as bot:
        reply = await subscribe(bot, "subscribe test")
        assert "WedgeHR sends no webhooks to test" in reply["text"]
        assert "Connect your own Spark Hire API key" not in reply["text"]
        assert Action.OPEN_CONNECT not in str(reply["blocks"])


async def test_bad_grammar_answers_immediately(bot):
    response = await bot.sender.command("subscribe sparkhire everything")
    assert "don't understand `everything`" in response.json()["text"]


async def test_without_public_url_the_reply_explains(tmp_path):
    async with running_bot(public_url=None) as bot:
        reply = await subscribe(bot)
        assert "PUBLIC_URL" in str(reply["blocks"])
        assert bot.sparkhire.webhooks == {}


async def test_wedgehr_completion_posted_once_after_baseline(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    old = bot.wedgehr.add_invite(interview_id=interview["id"], email="old@example.com")
    bot.wedgehr.complete_invite(old["id"])  # completed before anyone subscribed: never posted
    fresh = bot.wedgehr.add_invite(interview_id=interview["id"], email="fresh@example.com", first_name="Fre")
    await subscribe(bot, "subscribe wedgehr")
    await bot.slack.wait_for(
        lambda: any(r.query.get("filter[status]") == "canceled" for r in bot.wedgehr.requests), timeout=5
    )
    await asyncio.sleep(0.5)  # a few more polls of an unchanged account
    bot.wedgehr.complete_invite(fresh["id"])
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
    assert "Fre" in card.text and "Open result" in str(card.blocks)
    await asyncio.sleep(0.6)
    assert len(bot.slack.posted("C1")) == 1


async def test_a_wedge_completed_without_an_invite_is_posted_once_after_baseline(bot):
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.add_completed_wedge(interview_id=interview["id"], email="past@example.com")  # before: never posted
    await subscribe(bot, "subscribe wedgehr")
    await bot.slack.wait_for(lambda: sum(r.path.endswith("/wedges") for r in bot.wedgehr.requests) >= 2, timeout=5)
    # A candidate who recorded through the interview's public link: WedgeHR shows no invite for them.
    bot.wedgehr.add_completed_wedge(interview_id=interview["id"], email="walkin@example.com", first_name="Wal")
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
    assert "Wal" in card.text and "Open result" in str(card.blocks)
    await asyncio.sleep(0.6)  # a few more polls
    assert len(bot.slack.posted("C1")) == 1


async def test_slack_429_and_5xx_delay_but_lose_nothing_and_keep_order(database_url):
    # On PostgreSQL too: production runs there, the outbox's leases and pacing are other SQL than SQLite's.
    async with running_bot(database_url=database_url) as bot:
        await subscribe(bot)
        interview = completed_interview(bot)
        # Slack refuses posts for a while: a 429 whose Retry-After outlasts the pacing (the fake
        # answers 429 again to any post before it runs out), then errors on its side.
        bot.slack.fail("chat.postMessage", status=429, error="ratelimited", retry_after=3, times=1)
        bot.slack.fail("chat.postMessage", status=500, times=2)
        bot.slack.fail("chat.postMessage", status=503, times=1)
        await bot.sparkhire.emit("InterviewCompleted", interview)
        await bot.sparkhire.rate_interview(interview["uuid"], 4.0)
        await bot.sparkhire.rate_interview(interview["uuid"], 2.0)
        await bot.slack.wait_for(lambda: len(bot.slack.posted("C1")) == 3, timeout=30)
        card, first_rating, second_rating = bot.slack.posted("C1")
        assert [first_rating.thread_ts, second_rating.thread_ts] == [card.ts, card.ts]  # the card's thread
        # In the order they came: the completion is the card (every top-level try was it), then the ratings.
        top_level = [c.args["text"] for c in bot.slack.calls_to("chat.postMessage") if not c.args.get("thread_ts")]
        assert top_level and all("completed the interview" in text for text in top_level), top_level
        outbox_order = [m.metadata["event_payload"]["outbox_id"] for m in (card, first_rating, second_rating)]
        assert outbox_order == sorted(outbox_order, key=int)
        assert bot.slack.too_early == [], "a post was retried before Slack's Retry-After ran out"


async def test_a_rate_limited_message_is_retried_when_slack_allows_not_at_the_next_poll(bot):
    bot.pipeline.worker.poll_seconds = 60.0  # only the worker's own schedule can bring the retry
    await subscribe(bot)
    bot.slack.fail("chat.postMessage", status=429, error="ratelimited", retry_after=1, times=1)
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    assert "Ann Lee" in card.text
    assert len(bot.slack.calls_to("chat.postMessage")) == 2  # the refused one, then the retry


async def test_a_notification_slack_rate_limits_past_the_attempts_allowed_is_still_posted_once(bot):
    # A busy workspace (other apps, other channels): Slack answers post after post "ratelimited,
    # retry after 1 s", more often than the worker tries a failing row. Each refusal used to count as
    # a failed attempt, and the notification was dropped ('failed', 12, 'ratelimited'), never posted.
    await subscribe(bot)
    refusals = bot.pipeline.worker.max_attempts + 1
    bot.slack.fail("chat.postMessage", status=429, error="ratelimited", retry_after=1, times=refusals)
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=refusals * 1.5 + 5)
    assert "Ann Lee" in card.text
    assert len(bot.slack.calls_to("chat.postMessage")) == refusals + 1  # each retry when Slack said, once
    assert bot.slack.too_early == []
    await asyncio.sleep(1.2)
    assert len(bot.slack.posted("C1")) == 1
    assert await bot.services.db.outbox.counts() == {"sent": 1}


async def outbox_rows(bot):
    async with bot.services.db.engine.connect() as conn:
        query = sa.select(schema.outbox.c.channel_id, schema.outbox.c.status, schema.outbox.c.attempts)
        return (await conn.execute(query.order_by(schema.outbox.c.id))).all()


async def test_a_rate_limit_in_one_channel_holds_back_the_workspaces_other_channels_until_it_ends(bot):
    await subscribe(bot)
    bot.slack.fail("chat.postMessage", status=429, error="ratelimited", retry_after=3)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", interview)
    (refused,) = await bot.slack.wait_for(lambda: bot.slack.calls_to("chat.postMessage"))
    # Meanwhile another channel of the workspace subscribes, and a second candidate completes.
    bot.slack.add_channel("C2", name="other")
    await subscribe(bot, channel="C2")
    await bot.sparkhire.emit("InterviewCompleted", {**interview, "uuid": "another-interview"})
    await bot.slack.wait_for(lambda: len(cards(bot, "C2")) == 1 and len(cards(bot)) == 2, timeout=15)
    # C2 waited for the workspace's limit to pass rather than post into it (each try another 429).
    assert bot.slack.too_early == [], [c.args["channel"] for c in bot.slack.too_early]
    c2_posts = [c for c in bot.slack.calls_to("chat.postMessage") if c.args["channel"] == "C2"]
    assert len(c2_posts) == 1 and c2_posts[0].at - refused.at >= 3.0
    # C1 posted its cards in the order they came; no row spent an attempt on the limit.
    outbox_ids = [int(m.metadata["event_payload"]["outbox_id"]) for m in cards(bot)]
    assert outbox_ids == sorted(outbox_ids)
    assert await outbox_when_settled(bot) == {"sent": 3}  # a card shows before its row is marked sent
    assert await outbox_rows(bot) == [("C1", "sent", 1), ("C1", "sent", 1), ("C2", "sent", 1)]


async def test_a_rate_limit_in_one_workspace_does_not_hold_back_another():
    async with running_bot(**OAUTH) as bot:
        await install_workspace(bot)
        await install_workspace(bot, team_id="T0002", bot_token="xoxb-second-workspace-0123456789")
        bot.slack.add_channel("C2", name="hiring-two")
        await subscribe(bot)
        key = "sub-t2"
        await bot.sender.command(
            "subscribe sparkhire", team_id="T0002", channel="C2", response_url=bot.slack.response_url(key)
        )
        assert "Subscribed" in str((await bot.slack.wait_for(lambda: bot.slack.responses.get(key)))[-1])
        # Slack rate-limits the first workspace (its own token: its own limits) for 4 s.
        bot.slack.fail(
            "chat.postMessage",
            status=429,
            error="ratelimited",
            retry_after=4,
            when=lambda call: call.token == bot.slack.bot_token,
        )
        interview = completed_interview(bot)
        await bot.sparkhire.emit("InterviewCompleted", interview)  # to both workspaces
        (refused,) = await bot.slack.wait_for(
            lambda: [c for c in bot.slack.calls_to("chat.postMessage") if c.args["channel"] == "C1"]
        )
        await bot.sparkhire.emit("InterviewCompleted", {**interview, "uuid": "another-interview"})
        await bot.slack.wait_for(lambda: len(cards(bot, "C2")) == 2, timeout=refused.at + 3.5 - time.monotonic())
        assert cards(bot) == []  # the first workspace still waits
        await bot.slack.wait_for(lambda: len(cards(bot)) == 2, timeout=10)
        assert bot.slack.too_early == []


async def test_a_card_refresh_slack_rate_limits_is_made_when_slack_allows_and_its_reply_is_posted_once(database_url):
    # The reply went; refreshing the card (chat.update) met Slack's limit: "retry after 1 s". The
    # card used to keep its old state (the refresh was dropped as best effort).
    async with running_bot(database_url=database_url) as bot:  # the card's record is JSON on both
        await subscribe(bot)
        interview = completed_interview(bot)
        await bot.sparkhire.emit("InterviewCompleted", {**interview, "rating": 0})
        (card,) = await bot.slack.wait_for(lambda: cards(bot))
        bot.slack.fail("chat.update", status=429, error="ratelimited", retry_after=1)
        await bot.sparkhire.rate_interview(interview["uuid"], 3.5)
        (refused,) = await bot.slack.wait_for(lambda: bot.slack.calls_to("chat.update"))
        await bot.slack.wait_for(lambda: card.updates == 1, timeout=10)
        assert "★★★★☆ 3.5" in str(card.blocks)
        (reply,) = replies(bot, card)
        assert "3.5" in reply.text
        refresh = bot.slack.calls_to("chat.update")[-1]
        assert refresh.at - refused.at >= 1.0 and bot.slack.too_early == []
        assert await outbox_when_settled(bot) == {"sent": 2}
        await asyncio.sleep(1.2)  # nothing more comes: no second reply, no second refresh
        assert len(replies(bot, card)) == 1 and card.updates == 1
        assert len(bot.slack.calls_to("chat.postMessage")) == 2


async def test_a_rate_limited_card_refresh_holds_the_workspace_and_keeps_the_threads_replies_in_order(bot):
    await subscribe(bot)
    bot.slack.add_channel("C2", name="other")
    await subscribe(bot, "subscribe sparkhire completed", channel="C2")
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", {**interview, "rating": 0})
    await bot.slack.wait_for(lambda: cards(bot) and cards(bot, "C2"))
    (card,) = cards(bot)
    await asyncio.sleep(1.1)  # past both channels' pacing
    bot.slack.fail("chat.update", status=429, error="ratelimited", retry_after=1)
    await bot.sparkhire.rate_interview(interview["uuid"], 2, reviewer="Alice")
    (refused,) = await bot.slack.wait_for(lambda: bot.slack.calls_to("chat.update"))
    # Meanwhile: a second rating of the candidate, and another candidate for both channels.
    await bot.sparkhire.rate_interview(interview["uuid"], 5, reviewer="Bob")
    await bot.sparkhire.emit("InterviewCompleted", {**interview, "uuid": "another-interview"})
    assert await outbox_when_settled(bot) == {"sent": 6}
    first, second = replies(bot, card)
    assert first.text == "Ann Lee was rated: ★★☆☆☆ 2 by Alice"
    assert second.text == "Ann Lee was rated: ★★★★★ 5 by Bob"
    assert card.updates == 2 and "★★★★★ 5" in str(card.blocks)
    # The workspace waited out Slack's limit: nothing was posted or updated in it before it ended.
    later = [c for c in bot.slack.calls if c.method.startswith("chat.") and c.at > refused.at]
    assert all(c.at - refused.at >= 1.0 for c in later), [(c.method, c.at - refused.at) for c in later]
    # In C1, each in its turn: the card's refresh came before the next reply, each once.
    c1 = [(c.method, c.args.get("thread_ts")) for c in later if c.args["channel"] == "C1"]
    assert c1 == [
        ("chat.update", None),
        ("chat.postMessage", card.ts),
        ("chat.update", None),
        ("chat.postMessage", None),
    ]
    assert len(cards(bot, "C2")) == 2 and bot.slack.too_early == []


async def test_a_rejoin_slack_rate_limits_again_and_again_still_posts_the_card_once(bot):
    # The bot was removed from #hiring; Slack answers its conversations.join "ratelimited, retry
    # after 1 s", more often than a failing row is tried. Each refusal counted as an attempt, and
    # the card was dropped.
    await subscribe(bot)
    bot.pipeline.worker.max_attempts = 3
    channel = bot.slack.channels["C1"]
    channel["is_member"] = False
    bot.slack.fail(
        "chat.postMessage",
        error="not_in_channel",
        times=100,
        when=lambda c: c.args["channel"] == "C1" and not channel["is_member"],
    )
    joins = len(bot.slack.calls_to("conversations.join"))
    refusals = bot.pipeline.worker.max_attempts + 1
    bot.slack.fail("conversations.join", status=429, error="ratelimited", retry_after=1, times=refusals)
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    note, card = await bot.slack.wait_for(lambda: len(cards(bot)) == 2 and cards(bot), timeout=refusals * 1.5 + 5)
    assert "I was removed from this channel" in note.text and "Ann Lee" in card.text
    assert len(bot.slack.calls_to("conversations.join")) == joins + refusals + 1  # each retry when Slack said
    assert bot.slack.too_early == []
    await asyncio.sleep(1.2)
    assert len(cards(bot)) == 2
    assert await bot.services.db.outbox.counts() == {"sent": 1}
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    assert not subscription.paused and bot.slack.posted("U1") == []


async def test_permanent_error_pauses_and_tells_the_subscriber(bot):
    await subscribe(bot)
    bot.slack.channels["C1"]["is_archived"] = True
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    dm = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=5)
    assert "paused" in dm[-1].text and "Re-enable" in str(dm[-1].blocks)
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    assert subscription.paused and "archived" in subscription.paused_reason
    bot.slack.channels["C1"]["is_archived"] = False
    await bot.sender.block_action("subscription_resume", value=str(subscription.id), channel=None)
    await bot.slack.wait_for(lambda: len(bot.slack.posted("U1")) >= 2)
    assert not (await bot.services.db.subscriptions.get(subscription.id)).paused


async def test_a_bot_removed_from_a_public_channel_joins_again_and_posts(bot):
    await subscribe(bot)
    joins = len(bot.slack.calls_to("conversations.join"))
    bot.slack.fail("chat.postMessage", error="not_in_channel")  # someone removed the bot from #hiring
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    # Whoever removed it is told why it is back and how to stop the posts; then the card, in pace.
    note, card = await bot.slack.wait_for(lambda: len(cards(bot)) == 2 and cards(bot), timeout=5)
    assert "I was removed from this channel" in note.text and "`/interview unsubscribe`" in note.text
    assert "Ann Lee" in card.text and bot.slack.too_early == []
    assert len(bot.slack.calls_to("conversations.join")) == joins + 1
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    assert not subscription.paused


async def test_a_rejoin_slack_cannot_answer_now_is_tried_again_not_taken_for_a_private_channel(bot):
    await subscribe(bot)
    bot.slack.fail("chat.postMessage", error="not_in_channel")
    bot.slack.fail("conversations.join", status=503)
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    assert "Ann Lee" in card.text
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    assert not subscription.paused and bot.slack.posted("U1") == []


async def test_a_bot_removed_from_a_private_channel_pauses_and_says_how_to_invite_it(bot):
    bot.slack.add_channel("G1", name="secret-hiring", is_private=True, is_member=True)
    await subscribe(bot, channel="G1")
    bot.slack.fail("chat.postMessage", error="not_in_channel")
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    dm = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=5)
    assert "paused" in dm[-1].text and "invite me to the channel" in dm[-1].text
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "G1")
    assert subscription.paused and cards(bot, "G1") == []


async def test_a_webhook_registered_again_is_accepted_with_its_new_password_at_once(bot):
    await subscribe(bot)
    interview = completed_interview(bot)
    (first,) = await bot.sparkhire.emit("InterviewCompleted", interview)  # the receiver now knows the password
    assert first.status == 200
    (old_hook,) = bot.sparkhire.webhooks.values()
    await bot.sender.command("unsubscribe sparkhire", response_url=bot.slack.response_url("u"))
    await bot.slack.wait_for(lambda: bot.slack.responses.get("u"))
    await subscribe(bot)  # a new registration, with a new password
    (hook,) = bot.sparkhire.webhooks.values()
    assert hook["_auth"] != old_hook["_auth"]
    another = {**interview, "uuid": "another-interview"}
    (second,) = await bot.sparkhire.emit("InterviewCompleted", another)
    assert second.status == 200
    assert await bot.services.db.events.count() == 2
    # The old password stopped working with its registration.
    async with httpx.AsyncClient() as client:
        old = await client.post(
            hook["url"],
            json=interview,
            headers={"Authorization": "Basic " + base64.b64encode(old_hook["_auth"].encode()).decode()},
        )
    assert old.status_code == 401


async def test_a_delivery_made_as_soon_as_the_webhook_exists_is_accepted(bot):
    deliveries = []

    async def deliver_before_spark_hire_answers():
        deliveries.extend(await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot)))

    bot.sparkhire.after_handling["POST /webhooks"] = deliver_before_spark_hire_answers
    await subscribe(bot)
    assert [d.status for d in deliveries] == [200]
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    assert "Ann Lee" in card.text


async def test_subscribing_again_registers_a_webhook_spark_hire_no_longer_has(bot):
    await subscribe(bot)
    (lost,) = bot.sparkhire.webhooks
    del bot.sparkhire.webhooks[lost]  # deleted in Spark Hire's console, or disabled after failing
    await subscribe(bot)
    (hook,) = bot.sparkhire.webhooks.values()
    assert hook["uuid"] != lost
    (delivery,) = await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    assert delivery.status == 200
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    assert "Ann Lee" in card.text


async def test_subscribing_while_spark_hire_cannot_list_webhooks_keeps_the_registration(bot):
    await subscribe(bot)
    (registered,) = bot.sparkhire.webhooks
    bot.slack.add_channel("C2", name="other")
    bot.sparkhire.fail_next(500, times=10)  # every retry of the check fails
    reply = await subscribe(bot, channel="C2")
    assert "Subscribed" in str(reply["blocks"])
    assert list(bot.sparkhire.webhooks) == [registered]


async def test_a_slow_post_keeps_its_channel_past_the_lease_so_it_is_not_posted_twice(bot):
    bot.pipeline.worker.lease_seconds = 0.6
    await subscribe(bot)
    stalled, slack_answers = asyncio.Event(), asyncio.Event()

    async def slack_is_slow():
        stalled.set()
        await slack_answers.wait()

    bot.slack.before_answering["chat.postMessage"] = slack_is_slow
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    await asyncio.wait_for(stalled.wait(), timeout=10)
    await asyncio.sleep(1.5)  # well past the lease: renewed meanwhile, so nobody took the channel over
    assert await bot.services.db.outbox.lease("another-process", lease_seconds=30) == []
    slack_answers.set()
    await bot.slack.wait_for(lambda: cards(bot))
    await asyncio.sleep(0.5)
    assert len(bot.slack.calls_to("chat.postMessage")) == 1
    (card,) = cards(bot)
    assert "Ann Lee" in card.text


async def test_the_outbox_worker_stops_when_cancelled_even_as_it_is_woken():
    """Shutdown cancels the worker; a wake-up landing in the same moment must not swallow that.

    On Python 3.11 asyncio.wait_for returned the finished wait instead of raising, and the worker
    looped on forever: the process never finished stopping (seen as a rare hang of the outage test).
    The turns of the event loop between the wake-up and the cancel walk the cancel across that moment.
    """
    async with running_bot(start_workers=False) as bot:
        for turns in range(8):
            worker = OutboxWorker(services=bot.services, slack_client_for=bot.pipeline.worker.slack_client_for)
            task = asyncio.create_task(worker.run())
            await asyncio.sleep(0.2)  # its first lease found nothing: it waits to be woken
            worker.wake.set()
            for _ in range(turns):
                await asyncio.sleep(0)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=5)
            assert done, f"the worker ran on after its cancel ({turns} turns after the wake-up)"
            assert task.cancelled()


async def test_a_wedgehr_poll_longer_than_its_lease_keeps_the_connection_from_a_second_process():
    # A large account: each page takes a while. Another process must not start polling it halfway.

    async with running_bot(start_workers=False) as bot:  # only the two pollers below poll
        await _poll_outlasting_its_lease(bot)


async def _poll_outlasting_its_lease(bot):
    from bot.notify.poller import WedgeHRPoller

    await subscribe(bot, "subscribe wedgehr")
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    bot.wedgehr.latency_seconds = 0.4  # a poll makes at least four requests: well past a 0.6 s lease
    slow = WedgeHRPoller(services=bot.services, interval=60, lease_seconds=0.6)
    other = WedgeHRPoller(services=bot.services, interval=60, lease_seconds=0.6)
    polling = asyncio.create_task(slow.poll_all())
    await asyncio.sleep(0.1)
    taken = []
    while not polling.done():
        taken.append(await bot.services.db.poll_state.try_lease(subscription.connection_id, other.holder, 0.6))
        await asyncio.sleep(0.1)
    await polling
    assert len(taken) >= 10 and not any(taken)


async def test_several_processes_poll_a_wedgehr_connection_once_per_interval_between_them():
    # Each web process runs its own poll timer; WedgeHR must not see one poll per process.
    from bot.notify.poller import WedgeHRPoller

    async with running_bot(start_workers=False) as bot:
        await subscribe(bot, "subscribe wedgehr")
        before = len(bot.wedgehr.requests)
        pollers = [WedgeHRPoller(services=bot.services, interval=0.5) for _ in range(3)]
        tasks = []
        for poller in pollers:  # timers out of step, as separate processes' are
            tasks.append(asyncio.create_task(poller.run()))
            await asyncio.sleep(0.17)
        await asyncio.sleep(2.5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        polls = [r for r in bot.wedgehr.requests[before:] if r.path.endswith("/wedges")]
        seconds = 2.5 + 3 * 0.17
        # At most one per interval between them (a slow machine may manage fewer, never more).
        assert 1 <= len(polls) <= seconds / 0.5 + 2, f"{len(polls)} polls in {seconds:.1f} s at one per 0.5 s"


async def test_after_a_new_bot_secret_key_webhooks_get_401_until_subscribe_registers_them_again(tmp_path):
    # Moving from the generated development key to BOT_SECRET_KEY: the stored webhook password is
    # unreadable. Deliveries must be refused cleanly (not a 500), and subscribe must repair it.
    from cryptography.fernet import Fernet

    database = f"sqlite:///{tmp_path}/bot.sqlite3"
    async with running_bot(database_url=database, secret_key=Fernet.generate_key().decode()) as bot:
        await subscribe(bot)
        (hook,) = bot.sparkhire.webhooks.values()
        old_path, old_auth = hook["url"].removeprefix(bot.settings.public_url), hook["_auth"]
    async with running_bot(database_url=database, secret_key=Fernet.generate_key().decode()) as bot:
        async with httpx.AsyncClient() as client:
            refused = await client.post(
                bot.settings.public_url + old_path,
                json=completed_interview(bot),
                headers={
                    "Authorization": "Basic " + base64.b64encode(old_auth.encode()).decode(),
                    "X-SparkHire-Event": "InterviewCompleted",
                },
            )
        assert refused.status_code == 401
        await subscribe(bot)
        (hook,) = bot.sparkhire.webhooks.values()
        assert hook["_auth"] != old_auth
        await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
        (card,) = await bot.slack.wait_for(lambda: cards(bot))
        assert "Ann Lee" in card.text


async def test_a_workspace_of_an_enterprise_grid_org_gets_its_notifications():
    async with running_bot(**OAUTH) as bot:
        await install_workspace(bot, team_id="T0003", enterprise_id="E0001")
        key = "sub-grid"
        await bot.sender.command(
            "subscribe sparkhire", team_id="T0003", enterprise_id="E0001", response_url=bot.slack.response_url(key)
        )
        assert "Subscribed" in str((await bot.slack.wait_for(lambda: bot.slack.responses.get(key)))[-1])
        interview = completed_interview(bot)
        await bot.sparkhire.emit("InterviewCompleted", interview)
        (card,) = await bot.slack.wait_for(lambda: cards(bot))
        assert interview["assigned_to"]["name"] in str(card.blocks)


async def test_a_workspace_whose_installation_is_gone_has_its_subscription_paused_not_retried():
    async with running_bot(**OAUTH) as bot:
        store = await install_workspace(bot)
        await subscribe(bot)
        # An admin revoked the bot's token: Bolt's tokens_revoked listener deletes the installation,
        # and no app_uninstalled follows.
        await store.async_delete_all(enterprise_id=None, team_id="T0001")
        await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))

        for _ in range(100):
            (subscription,) = await bot.services.db.subscriptions.list_for_team("T0001")
            if subscription.paused:
                break
            await asyncio.sleep(0.05)
        assert subscription.paused_reason == "app not installed"
        assert not bot.slack.posted() and not bot.slack.calls_to("chat.postMessage")


def replies(bot, card, channel="C1"):
    return [m for m in bot.slack.posted(channel) if m.thread_ts == card.ts]


async def deliver(bot, event: str, body: dict) -> httpx.Response:
    """POST ``body`` to the channel's webhook as Spark Hire would, however odd the body."""
    (hook,) = bot.sparkhire.webhooks.values()
    headers = {
        "Authorization": "Basic " + base64.b64encode(hook["_auth"].encode()).decode(),
        "X-SparkHire-Event": event,
    }
    async with httpx.AsyncClient() as client:
        return await client.post(hook["url"], json=body, headers=headers)


async def test_a_late_delivery_of_an_older_state_replies_but_leaves_the_card_as_it_is(bot):
    # Spark Hire does not deliver in order: the rating came first, the completion (a snapshot from
    # before it was rated) a moment later. The card read "not rated", "Latest: completed".
    await subscribe(bot, "subscribe sparkhire completed rated created")
    interview = completed_interview(bot)
    earlier = {**interview, "rating": 0, "updated_at": "2024-04-09T10:00:00+00:00"}
    interview["updated_at"] = "2024-04-09T10:05:00+00:00"
    await bot.sparkhire.rate_interview(interview["uuid"], 4.5)
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    assert "★★★★★ 4.5" in str(card.blocks)
    assert (await deliver(bot, "InterviewCompleted", earlier)).status_code == 200
    assert (await deliver(bot, "InterviewCreated", {**earlier, "status": "requested"})).status_code == 200
    await bot.slack.wait_for(lambda: len(replies(bot, card)) == 2, timeout=10)
    assert card.updates == 0
    assert "★★★★★ 4.5" in str(card.blocks) and "Watch interview" in str(card.blocks)
    # A newer state still updates it.
    await bot.sparkhire.rate_interview(interview["uuid"], 3.0)
    await bot.slack.wait_for(lambda: card.updates == 1, timeout=10)
    assert "★★★☆☆ 3" in str(card.blocks)


async def test_each_rating_reply_says_the_stars_given_and_by_whom(bot):
    await subscribe(bot)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", {**interview, "rating": 0})
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    await bot.sparkhire.rate_interview(interview["uuid"], 2, reviewer="Alice")
    await bot.sparkhire.rate_interview(interview["uuid"], 5, reviewer="Bob")
    first, second = await bot.slack.wait_for(lambda: len(replies(bot, card)) == 2 and replies(bot, card), timeout=10)
    assert first.text == "Ann Lee was rated: ★★☆☆☆ 2 by Alice"
    assert second.text == "Ann Lee was rated: ★★★★★ 5 by Bob"
    await bot.slack.wait_for(lambda: card.updates == 2)
    assert "★★★★★ 5" in str(card.blocks)  # the card: the interview's rating now


async def test_a_rating_from_a_fixture_payload_names_its_reviewer_and_one_without_stars_says_the_overall(bot):
    await subscribe(bot)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", interview)
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    rating = fixtures.load("sparkhire", "webhook_rated") | {"interview": {"uuid": interview["uuid"]}}
    assert (await deliver(bot, "InterviewRated", rating)).status_code == 200
    without_stars = {k: v for k, v in rating.items() if k != "rating"} | {"uuid": "another-rating"}
    assert (await deliver(bot, "InterviewRated", without_stars)).status_code == 200
    first, second = await bot.slack.wait_for(lambda: len(replies(bot, card)) == 2 and replies(bot, card), timeout=10)
    assert first.text == "Ann Lee was rated: ★★☆☆☆ 2 by Alice Reviewer"
    assert interview["rating"] == 4.5
    assert second.text == "Ann Lee was rated by Alice Reviewer: overall ★★★★★ 4.5"


async def test_a_completion_whose_payload_says_no_status_is_a_completed_card_with_its_watch_button(bot):
    await subscribe(bot)
    minimal = fixtures.load("sparkhire", "webhook_completed_minimal")
    assert (await deliver(bot, "InterviewCompleted", minimal)).status_code == 200
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    assert "*Completed*" in str(card.blocks) and "Unknown" not in str(card.blocks)
    assert f"{minimal['uuid']}/watch" in str(card.blocks)


async def test_a_deleted_interview_shows_canceled_whatever_status_its_payload_had(bot):
    await subscribe(bot, "subscribe sparkhire canceled")
    assert (await deliver(bot, "InterviewDeleted", fixtures.load("sparkhire", "webhook_deleted_requested"))).is_success
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    assert "*Canceled*" in str(card.blocks) and "Requested" not in str(card.blocks)


async def test_fields_the_card_does_not_show_do_not_keep_it_from_being_posted(bot):
    # A question with no text, a job with no uuid: the card shows neither, and was never posted.
    await subscribe(bot)
    odd = fixtures.load("sparkhire", "webhook_completed_odd_fields")
    assert (await deliver(bot, "InterviewCompleted", odd)).is_success
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    assert "Cy Ode" in card.text and "Pastry Chef" in str(card.blocks)


async def queue_backlog(bot, count: int) -> None:
    """``count`` completions, queued faster than the channel's one post a second takes them."""
    interview = completed_interview(bot)
    for n in range(count):
        await bot.sparkhire.emit(
            "InterviewCompleted",
            {**interview, "uuid": f"backlog-{n}", "assigned_to": {**interview["assigned_to"], "name": f"Cand {n}"}},
        )


async def outbox_when_settled(bot, seconds: float = 15) -> dict[str, int]:
    """The outbox's counts once nothing is pending (each row is posted, then recorded)."""
    for _ in range(int(seconds * 10)):
        if not (counts := await bot.services.db.outbox.counts()).get("pending"):
            break
        await asyncio.sleep(0.1)
    return counts


async def full_card_for_the_job_and_compact_for_all(bot) -> str:
    """Two subscriptions of C1 that both take completions; the rows are queued under the first."""
    job = completed_interview(bot)["job_post"]["title"]
    await subscribe(bot, f'subscribe sparkhire completed job:"{job}"')
    await subscribe(bot, "subscribe sparkhire completed compact")
    return job


async def test_unsubscribing_stops_what_was_already_queued_for_the_channel(bot):
    await subscribe(bot)
    await queue_backlog(bot, 6)
    await bot.slack.wait_for(lambda: cards(bot))
    await subscribe(bot, "unsubscribe")
    posted = len(bot.slack.posted("C1"))
    await asyncio.sleep(2.5)  # two more would have gone out by now
    assert len(bot.slack.posted("C1")) <= posted + 1  # one may have been on its way already
    counts = await bot.services.db.outbox.counts()
    assert counts.get("pending", 0) == 0 and counts.get("skipped", 0) >= 4


async def test_unsubscribing_from_an_event_stops_its_queued_posts_and_keeps_the_others(bot):
    await subscribe(bot, "subscribe sparkhire completed expired")
    interview = completed_interview(bot)
    await queue_backlog(bot, 3)
    await bot.sparkhire.emit("InterviewExpired", {**interview, "uuid": "expired-1", "status": "expired"})
    await bot.slack.wait_for(lambda: cards(bot))
    await subscribe(bot, "unsubscribe sparkhire completed")
    await bot.slack.wait_for(lambda: any("expire" in m.text for m in bot.slack.posted("C1")), timeout=10)
    assert len(bot.slack.posted("C1")) <= 3  # the first, maybe one on its way, the expiry


async def test_a_row_whose_subscription_went_while_it_waited_is_not_posted(bot):
    # Another process removed the subscription between queueing and posting, leaving its rows.
    await subscribe(bot)
    await queue_backlog(bot, 3)
    await bot.slack.wait_for(lambda: cards(bot))
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    await bot.services.db.subscriptions.remove(subscription.id)
    posted = len(bot.slack.posted("C1"))
    assert not (await outbox_when_settled(bot, 6)).get("pending")
    assert len(bot.slack.posted("C1")) <= posted + 1


async def test_unsubscribing_one_of_two_subscriptions_keeps_the_queued_posts_the_other_wants(bot):
    # The channel's rows were queued under the full-card subscription; the compact one also wants them.
    job = await full_card_for_the_job_and_compact_for_all(bot)
    await queue_backlog(bot, 4)
    await bot.slack.wait_for(lambda: cards(bot))
    await subscribe(bot, f'unsubscribe sparkhire job:"{job}"')  # names the full-card one only
    (left,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    assert left.compact
    assert await outbox_when_settled(bot) == {"sent": 4}
    names = {f"Cand {n}" for n in range(4)}
    assert {n for n in names for m in bot.slack.posted("C1") if n in m.text} == names


async def test_what_was_queued_before_a_pause_is_still_posted(bot):
    # As when WedgeHR refuses the token: the pause stops new events, not those already received.
    await subscribe(bot)
    await queue_backlog(bot, 3)
    await bot.slack.wait_for(lambda: cards(bot))
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    await bot.services.db.subscriptions.pause(subscription.id, "WedgeHR refused the token")
    # Some of the backlog was still queued when the pause came (else nothing here is about a pause).
    assert len(cards(bot)) < 3 and (await bot.services.db.outbox.counts()).get("pending")
    await bot.slack.wait_for(lambda: len(cards(bot)) == 3, timeout=15)


async def test_a_row_left_under_a_removed_subscription_goes_to_the_channels_other_one(bot):
    # On PostgreSQL an event stored while an unsubscribe ran can be queued under the subscription
    # being removed; the channel's other subscription that takes the event still gets it.
    await full_card_for_the_job_and_compact_for_all(bot)
    await queue_backlog(bot, 3)
    await bot.slack.wait_for(lambda: cards(bot))
    full = next(s for s in await bot.services.db.subscriptions.list_for_channel("T0001", "C1") if not s.compact)
    await bot.services.db.subscriptions.remove(full.id)  # as a racing process leaves it: rows not settled
    assert await outbox_when_settled(bot, 10) == {"sent": 3}
    posted = " ".join(m.text for m in bot.slack.posted("C1"))
    assert all(f"Cand {n}" in posted for n in range(3))


async def test_re_enabling_a_subscription_whose_account_was_disconnected_says_to_subscribe_again(bot):
    await subscribe(bot)
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    await bot.services.db.subscriptions.pause(subscription.id, "channel archived")
    await bot.services.db.connections.delete(subscription.connection_id)  # disconnected meanwhile
    await bot.sender.block_action(
        Action.SUBSCRIPTION_RESUME, value=str(subscription.id), response_url=bot.slack.response_url("re")
    )
    (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("re"))
    assert "was disconnected" in told["text"] and "/interview subscribe" in told["text"]
    (still,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    assert still.paused  # resumed, it would read from nothing and stay silent


async def test_a_completion_seen_only_on_its_wedge_shows_completed_even_with_an_invite_still_open(bot):
    # Invited, she recorded through the interview's public link instead: WedgeHR completes her wedge,
    # whose invite still says "invited". The card is about a completion: no "Invited", no Resend.
    interview = next(iter(bot.wedgehr.interviews.values()))
    invite = bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
    await subscribe(bot, "subscribe wedgehr")
    await bot.slack.wait_for(lambda: sum(r.path.endswith("/wedges") for r in bot.wedgehr.requests) >= 2, timeout=5)
    wedge = bot.wedgehr.wedges[invite["_wedgeId"]]
    wedge["completedAt"] = "2026-01-05T10:00:00Z"
    wedge["resultUrl"] = f"https://app.wedgehr.com/results/w{wedge['id']}"
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
    assert "Ann" in card.text and "completed" in card.text
    assert "*Complete*" in str(card.blocks) and "Invited" not in str(card.blocks)
    assert "Resend invite" not in str(card.blocks) and "Open result" in str(card.blocks)


async def test_a_rating_for_a_compact_subscription_still_refreshes_the_full_card_of_its_thread(bot):
    # Completions as cards, ratings as compact lines: a rating replies under the candidate's card,
    # and the card, which shows the rating, must not say "not rated" for ever.
    await subscribe(bot, "subscribe sparkhire completed")
    await subscribe(bot, "subscribe sparkhire rated compact")
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", {**interview, "rating": 0})
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    assert "not rated" in str(card.blocks)
    await bot.sparkhire.rate_interview(interview["uuid"], 4, reviewer="Alice")
    (reply,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=10)
    assert reply.text == "Ann Lee was rated: ★★★★☆ 4 by Alice"
    await bot.slack.wait_for(lambda: card.updates == 1, timeout=5)
    assert "★★★★☆ 4" in str(card.blocks) and "Watch interview" in str(card.blocks)


async def test_a_rating_delivered_as_the_interview_itself_names_the_candidate_in_their_thread(bot):
    # The Rating payload is undocumented: one that is the rated interview (no "interview" key) is
    # threaded by its uuid, and is that candidate's, not "A candidate"'s.
    await subscribe(bot)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", {**interview, "rating": 0})
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    bot.sparkhire.interviews[interview["uuid"]]["rating"] = 4.0
    assert (await deliver(bot, "InterviewRated", {**interview, "rating": 4.0})).status_code == 200
    (reply,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=10)
    assert reply.text.startswith("Ann Lee was rated") and "A candidate" not in reply.text
    await bot.slack.wait_for(lambda: card.updates == 1, timeout=5)
    assert "★★★★☆ 4" in str(card.blocks)


async def test_a_leftover_invite_canceled_after_the_candidate_recorded_replies_but_keeps_the_completed_card(bot):
    # Invited twice, she recorded through the first invite; the recruiter then cancels the second.
    interview = next(iter(bot.wedgehr.interviews.values()))
    first = bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
    second = bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
    await subscribe(bot, "subscribe wedgehr completed canceled")
    await bot.slack.wait_for(lambda: sum(r.path.endswith("/wedges") for r in bot.wedgehr.requests) >= 2, timeout=5)
    bot.wedgehr.complete_invite(first["id"])
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
    assert "*Complete*" in str(card.blocks)
    bot.wedgehr.set_invite_status(second["id"], "canceled")
    (reply,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=5)
    assert "canceled" in reply.text
    await asyncio.sleep(0.3)
    assert "*Complete*" in str(card.blocks) and "Canceled" not in str(card.blocks)
    assert "Resend invite" not in str(card.blocks) and "Open result" in str(card.blocks)


async def test_a_compact_wedgehr_completion_links_to_its_result(bot):
    # A compact Spark Hire line links to the recording; a WedgeHR one must link to its result too.
    interview = next(iter(bot.wedgehr.interviews.values()))
    invite = bot.wedgehr.add_invite(interview_id=interview["id"], email="ann@example.com", first_name="Ann")
    await subscribe(bot, "subscribe wedgehr completed compact")
    await bot.slack.wait_for(lambda: sum(r.path.endswith("/wedges") for r in bot.wedgehr.requests) >= 2, timeout=5)
    done = bot.wedgehr.complete_invite(invite["id"])
    (line,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
    assert f"<{done['resultUrl']}|result>" in str(line.blocks)


async def test_a_candidate_whose_card_was_deleted_in_slack_gets_a_new_card_at_their_next_event(bot):
    # Someone tidied the channel and deleted the card: the rating must not be lost (nor hold the
    # channel's other notifications while it is retried); it starts the candidate's card again.
    await subscribe(bot)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", {**interview, "rating": 0})
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    bot.slack.delete_message("C1", card.ts)
    await bot.sparkhire.rate_interview(interview["uuid"], 4, reviewer="Alice")
    (new_card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
    assert "Ann Lee" in new_card.text and "★★★★☆ 4" in str(new_card.blocks)
    assert "Latest: was rated" in str(new_card.blocks)
    # The candidate's next event replies under the new card.
    await bot.sparkhire.rate_interview(interview["uuid"], 5, reviewer="Bob")
    (reply,) = await bot.slack.wait_for(lambda: replies(bot, new_card), timeout=5)
    assert reply.text == "Ann Lee was rated: ★★★★★ 5 by Bob"


async def test_a_new_card_for_a_deleted_one_whose_answer_was_lost_is_found_not_posted_twice(bot):
    await subscribe(bot)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", {**interview, "rating": 0})
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    bot.slack.delete_message("C1", card.ts)

    async def lose_the_new_cards_answer():
        if not cards(bot):  # the reply Slack refused: wait for the new card's post
            bot.slack.after_handling["chat.postMessage"] = lose_the_new_cards_answer
            return
        await answer_lost()

    bot.slack.after_handling["chat.postMessage"] = lose_the_new_cards_answer
    await bot.sparkhire.rate_interview(interview["uuid"], 4, reviewer="Alice")
    (new_card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=5)
    await bot.slack.wait_for(lambda: bot.slack.calls_to("conversations.history"), timeout=10)
    await bot.sparkhire.rate_interview(interview["uuid"], 5, reviewer="Bob")
    (reply,) = await bot.slack.wait_for(lambda: replies(bot, new_card), timeout=10)
    assert reply.text == "Ann Lee was rated: ★★★★★ 5 by Bob"
    assert cards(bot) == [new_card]


async def test_a_completion_whose_delivery_names_no_candidate_nor_job_is_fetched_named_and_filtered(bot):
    # A delivery of only the interview's uuid: a job-filtered channel still gets its job's
    # completion, another job's channel does not, and the card names the candidate.
    bot.sparkhire.add_job("Chef")
    await subscribe(bot, "subscribe sparkhire completed job:Barista")
    bot.slack.add_channel("C2", name="chefs")
    await subscribe(bot, "subscribe sparkhire completed job:Chef", channel="C2")
    bot.slack.add_channel("C3", name="everything")
    await subscribe(bot, "subscribe sparkhire completed", channel="C3")
    interview = completed_interview(bot)  # Ann Lee <ann@example.com>, a Barista interview
    minimal = {"uuid": interview["uuid"], "updated_at": interview["updated_at"]}
    assert (await deliver(bot, "InterviewCompleted", minimal)).status_code == 200
    (card,) = await bot.slack.wait_for(lambda: cards(bot, "C1"), timeout=5)
    assert "Ann Lee" in card.text and "Barista" in str(card.blocks) and "*Completed*" in str(card.blocks)
    (card,) = await bot.slack.wait_for(lambda: cards(bot, "C3"), timeout=5)
    assert "Ann Lee" in card.text
    for _ in range(100):
        if await bot.services.db.outbox.counts() == {"sent": 2, "skipped": 1}:
            break
        await asyncio.sleep(0.05)
    assert bot.slack.posted("C2") == []


async def test_a_candidate_with_a_very_long_name_still_gets_a_card_showing_the_interview_and_rating(bot):
    # A name of thousands of characters filled the card's one section: Slack's 3,000 characters
    # cut it off before the status, the job, the completion time and the rating.
    await subscribe(bot, "subscribe sparkhire completed compact")
    bot.slack.add_channel("C2", name="full")
    await subscribe(bot, "subscribe sparkhire completed rated", channel="C2")
    interview = completed_interview(bot)
    long_name, long_job = "Ann " + "Lee" * 2000, "Barista " + "Senior " * 700
    body = {
        **interview,
        "assigned_to": {**interview["assigned_to"], "name": long_name},
        "job_post": {**interview["job_post"], "title": long_job},
    }
    assert (await deliver(bot, "InterviewCompleted", body)).status_code == 200
    (card,) = await bot.slack.wait_for(lambda: cards(bot, "C2"), timeout=10)
    text = card.blocks[0]["text"]["text"]
    assert "*Completed*" in text and "*Interview:* Barista Senior" in text and "*Rating:* ★★★★★ 4.5" in text
    assert "Ann LeeLee" in text and "…" in text and len(text) < 1500
    assert len(card.text) < 1500 and card.text.endswith("completed the interview (Spark Hire)")
    (line,) = await bot.slack.wait_for(lambda: cards(bot, "C1"), timeout=10)
    assert len(line.blocks[0]["text"]["text"]) < 1500 and "completed the interview" in line.blocks[0]["text"]["text"]


async def test_a_rescheduled_interview_says_its_new_deadline_in_the_candidates_thread(bot):
    # The reply said only "got a new deadline": the recruiter had to open Spark Hire to learn it.
    await subscribe(bot, "subscribe sparkhire created rescheduled")
    bot.slack.add_channel("C2", name="compact")
    await subscribe(bot, "subscribe sparkhire rescheduled compact", channel="C2")
    interview = next(i for i in bot.sparkhire.interviews.values() if i["status"] == "requested")
    interview = {k: v for k, v in interview.items() if k != "questions"}
    assert (await deliver(bot, "InterviewCreated", interview)).status_code == 200
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    moved = {**interview, "scheduled_at": "2031-03-04T17:30:00-05:00", "updated_at": "2030-01-01T00:00:00+00:00"}
    assert (await deliver(bot, "InterviewRescheduled", moved)).status_code == 200
    (reply,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=10)
    deadline = "<!date^1930429800^{date_short_pretty} at {time}|2031-03-04 22:30 UTC>"
    assert deadline in reply.blocks[0]["text"]["text"] and "2031-03-04 22:30 UTC" in reply.text
    (line,) = await bot.slack.wait_for(lambda: cards(bot, "C2"), timeout=10)
    assert deadline in line.blocks[0]["text"]["text"]


async def test_a_candidate_name_with_line_breaks_cannot_add_lines_to_the_card(bot):
    # A name (or job title) with line breaks wrote lines of its own into the card: a candidate
    # could show the recruiter a status and a rating Spark Hire never gave.
    await subscribe(bot)
    interview = completed_interview(bot)
    forged = "Ann Lee\n:white_check_mark: *Hired*\r\n*Rating:* ★★★★★ 5.0"
    body = {
        **interview,
        "rating": 0,
        "assigned_to": {**interview["assigned_to"], "name": forged},
        "job_post": {**interview["job_post"], "title": "Barista\u2028*Rating:* ★★★★★ 5.0"},
    }
    assert (await deliver(bot, "InterviewCompleted", body)).status_code == 200
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    lines = card.blocks[0]["text"]["text"].splitlines()
    assert [line for line in lines if "*Rating:*" in line and "Ann Lee" not in line and "Barista" not in line] == [
        "*Rating:* not rated"
    ]
    assert "Ann Lee :white_check_mark: *Hired* *Rating:* ★★★★★ 5.0" in lines[0]
    assert "\n" not in card.text
    await bot.sparkhire.rate_interview(interview["uuid"], 1, reviewer="Bob\n\n*Hired* by everyone")
    (reply,) = await bot.slack.wait_for(lambda: replies(bot, card), timeout=10)
    assert "\n" not in reply.blocks[0]["text"]["text"] and "by Bob *Hired* by everyone" in reply.text


async def deliver_raw(bot, event: str, raw: bytes) -> httpx.Response:
    """POST ``raw`` bytes to the channel's webhook as Spark Hire would (its own formatting)."""
    (hook,) = bot.sparkhire.webhooks.values()
    headers = {
        "Authorization": "Basic " + base64.b64encode(hook["_auth"].encode()).decode(),
        "X-SparkHire-Event": event,
        "Content-Type": "application/json",
    }
    async with httpx.AsyncClient() as client:
        return await client.post(hook["url"], content=raw, headers=headers)


async def test_a_rating_spark_hire_sends_again_formatted_otherwise_is_replied_once(bot):
    # A retry of the same rating with its keys in another order and other whitespace was a second
    # delivery to the bot (keyed on the bytes): the thread read "rated ★★☆☆☆ 2 by Alice" twice.
    await subscribe(bot)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", interview)
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    rating = fixtures.load("sparkhire", "webhook_rated") | {"interview": {"uuid": interview["uuid"]}}
    first = json.dumps(rating).encode()
    again = json.dumps(dict(reversed(list(rating.items()))), indent=2).encode()
    assert first != again
    assert (await deliver_raw(bot, "InterviewRated", first)).status_code == 200
    assert (await deliver_raw(bot, "InterviewRated", again)).status_code == 200
    (reply,) = await bot.slack.wait_for(lambda: replies(bot, card))
    assert reply.text == "Ann Lee was rated: ★★☆☆☆ 2 by Alice Reviewer"
    await asyncio.sleep(0.5)
    assert len(replies(bot, card)) == 1
    assert await bot.services.db.events.count() == 2


async def test_two_reviewers_rating_an_interview_in_the_same_second_each_get_a_reply(bot):
    # Ratings carrying the same updated_at were taken for one delivery: Bob's was lost.
    await subscribe(bot)
    interview = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", {**interview, "rating": 0})
    (card,) = await bot.slack.wait_for(lambda: cards(bot))
    second = "2024-04-09T10:20:00+00:00"
    alice = {
        "uuid": "5b6c7d8e-0000-4000-8000-00000000a001",
        "rating": 2,
        "interview": {"uuid": interview["uuid"]},
        "rated_by": {"name": "Alice"},
        "updated_at": second,
    }
    bob = {**alice, "uuid": "5b6c7d8e-0000-4000-8000-00000000b002", "rating": 5, "rated_by": {"name": "Bob"}}
    assert (await deliver(bot, "InterviewRated", alice)).status_code == 200
    assert (await deliver(bot, "InterviewRated", bob)).status_code == 200
    got = await bot.slack.wait_for(lambda: len(replies(bot, card)) == 2 and replies(bot, card), timeout=10)
    assert sorted(m.text for m in got) == [
        "Ann Lee was rated: ★★★★★ 5 by Bob",
        "Ann Lee was rated: ★★☆☆☆ 2 by Alice",
    ]
    # Without a uuid of their own, the reviewer still tells them apart.
    carol = {k: v for k, v in alice.items() if k != "uuid"} | {"rating": 3, "rated_by": {"name": "Carol"}}
    dave = carol | {"rated_by": {"name": "Dave"}}
    assert (await deliver(bot, "InterviewRated", carol)).status_code == 200
    assert (await deliver(bot, "InterviewRated", dave)).status_code == 200
    await bot.slack.wait_for(lambda: len(replies(bot, card)) == 4, timeout=10)


async def test_a_delivery_recorded_before_the_upgrade_and_sent_again_after_it_is_not_posted_again(database_url):
    # Keys recorded by an earlier release: a completion without updated_at (the hash of its bytes)
    # and a rating with one (the interview and that time). Spark Hire's retry of either, arriving
    # after the upgrade, must not be posted a second time; another reviewer's rating of that second
    # (the same old key) still is. On PostgreSQL too: production runs there.
    async with running_bot(database_url=database_url) as bot:
        await subscribe(bot, "subscribe sparkhire completed rated canceled")
        connection = await bot.services.resolve_connection("T0001", "sparkhire", "U1")
        interview = completed_interview(bot)
        completion = {k: v for k, v in interview.items() if k not in ("questions", "updated_at")}
        rating = {
            "uuid": "5b6c7d8e-0000-4000-8000-00000000a001",
            "rating": 2,
            "interview": {"uuid": interview["uuid"]},
            "rated_by": {"name": "Alice"},
            "updated_at": "2024-04-09T10:20:00+00:00",
        }
        completion_raw, rating_raw = json.dumps(completion, indent=1).encode(), json.dumps(rating).encode()
        old_keys = {
            "InterviewCompleted": f"sparkhire:{connection.id}:InterviewCompleted:{interview['uuid']}:"
            + hashlib.sha256(completion_raw).hexdigest()[:32],
            "InterviewRated": f"sparkhire:{connection.id}:InterviewRated:{interview['uuid']}:{rating['updated_at']}",
        }
        for header, body, raw in (
            ("InterviewCompleted", completion, completion_raw),
            ("InterviewRated", rating, rating_raw),
        ):
            event = sparkhire_event(
                team_id="T0001", connection_id=connection.id, header_event=header, webhook_uuid="w", body=body, raw=raw
            )
            assert await bot.services.db.events.record(dataclasses.replace(event, dedup_key=old_keys[header]))
        (card,) = await bot.slack.wait_for(lambda: cards(bot))
        await bot.slack.wait_for(lambda: len(replies(bot, card)) == 1, timeout=10)
        assert (await deliver_raw(bot, "InterviewCompleted", completion_raw)).json()["duplicate"] is True
        assert (await deliver_raw(bot, "InterviewRated", rating_raw)).json()["duplicate"] is True
        await asyncio.sleep(0.5)
        assert len(bot.slack.posted("C1")) == 2
        assert await bot.services.db.events.count() == 2
        bob = rating | {"uuid": "5b6c7d8e-0000-4000-8000-00000000b002", "rating": 5, "rated_by": {"name": "Bob"}}
        assert (await deliver(bot, "InterviewRated", bob)).json()["duplicate"] is False
        (_, second) = await bot.slack.wait_for(lambda: len(replies(bot, card)) == 2 and replies(bot, card), timeout=10)
        assert second.text.endswith("by Bob")
