"""`/interview subscribe` and `unsubscribe` as the user sees their answers: shared channels, long
names, long confirmations, jobs renamed at the vendor."""

import asyncio
import itertools

from tests.bot.notify.test_subscriptions import BOS_KEY, said, subscribe, subscriptions
from tests.handlers.test_home import open_home
from tests.support.blockkit import assert_valid_blocks
from tests.support.harness import running_bot


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


# -- a job renamed at the vendor ---------------------------------------------------------------

KEYS = itertools.count()


async def command(bot, text, channel="C1", user="U1"):
    """Run ``/interview <text>``; its answer (each under a key of its own)."""
    key = f"command-{next(KEYS)}"
    await bot.sender.command(text, channel=channel, user=user, response_url=bot.slack.response_url(key))
    reply = (await bot.slack.wait_for(lambda: bot.slack.responses.get(key), timeout=15))[-1]
    assert_valid_blocks(reply["blocks"])
    return reply


def rename(bot, job, title):
    """Rename ``job`` in Spark Hire: its interviews' copies too, as Spark Hire's deliveries show them."""
    job["title"] = title
    for interview in bot.sparkhire.interviews.values():
        if interview["job_post"]["uuid"] == job["uuid"]:
            interview["job_post"]["title"] = title


def barista(bot):
    return next(j for j in bot.sparkhire.jobs.values() if j["title"] == "Barista")


async def test_an_event_carrying_a_jobs_new_name_shows_it_in_the_lists_and_unsubscribe_takes_it(bot):
    await command(bot, "subscribe sparkhire completed job:Barista")
    job = barista(bot)
    rename(bot, job, "Barista (Downtown)")
    interview = bot.sparkhire.add_interview(job_uuid=job["uuid"], name="Zed Later", email="zed@acme.io")
    await bot.sparkhire.emit("InterviewCompleted", bot.sparkhire.set_status(interview["uuid"], "completed"))
    await bot.slack.wait_for(lambda: bot.slack.posted("C1"), timeout=10)

    listing = said(await command(bot, "subscriptions"))
    assert "job: Barista (Downtown)" in listing and "job: Barista ·" not in listing
    home = await open_home(bot)
    assert "job: Barista (Downtown)" in home
    reply = await command(bot, 'unsubscribe job:"Barista (Downtown)"')
    assert "Removed 1 and narrowed 0" in said(reply)
    assert await subscriptions(bot) == []


async def test_a_job_updated_delivery_renames_it_though_the_channel_does_not_take_job_events(database_url):
    async with running_bot(database_url=database_url) as bot:
        await command(bot, "subscribe sparkhire completed job:Barista")
        job = barista(bot)
        rename(bot, job, "Head Barista")
        await bot.sparkhire.emit("JobUpdated", job)
        for _ in range(100):
            (sub,) = await subscriptions(bot)
            if sub.job_filter == "Head Barista":
                break
            await asyncio.sleep(0.05)
        assert sub.job_filter == "Head Barista" and sub.job_id == job["uuid"]
        assert not bot.slack.posted("C1")
