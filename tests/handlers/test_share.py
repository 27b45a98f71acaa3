"""The "Share with reviewers" form: what it lists."""

from blocks.ids import Action, Block
from bot.candidates import SPARKHIRE_SCAN_LIMIT
from tests.support.blockkit import assert_valid_view

OLDER_ONE = "for an older one, use /interview share <email | interview uuid>."


def completed(bot) -> dict:
    return next(i for i in bot.sparkhire.interviews.values() if i["status"] == "completed")


async def open_form(bot) -> dict:
    """Click "Share with reviewers…" on a completed interview: the form as Slack shows it once filled in."""
    before = len(bot.slack.calls_to("views.update"))
    await bot.sender.block_action(Action.SHARE_ADVANCED, value=completed(bot)["uuid"])
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.update")) > before)
    call = bot.slack.calls_to("views.update")[-1].args
    return {**call["view"], "id": call["view_id"]}


def picker_of(view: dict) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == Block.SHARE_INTERVIEWS)


async def test_the_interview_picker_says_when_it_lists_only_the_most_recent_of_the_job(bot):
    job_uuid = completed(bot)["job_post"]["uuid"]
    view = await open_form(bot)
    assert "hint" not in picker_of(view)  # all of them listed: nothing to say
    for n in range(100):
        extra = bot.sparkhire.add_interview(job_uuid=job_uuid, name=f"C{n}", email=f"c{n}@example.com")
        bot.sparkhire.set_status(extra["uuid"], "completed")
    view = await open_form(bot)
    assert_valid_view(view)
    picker = picker_of(view)
    assert len(picker["element"]["options"]) == 100
    assert picker["hint"]["text"] == (
        f"Showing the 100 most recently updated completed interviews of this job; {OLDER_ONE}"
    )


async def test_the_interview_picker_says_when_older_interviews_of_the_account_were_not_read(bot, monkeypatch):
    monkeypatch.setattr("handlers.share.SPARKHIRE_SCAN_LIMIT", 5)
    other_job = next(j for j in bot.sparkhire.jobs.values() if j["uuid"] != completed(bot)["job_post"]["uuid"])
    for n in range(6):
        extra = bot.sparkhire.add_interview(job_uuid=other_job["uuid"], name=f"C{n}", email=f"c{n}@example.com")
        bot.sparkhire.set_status(extra["uuid"], "completed")["updated_at"] = "2031-01-01T00:00:00+00:00"
    view = await open_form(bot)
    assert_valid_view(view)
    assert picker_of(view)["hint"]["text"] == (
        f"Showing the completed interviews of this job among the 5 most recently updated in Spark Hire; {OLDER_ONE}"
    )
    assert SPARKHIRE_SCAN_LIMIT == 2000  # only this test's copy was lowered
