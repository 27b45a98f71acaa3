"""`/interview subscribe` as the user sees its answer: shared channels, long names, long confirmations."""

from tests.bot.notify.test_subscriptions import said, subscribe
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
