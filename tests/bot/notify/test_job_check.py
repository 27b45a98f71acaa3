"""`subscribe ... job:<name>` checked at Spark Hire through the running bot: inactive jobs are
found, and a vendor that stalls is given up on with the user told so."""

import time

from tests.bot.notify.test_subscriptions import said, subscribe, subscriptions


async def test_an_inactive_job_is_found_where_spark_hire_lists_only_active_jobs_unless_asked(bot):
    # A job set inactive between hiring rounds: its completed interviews are still rated.
    bot.sparkhire.unfiltered_job_statuses = ("active",)
    between_rounds = bot.sparkhire.add_job("Night Baker", status="inactive")
    reply = await subscribe(bot, 'subscribe sparkhire completed job:"Night Baker"')
    assert "no job named" not in said(reply) and "job: Night Baker" in said(reply)
    (sub,) = await subscriptions(bot)
    assert sub.job_id == between_rounds["uuid"]  # followed by its id, so a rename keeps it
    listed = [r for r in bot.sparkhire.requests if r.path == "/jobs"]
    assert listed and all(("status[]", "inactive") in r.query for r in listed)


async def test_a_spark_hire_that_does_not_list_its_jobs_within_8_s_is_given_up_on_and_the_user_told(bot):
    # Spark Hire takes the request and never answers (within the client's own 15 s timeout).
    bot.sparkhire.slow_next(60.0, when=lambda r: r.path == "/jobs")
    started = time.monotonic()
    reply = await subscribe(bot, "subscribe sparkhire completed job:Barista")
    waited = time.monotonic() - started
    text = said(reply)
    assert "Subscribed" in text and "job: Barista" in text
    assert "I could not check the job `Barista` with Spark Hire" in text
    assert "it did not answer within 8 seconds" in text
    assert 8.0 <= waited < 12.0  # given up at the bound, not at the client's 15 s timeout
    (sub,) = await subscriptions(bot)
    assert sub.job_filter == "Barista" and sub.job_id is None  # followed by name, unchecked
