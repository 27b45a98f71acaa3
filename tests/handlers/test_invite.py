import asyncio
import json
import re
import time
import unicodedata

import pytest

from blocks.ids import Action, Block, Callback
from tests.handlers.test_connect import connect_form
from tests.support.blockkit import assert_valid_blocks, assert_valid_view
from tests.support.harness import SPARKHIRE_KEY, WEDGEHR_TOKEN, running_bot


def values(**blocks):
    """view_submission state: block_id -> {action_id: state}."""
    return {block: {Action.INPUT if action is None else action: state} for block, (action, state) in blocks.items()}


async def open_modal(bot, text="invite"):
    response = await bot.sender.command(text)
    assert response.status_code == 200
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.open"))
    view = bot.slack.calls_to("views.open")[-1].args["view"]
    assert_valid_view(view)
    stored = next(v for v in bot.slack.views.values() if v.get("callback_id") == view["callback_id"])
    return stored


async def wedgehr_modal(bot, text="invite ann@example.com"):
    choice = await open_modal(bot, text)
    assert choice["callback_id"] == Callback.INVITE_VENDOR
    response = await bot.sender.view_submission(
        choice, values(**{Block.VENDOR: (None, {"type": "radio_buttons", "selected_option": {"value": "wedgehr"}})})
    )
    body = response.json()
    assert body["response_action"] == "update"
    modal = {**body["view"], "id": choice["id"]}
    assert_valid_view(modal)
    return modal


def wedgehr_values(interview, *, email="ann@example.com", bulk=None, send=True):
    """Ann Lee's name and reference id typed too, with her email (no email typed: none)."""
    return values(
        **{
            Block.WEDGEHR_INTERVIEW: (
                Action.WEDGEHR_INTERVIEW,
                {
                    "type": "external_select",
                    "selected_option": {
                        "value": str(interview["id"]),
                        "text": {"type": "plain_text", "text": interview["name"]},
                    },
                },
            ),
            Block.EMAIL: (None, {"type": "email_text_input", "value": email}),
            Block.FIRST_NAME: (None, {"type": "plain_text_input", "value": "Ann" if email else None}),
            Block.LAST_NAME: (None, {"type": "plain_text_input", "value": "Lee" if email else None}),
            Block.SEND_EMAIL: (None, {"type": "checkboxes", "selected_options": [{"value": "send"}] if send else []}),
            Block.UNIQUE_ID: (None, {"type": "plain_text_input", "value": "ATS-1" if email else None}),
            Block.BULK: (None, {"type": "plain_text_input", "value": bulk}),
        }
    )


async def test_invite_opens_vendor_choice_then_wedgehr_form_prefilled(bot):
    modal = await wedgehr_modal(bot)
    assert modal["callback_id"] == Callback.INVITE_WEDGEHR
    email_block = next(b for b in modal["blocks"] if b.get("block_id") == Block.EMAIL)
    assert email_block["element"]["initial_value"] == "ann@example.com"
    send = next(b for b in modal["blocks"] if b.get("block_id") == Block.SEND_EMAIL)
    assert send["element"]["initial_options"][0]["value"] == "send"  # on by default


async def test_interview_type_ahead_searches_wedgehr(bot):
    modal = await wedgehr_modal(bot)
    response = await bot.sender.suggestion(Action.WEDGEHR_INTERVIEW, "pract", view=modal)
    assert [o["text"]["text"] for o in response.json()["options"]] == ["General Practitioner"]
    assert bot.wedgehr.requests[-1].query["filter[search]"] == "pract"


async def test_wedgehr_invite_sent_with_right_body_and_confirmed(bot):
    modal = await wedgehr_modal(bot)
    interview = next(iter(bot.wedgehr.interviews.values()))
    response = await bot.sender.view_submission(modal, wedgehr_values(interview))
    assert response.json() == {"response_action": "clear"}
    create = next(r for r in bot.wedgehr.requests if r.method == "POST")
    assert create.authorized and create.json == {
        "interviewId": interview["id"],
        "email": "ann@example.com",
        "shouldSendInvite": True,
        "firstName": "Ann",
        "lastName": "Lee",
        "uniqueId": "ATS-1",
    }
    confirmation = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
    assert "Invited Ann Lee (ann@example.com)" in str(confirmation[-1].blocks)
    assert "record.wedge.video" in str(confirmation[-1].blocks)
    entries = await bot.services.db.audit.recent("T0001", user_id="U1")
    assert entries[0].action == "invite.sent" and entries[0].target == "ann@example.com"


async def test_the_form_closes_in_time_while_slack_is_slow_to_take_the_confirmation(bot):
    modal = await wedgehr_modal(bot)
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.slack.before_answering["chat.postEphemeral"] = lambda: asyncio.sleep(4)
    began = time.monotonic()
    response = await bot.sender.view_submission(modal, wedgehr_values(interview))
    # Past 3 s Slack would show an error on a form whose invite was sent, inviting a second one.
    assert time.monotonic() - began < 2.5
    assert response.json() == {"response_action": "clear"}
    confirmation = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"), timeout=8)
    assert "Invited Ann Lee (ann@example.com)" in str(confirmation[-1].blocks)
    assert len([r for r in bot.wedgehr.requests if r.method == "POST"]) == 1


async def test_bad_email_is_a_field_error_and_nothing_is_sent(bot):
    modal = await wedgehr_modal(bot)
    interview = next(iter(bot.wedgehr.interviews.values()))
    response = await bot.sender.view_submission(modal, wedgehr_values(interview, email="ann@"))
    body = response.json()
    assert body["response_action"] == "errors" and Block.EMAIL in body["errors"]
    assert not any(r.method == "POST" for r in bot.wedgehr.requests)


async def test_vendor_422_comes_back_as_field_errors(bot):
    modal = await wedgehr_modal(bot)
    ghost = {"id": 1234567890123456, "name": "Deleted interview"}
    response = await bot.sender.view_submission(modal, wedgehr_values(ghost))
    body = response.json()
    assert body["response_action"] == "errors"
    assert "invalid" in body["errors"][Block.WEDGEHR_INTERVIEW]


async def test_what_the_vendor_says_of_a_field_the_form_lacks_is_shown_too(bot):
    modal = await wedgehr_modal(bot)
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.fail_next(
        422,
        body={
            "message": "The given data was invalid.",
            "errors": {
                "email": ["The email has already been taken."],
                "shouldSendInvite": ["Invites cannot be emailed on the trial plan; untick it or upgrade."],
            },
        },
        when=lambda r: r.method == "POST",
    )
    body = (await bot.sender.view_submission(modal, wedgehr_values(interview))).json()
    assert body["response_action"] == "errors"
    shown = " ".join(body["errors"].values())
    assert "The email has already been taken." in shown and "Invites cannot be emailed on the trial plan" in shown


async def test_a_long_vendor_error_is_cut_at_a_word_without_markup(bot):
    modal = await wedgehr_modal(bot)
    interview = next(iter(bot.wedgehr.interviews.values()))
    said = "The `interviewId` field " + "is not acceptable for this company " * 8
    bot.wedgehr.fail_next(422, body={"message": said}, when=lambda r: r.method == "POST")
    body = (await bot.sender.view_submission(modal, wedgehr_values(interview))).json()
    (error,) = body["errors"].values()
    plain = said.replace("`", "")
    assert len(error) <= 150 and "`" not in error and error.endswith("…")
    assert plain.startswith(error[:-1]) and plain[len(error) - 1] == " "  # cut between two words


async def test_slow_vendor_switches_to_working_view_then_updates(bot):
    modal = await wedgehr_modal(bot)
    interview = next(iter(bot.wedgehr.interviews.values()))

    # A 429 asking for 2.5 s holds the create past the 2 s budget.
    bot.wedgehr.fail_next(429, headers={"Retry-After": "2.5"})
    response = await bot.sender.view_submission(modal, wedgehr_values(interview))
    body = response.json()
    assert body["response_action"] == "update" and body["view"]["callback_id"] == Callback.WORKING
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.update"), timeout=10)
    updated = bot.slack.calls_to("views.update")[-1].args
    assert updated["view_id"] == modal["id"] and "1 sent" in str(updated["view"])
    await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))


async def test_a_slow_invite_is_confirmed_even_when_the_form_was_closed_meanwhile(bot):
    modal = await wedgehr_modal(bot)
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.fail_next(429, headers={"Retry-After": "2.5"})  # past the 2 s budget: the "Working…" form
    bot.slack.fail("views.update", error="not_found")  # which the recruiter closed before WedgeHR answered
    body = (await bot.sender.view_submission(modal, wedgehr_values(interview))).json()
    assert body["response_action"] == "update" and body["view"]["callback_id"] == Callback.WORKING
    (confirmation,) = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"), timeout=10)
    # The invite exists: "Slack refused the request" here would have the recruiter invite the candidate again.
    assert "Invited Ann Lee (ann@example.com)" in str(confirmation.blocks)
    assert "record.wedge.video" in str(confirmation.blocks)
    assert len(bot.wedgehr.invites) == 1  # the 429, then the one create
    entries = await bot.services.db.audit.recent("T0001", user_id="U1")
    assert [(e.action, e.target) for e in entries] == [("invite.sent", "ann@example.com")]
    await asyncio.sleep(0.5)
    assert len(bot.slack.messages) == 1  # no error message besides


async def test_bulk_invites_report_each_row(bot):
    modal = await wedgehr_modal(bot, "invite")
    interview = next(iter(bot.wedgehr.interviews.values()))
    bulk = "Bo Diddley <bo@example.com>\nnot-an-email\ncy@example.com"
    response = await bot.sender.view_submission(modal, wedgehr_values(interview, email="", bulk=bulk))
    body = response.json()
    assert body["response_action"] == "update" and body["view"]["callback_id"] == Callback.INVITE_PROGRESS
    dm = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
    summary = str(dm[-1].blocks)
    assert "2 sent, 1 failed" in summary and "not a valid email address" in summary
    created = [r.json["email"] for r in bot.wedgehr.requests if r.method == "POST"]
    assert created == ["bo@example.com", "cy@example.com"]
    bo = next(r for r in bot.wedgehr.requests if r.method == "POST" and r.json["email"] == "bo@example.com")
    assert bo.json["firstName"] == "Bo" and bo.json["lastName"] == "Diddley"


async def test_an_invite_without_the_email_says_none_went_out_and_to_send_the_link(bot):
    modal = await wedgehr_modal(bot)
    interview = next(iter(bot.wedgehr.interviews.values()))
    response = await bot.sender.view_submission(modal, wedgehr_values(interview, send=False))
    assert response.json() == {"response_action": "clear"}
    assert next(r for r in bot.wedgehr.requests if r.method == "POST").json["shouldSendInvite"] is False
    (confirmation,) = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
    assert_valid_blocks(confirmation.blocks)
    shown = str(confirmation.blocks)
    # The candidate was not told: a bare "Invited" would leave them waiting for an email that never comes.
    assert "No invitation email went out" in shown and "send the candidate this invite link yourself" in shown
    assert "record.wedge.video" in shown and "no invitation email sent" in confirmation.text


async def test_bulk_invites_without_the_email_say_none_went_out(bot):
    modal = await wedgehr_modal(bot, "invite")
    interview = next(iter(bot.wedgehr.interviews.values()))
    bulk = "bo@example.com\ncy@example.com"
    await bot.sender.view_submission(modal, wedgehr_values(interview, email="", bulk=bulk, send=False))
    (dm,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
    assert_valid_blocks(dm.blocks)
    shown = str(dm.blocks)
    assert "2 created, 0 failed" in shown and "2 sent" not in shown
    assert "No invitation email went out" in shown and shown.count("invite link") >= 2
    final = await bot.slack.wait_for(lambda: [v for v in bot.slack.views.values() if "2 created" in str(v)])
    assert_valid_view(final[-1])
    assert "No invitation email went out" in str(final[-1]["blocks"])


@pytest.fixture
async def sparkhire_only_bot():
    async with running_bot(env_credentials=False, sparkhire_api_key=SPARKHIRE_KEY) as running:
        yield running


async def sparkhire_values(bot, modal, *, questions="Why us?", **more):
    """A filled Spark Hire form: the first job the type-ahead offers, Dee Dee, the default deadline."""
    jobs = (await bot.sender.suggestion(Action.SPARKHIRE_JOB, "bar", view=modal)).json()["options"]
    deadline = next(b for b in modal["blocks"] if b.get("block_id") == Block.DEADLINE)["element"]["initial_date_time"]
    return values(
        **{
            Block.SPARKHIRE_JOB: (Action.SPARKHIRE_JOB, {"type": "external_select", "selected_option": jobs[0]}),
            Block.CANDIDATE_NAME: (None, {"type": "plain_text_input", "value": "Dee Dee"}),
            Block.EMAIL: (None, {"type": "email_text_input", "value": "dee@example.com"}),
            Block.DEADLINE: (None, {"type": "datetimepicker", "selected_date_time": deadline}),
            Block.QUESTIONS: (None, {"type": "plain_text_input", "value": questions}),
            **more,
        }
    )


async def test_sparkhire_invite_with_questions_and_sms_consent(sparkhire_only_bot):
    bot = sparkhire_only_bot
    modal = await open_modal(bot, "invite")
    assert modal["callback_id"] == Callback.INVITE_SPARKHIRE
    jobs = (await bot.sender.suggestion(Action.SPARKHIRE_JOB, "bar", view=modal)).json()["options"]
    assert [o["text"]["text"] for o in jobs] == ["Barista"]
    state = await sparkhire_values(
        bot,
        modal,
        questions="Why us?\nWhy now?",
        **{
            Block.TIME_LIMIT: (None, {"type": "static_select", "selected_option": {"value": "90"}}),
            Block.TAKES: (None, {"type": "static_select", "selected_option": {"value": "2"}}),
            Block.PHONE: (None, {"type": "plain_text_input", "value": "+13125559494"}),
            Block.SMS_CONSENT: (None, {"type": "checkboxes", "selected_options": []}),
        },
    )
    refused = (await bot.sender.view_submission(modal, state)).json()
    assert refused["response_action"] == "errors" and Block.SMS_CONSENT in refused["errors"]
    state[Block.SMS_CONSENT][Action.INPUT]["selected_options"] = [{"value": "consent"}]
    assert (await bot.sender.view_submission(modal, state)).json() == {"response_action": "clear"}
    create = next(r for r in bot.sparkhire.requests if r.method == "POST" and r.path == "/interviews")
    assert create.api_key == SPARKHIRE_KEY
    assert create.json["assigned_to"] == {
        "name": "Dee Dee",
        "email": "dee@example.com",
        "phone": "+13125559494",
        "phone_parsed": "+13125559494",
    }
    assert create.json["has_sms_consent"] is True
    assert [q["text"] for q in create.json["questions"]] == ["Why us?", "Why now?"]
    assert {q["time_limit"] for q in create.json["questions"]} == {90}
    await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))


async def test_a_bad_typed_address_is_a_field_error_with_candidates_pasted_too(sparkhire_only_bot):
    bot = sparkhire_only_bot
    modal = await open_modal(bot, "invite")
    state = await sparkhire_values(
        bot,
        modal,
        **{
            Block.EMAIL: (None, {"type": "email_text_input", "value": "dee@example"}),
            Block.BULK: (None, {"type": "plain_text_input", "value": "Bo Diddley <bo@example.com>"}),
        },
    )
    body = (await bot.sender.view_submission(modal, state)).json()
    assert body["response_action"] == "errors"
    assert body["errors"][Block.EMAIL] == "That is not a valid email address."
    await asyncio.sleep(0.5)
    assert not any(r.method == "POST" for r in bot.sparkhire.requests)  # neither Dee's row nor Bo's


async def test_no_connection_offers_the_connect_modal(tmp_path):
    async with running_bot(env_credentials=False) as bot:
        await bot.sender.command("invite")
        form = await connect_form(bot)  # in the modal views.open opened at once
        assert len(bot.slack.calls_to("views.open")) == 1 and list(bot.slack.views) == [form["id"]]


async def test_message_shortcut_prefills_first_email(bot):
    await bot.sender.shortcut(
        Callback.SHORTCUT_INVITE_FROM_MESSAGE,
        message={"ts": "1.2", "text": "Please invite <mailto:zed@example.com|zed@example.com>"},
    )
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.open"))
    assert "zed@example.com" in bot.slack.calls_to("views.open")[-1].args["view"]["private_metadata"]


def test_tokens_are_env_configured():
    assert WEDGEHR_TOKEN and SPARKHIRE_KEY


async def test_vendor_5xx_on_create_is_reported_and_the_invite_never_sent_twice(bot):
    modal = await wedgehr_modal(bot)
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.fail_next(502)
    response = await bot.sender.view_submission(modal, wedgehr_values(interview))
    body = response.json()
    assert body["response_action"] == "errors"
    assert "try again" in str(body["errors"]).lower() and "may have gone through" in str(body["errors"])
    assert [r.method for r in bot.wedgehr.requests].count("POST") == 1  # a create is never retried
    assert bot.wedgehr.invites == {}
    # The recruiter submits again once WedgeHR is back: exactly one invite exists.
    assert (await bot.sender.view_submission(modal, wedgehr_values(interview))).json() == {"response_action": "clear"}
    assert len(bot.wedgehr.invites) == 1


async def test_an_invite_whose_ephemeral_confirmation_slack_does_not_answer_is_confirmed_by_dm_not_retried():
    async with running_bot(slack_timeout_seconds=0.5) as bot:
        modal = await wedgehr_modal(bot)
        interview = next(iter(bot.wedgehr.interviews.values()))
        bot.slack.before_answering["chat.postEphemeral"] = lambda: asyncio.sleep(1)
        assert (await bot.sender.view_submission(modal, wedgehr_values(interview))).json()["response_action"] == "clear"
        (dm,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
        # The invite exists: "Slack did not answer ... try again" would have the recruiter invite again.
        assert "Invited Ann Lee (ann@example.com)" in str(dm.blocks)
        await asyncio.sleep(0.3)
        assert not [m for m in bot.slack.messages if "try again" in m.text.lower()]
        assert len(bot.wedgehr.invites) == 1


async def test_a_slack_that_stops_answering_views_open_gets_the_user_told_in_seconds():
    """slack-sdk's own timeout does not apply on a shared session: the call waited aiohttp's 300 s."""
    async with running_bot(slack_timeout_seconds=2) as bot:
        bot.slack.before_answering["views.open"] = lambda: asyncio.sleep(60)
        began = time.monotonic()
        response = await bot.sender.command("invite", response_url=bot.slack.response_url("invite"))
        assert response.status_code == 200
        (told,) = await bot.slack.wait_for(lambda: bot.slack.responses.get("invite"), timeout=20)
        assert time.monotonic() - began < 15
        assert "Slack did not answer in time" in told["text"] and "try again" in told["text"]


async def test_closing_the_progress_window_does_not_stop_the_bulk_invite(bot):
    modal = await wedgehr_modal(bot, "invite")
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.fail_next(429, headers={"Retry-After": "1.2"})  # holds the first row past a progress tick
    bot.slack.fail("views.update", error="not_found", times=10)  # the user closed the window
    bulk = "a@example.com\nb@example.com\nc@example.com"
    await bot.sender.view_submission(modal, wedgehr_values(interview, email="", bulk=bulk))
    dm = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
    assert bot.slack.calls_to("views.update"), "no progress update was tried"
    summary = str(dm[-1].blocks)
    assert "3 sent" in summary
    assert all(f"{e}@example.com" in summary for e in "abc")
    assert sorted(i["email"] for i in bot.wedgehr.invites.values()) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]


async def test_the_results_of_a_bulk_invite_slack_fails_to_dm_reach_the_recruiter_in_the_channel(bot):
    modal = await wedgehr_modal(bot, "invite")
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.slack.fail("chat.postMessage", error="internal_error", when=lambda c: c.args.get("channel") == "U1")
    bulk = "a@example.com\nb@example.com"
    await bot.sender.view_submission(modal, wedgehr_values(interview, email="", bulk=bulk))
    (told,) = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"), timeout=10)
    # The invites went out: "Slack refused the request" would have the recruiter send them all again.
    assert "2 sent" in str(told.blocks) and "refused" not in told.text
    assert len(bot.wedgehr.invites) == 2


async def test_bulk_invites_each_address_once_and_reports_the_duplicates(bot):
    modal = await wedgehr_modal(bot, "invite")
    interview = next(iter(bot.wedgehr.interviews.values()))
    bulk = "Ann Lee <ann@example.com>\nANN@EXAMPLE.COM\nbo@example.com\nBo <Bo@Example.com>"
    await bot.sender.view_submission(modal, wedgehr_values(interview, email="ann@example.com", bulk=bulk))
    dm = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
    created = [r.json["email"] for r in bot.wedgehr.requests if r.method == "POST"]
    assert created == ["ann@example.com", "bo@example.com"]
    summary = str(dm[-1].blocks)
    assert "2 sent, 0 failed, 3 skipped" in summary
    assert "ANN@EXAMPLE.COM: skipped: duplicate of the email typed in the form" in summary
    assert "Bo@Example.com: skipped: duplicate of row 3" in summary


async def test_an_address_typed_with_decomposed_accents_and_pasted_composed_is_invited_once(bot):
    modal = await wedgehr_modal(bot, "invite")
    interview = next(iter(bot.wedgehr.interviews.values()))
    typed = unicodedata.normalize("NFD", "josé@example.com")  # as some keyboards and browsers send it
    await bot.sender.view_submission(modal, wedgehr_values(interview, email=typed, bulk="José <josé@example.com>"))
    dm = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
    assert [r.json["email"] for r in bot.wedgehr.requests if r.method == "POST"] == ["josé@example.com"]
    assert "1 sent, 0 failed, 1 skipped" in str(dm[-1].blocks)


async def test_the_reference_id_and_names_go_only_with_the_candidate_typed_in_the_form(bot):
    modal = await wedgehr_modal(bot, "invite")
    interview = next(iter(bot.wedgehr.interviews.values()))
    await bot.sender.view_submission(modal, wedgehr_values(interview, email="ann@example.com", bulk="bo@example.com"))
    await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
    creates = {r.json["email"]: r.json for r in bot.wedgehr.requests if r.method == "POST"}
    assert creates["ann@example.com"]["uniqueId"] == "ATS-1"
    assert (creates["ann@example.com"]["firstName"], creates["ann@example.com"]["lastName"]) == ("Ann", "Lee")
    assert "uniqueId" not in creates["bo@example.com"]  # one reference id is not every pasted candidate's


async def test_the_phone_of_the_sparkhire_candidate_typed_in_the_form_survives_a_paste(sparkhire_only_bot):
    bot = sparkhire_only_bot
    modal = await open_modal(bot, "invite")
    state = await sparkhire_values(
        bot,
        modal,
        **{
            Block.PHONE: (None, {"type": "plain_text_input", "value": "+13125559494"}),
            Block.SMS_CONSENT: (None, {"type": "checkboxes", "selected_options": [{"value": "consent"}]}),
            Block.BULK: (None, {"type": "plain_text_input", "value": "bo@example.com\nDEE@example.com"}),
        },
    )
    assert (await bot.sender.view_submission(modal, state)).json()["response_action"] == "update"
    await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
    creates = [r.json["assigned_to"] for r in bot.sparkhire.requests if r.method == "POST" and r.path == "/interviews"]
    assert [c["email"] for c in creates] == ["dee@example.com", "bo@example.com"]
    assert creates[0]["name"] == "Dee Dee" and creates[0]["phone"] == "+13125559494"


async def test_a_rate_limited_bulk_invite_pauses_as_the_vendor_asks_then_sends_the_row(bot):
    modal = await wedgehr_modal(bot, "invite")
    interview = next(iter(bot.wedgehr.interviews.values()))
    # WedgeHR keeps answering 429 past the client's own retries: the batch itself pauses, as asked.
    bot.wedgehr.fail_next(429, times=4, headers={"Retry-After": "1"})
    await bot.sender.view_submission(modal, wedgehr_values(interview, email="", bulk="a@example.com\nb@example.com"))
    waiting = await bot.slack.wait_for(
        lambda: [c for c in bot.slack.calls_to("views.update") if "asked us to slow down" in str(c.args["view"])],
        timeout=10,
    )
    assert "the batch goes on in 1 s" in str(waiting[0].args["view"])
    dm = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
    assert "2 sent, 0 failed" in str(dm[-1].blocks)
    assert [i["email"] for i in bot.wedgehr.invites.values()] == ["a@example.com", "b@example.com"]


async def test_a_rejected_key_in_a_bulk_invite_stops_the_batch_and_offers_the_reconnect_button(bot):
    modal = await wedgehr_modal(bot, "invite")
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.fail_next(401, body={"message": "Unauthenticated."})  # only the first row: the key is then "fixed"
    bulk = "a@example.com\nnot-an-email\nb@example.com\nc@example.com"
    await bot.sender.view_submission(modal, wedgehr_values(interview, email="", bulk=bulk))
    dm = (await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10))[-1]
    assert_valid_blocks(dm.blocks)
    summary = str(dm.blocks)
    assert "0 sent, 4 failed" in dm.text
    assert "a@example.com: The API key or token was rejected" in summary
    assert "not-an-email: not a valid email address" in summary
    not_sent = "not sent: the API key was rejected on an earlier row. Reconnect, then invite again."
    assert f"b@example.com: {not_sent}" in summary and f"c@example.com: {not_sent}" in summary
    # Once reconnected, the rows WedgeHR did not take can be pasted again as they are (not the bad one).
    assert "3 row(s) WedgeHR did not take." in summary
    assert "```a@example.com\\nb@example.com\\nc@example.com```" in summary
    buttons = [e for b in dm.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [(e["action_id"], e.get("value")) for e in buttons] == [(Action.OPEN_CONNECT, "wedgehr")]
    # Nothing was sent after the key was rejected: b and c are not invited behind the recruiter's back.
    assert [r.json["email"] for r in bot.wedgehr.requests if r.method == "POST"] == ["a@example.com"]
    assert not bot.wedgehr.invites


async def test_an_invite_refused_on_the_form_is_in_the_audit_log(bot):
    modal = await wedgehr_modal(bot)
    ghost = {"id": 1234567890123456, "name": "Deleted interview"}
    body = (await bot.sender.view_submission(modal, wedgehr_values(ghost))).json()
    assert body["response_action"] == "errors"  # the form shows why
    for _ in range(50):
        entries = await bot.services.db.audit.recent("T0001", user_id="U1")
        if entries:
            break
        await asyncio.sleep(0.1)
    assert [(e.action, e.target) for e in entries] == [("invite.failed", "ann@example.com")]
    assert "invalid" in str(entries[0].detail)


async def test_a_rejected_key_on_a_single_invite_offers_the_reconnect_button(bot):
    modal = await wedgehr_modal(bot)
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.fail_next(401, body={"message": "Unauthenticated."})
    body = (await bot.sender.view_submission(modal, wedgehr_values(interview))).json()
    assert body["response_action"] == "errors" and "Reconnect" in str(body["errors"])
    told = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
    assert Action.OPEN_CONNECT in str(told[-1].blocks) and "rejected" in told[-1].text
    assert_valid_blocks(told[-1].blocks)


def sparkhire_state(job, deadline):
    return values(
        **{
            Block.SPARKHIRE_JOB: (Action.SPARKHIRE_JOB, {"type": "external_select", "selected_option": job}),
            Block.CANDIDATE_NAME: (None, {"type": "plain_text_input", "value": "Dee Dee"}),
            Block.EMAIL: (None, {"type": "email_text_input", "value": "dee@example.com"}),
            Block.DEADLINE: (None, {"type": "datetimepicker", "selected_date_time": deadline}),
            Block.QUESTIONS: (None, {"type": "plain_text_input", "value": "Why us?"}),
        }
    )


async def submit_sparkhire_invite(bot):
    modal = await open_modal(bot, "invite")
    job = (await bot.sender.suggestion(Action.SPARKHIRE_JOB, "bar", view=modal)).json()["options"][0]
    deadline = next(b for b in modal["blocks"] if b.get("block_id") == Block.DEADLINE)["element"]["initial_date_time"]
    assert (await bot.sender.view_submission(modal, sparkhire_state(job, deadline))).json() == {
        "response_action": "clear"
    }
    return next(r for r in bot.sparkhire.requests if r.method == "POST" and r.path == "/interviews")


async def test_sparkhire_invite_dates_are_in_the_recruiters_slack_time_zone(sparkhire_only_bot):
    bot = sparkhire_only_bot
    bot.slack.users["U1"]["tz"] = "Asia/Kolkata"
    create = await submit_sparkhire_invite(bot)
    assert create.json["timezone"] == "Asia/Kolkata"  # Spark Hire formats the invite email's dates in it


async def test_sparkhire_invite_is_sent_when_slack_does_not_say_the_time_zone(sparkhire_only_bot):
    bot = sparkhire_only_bot
    bot.slack.fail("users.info", error="user_not_found")
    create = await submit_sparkhire_invite(bot)
    assert "timezone" not in create.json  # Spark Hire then uses UTC


async def test_an_address_with_non_ascii_letters_is_prefilled_whole_and_invited(bot):
    await bot.sender.shortcut(
        Callback.SHORTCUT_INVITE_FROM_MESSAGE, message={"ts": "1.3", "text": "Please invite jöhn@example.com today"}
    )
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.open"))
    assert json.loads(bot.slack.calls_to("views.open")[-1].args["view"]["private_metadata"])["email"] == (
        "jöhn@example.com"
    )
    modal = await wedgehr_modal(bot, "invite jöhn@example.com")
    email_block = next(b for b in modal["blocks"] if b.get("block_id") == Block.EMAIL)
    assert email_block["element"]["initial_value"] == "jöhn@example.com"
    interview = next(iter(bot.wedgehr.interviews.values()))
    response = await bot.sender.view_submission(modal, wedgehr_values(interview, email="jöhn@example.com"))
    assert response.json() == {"response_action": "clear"}
    assert [i["email"] for i in bot.wedgehr.invites.values()] == ["jöhn@example.com"]


def created_emails(bot):
    return [r.json["email"] for r in bot.wedgehr.requests if r.method == "POST"]


async def submit_bulk(bot, bulk):
    modal = await wedgehr_modal(bot, "invite")
    interview = next(iter(bot.wedgehr.interviews.values()))
    response = await bot.sender.view_submission(modal, wedgehr_values(interview, email="", bulk=bulk))
    assert response.json()["view"]["callback_id"] == Callback.INVITE_PROGRESS


async def test_a_bulk_row_whose_answer_cannot_be_read_may_have_gone_and_the_rest_are_sent(bot):
    bot.wedgehr.fail_next(201, body={"data": "not an invite"})  # created, but in a shape nobody documented
    await submit_bulk(bot, "bo@example.com\ncy@example.com")
    (dm,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
    shown = str(dm.blocks)
    assert "1 sent, 1 failed" in shown and "may have gone through" in shown
    assert created_emails(bot)[-1] == "cy@example.com"


async def test_a_database_outage_mid_batch_does_not_stop_it_nor_say_nothing_was_changed():
    import sqlalchemy as sa

    async with running_bot() as bot:
        bot.wedgehr.latency_seconds = 0.2
        rows = [f"c{n}@example.com" for n in range(6)]
        await submit_bulk(bot, "\n".join(rows))
        await bot.slack.wait_for(lambda: created_emails(bot), timeout=10)
        async with bot.services.db.engine.begin() as conn:  # the audit log's table is gone for a moment
            await conn.execute(sa.text("ALTER TABLE audit_log RENAME TO audit_away"))
        (dm,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=15)
        async with bot.services.db.engine.begin() as conn:
            await conn.execute(sa.text("ALTER TABLE audit_away RENAME TO audit_log"))
        assert created_emails(bot) == rows
        assert "6 sent, 0 failed" in str(dm.blocks)
        assert not any("Nothing was changed" in str(m.blocks) for m in bot.slack.ephemerals("U1"))


async def test_a_restart_mid_batch_tells_the_recruiter_which_rows_went_and_which_did_not():
    rows = [f"c{n}@example.com" for n in range(60)]
    async with running_bot() as bot:
        bot.wedgehr.latency_seconds = 0.3
        await submit_bulk(bot, "\n".join(rows))
        await bot.slack.wait_for(lambda: created_emails(bot), timeout=10)
        began = time.monotonic()
    # The process stopped (SIGTERM): its work had a grace period, then the batch was cancelled.
    assert time.monotonic() - began < 20
    (dm,) = bot.slack.posted("U1")
    shown = str(dm.blocks)
    sent = len(created_emails(bot))
    assert 0 < sent < len(rows)
    assert "the bot restarted" in shown and "Invite this row again" in shown
    assert "did not take.* To send them, paste these into a new invite" in shown  # the rows not sent
    assert f"{sent - 1} sent" in shown or f"{sent} sent" in shown  # the last may have gone through


async def test_the_results_of_a_long_bulk_invite_reach_the_recruiter_failures_first(bot):
    rows = [f"candidate.{n:03d}@example.com" for n in range(150)] + ["not-an-email"]
    await submit_bulk(bot, "\n".join(rows))
    (dm,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=30)  # Slack took it
    assert_valid_blocks(dm.blocks)
    shown = str(dm.blocks)
    assert "150 sent, 1 failed" in shown
    assert shown.index("not-an-email") < shown.index("candidate.000@example.com")  # the failure comes first
    assert re.search(r"…and \d+ more results not shown", shown)


def initial_values(view):
    """block_id -> what the form shows in it before the recruiter types anything."""
    shown = {}
    for block in view["blocks"]:
        element = block.get("element") or {}
        for key in ("initial_value", "initial_option", "initial_options", "initial_date_time"):
            if key in element:
                shown[block["block_id"]] = element[key]
    return shown


async def refused_slowly(bot, errors):
    """A WedgeHR invite submitted while WedgeHR takes past the form's budget to refuse it with
    ``errors`` (by field): the modal, the interview, what was submitted, and the form given back."""
    modal = await wedgehr_modal(bot)
    interview = next(iter(bot.wedgehr.interviews.values()))
    posted = lambda r: r.method == "POST"  # noqa: E731
    bot.wedgehr.slow_next(3.0, when=posted)
    bot.wedgehr.fail_next(422, body={"message": "The given data was invalid.", "errors": errors}, when=posted)
    state = wedgehr_values(interview, send=False)
    body = (await bot.sender.view_submission(modal, state)).json()
    assert body["view"]["callback_id"] == Callback.WORKING  # past the budget: the form had to wait
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.update"), timeout=10)
    form = bot.slack.calls_to("views.update")[-1].args["view"]
    assert_valid_view(form)
    return modal, interview, state, form


async def test_a_slow_vendor_that_refuses_the_invite_gives_the_form_back_as_typed_with_its_reasons(bot):
    modal, interview, state, form = await refused_slowly(
        bot, {"email": ["The email has already been taken."], "uniqueId": ["The unique id is in use."]}
    )
    assert form["callback_id"] == Callback.INVITE_WEDGEHR and form["private_metadata"] == modal["private_metadata"]
    warning = str(form["blocks"][0])
    assert "The email has already been taken." in warning and "The unique id is in use." in warning
    shown = initial_values(form)
    assert shown[Block.EMAIL] == "ann@example.com" and shown[Block.UNIQUE_ID] == "ATS-1"
    assert shown[Block.FIRST_NAME] == "Ann" and shown[Block.LAST_NAME] == "Lee"
    assert shown[Block.WEDGEHR_INTERVIEW]["value"] == str(interview["id"])
    assert Block.SEND_EMAIL not in shown  # unticked stays unticked
    told = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
    assert "invalid" in told[-1].text
    # The form given back can be sent again as it is.
    again = (await bot.sender.view_submission({**form, "id": modal["id"]}, state)).json()
    assert again == {"response_action": "clear"}


async def test_a_slow_refusal_of_several_fields_names_each_field_on_the_form_given_back(bot):
    *_, form = await refused_slowly(
        bot, {"email": ["Is invalid."], "uniqueId": ["Is invalid."], "phone": ["Is invalid."]}
    )
    # One message for three fields: each line says which field it is about, by the form's label.
    lines = form["blocks"][0]["text"]["text"].splitlines()[1:]
    assert lines == ["• *Candidate email*: Is invalid.", "• *Your reference id*: Is invalid.", "• phone: Is invalid."]


async def test_a_slow_spark_hire_refusal_gives_the_form_back_and_other_late_errors_say_so_plainly(
    sparkhire_only_bot,
):
    bot = sparkhire_only_bot
    modal = await open_modal(bot, "invite")
    state = await sparkhire_values(
        bot, modal, **{Block.TIME_LIMIT: (None, {"type": "static_select", "selected_option": {"value": "90"}})}
    )
    posted = lambda r: r.method == "POST" and r.path == "/interviews"  # noqa: E731
    bot.sparkhire.slow_next(3.0, when=posted)
    bot.sparkhire.fail_next(400, body={"reason": "The deadline falls on a blackout day."}, when=posted)
    body = (await bot.sender.view_submission(modal, state)).json()
    assert body["view"]["callback_id"] == Callback.WORKING
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.update"), timeout=10)
    form = bot.slack.calls_to("views.update")[-1].args["view"]
    assert_valid_view(form)
    assert form["callback_id"] == Callback.INVITE_SPARKHIRE
    assert "blackout day" in str(form["blocks"][0])
    shown = initial_values(form)
    assert shown[Block.CANDIDATE_NAME] == "Dee Dee" and shown[Block.QUESTIONS] == "Why us?"
    assert shown[Block.TIME_LIMIT]["value"] == "90" and shown[Block.SPARKHIRE_JOB]["text"]["text"] == "Barista"
    assert shown[Block.DEADLINE] == state[Block.DEADLINE][Action.INPUT]["selected_date_time"]

    # Not something the form can fix: a warning, not an hourglass that looks still at work.
    updates = len(bot.slack.calls_to("views.update"))
    bot.sparkhire.slow_next(3.0, when=posted)
    bot.sparkhire.fail_next(403, body={"reason": "Your plan does not allow this."}, when=posted)
    await bot.sender.view_submission({**form, "id": modal["id"]}, state)
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.update")) > updates, timeout=10)
    failed = str(bot.slack.calls_to("views.update")[-1].args["view"])
    assert ":warning:" in failed and "hourglass" not in failed


async def test_a_rejected_key_in_the_type_ahead_says_so_and_offers_the_reconnect_button_once():
    async with running_bot(env_credentials=False, sparkhire_api_key="invalid-revoked-key") as bot:
        modal = await open_modal(bot, "invite dee@example.com")
        assert modal["callback_id"] == Callback.INVITE_SPARKHIRE
        for typed in ("", "b", "ba"):  # every keystroke asks again
            jobs = (await bot.sender.suggestion(Action.SPARKHIRE_JOB, typed, view=modal)).json()["options"]
            assert [o["text"]["text"] for o in jobs] == ["⚠ Spark Hire refused the API key: run /interview connect"]
        sets = (await bot.sender.suggestion(Action.SPARKHIRE_QUESTION_SET, "", view=modal)).json()["options"]
        assert "refused the API key" in sets[0]["text"]["text"]
        told = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
        assert Action.OPEN_CONNECT in str(told[-1].blocks) and "rejected" in told[-1].text
        deadline = next(b for b in modal["blocks"] if b.get("block_id") == Block.DEADLINE)["element"]
        state = sparkhire_state(jobs[0], deadline["initial_date_time"])
        picked_set = {"type": "external_select", "selected_option": sets[0]}
        state[Block.QUESTION_SET] = {Action.SPARKHIRE_QUESTION_SET: picked_set}
        # Sent with the warning picked, or with nothing picked: the field says why, not "Choose a job."
        for job in (jobs[0], None):
            state[Block.SPARKHIRE_JOB][Action.SPARKHIRE_JOB]["selected_option"] = job
            body = (await bot.sender.view_submission(modal, state)).json()
            assert body["response_action"] == "errors"
            assert "Spark Hire refused the API key" in body["errors"][Block.SPARKHIRE_JOB]
            assert "refused the API key" in body["errors"][Block.QUESTION_SET]
        assert not any(r.method == "POST" for r in bot.sparkhire.requests)
        await asyncio.sleep(0.5)
        assert len(bot.slack.ephemerals("U1")) == 1  # once per form, not per keystroke


async def test_a_slow_interview_type_ahead_says_so_and_the_next_search_lists_again(bot):
    modal = await wedgehr_modal(bot)
    bot.wedgehr.slow_next(3.0)  # past the type-ahead's 2.5 s
    late = (await bot.sender.suggestion(Action.WEDGEHR_INTERVIEW, "pract", view=modal)).json()["options"]
    assert [o["text"]["text"] for o in late] == ["⚠ WedgeHR did not answer in time: search again"]
    state = wedgehr_values({"id": 1, "name": "x"})
    state[Block.WEDGEHR_INTERVIEW][Action.WEDGEHR_INTERVIEW]["selected_option"] = None
    body = (await bot.sender.view_submission(modal, state)).json()
    assert "WedgeHR did not answer in time" in body["errors"][Block.WEDGEHR_INTERVIEW]
    assert not bot.slack.ephemerals("U1")  # not a key problem: no reconnect message
    listed = (await bot.sender.suggestion(Action.WEDGEHR_INTERVIEW, "pract", view=modal)).json()["options"]
    assert listed and not any(o["text"]["text"].startswith("⚠") for o in listed)
    body = (await bot.sender.view_submission(modal, state)).json()
    assert body["errors"][Block.WEDGEHR_INTERVIEW] == "Choose an interview."  # nothing picked, nothing failed


async def test_a_name_written_with_the_address_is_prefilled_too(bot):
    modal = await wedgehr_modal(bot, "invite Ann Lee <ann@example.com>")
    shown = initial_values(modal)
    assert (shown[Block.EMAIL], shown[Block.FIRST_NAME], shown[Block.LAST_NAME]) == ("ann@example.com", "Ann", "Lee")

    await bot.sender.shortcut(
        Callback.SHORTCUT_INVITE_FROM_MESSAGE,
        message={
            "ts": "1.2",
            "text": "New applicant: Zoë Van Dyke &lt;<mailto:zoe@example.com|zoe@example.com>&gt;, thanks",
        },
    )
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.open")) == 2)
    choice = [v for v in bot.slack.views.values() if v["callback_id"] == Callback.INVITE_VENDOR][-1]
    picked = values(**{Block.VENDOR: (None, {"type": "radio_buttons", "selected_option": {"value": "sparkhire"}})})
    spark = (await bot.sender.view_submission(choice, picked)).json()["view"]
    assert_valid_view(spark)
    shown = initial_values(spark)
    assert shown[Block.CANDIDATE_NAME] == "Zoë Van Dyke" and shown[Block.EMAIL] == "zoe@example.com"
    picked[Block.VENDOR][Action.INPUT]["selected_option"]["value"] = "wedgehr"
    wedge = initial_values((await bot.sender.view_submission(choice, picked)).json()["view"])
    assert (wedge[Block.FIRST_NAME], wedge[Block.LAST_NAME]) == ("Zoë", "Van Dyke")


async def test_words_before_a_bare_address_are_not_taken_for_a_name(bot):
    modal = await wedgehr_modal(bot, "invite please ann@example.com")
    shown = initial_values(modal)
    assert shown[Block.EMAIL] == "ann@example.com" and Block.FIRST_NAME not in shown


async def test_a_single_invite_is_confirmed_while_the_audit_log_cannot_be_written():
    import sqlalchemy as sa

    async with running_bot() as bot:
        modal = await wedgehr_modal(bot)
        interview = next(iter(bot.wedgehr.interviews.values()))
        async with bot.services.db.engine.begin() as conn:  # the audit log's table is gone for a moment
            await conn.execute(sa.text("ALTER TABLE audit_log RENAME TO audit_away"))
        try:
            response = await bot.sender.view_submission(modal, wedgehr_values(interview))
            assert response.json() == {"response_action": "clear"}
            told = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"), timeout=10)
            await asyncio.sleep(0.3)
        finally:
            async with bot.services.db.engine.begin() as conn:
                await conn.execute(sa.text("ALTER TABLE audit_away RENAME TO audit_log"))
        assert len(bot.wedgehr.invites) == 1
        # The invite exists: "Nothing was changed; try again" would have the recruiter invite them twice.
        shown = " ".join(str(m.blocks) for m in bot.slack.ephemerals("U1"))
        assert "Invited Ann Lee (ann@example.com)" in str(told[0].blocks) and "record.wedge.video" in shown
        assert "Nothing was changed" not in shown and "try again" not in shown.lower()


async def test_a_single_invite_whose_answer_cannot_be_read_says_it_may_have_gone_through(bot):
    modal = await wedgehr_modal(bot)
    interview = next(iter(bot.wedgehr.interviews.values()))
    bot.wedgehr.fail_next(201, body={"data": "not an invite"})  # created, in a shape nobody documented
    body = (await bot.sender.view_submission(modal, wedgehr_values(interview))).json()
    assert body["response_action"] == "errors"
    (error,) = body["errors"].values()
    # "Something went wrong… Please try again" would have the recruiter invite the candidate twice.
    assert "may have gone through" in error and "Please try again" not in error


async def test_rows_a_wedgehr_out_of_reach_never_got_are_listed_to_paste_again():
    from tests.support.harness import free_port

    async with running_bot(wedgehr_api_url=f"http://127.0.0.1:{free_port()}") as bot:  # nothing listens there
        await submit_bulk(bot, "Bo Lee <bo@example.com>\ncy@example.com")
        (dm,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
        shown = str(dm.blocks)
        assert "0 sent, 2 failed" in shown and "Could not reach" in shown
        # The connection was refused: WedgeHR surely has neither, so both are ready to paste again.
        assert "2 row(s) WedgeHR did not take." in shown
        assert "```Bo Lee &lt;bo@example.com&gt;\\ncy@example.com```" in shown


async def test_a_name_pasted_as_outlook_writes_it_last_name_first_reaches_the_right_fields(bot):
    await submit_bulk(bot, 'Lee, Ann <ann@example.com>\n"Diddley, Bo" <bo@example.com>\nCy Young, Jr. <cy@example.com>')
    await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
    creates = [r.json for r in bot.wedgehr.requests if r.method == "POST"]
    names = {c["email"]: (c.get("firstName"), c.get("lastName")) for c in creates}
    # WedgeHR's email greeted "Lee," by first name.
    assert names == {
        "ann@example.com": ("Ann", "Lee"),
        "bo@example.com": ("Bo", "Diddley"),
        "cy@example.com": ("Cy", "Young, Jr."),
    }


async def test_several_candidates_typed_with_the_command_all_reach_the_form(bot):
    modal = await wedgehr_modal(bot, "invite ann@example.com, Bo Lee <bo@example.com> cy@example.com")
    # Only the first was pre-filled: Bo and Cy were dropped without a word.
    (bulk,) = [b for b in modal["blocks"] if b.get("block_id") == Block.BULK]
    pasted = bulk["element"]["initial_value"]
    assert all(e in pasted for e in ("ann@example.com", "Bo Lee <bo@example.com>", "cy@example.com"))
    (email,) = [b for b in modal["blocks"] if b.get("block_id") == Block.EMAIL]
    assert "initial_value" not in email["element"]  # each candidate once, in the list
    interview = next(iter(bot.wedgehr.interviews.values()))
    await bot.sender.view_submission(modal, wedgehr_values(interview, email="", bulk=pasted))
    (dm,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
    assert "3 sent, 0 failed" in str(dm.blocks)


async def shortcut_form(bot, text, *, vendor="wedgehr"):
    """The form "Invite this candidate" opens on a message, through the platform choice."""
    opened = len(bot.slack.calls_to("views.open"))
    await bot.sender.shortcut(Callback.SHORTCUT_INVITE_FROM_MESSAGE, message={"ts": "1.4", "text": text})
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.open")) > opened)
    choice = bot.slack.calls_to("views.open")[-1].args["view"]
    assert_valid_view(choice)
    stored = next(v for v in bot.slack.views.values() if v["private_metadata"] == choice["private_metadata"])
    picked = values(**{Block.VENDOR: (None, {"type": "radio_buttons", "selected_option": {"value": vendor}})})
    form = {**(await bot.sender.view_submission(stored, picked)).json()["view"], "id": stored["id"]}
    assert_valid_view(form)
    return form


async def test_several_candidates_in_a_message_all_reach_the_form_from_the_shortcut(bot):
    # As Slack sends what was typed: "<" and ">" escaped, each address made a mailto link.
    text = (
        "New applicants for the nurse role:\n"
        "Ann Lee &lt;<mailto:ann@example.com|ann@example.com>&gt;\n"
        "Diddley, Bo &lt;<mailto:bo@example.com|bo@example.com>&gt;, <mailto:cy@example.com|cy@example.com>\n"
        "Thanks!"
    )
    form = await shortcut_form(bot, text)
    shown = initial_values(form)
    # Only Ann was pre-filled: Bo and Cy were dropped without a word.
    assert shown[Block.BULK].splitlines() == [
        "Ann Lee <ann@example.com>",
        "Diddley, Bo <bo@example.com>",
        "cy@example.com",
    ]
    assert Block.EMAIL not in shown  # each candidate once, in the list
    interview = next(iter(bot.wedgehr.interviews.values()))
    await bot.sender.view_submission(form, wedgehr_values(interview, email="", bulk=shown[Block.BULK]))
    (dm,) = await bot.slack.wait_for(lambda: bot.slack.posted("U1"), timeout=10)
    assert "3 sent, 0 failed" in str(dm.blocks)
    creates = {
        r.json["email"]: (r.json.get("firstName"), r.json.get("lastName"))
        for r in bot.wedgehr.requests
        if r.method == "POST"
    }
    assert creates == {
        "ann@example.com": ("Ann", "Lee"),
        "bo@example.com": ("Bo", "Diddley"),
        "cy@example.com": (None, None),
    }


async def test_one_candidate_typed_with_brackets_in_a_message_is_prefilled_with_the_name(bot):
    form = await shortcut_form(bot, "New applicant: Ann Lee &lt;<mailto:ann@example.com|ann@example.com>&gt;, thanks")
    shown = initial_values(form)
    # The name was lost: "&lt;" is not a bracket to the parser.
    assert (shown[Block.EMAIL], shown[Block.FIRST_NAME], shown[Block.LAST_NAME]) == ("ann@example.com", "Ann", "Lee")
    assert Block.BULK not in shown


async def test_candidates_that_do_not_fit_in_the_form_are_named_not_dropped(bot):
    addresses = [f"candidate.number.{n:03}@example.com" for n in range(1, 151)]
    form = await wedgehr_modal(bot, "invite " + " ".join(addresses))
    pasted = initial_values(form)[Block.BULK].splitlines()
    assert pasted == addresses[: len(pasted)] and len(pasted) < len(addresses)
    notes = [b for b in form["blocks"] if b["type"] == "context"]
    # The rest were silently left out of the paste box.
    shown = str(notes)
    assert_valid_blocks(form["blocks"])
    assert f"{len(addresses) - len(pasted)} more candidate(s) did not fit" in shown
    assert addresses[len(pasted)] in shown


async def test_the_confirmation_names_an_interview_with_a_long_name_in_full(bot):
    full = "Registered Nurse, Intensive Care Unit (Night Shift) - St. Mary's Regional Medical Center, Springfield"
    interview = bot.wedgehr.add_interview(full)
    modal = await wedgehr_modal(bot)
    listed = (await bot.sender.suggestion(Action.WEDGEHR_INTERVIEW, "intensive", view=modal)).json()["options"]
    (picked,) = [o for o in listed if o["value"] == str(interview["id"])]
    assert len(picked["text"]["text"]) <= 75  # Slack's limit on an option's label
    picks = wedgehr_values(interview)
    picks[Block.WEDGEHR_INTERVIEW][Action.WEDGEHR_INTERVIEW]["selected_option"] = picked  # as Slack sends it back
    response = await bot.sender.view_submission(modal, picks)
    assert response.json() == {"response_action": "clear"}
    (confirmation,) = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
    # It named the interview as the picker's label cut it: "…St. Mary's Regional …".
    assert f"*{full}*" in confirmation.blocks[0]["text"]["text"]


async def test_a_name_or_reference_id_typed_without_its_email_is_not_dropped_with_candidates_pasted(bot):
    modal = await wedgehr_modal(bot, "invite")
    interview = next(iter(bot.wedgehr.interviews.values()))
    state = wedgehr_values(interview, email="", bulk="bo@example.com\ncy@example.com")
    for block, typed in ((Block.FIRST_NAME, "Ann"), (Block.UNIQUE_ID, "ATS-1")):
        state[block][Action.INPUT]["value"] = typed
    body = (await bot.sender.view_submission(modal, state)).json()
    # The name and ATS id went with no one, and nobody was told.
    assert body["response_action"] == "errors" and set(body["errors"]) == {Block.FIRST_NAME, Block.UNIQUE_ID}
    assert "enter it, or clear this" in body["errors"][Block.UNIQUE_ID]
    await asyncio.sleep(0.3)
    assert created_emails(bot) == []


async def test_a_phone_typed_without_its_email_is_not_dropped_with_candidates_pasted(sparkhire_only_bot):
    bot = sparkhire_only_bot
    modal = await open_modal(bot, "invite")
    state = await sparkhire_values(
        bot,
        modal,
        **{
            Block.EMAIL: (None, {"type": "email_text_input", "value": ""}),
            Block.PHONE: (None, {"type": "plain_text_input", "value": "+13125559494"}),
            Block.SMS_CONSENT: (None, {"type": "checkboxes", "selected_options": [{"value": "consent"}]}),
            Block.BULK: (None, {"type": "plain_text_input", "value": "bo@example.com\ncy@example.com"}),
        },
    )
    body = (await bot.sender.view_submission(modal, state)).json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {Block.CANDIDATE_NAME, Block.PHONE}  # Dee Dee's name and phone
    await asyncio.sleep(0.3)
    assert not any(r.method == "POST" for r in bot.sparkhire.requests)


async def test_a_mention_in_the_message_does_not_cost_a_candidate(bot):
    text = "<@U0123> please invite <mailto:ann@example.com|ann@example.com>, <mailto:bo@example.com|bo@example.com>"
    shown = initial_values(await shortcut_form(bot, text))
    # The line with the mention was unreadable: only Bo reached the form. And the words before an
    # address Slack made a link of are no name ("<@U0123> please invite <ann@…>").
    assert shown[Block.BULK].splitlines() == ["ann@example.com", "bo@example.com"]


async def test_words_before_an_address_in_a_message_are_not_prefilled_as_the_candidates_name(bot):
    shown = initial_values(await shortcut_form(bot, "Please invite <mailto:zed@example.com|zed@example.com> today"))
    # "Please invite" was pre-filled as the candidate's first and last name.
    assert shown[Block.EMAIL] == "zed@example.com"
    assert Block.FIRST_NAME not in shown and Block.LAST_NAME not in shown


async def test_a_wedgehr_token_saved_under_another_bot_secret_key_still_opens_the_spark_hire_form_and_says_to_reconnect(
    tmp_path,
):
    # The whole invite was refused with one message about "the account", though Spark Hire worked.
    from cryptography.fernet import Fernet

    from tests.bot.notify.test_poller import connect_token

    database = f"sqlite:///{tmp_path}/bot.sqlite3"
    async with running_bot(database_url=database) as bot:
        await connect_token(bot, "company-a-token-0123")  # U1's WedgeHR token (Spark Hire: SPARKHIRE_API_KEY)
    async with running_bot(database_url=database, secret_key=Fernet.generate_key().decode()) as bot:
        form = await open_modal(bot, "invite ann@example.com")
        assert form["callback_id"] == Callback.INVITE_SPARKHIRE and "ann@example.com" in form["private_metadata"]
        (told,) = await bot.slack.wait_for(lambda: bot.slack.ephemerals("U1"))
        assert_valid_blocks(told.blocks)
        assert told.text.startswith("WedgeHR: ") and "reconnect the account with /interview connect" in told.text
        (connect,) = [e for b in told.blocks if b["type"] == "actions" for e in b["elements"]]
        assert (connect["action_id"], connect.get("value")) == (Action.OPEN_CONNECT, "wedgehr")
        assert "something went wrong" not in told.text.lower()
