"""`subscribe` through the running bot: which account a subscription reads, and its `job:` checked
against the vendor (Spark Hire's jobs, WedgeHR's interviews)."""

import asyncio
import time

from bot.notify.jobs import JOB_CHECK_SECONDS
from tests.support.blockkit import assert_valid_blocks
from tests.support.harness import running_bot

BOS_KEY = "key-of-bo-0123456789"


async def subscribe(bot, text="subscribe sparkhire completed", channel="C1", user="U1"):
    key = f"sub-{len(bot.slack.calls)}-{channel}-{user}"
    await bot.sender.command(text, channel=channel, user=user, response_url=bot.slack.response_url(key))
    reply = (await bot.slack.wait_for(lambda: bot.slack.responses.get(key), timeout=15))[-1]
    assert_valid_blocks(reply["blocks"])
    return reply


def said(reply) -> str:
    return " ".join(b["text"]["text"] for b in reply["blocks"] if "text" in b)


def cards(bot, channel="C1"):
    return [m for m in bot.slack.posted(channel) if m.thread_ts is None]


def completed_interview(bot):
    return next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")


def completed_for(bot, job, *, name, email):
    interview = bot.sparkhire.add_interview(job_uuid=job["uuid"], name=name, email=email)
    return bot.sparkhire.set_status(interview["uuid"], "completed")


async def subscriptions(bot, channel="C1"):
    return await bot.services.db.subscriptions.list_for_channel("T0001", channel)


# -- the account a subscription reads ---------------------------------------------------------


async def test_a_colleague_subscribing_with_another_accounts_key_adds_that_account_and_keeps_the_first(bot):
    bot.sparkhire.add_account(BOS_KEY, "Bo's agency")
    await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", BOS_KEY, account_label="Bo's agency")
    await subscribe(bot)  # U1: the workspace's key, Shermer Staffing's account
    reply = await subscribe(bot, user="U2")

    # U2 is told the channel now reads two accounts, and which subscription reads which.
    text = said(reply)
    assert "account: Bo's agency, <@U2>'s own key" in text
    assert "reading other accounts" in text and "the workspace's key (from SPARKHIRE_API_KEY)" in text
    first, second = await subscriptions(bot)
    assert first.connection_id != second.connection_id and second.created_by == "U2"
    # So does the channel's list.
    listing = await subscribe(bot, "subscriptions")
    assert "account: Bo's agency, <@U2>'s own key" in said(listing)
    assert "account: the workspace's key (from SPARKHIRE_API_KEY)" in said(listing)
    # Each account's events still reach the channel: the first account's was not taken away.
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    assert "Ann Lee" in card.text
    job = next(iter(bot.sparkhire.jobs.values()))
    bo_candidate = completed_for(bot, job, name="Bea Bo", email="bea@bo.example")
    await bot.sparkhire.emit("InterviewCompleted", bo_candidate, api_key=BOS_KEY)
    await bot.slack.wait_for(lambda: len(cards(bot)) == 2, timeout=10)
    assert "Bea Bo" in cards(bot)[-1].text


async def test_a_colleague_with_a_key_of_the_same_account_renews_the_subscription_and_registers_nothing_more(bot):
    same_account_key = "spark-key-of-u2-0123456789"  # the sandbox's default company, like the workspace key
    await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", same_account_key, account_label="Mine")
    await subscribe(bot)
    (before,) = await subscriptions(bot)
    reply = await subscribe(bot, "subscribe sparkhire completed accepted", user="U2")

    (after,) = await subscriptions(bot)
    assert after.id == before.id and after.connection_id == before.connection_id
    assert after.events == ("completed", "accepted")
    assert "reading other accounts" not in said(reply)
    assert len(bot.sparkhire.webhooks) == 1  # one registration: each event arrives, and is posted, once
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    await asyncio.sleep(1.5)
    assert len(bot.slack.posted("C1")) == 1


async def test_subscribing_again_after_its_account_was_disconnected_reads_the_account_connected_now(bot):
    bot.sparkhire.add_account(BOS_KEY, "Bo's agency")
    await subscribe(bot)
    (old,) = await subscriptions(bot)
    await bot.services.db.subscriptions.pause(old.id, "the account was disconnected")
    await bot.services.db.connections.delete(old.connection_id)
    await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", BOS_KEY, account_label="Bo's agency")
    await subscribe(bot, user="U2")

    (renewed,) = await subscriptions(bot)
    assert renewed.id == old.id and not renewed.paused
    assert renewed.connection_id == (await bot.services.resolve_connection("T0001", "sparkhire", "U2")).id


async def test_subscribing_again_to_a_job_after_its_account_was_disconnected_follows_the_new_accounts_job(bot):
    bot.sparkhire.add_account(BOS_KEY, "Bo's agency")
    await subscribe(bot, "subscribe sparkhire completed job:Barista")
    (old,) = await subscriptions(bot)
    await bot.services.db.subscriptions.pause(old.id, "the account was disconnected")
    await bot.services.db.connections.delete(old.connection_id)
    # Bo's agency has a Barista job of its own (the sandbox lists one set of jobs to every key).
    del bot.sparkhire.jobs[old.job_id]
    bos_barista = bot.sparkhire.add_job("Barista")
    await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", BOS_KEY, account_label="Bo's agency")
    await subscribe(bot, "subscribe sparkhire completed job:Barista", user="U2")

    # As the pause notice said: subscribing again renewed it, nothing is left paused.
    (renewed,) = await subscriptions(bot)
    assert renewed.id == old.id and not renewed.paused and renewed.job_id == bos_barista["uuid"]
    bea = completed_for(bot, bos_barista, name="Bea Bo", email="bea@bo.example")
    await bot.sparkhire.emit("InterviewCompleted", bea, api_key=BOS_KEY)
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    assert "Bea Bo" in card.text


# -- job: checked against the vendor --------------------------------------------------------


async def test_a_misspelt_job_is_subscribed_as_typed_and_the_reply_offers_the_closest_name(bot):
    reply = await subscribe(bot, "subscribe sparkhire completed job:Baristaa")
    text = said(reply)
    assert "Spark Hire has no job named `Baristaa` yet" in text and "Did you mean `job:Barista`?" in text
    assert "`/interview unsubscribe sparkhire job:Baristaa` removes it" in text
    # A job may be subscribed to before it is created: the subscription is kept, by name.
    (sub,) = await subscriptions(bot)
    assert sub.job_filter == "Baristaa" and sub.job_id is None
    created = bot.sparkhire.add_job("Baristaa")
    await bot.sparkhire.emit("InterviewCompleted", completed_for(bot, created, name="Eve Early", email="eve@x.io"))
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    assert "Eve Early" in card.text


async def test_a_close_name_with_spaces_is_suggested_in_quotes(bot):
    reply = await subscribe(bot, 'subscribe sparkhire job:"Sr Account Executive"')
    assert 'Did you mean `job:"Sr. Account Executive"`?' in said(reply)


async def test_a_job_renamed_at_spark_hire_keeps_its_cards_coming(bot):
    await subscribe(bot, "subscribe sparkhire completed job:barista")  # any case: saved as Spark Hire spells it
    (sub,) = await subscriptions(bot)
    job = next(j for j in bot.sparkhire.jobs.values() if j["title"] == "Barista")
    assert sub.job_filter == "Barista" and sub.job_id == job["uuid"]
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    await bot.slack.wait_for(lambda: cards(bot), timeout=10)

    job["title"] = "Barista (Downtown)"  # renamed in Spark Hire: the same job
    later = completed_for(bot, job, name="Zed Later", email="zed@acme.io")
    later["job_post"]["title"] = "Barista (Downtown)"
    await bot.sparkhire.emit("InterviewCompleted", later)
    await bot.slack.wait_for(lambda: len(cards(bot)) == 2, timeout=10)
    assert "Zed Later" in cards(bot)[-1].text
    # And another job given the old name is not this channel's.
    impostor = bot.sparkhire.add_job("Barista")
    await bot.sparkhire.emit("InterviewCompleted", completed_for(bot, impostor, name="Ivy Other", email="ivy@x.io"))
    await asyncio.sleep(1.5)
    assert len(cards(bot)) == 2


async def test_a_job_named_by_its_id_is_shown_by_its_name(bot):
    job = next(j for j in bot.sparkhire.jobs.values() if j["title"] == "Barista")
    reply = await subscribe(bot, f"subscribe sparkhire job:{job['uuid']}")
    assert "job: Barista" in said(reply)
    (sub,) = await subscriptions(bot)
    assert sub.job_id == job["uuid"]
    # unsubscribe takes either
    await subscribe(bot, f"unsubscribe job:{job['uuid']}")
    assert await subscriptions(bot) == []


async def test_when_spark_hire_cannot_list_its_jobs_the_name_is_followed_unchecked_and_the_reply_says_so(bot):
    bot.sparkhire.fail_next(503, times=4, when=lambda r: r.path == "/jobs")
    reply = await subscribe(bot, "subscribe sparkhire completed job:Baristaa")
    text = said(reply)
    assert "Subscribed" in text and "job: Baristaa" in text
    assert "could not check the job `Baristaa` with Spark Hire" in text
    (sub,) = await subscriptions(bot)
    assert sub.job_filter == "Baristaa" and sub.job_id is None


async def test_a_wedgehr_interview_name_is_checked_too(bot):
    reply = await subscribe(bot, "subscribe wedgehr job:Mover")
    assert "WedgeHR has no interview named `Mover` yet. Did you mean `job:Movers`?" in said(reply)
    await subscribe(bot, "subscribe wedgehr job:movers")
    typed, found = await subscriptions(bot)
    movers = next(i for i in bot.wedgehr.interviews.values() if i["name"] == "Movers")
    assert (typed.job_filter, typed.job_id) == ("Mover", None)
    assert found.job_filter == "Movers" and found.job_id == str(movers["id"])


async def test_subscribe_all_with_a_job_only_one_platform_has_subscribes_both_and_says_which_lacks_it(bot):
    reply = await subscribe(bot, "subscribe all completed job:Barista")
    subs = await subscriptions(bot)
    assert sorted(s.vendor for s in subs) == ["sparkhire", "wedgehr"]
    spark = next(s for s in subs if s.vendor == "sparkhire")
    assert spark.job_id is not None  # found at Spark Hire: followed by its id
    assert "WedgeHR has no interview named `Barista` yet" in said(reply)


async def test_two_jobs_of_one_name_are_followed_by_name_and_the_reply_gives_their_ids(bot):
    twin = bot.sparkhire.add_job("Barista", status="inactive")
    reply = await subscribe(bot, "subscribe sparkhire completed job:Barista")
    assert "has 2 jobs named `Barista`" in said(reply) and twin["uuid"] in said(reply)
    (sub,) = await subscriptions(bot)
    assert sub.job_id is None and sub.job_filter == "Barista"


async def test_a_subscription_saved_before_jobs_were_checked_still_matches_and_is_upgraded_by_subscribe(bot):
    connection = await bot.services.resolve_connection("T0001", "sparkhire", "U1")
    old = await bot.services.db.subscriptions.add(
        team_id="T0001",
        channel_id="C1",
        vendor="sparkhire",
        events=("completed",),
        created_by="U1",
        job_filter="Barista",
        connection_id=connection.id,
    )
    await subscribe(bot, "subscribe sparkhire completed job:Barista")  # registers the webhook, finds the job
    (sub,) = await subscriptions(bot)
    job = next(j for j in bot.sparkhire.jobs.values() if j["title"] == "Barista")
    assert sub.id == old.id and sub.job_id == job["uuid"]
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))
    await bot.slack.wait_for(lambda: cards(bot), timeout=10)


async def test_a_job_found_by_its_id_whose_name_is_longer_than_the_column_is_saved(database_url):
    async with running_bot(database_url=database_url) as bot:
        job = bot.sparkhire.add_job("Barista, " + "weekend and evening shifts, " * 10)
        reply = await subscribe(bot, f"subscribe sparkhire job:{job['uuid']}")
        assert "Subscribed" in said(reply)
        (sub,) = await subscriptions(bot)
        assert sub.job_id == job["uuid"] and len(sub.job_filter) == 200


async def test_a_colleague_subscribing_while_spark_hire_stalls_is_answered_in_time_with_a_separate_subscription(bot):
    # Whether U2's key reads the account of the channel's subscription, only Spark Hire can say: it
    # stalls. Subscribe waited for it as long as it stalled; now it answers within the bound the
    # lists keep, with a subscription of U2's own, and says why (were the accounts different, U2's
    # events added to the other subscription would never be posted).
    same_account_key = "spark-key-of-u2-0123456789"  # the sandbox's default company, like the workspace key
    await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", same_account_key, account_label="Mine")
    await subscribe(bot)
    bot.sparkhire.slow_next(JOB_CHECK_SECONDS + 6, when=lambda r: r.method == "GET" and r.path == "/webhooks")

    began = time.monotonic()
    reply = await subscribe(bot, user="U2")
    assert time.monotonic() - began < JOB_CHECK_SECONDS + 3
    assert "Spark Hire could not say in time whether your key reads the same account" in said(reply)
    first, second = await subscriptions(bot)
    assert second.created_by == "U2" and first.connection_id != second.connection_id


async def test_renewing_a_disconnected_subscription_while_spark_hire_stalls_says_the_account_went_unchecked(bot):
    # The channel has two subscriptions with the same words: the workspace's account's, and Bo's,
    # whose account was disconnected since. U2's key reads the workspace's account, but Spark Hire
    # stalls when asked: subscribe renews Bo's subscription with U2's key beside the workspace's
    # one, so each of that account's events is posted twice. U2 must be told, as when a new
    # subscription is made.
    bot.sparkhire.add_account(BOS_KEY, "Bo's agency")
    await bot.services.db.connections.upsert_user("T0001", "U3", "sparkhire", BOS_KEY, account_label="Bo's agency")
    await subscribe(bot)  # U1: the workspace's key, Shermer Staffing's account
    await subscribe(bot, user="U3")
    first, bos = await subscriptions(bot)
    await bot.services.db.subscriptions.pause(bos.id, "the account was disconnected")
    await bot.services.db.connections.delete(bos.connection_id)
    same_account_key = "spark-key-of-u2-0123456789"  # the sandbox's default company, like the workspace key
    await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", same_account_key, account_label="Mine")
    bot.sparkhire.slow_next(JOB_CHECK_SECONDS + 6, when=lambda r: r.method == "GET" and r.path == "/webhooks")

    reply = await subscribe(bot, user="U2")

    kept, renewed = await subscriptions(bot)
    assert kept.id == first.id and renewed.id == bos.id and not renewed.paused
    assert renewed.connection_id == (await bot.services.resolve_connection("T0001", "sparkhire", "U2")).id
    text = said(reply)
    assert "Spark Hire could not say in time whether your key reads the same account" in text
    assert "`/interview unsubscribe sparkhire` stops the subscriptions it names here, these two among them" in text


# -- filters another subscription of the channel undoes -----------------------------------------


async def test_an_exclude_or_compact_another_subscription_of_the_channel_undoes_is_said_with_what_to_do(bot):
    await subscribe(bot, "subscribe sparkhire completed rated")
    reply = await subscribe(bot, "subscribe sparkhire completed exclude:@test.example.com")

    # The channel gets an event when any subscription takes it: the first still posts test candidates.
    text = said(reply)
    assert "other Spark Hire subscription (completed, rated) does not exclude @test.example.com" in text
    assert "their completed events are still posted here" in text
    assert "`/interview unsubscribe sparkhire`" in text
    job = next(iter(bot.sparkhire.jobs.values()))
    tess = completed_for(bot, job, name="Tess Test", email="t@test.example.com")
    await bot.sparkhire.emit("InterviewCompleted", tess)
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    assert "Tess Test" in card.text

    reply = await subscribe(bot, "subscribe sparkhire rated compact job:Barista")
    assert "is not compact, so rated events are still posted here as full cards" in said(reply)
    # One the others do not undo (another job, another event, an exclude they share) gets no such note.
    for words in ("subscribe sparkhire expired exclude:@x.example.com", "subscribe wedgehr completed compact"):
        assert "other" not in said(await subscribe(bot, words))


async def test_unsubscribing_a_job_another_subscription_of_the_channel_still_posts_says_so(bot):
    await subscribe(bot, "subscribe sparkhire completed")
    await subscribe(bot, "subscribe sparkhire completed rated job:Barista")
    reply = await subscribe(bot, "unsubscribe job:Barista")

    text = said(reply)
    assert "Removed 1" in text
    assert "Spark Hire completed events of Barista still reach this channel" in text
    assert "other Spark Hire subscription (completed, every job)" in text
    await bot.sparkhire.emit("InterviewCompleted", completed_interview(bot))  # Ann Lee, a Barista
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    assert "Ann Lee" in card.text
    # Nothing left that posts them: nothing more to say.
    assert "still reach" not in said(await subscribe(bot, "unsubscribe sparkhire"))
