"""The "Share with reviewers" form: what it lists, and what becomes of it when Spark Hire is slow and fails."""

import asyncio

import pytest

from blocks.ids import Action, Block, Callback
from bot.candidates import SPARKHIRE_SCAN_LIMIT
from tests.support.blockkit import assert_valid_view
from tests.support.harness import SPARKHIRE_KEY, running_bot

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


def everything_picked(bot, *, emails: str = "Boss Lady <boss@example.com>") -> dict:
    """The form's state with an interview, a reviewer picked in Slack (mo@example.com), a typed
    address, and the "Email the reviewer" box unticked (the form opens with it ticked)."""
    return {
        Block.SHARE_INTERVIEWS: {
            Action.INPUT: {"type": "multi_static_select", "selected_options": [{"value": completed(bot)["uuid"]}]}
        },
        Block.REVIEWERS: {Action.INPUT: {"type": "multi_users_select", "selected_users": ["U2"]}},
        Block.REVIEWER_EMAILS: {Action.INPUT: {"type": "plain_text_input", "value": emails}},
        Block.REVIEWER_SEND_EMAIL: {Action.INPUT: {"type": "checkboxes", "selected_options": []}},
    }


def creates(request) -> bool:
    return request.method == "POST" and request.path.endswith("/share_links")


@pytest.fixture
def slow_spark_hire(monkeypatch):
    """Every submission waits past its budget: the form turns into "Creating the reviewer links…" at once."""
    monkeypatch.setattr("handlers.share.SUBMIT_BUDGET_SECONDS", 0.0)


async def form_shown_after_failure(bot, view: dict) -> dict:
    """What the submitted ``view`` shows once it is no longer "Creating the reviewer links…"."""
    view_id, view_blocks = view["id"], view["blocks"]
    shown = await bot.slack.wait_for(
        lambda: [
            c.args["view"]
            for c in bot.slack.calls_to("views.update")
            if c.args.get("view_id") == view_id
            and c.args["view"].get("blocks") != view_blocks
            and "Creating the reviewer links" not in str(c.args["view"])
        ]
    )
    assert_valid_view(shown[-1])
    return shown[-1]


async def test_a_refusal_after_a_slow_wait_gives_the_form_back_as_filled_in_with_the_reason_atop_it(
    bot, slow_spark_hire
):
    bot.sparkhire.fail_next(
        422, body={"reason": "The reviewer email boss@example.com is blocked.", "code": "api.validation"}, when=creates
    )
    view = await open_form(bot)
    answer = (await bot.sender.view_submission(view, everything_picked(bot))).json()
    assert answer["response_action"] == "update" and "Creating the reviewer links" in str(answer["view"])

    form = await form_shown_after_failure(bot, view)
    # The same form, to send again: every choice kept, the reason said first.
    assert form["callback_id"] == Callback.SHARE_ADVANCED and form["submit"]["text"] == "Share"
    top = form["blocks"][0]
    assert top["block_id"] == Block.FORM_PROBLEMS
    assert "No reviewer links were created" in top["text"]["text"]
    assert "*Other reviewers' emails*: The reviewer email boss@example.com is blocked." in top["text"]["text"]
    fields = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    assert [o["value"] for o in fields[Block.SHARE_INTERVIEWS]["initial_options"]] == [completed(bot)["uuid"]]
    assert fields[Block.REVIEWERS]["initial_users"] == ["U2"]
    assert fields[Block.REVIEWER_EMAILS]["initial_value"] == "Boss Lady <boss@example.com>"
    assert "initial_options" not in fields[Block.REVIEWER_SEND_EMAIL]  # left unticked, as chosen
    await asyncio.sleep(0.2)
    assert not bot.slack.ephemerals("U1")  # the form says it all
    assert not bot.sparkhire.advanced_links

    # The recruiter fixes the address and sends the form again.
    again = {**form, "id": view["id"]}
    fixed = everything_picked(bot, emails="vp@example.com")
    assert (await bot.sender.view_submission(again, fixed)).json()["response_action"] == "update"
    told = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
    assert "Created 2 reviewer link(s)" in told[-1].text and "Nobody was emailed" in told[-1].text
    emails = sorted(link["reviewer"]["email"] for link in bot.sparkhire.advanced_links.values())
    assert emails == ["mo@example.com", "vp@example.com"]


async def test_a_rejected_key_after_a_slow_wait_gives_the_form_back_and_the_reconnect_button_by_message(
    bot, slow_spark_hire
):
    bot.sparkhire.fail_next(401, body={"reason": "Unauthorized", "code": "api.unauthorized"}, when=creates)
    view = await open_form(bot)
    await bot.sender.view_submission(view, everything_picked(bot))
    form = await form_shown_after_failure(bot, view)
    assert form["callback_id"] == Callback.SHARE_ADVANCED
    assert "The API key or token was rejected" in form["blocks"][0]["text"]["text"]
    assert {b["element"].get("initial_value") for b in form["blocks"] if b.get("block_id") == Block.REVIEWER_EMAILS}
    told = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
    assert "The API key or token was rejected" in told[-1].text
    assert Action.OPEN_CONNECT in str(told[-1].blocks)


async def test_spark_hire_failing_after_a_slow_wait_gives_the_form_back_to_send_again(bot, slow_spark_hire):
    bot.sparkhire.fail_next(403, body={"reason": "Forbidden", "code": "api.forbidden"}, when=creates)
    view = await open_form(bot)
    await bot.sender.view_submission(view, everything_picked(bot))
    form = await form_shown_after_failure(bot, view)
    said = form["blocks"][0]["text"]["text"]
    # Not about one field: said without a field's name.
    assert "• This account is not allowed to do that. Ask an account admin for access." in said
    assert picker_of(form)["element"]["initial_options"]


async def test_a_connection_removed_while_the_form_waited_is_said_on_it_and_by_message(monkeypatch):
    monkeypatch.setattr("handlers.share.SUBMIT_BUDGET_SECONDS", 0.0)
    async with running_bot(env_credentials=False) as bot:
        own = await bot.services.db.connections.upsert_user(
            "T0001", "U1", "sparkhire", SPARKHIRE_KEY, account_label="Me"
        )
        view = await open_form(bot)
        await bot.services.db.connections.delete(own.id)
        await bot.sender.view_submission(view, everything_picked(bot))
        shown = await form_shown_after_failure(bot, view)
        # The form cannot mend that: what to do instead, on the form and with the button by message.
        assert shown["callback_id"] == Callback.WORKING
        assert "Spark Hire is not connected yet" in str(shown["blocks"])
        told = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
        assert "Spark Hire is not connected yet" in told[-1].text and Action.OPEN_CONNECT in str(told[-1].blocks)


async def test_a_form_closed_before_spark_hire_refused_says_the_refusal_by_message(bot, slow_spark_hire):
    bot.sparkhire.fail_next(
        422, body={"reason": "The reviewer email boss@example.com is blocked.", "code": "api.validation"}, when=creates
    )
    view = await open_form(bot)
    bot.slack.fail("views.update", error="not_found")
    await bot.sender.view_submission(view, everything_picked(bot))
    told = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
    assert "boss@example.com is blocked" in told[-1].text


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


async def test_no_clear_answer_after_a_slow_wait_gives_the_form_back_saying_the_links_may_exist(bot, slow_spark_hire):
    bot.sparkhire.fail_next(504, body={"reason": "Gateway Timeout"}, when=creates)
    view = await open_form(bot)
    await bot.sender.view_submission(view, everything_picked(bot))
    form = await form_shown_after_failure(bot, view)
    said = form["blocks"][0]["text"]["text"]
    assert "No reviewer links were created" not in said  # they may well have been
    assert "Spark Hire did not say whether it created the reviewer links" in said
    assert "may have gone through" in said and "before you try again" in said
    assert picker_of(form)["element"]["initial_options"]


# -- the "Create share link" button of a channel's card ----------------------------------------


async def card_share_button(bot) -> str:
    """The "Create share link" button of the card #C1 got for the completed interview: its value."""
    from tests.bot.notify.test_subscriptions import cards

    await bot.sparkhire.emit("InterviewCompleted", completed(bot))
    (card,) = await bot.slack.wait_for(lambda: cards(bot), timeout=10)
    return next(
        e["value"]
        for b in card.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == Action.SHARE_INTERVIEW
    )


async def test_a_cards_share_button_clicked_by_someone_without_a_key_shares_it_with_the_channels_account():
    # No workspace key: #C1 follows U2's own Spark Hire key. U1, who has none, clicks the card's
    # button: the card's interview is of the account the channel reads, as it is for a colleague
    # whose own key is of another account (tests/handlers/test_lookup.py), not "connect your key".
    from tests.bot.notify.test_subscriptions import subscribe

    async with running_bot(env_credentials=False) as bot:
        await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", SPARKHIRE_KEY, account_label="Mine")
        await subscribe(bot, user="U2")
        uuid = await card_share_button(bot)
        await bot.sender.block_action(
            Action.SHARE_INTERVIEW, value=uuid, user="U1", response_url=bot.slack.response_url("s")
        )
        (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("s"))
        link = bot.sparkhire.share_links[uuid]
        assert told["text"] == f"Share link for Ann Lee: {link['url']}"
        assert told["response_type"] == "ephemeral"
        # In a DM (no card's channel there) nothing is read for them: they are told to connect.
        await bot.sender.block_action(
            Action.SHARE_INTERVIEW, value=uuid, user="U1", channel="D1", response_url=bot.slack.response_url("dm")
        )
        (dm,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("dm"))
        assert dm["text"].startswith("Spark Hire is not connected yet.")


async def test_a_cards_share_button_for_an_interview_deleted_at_spark_hire_says_so_plainly(bot):
    uuid = completed(bot)["uuid"]
    del bot.sparkhire.interviews[uuid]  # deleted at Spark Hire after the card was posted
    await bot.sender.block_action(Action.SHARE_INTERVIEW, value=uuid, response_url=bot.slack.response_url("gone"))
    (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("gone"))
    # Was "Spark Hire: Not found. (Spark Hire said: Interview not found)": not found what, and now what?
    assert told["text"].startswith("This interview is no longer on Spark Hire")
    assert "/interview find &lt;email&gt;" in told["text"] and told["response_type"] == "ephemeral"
    assert not bot.sparkhire.share_links


async def test_a_cards_share_button_with_spark_hire_slow_says_so_at_once_then_gives_the_link(bot):
    import time

    uuid = completed(bot)["uuid"]
    bot.sparkhire.latency_seconds = 3  # each of the click's requests (read, link) takes 3 s
    started = time.monotonic()
    response = await bot.sender.block_action(
        Action.SHARE_INTERVIEW, value=uuid, response_url=bot.slack.response_url("s")
    )
    assert response.status_code == 200 and time.monotonic() - started < 1  # the ack does not wait
    # Was: nothing at all until the link, many seconds later; a recruiter clicks again, or gives up.
    (waiting,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("s"), timeout=5)
    assert waiting["text"] == "Spark Hire is slow to answer; the share link follows here."
    assert waiting["response_type"] == "ephemeral" and waiting["replace_original"] is False
    final = await bot.slack.wait_for(lambda: len(bot.slack.responses["s"]) > 1 and bot.slack.responses["s"], timeout=15)
    assert final[1]["text"] == f"Share link for Ann Lee: {bot.sparkhire.share_links[uuid]['url']}"


async def test_a_cards_share_button_answered_in_a_moment_says_only_the_link(bot):
    import asyncio

    uuid = completed(bot)["uuid"]
    await bot.sender.block_action(Action.SHARE_INTERVIEW, value=uuid, response_url=bot.slack.response_url("s"))
    await bot.slack.wait_for(lambda: bot.slack.responses.get("s"))
    await asyncio.sleep(3)
    (told,) = bot.slack.responses["s"]
    assert told["text"].startswith("Share link for Ann Lee")
