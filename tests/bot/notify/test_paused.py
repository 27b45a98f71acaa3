"""Paused subscriptions through the running bot: what pauses, who is told, and what a Re-enable posts."""

import asyncio
import json
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from blocks.ids import Action
from bot.notify.events import routed, sparkhire_event
from bot.storage import schema
from tests.bot.notify.test_pipeline import cards, completed_interview
from tests.bot.notify.test_poller import completed_now, connect_token, watched
from tests.support.blockkit import assert_valid_blocks
from tests.support.databases import TEST_DATABASE_URL, fresh_postgres_database
from tests.support.harness import OAUTH, install_workspace, running_bot

DAY = 86400


async def subscribe(bot, text="subscribe sparkhire", channel="C1", user="U1"):
    key = f"sub-{len(bot.slack.calls)}-{channel}"
    await bot.sender.command(text, channel=channel, user=user, response_url=bot.slack.response_url(key))
    return (await bot.slack.wait_for(lambda: bot.slack.responses.get(key), timeout=10))[-1]


async def click(bot, action, subscription_id, key, user="U1"):
    """A button of the pause notice, clicked in the DM it came in; the reply that replaces it."""
    await bot.sender.block_action(
        action, value=str(subscription_id), user=user, channel=f"D{user}", response_url=bot.slack.response_url(key)
    )
    return (await bot.slack.wait_for(lambda: bot.slack.responses.get(key), timeout=10))[-1]


def new_completed(bot, *, name, email, job_title="Barista"):
    job = next(j for j in bot.sparkhire.jobs.values() if j["title"] == job_title)
    other = bot.sparkhire.add_interview(job_uuid=job["uuid"], name=name, email=email)
    return bot.sparkhire.set_status(other["uuid"], "completed")


def notices(bot, user="U1"):
    return [m for m in bot.slack.posted(user) if "paused" in m.text]


def completed_delivery(subscription, body):
    """A Spark Hire InterviewCompleted delivery to the subscription's account, as an event."""
    return sparkhire_event(
        team_id="T0001",
        connection_id=subscription.connection_id,
        header_event="InterviewCompleted",
        webhook_uuid="",
        body=body,
        raw=json.dumps(body).encode(),
    )


async def test_cards_that_arrived_while_paused_are_posted_after_re_enable_once_each_in_order(bot):
    bot.slack.add_channel("G1", name="secret-hiring", is_private=True, is_member=True)
    await subscribe(bot, channel="G1")
    bot.slack.channels["G1"]["is_member"] = False  # /kick @Interview Bot
    first = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", first)  # its card hits the kick
    (notice,) = await bot.slack.wait_for(lambda: notices(bot), timeout=10)
    assert "Re-enable posts what it missed" in str(notice.blocks)
    assert_valid_blocks(notice.blocks)
    await bot.sparkhire.emit("InterviewCompleted", new_completed(bot, name="Paula Paused", email="paula@acme.io"))
    await bot.sparkhire.emit("InterviewCompleted", first)  # Spark Hire delivers it again: still once
    bot.slack.channels["G1"]["is_member"] = True  # invited again
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "G1")

    told = await click(bot, Action.SUBSCRIPTION_RESUME, subscription.id, "re")
    assert "Re-enabled the subscription in <#G1>" in told["text"]
    assert "Posting the 2 notifications missed while paused" in told["text"]
    assert told["replace_original"] is True

    posted = await bot.slack.wait_for(lambda: len(cards(bot, "G1")) >= 2 and cards(bot, "G1"), timeout=10)
    assert [first["assigned_to"]["name"] in posted[0].text, "Paula Paused" in posted[1].text] == [True, True]
    await asyncio.sleep(1.5)
    assert len(cards(bot, "G1")) == 2
    assert await bot.services.db.outbox.counts() == {"sent": 2}
    assert not (await bot.services.db.subscriptions.get(subscription.id)).paused


async def test_a_re_enable_after_a_long_pause_posts_the_last_week_and_says_how_many_older_were_not(bot):
    await subscribe(bot)
    bot.slack.channels["C1"]["is_archived"] = True
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    await bot.slack.wait_for(lambda: notices(bot), timeout=10)
    await bot.sparkhire.emit("InterviewCompleted", new_completed(bot, name="Old Olga", email="olga@acme.io"))
    await bot.sparkhire.emit("InterviewCompleted", new_completed(bot, name="New Nina", email="nina@acme.io"))
    # The first two were received ten days ago (and the pause began then).
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    ev, subs = schema.events, schema.subscriptions
    async with bot.services.db.engine.begin() as conn:
        ids = (await conn.execute(sa.select(ev.c.id).order_by(ev.c.id))).scalars().all()
        await conn.execute(sa.update(ev).where(ev.c.id.in_(ids[:2])).values(received_at=time.time() - 10 * DAY))
        await conn.execute(sa.update(subs).values(paused_at=time.time() - 10 * DAY))
    bot.slack.channels["C1"]["is_archived"] = False

    told = await click(bot, Action.SUBSCRIPTION_RESUME, subscription.id, "re")
    assert "Posting the 1 notification missed while paused" in told["text"]
    assert "2 older ones were not posted" in told["text"] and "last 7 days" in told["text"]
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    assert "New Nina" in card.text
    await asyncio.sleep(1.5)
    assert len(cards(bot)) == 1


async def test_an_archived_channel_with_two_subscriptions_pauses_both_with_one_notice_and_one_re_enable(bot):
    await subscribe(bot, "subscribe sparkhire completed")
    await subscribe(bot, "subscribe sparkhire completed compact job:Barista")
    bot.slack.channels["C1"]["is_archived"] = True
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    (notice,) = await bot.slack.wait_for(lambda: notices(bot), timeout=10)
    await bot.sparkhire.emit("InterviewCompleted", new_completed(bot, name="Zed", email="zed@acme.io"))
    await asyncio.sleep(1.5)
    subs = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    assert [s.paused for s in subs] == [True, True]
    assert len(notices(bot)) == 1  # one notice for the channel, listing both
    assert "I paused the 2 subscriptions in <#C1>" in notice.text and "was archived" in notice.text
    assert "job: Barista" in str(notice.blocks)
    assert_valid_blocks(notice.blocks)

    # Still archived: refused, nothing changes, and the buttons stay.
    told = await click(bot, Action.SUBSCRIPTION_RESUME, subs[1].id, "early")
    assert "still archived" in told["text"] and "Unarchive it first" in told["text"]
    assert Action.SUBSCRIPTION_RESUME in str(told["blocks"]) and Action.SUBSCRIPTION_REMOVE in str(told["blocks"])
    assert [s.paused for s in await bot.services.db.subscriptions.list_for_channel("T0001", "C1")] == [True, True]
    assert not [c for c in bot.slack.calls_to("chat.postMessage") if c.args.get("channel") == "C1"][1:]

    bot.slack.channels["C1"]["is_archived"] = False
    told = await click(bot, Action.SUBSCRIPTION_RESUME, subs[1].id, "re")
    assert "Re-enabled 2 subscriptions in <#C1>" in told["text"] and "Posting the 2 notifications" in told["text"]
    assert [s.paused for s in await bot.services.db.subscriptions.list_for_channel("T0001", "C1")] == [False, False]
    posted = await bot.slack.wait_for(lambda: len(cards(bot)) >= 2 and cards(bot), timeout=10)
    await asyncio.sleep(1.5)
    assert len(cards(bot)) == 2 and "Zed" in posted[1].text  # one card per event, not one per subscription


async def test_a_deleted_channel_is_said_to_be_gone_and_its_subscription_can_be_removed(bot):
    bot.slack.add_channel("C2", name="old-search")
    await subscribe(bot, channel="C2")
    del bot.slack.channels["C2"]  # the channel was deleted
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    (notice,) = await bot.slack.wait_for(lambda: notices(bot), timeout=10)
    assert "<#C2> is gone" in notice.text and "Remove" in notice.text
    remove = next(e for b in notice.blocks if b["type"] == "actions" for e in b["elements"] if "Remove" in str(e))
    assert remove["action_id"] == Action.SUBSCRIPTION_REMOVE and remove["confirm"]["confirm"]["text"] == "Remove"
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C2")

    told = await click(bot, Action.SUBSCRIPTION_RESUME, subscription.id, "re")
    assert "I still cannot find <#C2>" in told["text"] and "Remove" in told["text"]
    assert "not in this private channel yet" not in told["text"] and "run the command again" not in told["text"]
    assert (await bot.services.db.subscriptions.get(subscription.id)).paused

    told = await click(bot, Action.SUBSCRIPTION_REMOVE, subscription.id, "rm")
    assert told["text"].startswith("Removed the subscription of <#C2>")
    assert await bot.services.db.subscriptions.list_for_channel("T0001", "C2") == []
    assert bot.sparkhire.webhooks == {}  # no channel uses the account's webhook any more


async def test_a_deactivated_creators_pause_notice_goes_to_a_workspace_admin(bot):
    await subscribe(bot, user="U2")
    bot.slack.deactivate_user("U2")  # Mo left the company
    bot.slack.channels["C1"]["is_archived"] = True
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    (notice,) = await bot.slack.wait_for(lambda: notices(bot, "U1"), timeout=10)  # Rita, an admin
    assert "<#C1>" in notice.text and "<@U2>, who set it up, can no longer be reached" in str(notice.blocks)
    assert bot.slack.posted("U2") == []  # nobody reads a deactivated user's DMs
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    # The admin can act on it for them.
    told = await click(bot, Action.SUBSCRIPTION_REMOVE, subscription.id, "rm")
    assert "Removed the subscription" in told["text"]


async def test_in_oauth_mode_a_deactivated_creators_pause_notice_goes_to_whoever_installed_the_app():
    async with running_bot(**OAUTH) as bot:
        bot.slack.add_user("U3", name="Ida Installer", email="ida@example.com")
        await install_workspace(bot, installer="U3")
        await subscribe(bot, user="U2")
        bot.slack.deactivate_user("U2")
        bot.slack.channels["C1"]["is_archived"] = True
        await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
        (notice,) = await bot.slack.wait_for(lambda: notices(bot, "U3"), timeout=10)
        assert "<@U2>, who set it up" in str(notice.blocks)
        assert bot.slack.posted("U2") == [] and notices(bot, "U1") == []


async def test_a_deactivated_creator_is_told_in_the_channel_when_the_pause_is_not_about_the_channel():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await bot.sender.command("subscribe wedgehr", user="U2", response_url=bot.slack.response_url("s"))
        await bot.slack.wait_for(lambda: bot.slack.responses.get("s"), timeout=10)
        await bot.pipeline.poller.poll_all()
        bot.slack.deactivate_user("U2")
        bot.wedgehr.tokens = {"company-a-new-token-0123"}  # the token was revoked in WedgeHR
        for _ in range(3):
            await bot.pipeline.poller.poll_all()
        (notice,) = await bot.slack.wait_for(lambda: notices(bot, "C1"), timeout=10)
        assert "WedgeHR rejected the workspace's token" in notice.text and "<@U2>" in str(notice.blocks)
        assert bot.slack.posted("U2") == [] and notices(bot, "U1") == []


async def test_a_wedgehr_subscription_paused_for_its_token_is_still_told_to_its_creator():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await watched(bot)
        bot.wedgehr.tokens = {"company-a-new-token-0123"}
        for _ in range(3):
            await bot.pipeline.poller.poll_all()
        (notice,) = await bot.slack.wait_for(lambda: notices(bot, "U1"), timeout=10)
        assert "<@" not in str(notice.blocks)  # told to its creator: nobody stands in


async def test_subscribing_again_in_a_paused_channel_posts_what_it_missed_once_each_in_order(bot):
    bot.slack.add_channel("G1", name="secret-hiring", is_private=True, is_member=True)
    await subscribe(bot, channel="G1")
    bot.slack.channels["G1"]["is_member"] = False  # /kick @Interview Bot
    first = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", first)  # its card hits the kick
    await bot.slack.wait_for(lambda: notices(bot), timeout=10)
    await bot.sparkhire.emit("InterviewCompleted", new_completed(bot, name="Paula Paused", email="paula@acme.io"))
    await bot.sparkhire.emit("InterviewCompleted", first)  # Spark Hire delivers it again: still once
    bot.slack.channels["G1"]["is_member"] = True  # invited again

    # Instead of the notice's Re-enable, the same command again in the channel.
    reply = await subscribe(bot, channel="G1")
    assert "Posting the 2 notifications missed while paused" in str(reply["blocks"])
    assert_valid_blocks(reply["blocks"])

    posted = await bot.slack.wait_for(lambda: len(cards(bot, "G1")) >= 2 and cards(bot, "G1"), timeout=10)
    assert [first["assigned_to"]["name"] in posted[0].text, "Paula Paused" in posted[1].text] == [True, True]
    await asyncio.sleep(1.5)
    assert len(cards(bot, "G1")) == 2
    assert await bot.services.db.outbox.counts() == {"sent": 2}


async def test_subscribing_again_in_a_channel_whose_subscriptions_paused_together_re_enables_them_all(bot):
    bot.slack.add_channel("G1", name="secret-hiring", is_private=True, is_member=True)
    await subscribe(bot, channel="G1")
    await subscribe(bot, "subscribe sparkhire rated job:Barista", channel="G1")
    bot.slack.channels["G1"]["is_member"] = False  # /kick @Interview Bot: both pause
    first = completed_interview(bot)
    await bot.sparkhire.emit("InterviewCompleted", first)  # the first subscription's card hits the kick
    await bot.slack.wait_for(lambda: notices(bot), timeout=10)
    assert [s.paused for s in await bot.services.db.subscriptions.list_for_channel("T0001", "G1")] == [True, True]
    bot.slack.channels["G1"]["is_member"] = True  # invited again

    # The command names the job one, as the Re-enable button of either would, both come back.
    reply = await subscribe(bot, "subscribe sparkhire rated job:Barista", channel="G1")
    assert "Re-enabled 2 paused subscriptions here. Posting the 1 notification missed while paused." in str(
        reply["blocks"]
    )
    assert not any(s.paused for s in await bot.services.db.subscriptions.list_for_channel("T0001", "G1"))
    (card,) = await bot.slack.wait_for(lambda: cards(bot, "G1"), timeout=10)
    assert first["assigned_to"]["name"] in card.text
    # Audited as the button's Re-enable is.
    (audited,) = await bot.services.db.audit.recent("T0001", action_prefix="subscription.resumed")
    assert (audited.user_id, audited.target) == ("U1", "G1")
    assert audited.detail == {"subscriptions": 2, "queued": 1, "too_old": 0, "via": "subscribe"}


async def test_a_new_wedgehr_token_re_enables_the_paused_channels_and_posts_what_they_missed():
    async with running_bot(wedgehr_poll_seconds=3600) as bot:
        await watched(bot)  # C1 follows the account
        bot.wedgehr.tokens = {"company-a-new-token-0123"}  # WedgeHR refuses the token three polls running
        for _ in range(3):
            await bot.pipeline.poller.poll_all()
        await bot.slack.wait_for(lambda: notices(bot), timeout=10)
        bot.wedgehr.tokens = None  # ... then takes it again for a while
        bot.slack.add_channel("C2", name="c2")
        await subscribe(bot, "subscribe wedgehr", channel="C2")
        await asyncio.sleep(1.1)  # WedgeHR's times are in whole seconds
        completed_now(bot, "gia@example.com", "Gia")
        completed_now(bot, "hal@example.com", "Hal")
        assert await bot.pipeline.poller.poll_all() == 2
        await bot.slack.wait_for(lambda: len(cards(bot, "C2")) == 2, timeout=10)
        assert cards(bot, "C1") == []  # paused: it missed them

        confirmation = await connect_token(bot, "company-a-new-token-0123")
        told = str(confirmation.blocks)
        assert "Re-enabled the WedgeHR subscription paused" in told
        assert "Posting the 2 notifications missed while paused" in told
        posted = await bot.slack.wait_for(lambda: len(cards(bot, "C1")) >= 2 and cards(bot, "C1"), timeout=10)
        assert ["Gia" in posted[0].text, "Hal" in posted[1].text] == [True, True]
        (audited,) = await bot.services.db.audit.recent("T0001", action_prefix="subscription.resumed")
        assert (audited.user_id, audited.target, audited.vendor, audited.detail["via"]) == (
            "U1",
            "C1",
            "wedgehr",
            "token",
        )
        await asyncio.sleep(1.5)
        assert len(cards(bot, "C1")) == 2 and len(cards(bot, "C2")) == 2


async def test_a_re_enable_after_a_busy_pause_reads_only_the_events_it_can_post(database_url):
    async with running_bot(database_url=database_url) as bot:
        await subscribe(bot)
        (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
        await bot.services.db.subscriptions.pause_channel("T0001", "C1", "is archived", error="is_archived")
        interview = completed_interview(bot)

        def delivered(n):
            return completed_delivery(subscription, {**interview, "uuid": f"busy-{n:04}"})

        # 100 completions ten days ago, then 250 this week: the 200 newest can post.
        assert all(await bot.services.db.events.record_many([delivered(n) for n in range(100)]))
        ev, subs = schema.events, schema.subscriptions
        async with bot.services.db.engine.begin() as conn:
            await conn.execute(sa.update(ev).values(received_at=time.time() - 10 * DAY))
            await conn.execute(sa.update(subs).values(paused_at=time.time() - 10 * DAY - 60))
        assert all(await bot.services.db.events.record_many([delivered(n) for n in range(100, 350)]))

        handed: list[int] = []

        def counted(stored):
            handed.append(stored.id)
            return routed(stored)

        done = await bot.services.db.subscriptions.resume_catching_up(
            [subscription.id], not_before=time.time() - 7 * DAY, most=200, route=counted
        )
        assert (done.queued, done.too_old) == (200, 150)
        assert len(handed) <= 200  # not every event since the pause
        posted = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
        assert "busy-0150" in str(posted[0].blocks)  # the oldest of the 200 newest comes first


async def test_older_ones_a_job_filter_may_have_left_out_are_said_to_exist_not_miscounted(bot):
    await subscribe(bot, "subscribe sparkhire completed job:Barista")
    (subscription,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    await bot.services.db.subscriptions.pause_channel("T0001", "C1", "is archived", error="is_archived")
    barista = completed_interview(bot)
    seller = new_completed(bot, name="Sal Seller", email="sal@acme.io", job_title="Sr. Account Executive")

    def delivered(body, n):
        return completed_delivery(subscription, {**body, "uuid": f"{body['uuid']}-{n}"})

    # Two of each job ten days ago (the pause began then), one for the channel's job this week.
    await bot.services.db.events.record_many([delivered(b, n) for n in range(2) for b in (barista, seller)])
    ev, subs = schema.events, schema.subscriptions
    async with bot.services.db.engine.begin() as conn:
        await conn.execute(sa.update(ev).values(received_at=time.time() - 10 * DAY))
        await conn.execute(sa.update(subs).values(paused_at=time.time() - 10 * DAY - 60))
    await bot.services.db.events.record_many([delivered(barista, 9)])

    told = await click(bot, Action.SUBSCRIPTION_RESUME, subscription.id, "re")
    assert "Posting the 1 notification missed while paused" in told["text"]
    # Not read: the other job's two cannot be told apart from the channel's, so no number is given
    # (it was "Up to 4", where 2 was right).
    assert "Some older ones may not have been posted: only what arrived in the last 7 days" in told["text"]
    assert "4" not in told["text"].replace("<#C1>", "")
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    assert "-9" in str(card.blocks)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_on_postgresql_an_event_recorded_as_a_re_enable_runs_is_posted_in_the_re_enabled_channel():
    """An event whose recording read the subscriptions while the channel's was still paused, and
    committed after the Re-enable had looked for what the channel missed: neither posted it."""
    database_url, cleanup = await fresh_postgres_database()
    watcher = create_async_engine(database_url, isolation_level="AUTOCOMMIT")

    async def waiting(kind):
        async with watcher.connect() as conn:
            query = "SELECT count(*) FROM pg_locks l WHERE NOT l.granted AND l.database ="
            query += " (SELECT oid FROM pg_database WHERE datname = current_database())"
            query += " AND l.relation = 'outbox'::regclass" if kind == "outbox" else " AND l.locktype = 'advisory'"
            return (await conn.execute(sa.text(query))).scalar()

    try:
        async with running_bot(database_url=database_url) as bot:
            bot.slack.add_channel("C2", name="c2")
            await subscribe(bot)
            await subscribe(bot, channel="C2")
            await bot.services.db.subscriptions.pause_channel("T0001", "C1", "is archived", error="is_archived")
            (paused,) = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
            async with watcher.connect() as blocker:
                # The recording of Ivy's completion reads the subscriptions (C1 paused), then waits
                # here to write C2's delivery, uncommitted, while C1 is re-enabled.
                await blocker.execute(sa.text("BEGIN"))
                await blocker.execute(sa.text("LOCK TABLE outbox IN SHARE MODE"))
                ivy = new_completed(bot, name="Ivy Instant", email="ivy@acme.io")
                arrival = asyncio.create_task(bot.sparkhire.emit("InterviewCompleted", ivy))
                await wait_until(lambda: waiting("outbox"))
                click_done = asyncio.create_task(click(bot, Action.SUBSCRIPTION_RESUME, paused.id, "re"))

                async def answered():
                    return click_done.done()

                # The Re-enable answered (nothing made it wait for the recording), or waits for it.
                await wait_until(answered, lambda: waiting("advisory"))
                await blocker.execute(sa.text("COMMIT"))
            told = await click_done
            assert [d.status for d in await arrival] == [200]
            await bot.slack.wait_for(lambda: cards(bot, "C2"), timeout=10)
            assert "Posting the 1 notification missed while paused" in told["text"]
            (card,) = await bot.slack.wait_for(lambda: cards(bot, "C1"), timeout=10)
            assert "Ivy Instant" in card.text
    finally:
        await watcher.dispose()
        await cleanup()


async def wait_until(*conditions, timeout=10.0):
    """Until one of the async ``conditions`` is true."""
    deadline = time.monotonic() + timeout
    while not any([await c() for c in conditions]):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_on_postgresql_a_re_enable_holds_up_no_recording_of_another_workspace():
    """A Re-enable makes its workspace's recordings wait until it has caught up; another workspace's
    webhooks are answered and posted meanwhile (they waited too, past the database timeout: 503s)."""
    database_url, cleanup = await fresh_postgres_database()
    watcher = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        async with running_bot(database_url=database_url) as bot:
            db = bot.services.db
            await subscribe(bot)  # T0001's C1, whose webhooks arrive below
            other = await db.subscriptions.add(
                team_id="T0002", channel_id="C9", vendor="sparkhire", events=["completed"], created_by="U9"
            )
            await db.subscriptions.pause_channel("T0002", "C9", "is archived", error="is_archived")
            async with watcher.connect() as blocker:
                # The Re-enable of T0002 takes its lock, then waits here to flip the flag.
                await blocker.execute(sa.text("BEGIN"))
                await blocker.execute(sa.text(f"SELECT id FROM subscriptions WHERE id = {other.id} FOR UPDATE"))
                re_enable = asyncio.create_task(
                    db.subscriptions.resume_catching_up([other.id], not_before=0, most=200, route=routed)
                )

                async def waiting():
                    query = "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"
                    return (await blocker.execute(sa.text(query))).scalar()

                await wait_until(waiting)
                ivy = new_completed(bot, name="Ivy Other", email="ivy@acme.io")
                arrival = await asyncio.wait_for(bot.sparkhire.emit("InterviewCompleted", ivy), timeout=10)
                assert [d.status for d in arrival] == [200]
                (card,) = await bot.slack.wait_for(lambda: cards(bot, "C1"), timeout=10)
                assert "Ivy Other" in card.text
                assert not re_enable.done()
                await blocker.execute(sa.text("COMMIT"))
            assert [s.id for s in (await re_enable).resumed] == [other.id]
    finally:
        await watcher.dispose()
        await cleanup()


async def re_enabled_posts_ann_and_her_rating_once(bot, barista):
    """Barista re-enabled: Ann's card and her rating, missed meanwhile, are posted once each."""
    told = await click(bot, Action.SUBSCRIPTION_RESUME, barista.id, "re")
    assert "Posting the 2 notifications missed while paused" in told["text"]
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    (reply,) = await bot.slack.wait_for(lambda: [m for m in bot.slack.posted("C1") if m.thread_ts], timeout=10)
    assert "Ann Lee" in card.text and reply.text == "Ann Lee was rated: ★★★★☆ 4 by Bob"
    await asyncio.sleep(1.5)
    assert len(bot.slack.posted("C1")) == 2  # each once


async def test_a_rating_queued_before_its_only_matching_subscription_paused_is_posted_once_after_re_enable(
    database_url,
):
    # Two subscriptions of one channel, one per job; the rating's row is queued under the first
    # (Chef), to be checked against both once its interview is fetched. Before it goes, the other
    # (Barista, the rating's job) is paused. The worker refused the rating ("filtered out") and
    # the Re-enable, finding the event delivered in the channel, did not post it either: lost.
    async with running_bot(database_url=database_url) as bot:  # the row lock is PostgreSQL's
        bot.sparkhire.add_job("Chef")
        await subscribe(bot, "subscribe sparkhire rated job:Chef")
        await subscribe(bot, "subscribe sparkhire job:Barista")
        _, barista = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
        interview = completed_interview(bot)  # Ann Lee, a Barista interview
        # Barista's card for Ann waits out Slack's limit, then meets an error that pauses Barista.
        bot.slack.fail("chat.postMessage", status=429, error="ratelimited", retry_after=2)
        bot.slack.fail("chat.postMessage", error="no_permission")
        await bot.sparkhire.emit("InterviewCompleted", interview)
        await bot.slack.wait_for(lambda: bot.slack.calls_to("chat.postMessage"))
        await bot.sparkhire.rate_interview(interview["uuid"], 4, reviewer="Bob")  # queued meanwhile
        await bot.slack.wait_for(lambda: notices(bot), timeout=10)
        assert (await bot.services.db.subscriptions.get(barista.id)).paused
        await asyncio.sleep(1.5)
        assert cards(bot) == []  # the rating waits with the paused subscription's rows

        await re_enabled_posts_ann_and_her_rating_once(bot, barista)
        assert await bot.services.db.outbox.counts() == {"sent": 2}


async def chef_ratings_and_barista_paused(bot):
    """Two subscriptions of C1: ratings of Chef interviews, and everything of Barista ones; Ann Lee
    completes a Barista interview, and Slack refusing her card pauses Barista alone. Barista's
    subscription and Ann's interview."""
    bot.sparkhire.add_job("Chef")
    await subscribe(bot, "subscribe sparkhire rated job:Chef")
    await subscribe(bot, "subscribe sparkhire job:Barista")
    _, barista = await bot.services.db.subscriptions.list_for_channel("T0001", "C1")
    interview = completed_interview(bot)
    bot.slack.fail("chat.postMessage", error="no_permission")
    await bot.sparkhire.emit("InterviewCompleted", interview)
    await bot.slack.wait_for(lambda: notices(bot), timeout=10)
    assert (await bot.services.db.subscriptions.get(barista.id)).paused
    return barista, interview


async def test_a_rating_another_subscription_refused_while_this_one_was_paused_is_posted_once_after_re_enable(
    database_url,
):
    # Two subscriptions of one channel: ratings of Chef interviews, and everything of Barista ones.
    # Barista is paused; meanwhile a Barista interview is rated: only Chef's subscription, active,
    # gets the row, and its filter refuses it once the interview is fetched (skipped). The
    # Re-enable counted that skipped row as delivered in the channel: the rating was never posted.
    async with running_bot(database_url=database_url) as bot:
        barista, interview = await chef_ratings_and_barista_paused(bot)
        await bot.sparkhire.rate_interview(interview["uuid"], 4, reviewer="Bob")
        for _ in range(200):  # Chef's filter refuses it
            if (await bot.services.db.outbox.counts()).get("skipped"):
                break
            await asyncio.sleep(0.05)
        assert await bot.services.db.outbox.counts() == {"failed": 1, "skipped": 1}
        assert bot.slack.posted("C1") == []

        await re_enabled_posts_ann_and_her_rating_once(bot, barista)

        # Paused and re-enabled again: what the channel now has is not posted a second time.
        bot.slack.fail("chat.postMessage", error="no_permission")
        await bot.sparkhire.emit("InterviewCompleted", new_completed(bot, name="Paula Paused", email="paula@acme.io"))
        await bot.slack.wait_for(lambda: len(notices(bot)) == 2, timeout=10)
        told = await click(bot, Action.SUBSCRIPTION_RESUME, barista.id, "re2")
        assert "Posting the 1 notification missed while paused" in told["text"]
        await bot.slack.wait_for(lambda: len(cards(bot)) == 2, timeout=10)
        await asyncio.sleep(1.5)
        assert len(bot.slack.posted("C1")) == 3


async def test_a_rating_still_queued_for_another_subscription_when_this_one_is_re_enabled_is_posted_once(
    database_url,
):
    # As above, but the Re-enable comes while Chef's row of the rating still waits for its interview:
    # the catch-up takes that row for the channel's delivery, so the worker must let Barista, now
    # active, pass it.
    async with running_bot(database_url=database_url) as bot:
        barista, interview = await chef_ratings_and_barista_paused(bot)
        fetched = lambda request: request.method == "GET" and interview["uuid"] in request.path  # noqa: E731
        bot.sparkhire.slow_next(4.0, when=fetched)
        await bot.sparkhire.rate_interview(interview["uuid"], 4, reviewer="Bob")
        for _ in range(200):
            if (await bot.services.db.outbox.counts()).get("pending"):
                break
            await asyncio.sleep(0.05)
        assert await bot.services.db.outbox.counts() == {"failed": 1, "pending": 1}

        await click(bot, Action.SUBSCRIPTION_RESUME, barista.id, "re")
        # The rating, under way first, makes the card; the completion caught up replies to it.
        (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=15)
        (reply,) = await bot.slack.wait_for(lambda: [m for m in bot.slack.posted("C1") if m.thread_ts], timeout=15)
        assert reply.thread_ts == card.ts
        assert sorted(("rated" in m.text, "completed" in m.text) for m in (card, reply)) == [
            (False, True),
            (True, False),
        ]
        await asyncio.sleep(1.5)
        assert len(bot.slack.posted("C1")) == 2  # each once
