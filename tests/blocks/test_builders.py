"""Every builder's output is valid Block Kit, and says what a recruiter needs to see."""

import re
import uuid as uuidlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from blocks import cards, connect, errors, forms, help, home, invite, resend, share, subscriptions
from blocks.common import escape, input_block, modal, option, slack_date, stars
from blocks.ids import Action, Block
from blocks.models import (
    AuditEntryView,
    CandidateView,
    ConnectionStatusView,
    InviteResult,
    ManualWebhookView,
    Option,
    ReviewerLinkView,
    SubscriptionView,
)
from bot.notify import grammar
from tests.support.blockkit import assert_valid_blocks, assert_valid_view

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LONG = "Ünïcødé " * 60


def spark(**overrides):
    base = dict(
        vendor="sparkhire",
        name="Ann <Lee> & Co",
        email="ann@example.com",
        interview_name="Barista",
        status="completed",
        rating=3.5,
        deadline=NOW + timedelta(days=3),
        completed_at=NOW,
        watch_url="https://www.sparkhire.com/interview/u/watch",
        interview_uuid="u",
    )
    return CandidateView(**{**base, **overrides})


def wedge(**overrides):
    base = dict(
        vendor="wedgehr",
        name="Bo",
        email="bo@example.com",
        interview_name="Movers",
        status="invited",
        deadline=NOW,
        wedge_id=4017600317622981,
        invite_url="https://record.wedge.video/1.x",
    )
    return CandidateView(**{**base, **overrides})


def test_stars_and_dates():
    assert stars(3.5) == "★★★★☆ 3.5"
    assert stars(4) == "★★★★☆ 4"
    assert stars(None) == stars(0) == "not rated"
    assert slack_date(NOW).startswith(f"<!date^{int(NOW.timestamp())}^")
    assert escape("<a&b>") == "&lt;a&amp;b&gt;"


def test_card_escapes_names_and_offers_the_right_buttons():
    blocks = cards.notification_card(spark(), event="completed").blocks
    text = str(blocks)
    assert "Ann &lt;Lee&gt; &amp; Co" in text and "★★★★☆ 3.5" in text
    assert Action.WATCH in text and Action.SHARE_INTERVIEW in text and Action.RESEND_WEDGE not in text
    pending = str(cards.notification_card(wedge(), event="send_failure").blocks)
    assert Action.RESEND_WEDGE in pending and Action.WATCH not in pending


def test_wedgehr_modal_defaults_send_checked_and_bulk_optional():
    view = invite.wedgehr_invite_modal(email="a@b.co", private_metadata="{}")
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    assert by_id[Block.SEND_EMAIL]["element"]["initial_options"]
    assert by_id[Block.BULK]["optional"] is True
    # Slack takes 3,000 characters at most: the field says so before the recruiter pastes 500 rows.
    assert by_id[Block.BULK]["element"]["max_length"] == 3000 and "about 100 candidates" in str(by_id[Block.BULK])
    assert by_id[Block.EMAIL]["element"]["initial_value"] == "a@b.co"


def test_sparkhire_modal_sms_consent_is_never_prechecked_and_limits_are_the_allowed_ones():
    view = invite.sparkhire_invite_modal(deadline=NOW, private_metadata="{}")
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    assert "initial_options" not in by_id[Block.SMS_CONSENT]["element"]
    limits = [o["value"] for o in by_id[Block.TIME_LIMIT]["element"]["options"]]
    assert limits == ["30", "60", "90", "120", "160", "180"]
    assert by_id[Block.DEADLINE]["element"]["initial_date_time"] == int(NOW.timestamp())


def test_large_bulk_results_stay_within_limits():
    results = [
        InviteResult(
            row=i,
            email=f"{'x' * 40}{i}@example.com",
            ok=i % 3 != 0,
            link="https://record.wedge.video/123",
            error=LONG[:200],
            key_rejected=i % 3 == 0,
        )
        for i in range(400)
    ]
    message = invite.results_message(results, vendor="wedgehr")
    assert "266 sent, 134 failed" in message.text
    assert_valid_blocks(message.blocks)
    assert_valid_view(invite.results_view(results, vendor="sparkhire"))


def test_skipped_rows_are_counted_apart_from_failures():
    results = [
        InviteResult(row=1, email="a@example.com", ok=True),
        InviteResult(row=2, email="A@example.com", ok=False, skipped=True, error="skipped: duplicate of row 1"),
    ]
    message = invite.results_message(results, vendor="wedgehr")
    assert "1 sent, 0 failed, 1 skipped" in message.text
    assert "skipped: duplicate of row 1" in str(message.blocks)
    assert_valid_blocks(message.blocks)


def test_the_candidate_typed_in_the_form_is_labelled_as_such_not_row_0():
    results = [InviteResult(row=0, email="ann@example.com", ok=True), InviteResult(row=1, email="bo@x.io", ok=True)]
    lines = str(invite.results_message(results, vendor="wedgehr").blocks)
    assert "Form: ann@example.com" in lines and "1. bo@x.io" in lines and "0." not in lines


def test_bulk_results_offer_the_reconnect_button_once_when_the_key_was_rejected():
    rejected = [
        InviteResult(row=1, email="a@example.com", ok=False, key_rejected=True, error="The API key was rejected."),
        InviteResult(row=2, email="b@example.com", ok=False, key_rejected=True, error="not sent"),
    ]
    message = invite.results_message(rejected, vendor="sparkhire")
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [(e["action_id"], e.get("value")) for e in buttons] == [(Action.OPEN_CONNECT, "sparkhire")]
    assert_valid_blocks(message.blocks)
    failed = [InviteResult(row=1, email="a@example.com", ok=False, error="The vendor had an internal error.")]
    assert Action.OPEN_CONNECT not in str(invite.results_message(failed, vendor="wedgehr").blocks)


def test_the_single_resend_prompt_states_the_invites_current_status():
    prompt = str(resend.resend_choices("bo@example.com", [wedge(status="send_failure")]).blocks)
    assert "Current invite status: send failure" in prompt and "Created" not in prompt


def test_resend_buttons_confirm_first_and_a_completed_interview_has_none():
    canceled, done = wedge(status="canceled"), wedge(status="complete", wedge_id=2)
    message = resend.resend_choices("bo@example.com", [canceled, done])
    assert_valid_blocks(message.blocks)
    buttons = [b["accessory"] for b in message.blocks if "accessory" in b]
    assert [b["value"] for b in buttons] == [str(canceled.wedge_id)]
    assert "This invite was canceled" in buttons[0]["confirm"]["text"]["text"]
    card = cards.notification_card(wedge(status="send_failure"), event="send_failure")
    resend_button = next(e for b in card.blocks if b["type"] == "actions" for e in b["elements"])
    assert resend_button["action_id"] == Action.RESEND_WEDGE and "check the address" in str(resend_button["confirm"])


def test_resend_choices_label_the_wedges_expiry_as_such():
    soon, gone = datetime.now(UTC) + timedelta(days=3), datetime.now(UTC) - timedelta(days=3)
    message = resend.resend_choices("bo@example.com", [wedge(deadline=soon), wedge(deadline=gone, wedge_id=2)])
    lines = [b["text"]["text"] for b in message.blocks[1:]]
    assert " · expires <!date^" in lines[0] and " · expired <!date^" in lines[1]
    assert "created" not in str(message.blocks)
    assert_valid_blocks(message.blocks)


def test_find_results_never_claim_a_vendor_that_failed_was_searched():
    some = cards.find_results("ann@example.com", [], searched=["wedgehr"], unsearched=["sparkhire"])
    assert some.text == "No interviews found for ann@example.com on WedgeHR; Spark Hire could not be searched."
    none = cards.find_results("ann@example.com", [], unsearched=["wedgehr", "sparkhire"], reconnect=True)
    assert none.text == "WedgeHR and Spark Hire could not be searched for ann@example.com."
    assert Action.OPEN_CONNECT in str(none.blocks) and Action.OPEN_CONNECT not in str(some.blocks)
    found = cards.find_results("ann@example.com", [wedge()], searched=["wedgehr"], unsearched=["sparkhire"])
    assert found.text == "1 interview(s) for ann@example.com (Spark Hire could not be searched)"


def test_wedgehr_results_name_each_interview_and_count_what_does_not_fit():
    one = share.wedgehr_results_message("bo@example.com", [wedge()])
    assert one.text == "Bo has not completed the WedgeHR interview Movers yet, so there is no result to share."
    many = share.wedgehr_results_message(
        "bo@example.com", [wedge(interview_name=f"Shift {i:03d} " + "x" * 300) for i in range(400)]
    )
    assert_valid_blocks(many.blocks)
    text = "\n".join(block_texts(many.blocks))
    shown = len(re.findall(r"Shift \d{3}", text))
    assert shown + int(re.search(r"…and (\d+) more WedgeHR interviews", text).group(1)) == 400


def reviewer(email="a@b.co", n=1, *, active=True):
    return ReviewerLinkView(
        uuid=f"00000000-0000-4000-8000-{n:012d}", email=email, url=f"http://hire.li/{n}", active=active
    )


def test_each_reviewer_link_can_be_deactivated_after_a_confirmation():
    a, c = reviewer("a@b.co", 1), reviewer("c@d.co", 2)
    message = share.advanced_links_message([a, c], emailed=True)
    buttons = [b["accessory"] for b in message.blocks if "accessory" in b]
    assert [e["action_id"] for e in buttons] == [Action.SHARE_ADVANCED_DEACTIVATE] * 2
    # Each names its link, and carries the message's links, to list them again once one is deactivated.
    assert [share.reviewer_link_targets(e["value"]) for e in buttons] == [
        (a.uuid, [a.uuid, c.uuid], 0, {a.uuid: a, c.uuid: c}),
        (c.uuid, [a.uuid, c.uuid], 0, {a.uuid: a, c.uuid: c}),
    ]
    assert share.reviewer_link_targets(a.uuid) == (a.uuid, [], 0, {})  # a button posted before that
    older = f"{a.uuid}|{a.uuid},{c.uuid}|3"  # one that named its message's links, to be read
    assert share.reviewer_link_targets(older) == (a.uuid, [a.uuid, c.uuid], 3, {})
    assert all(e["confirm"]["confirm"]["text"] == "Deactivate" for e in buttons)
    assert "a@b.co will no longer be able to watch" in buttons[0]["confirm"]["text"]["text"]
    many = share.advanced_links_message([reviewer(n=n) for n in range(60)], emailed=False)
    assert len(many.blocks) == 50 and "…and 12 more link(s), listed in Spark Hire." in str(many.blocks[-1])
    assert max(len(b["accessory"]["value"]) for b in many.blocks if "accessory" in b) <= 2000
    # Listed again after a Deactivate, the 12 left out are still counted.
    _, listed, more, _ = share.reviewer_link_targets(many.blocks[1]["accessory"]["value"])
    again = share.advanced_link_deactivated_message("a@b.co", [reviewer(n=n) for n in range(len(listed))], more=more)
    assert more == 12 and "…and 12 more link(s), listed in Spark Hire." in str(again.blocks[-1])


def test_a_deactivated_reviewer_link_is_marked_without_its_address_or_button():
    message = share.advanced_link_deactivated_message(
        "a@b.co", [reviewer("a@b.co", 1, active=False), reviewer("c@d.co", 2)]
    )
    assert message.text == "Reviewer link for a@b.co deactivated."
    text = str(message.blocks)
    assert "a@b.co: link deactivated" in text and "http://hire.li/1" not in text and "http://hire.li/2" in text
    buttons = [b["accessory"]["value"] for b in message.blocks if "accessory" in b]
    assert [share.reviewer_link_targets(value).link for value in buttons] == [reviewer(n=2).uuid]


def test_a_deactivate_button_carries_as_many_of_its_messages_links_as_its_value_holds():
    def at(n, email, url="http://hire.li/"):
        return ReviewerLinkView(uuid=str(uuidlib.uuid4()), email=email, url=f"{url}{n:07x}", active=n % 5 != 0)

    # Everything in a value is quoted: an address or URL with the value's separators comes back whole.
    odd = [at(1, "o'brien+a|b, c@x.co", "https://x.example/s?a=1&b=|%20 "), at(2, "Zoë@例え.jp"), at(5, "d@x.co")]
    buttons = [b["accessory"] for b in share.advanced_links_message(odd, emailed=False).blocks if "accessory" in b]
    assert share.reviewer_link_targets(buttons[0]["value"]) == (
        odd[0].uuid,
        [o.uuid for o in odd],
        0,
        {
            **{o.uuid: o for o in odd[:2]},
            odd[2].uuid: ReviewerLinkView(uuid=odd[2].uuid, email="d@x.co", url="", active=False),
        },
    )
    # A long list: every link named, as many whole as fit, and each value within Slack's 2,000 characters.
    for address, whole in (
        ("firstname{n}.lastname@company.example.com", 48),
        ("reviewer{n}@agency{n}.example.org", 35),
    ):
        many = [at(n, address.format(n=n)) for n in range(share.MAX_ADVANCED_LINKS_SHOWN)]
        message = share.advanced_links_message(many, emailed=False)
        values = [b["accessory"]["value"] for b in message.blocks if "accessory" in b]
        assert max(map(len, values)) <= 2000
        targets = [share.reviewer_link_targets(v) for v in values]
        assert [t.link for t in targets] == [each.uuid for each in many if each.active]
        assert all(t.listed == [each.uuid for each in many] for t in targets)
        known = targets[0].known
        assert len(known) >= whole
        for each in many:  # a deactivated one without its URL: it is no longer shown
            assert known.get(each.uuid, each) in (each, replace(each, url=""))
            assert each.active or each.uuid not in known or not known[each.uuid].url


def test_a_deactivate_buttons_value_always_fits_and_names_its_link():
    """What a value carries is measured before Slack's limit, not cut by it: a cut value names no link
    ("That button does not point at a reviewer link any more")."""
    long_cjk = ReviewerLinkView(
        uuid=str(uuidlib.uuid4()), email="例" * 240 + "@例え.jp", url="http://hire.li/x", active=True
    )
    odd_ids = [
        ReviewerLinkView(uuid=f"reviewer-link-of-the-agency-{n:04d}-{'z' * 20}", email=f"r{n}@x.co", url=f"u{n}")
        for n in range(share.MAX_ADVANCED_LINKS_SHOWN)
    ]
    mixed = [long_cjk, *(reviewer(f"p{n}@x.co", n) for n in range(2, 6))]
    for links in ([long_cjk], odd_ids, mixed):
        values = share._carried_values(links, left_out=0)
        assert max(map(len, values)) <= share.BUTTON_VALUE_MOST
        assert [share.reviewer_link_targets(v).link for v in values] == [each.uuid for each in links]
        message = share.advanced_links_message(links, emailed=False)
        buttons = [b["accessory"]["value"] for b in message.blocks if "accessory" in b]
        assert [share.reviewer_link_targets(v).link for v in buttons] == [each.uuid for each in links]
    # Where they fit, the links are still carried whole, to be listed again without asking.
    targets = share.reviewer_link_targets(share._carried_values(mixed, left_out=0)[0])
    assert targets.listed == [each.uuid for each in mixed] and len(targets.known) >= 4


def every_input_form():
    """A form with each kind of input, submitted with each filled in (and one emptied)."""
    picked = {"text": {"type": "plain_text", "text": "Barista", "emoji": True}, "value": "j1"}
    listed = [option("a", "A"), option("b", "B")]
    elements = {
        "text": ({"type": "plain_text_input", "initial_value": "was"}, {"value": LONG[:100]}),
        "emptied": ({"type": "email_text_input", "initial_value": "a@b.co"}, {"value": None}),
        "number": ({"type": "number_input", "is_decimal_allowed": False}, {"value": "3"}),
        "static": ({"type": "static_select", "options": listed}, {"selected_option": {"value": "b"}}),
        "external": ({"type": "external_select", "min_query_length": 0}, {"selected_option": picked}),
        "multi": ({"type": "multi_static_select", "options": listed}, {"selected_options": [{"value": "a"}]}),
        "multi_external": ({"type": "multi_external_select"}, {"selected_options": [picked]}),
        "checks": ({"type": "checkboxes", "options": listed, "initial_options": listed}, {"selected_options": []}),
        "radio": ({"type": "radio_buttons", "options": listed}, {"selected_option": {"value": "a"}}),
        "when": ({"type": "datetimepicker"}, {"selected_date_time": 1_800_000_000}),
        "day": ({"type": "datepicker"}, {"selected_date": "2026-11-23"}),
        "hour": ({"type": "timepicker"}, {"selected_time": "09:30"}),
    }
    blocks = [input_block(b, b, {**el, "action_id": "input"}, optional=True) for b, (el, _) in elements.items()]
    view = modal("invite_wedgehr", "Invite on WedgeHR", blocks, submit="Send invite", private_metadata='{"a":1}')
    state = {b: {"input": {"type": el["type"], **st}} for b, (el, st) in elements.items()}
    return {**view, "id": "V1", "hash": "h", "team_id": "T1", "state": {"values": state}}


def refilled_every_input():
    return forms.refilled_form(
        every_input_form(),
        heading=LONG,
        problems=[HOSTILE_TEXT, LONG * 3],
        field_problems={"text": HOSTILE_TEXT, "number": LONG * 3, "gone": "not on the form"},
    )


HOSTILE_TEXT = "<!channel> & <https://evil.example|x>"


ALL_VIEWS = [
    refilled_every_input,
    lambda: forms.refilled_form(refilled_every_input(), heading="Again", problems=["x"]),
    lambda: invite.progress_view(done=3, total=40, vendor="sparkhire", waiting_seconds=60),
    lambda: errors.outsider_view("the acme workspace"),
    lambda: errors.outsider_view(LONG),
    lambda: invite.vendor_choice_modal(private_metadata="{}"),
    lambda: invite.wedgehr_invite_modal(email=None, private_metadata="{}"),
    lambda: invite.wedgehr_invite_modal(email="a@b.co", name=(LONG, LONG), private_metadata="{}"),
    lambda: invite.sparkhire_invite_modal(email="a@b.co", name=LONG, deadline=NOW, private_metadata="{}"),
    lambda: invite.sparkhire_invite_modal(email="a@b.co", deadline=NOW, private_metadata="x" * 4000),
    lambda: invite.working_view(LONG),
    lambda: errors.error_view(LONG),
    lambda: invite.progress_view(done=3, total=7, vendor="wedgehr"),
    lambda: share.advanced_share_modal(
        interviews=[Option(value=f"u{i}", label=LONG) for i in range(150)], selected=["u1"], private_metadata=""
    ),
    lambda: share.advanced_links_created_view(3, emailed=False),
    lambda: subscriptions.webhook_credentials_modal(
        path="/webhooks/sparkhire/" + "a" * 32, username="interview-bot", password="p" * 32, public_url=None
    ),
    lambda: subscriptions.webhook_credentials_modal(
        path="/webhooks/sparkhire/c", username="interview-bot", password="p", public_url="https://bot.example"
    ),
    lambda: subscriptions.webhook_credentials_refused("Only workspace admins can see these webhook credentials."),
    lambda: connect.connect_modal(
        is_admin=True,
        statuses=[
            ConnectionStatusView(vendor="wedgehr", workspace_label=LONG, workspace_environment="staging"),
            ConnectionStatusView(vendor="sparkhire", workspace_label=None, own_label="Me"),
        ],
    ),
    lambda: connect.connect_modal(is_admin=False, statuses=[]),
    lambda: connect.connect_modal(
        is_admin=True,
        statuses=[
            ConnectionStatusView(
                vendor="wedgehr", workspace_label=LONG, workspace_environment="staging", workspace_id="c" * 32
            ),
            ConnectionStatusView(
                vendor="sparkhire",
                workspace_label="from SPARKHIRE_API_KEY",
                workspace_setting="SPARKHIRE_API_KEY",
                own_label=LONG,
                own_id="d" * 32,
            ),
        ],
        notices=[LONG, "Disconnected your Spark Hire account <Acme>."],
    ),
    lambda: home.home_view(
        statuses=[ConnectionStatusView(vendor="sparkhire", workspace_label="Acme")],
        recent=[AuditEntryView(action="invite.sent", vendor="wedgehr", target=LONG, at=NOW)] * 12,
        subscriptions=[
            SubscriptionView(
                id=i,
                channel_id="C1",
                vendor="sparkhire",
                events=("completed",),
                excludes=("@test.io",),
                paused=i % 2 == 0,
                paused_reason="is archived",
            )
            for i in range(30)
        ],
    ),
    lambda: home.home_view(
        statuses=[ConnectionStatusView(vendor="sparkhire", workspace_label="Acme")],
        recent=[],
        notice=LONG,
        subscriptions=[
            SubscriptionView(
                id=i, channel_id=f"C{i}", vendor="sparkhire", events=("completed",), job_filter=LONG, paused=True
            )
            for i in range(40)
        ],
        paused_groups=[
            [SubscriptionView(id=i, channel_id=f"C{i}", vendor="sparkhire", events=("completed",), job_filter=LONG)] * 3
            for i in range(40)
        ],
    ),
]

ALL_MESSAGES = [
    lambda: subscriptions.rejoined_notice(),
    lambda: help.help_message(),
    lambda: help.help_message(unknown="<script>"),
    lambda: errors.error_message(LONG, reconnect=True),
    lambda: errors.nothing_connected_message(f"search for {LONG}"),
    lambda: errors.busy_retrying_message("Spark Hire", 0.2),
    lambda: errors.outsider_message("the acme workspace"),
    lambda: errors.outsider_message(LONG),
    lambda: invite.results_message(
        [InviteResult(row=i, email=LONG, ok=False, error=LONG, retry_line=f"{LONG} <a{i}@b.co>") for i in range(300)],
        vendor="sparkhire",
    ),
    lambda: invite.invite_confirmation(spark(invite_url="https://x.example/i")),
    lambda: invite.invite_confirmation(wedge(), emailed=False),
    lambda: invite.invite_confirmation(wedge(invite_url=None), emailed=False),
    lambda: invite.results_message(
        [InviteResult(row=i, email=LONG, ok=True, link="https://x.example/i") for i in range(300)],
        vendor="wedgehr",
        emailed=False,
    ),
    lambda: cards.find_results("ann@example.com", [spark(), wedge()] * 20, notes=["WedgeHR is busy"] * 5),
    lambda: cards.find_results("nobody@example.com", []),
    lambda: cards.find_results(
        "ann@example.com",
        [spark(), wedge()] * 20,
        notes=[LONG] * 5,
        searched=["wedgehr"],
        unsearched=["sparkhire"],
        reconnect=True,
        connect_vendor="sparkhire",
    ),
    lambda: cards.find_results("nobody@example.com", [], unsearched=["wedgehr", "sparkhire"], reconnect=True),
    lambda: cards.compact_line(spark(), event="rated"),
    lambda: cards.thread_reply(spark(rating=None), event="rated"),
    lambda: cards.job_event_message(title=LONG, event="JobCreated"),
    lambda: resend.resend_choices("bo@example.com", [wedge()]),
    lambda: resend.resend_choices("bo@example.com", [wedge(wedge_id=i) for i in range(40)]),
    lambda: resend.resent(wedge()),
    lambda: share.share_link_message(spark(), url="http://hire.li/x", link_uuid="l"),
    lambda: share.share_link_message(spark(), url="", link_uuid="l", active=False),
    lambda: share.wedgehr_result_message(wedge(result_url="https://app.wedgehr.com/r/1")),
    lambda: share.wedgehr_results_message("bo@example.com", [wedge()]),
    lambda: share.wedgehr_results_message(
        "bo@example.com", [wedge(interview_name=LONG), wedge(result_url="https://app.wedgehr.com/r/1")] * 200
    ),
    lambda: share.advanced_links_message([reviewer(n=n) for n in range(3)], emailed=False),
    lambda: share.advanced_links_message([reviewer(LONG, n, active=n % 2 == 0) for n in range(60)], emailed=True),
    lambda: share.advanced_link_deactivated_message("a@b.co"),
    lambda: share.advanced_link_deactivated_message(""),
    lambda: share.advanced_link_deactivated_message(LONG, [reviewer(LONG, n, active=n > 30) for n in range(60)]),
    lambda: connect.connected_message([("wedgehr", "Acme"), ("sparkhire", LONG)]),
    lambda: connect.disconnected_pause_notice(["C1"], "sparkhire", by_user="U1", reason=LONG),
    lambda: subscriptions.subscribed_message(
        [
            SubscriptionView(
                id=1, channel_id="C1", vendor="wedgehr", events=("completed",), job_filter="X", compact=True
            )
        ],
        notes=["PUBLIC_URL is not set"],
    ),
    lambda: subscriptions.subscribed_message(
        [
            SubscriptionView(
                id=v,
                channel_id="C1",
                vendor=vendor,
                events=("completed",),
                job_filter=LONG[:200],
                excludes=tuple(f"{LONG[:60]}{i}@example.com" for i in range(200)),
                account=LONG,
                account_owner="U2",
            )
            for v, vendor in ((1, "wedgehr"), (2, "sparkhire"))
        ],
        notes=[LONG] * 3,
        by_hand=ManualWebhookView(connection_id="c" * 32, path="/webhooks/sparkhire/" + "c" * 32, owner="U2"),
        others=[
            SubscriptionView(
                id=10 + i, channel_id="C1", vendor="sparkhire", events=("rated",), job_filter=LONG[:200], account=LONG
            )
            for i in range(60)
        ],
    ),
    lambda: subscriptions.subscriptions_list([], None),
    lambda: subscriptions.unsubscribed_message(0, 0),
    lambda: subscriptions.paused_notice(
        SubscriptionView(id=3, channel_id="C1", vendor="sparkhire", events=("rated",)), reason="not in channel"
    ),
    lambda: subscriptions.paused_notice(
        [
            SubscriptionView(id=i, channel_id="C1", vendor="sparkhire", events=("completed",), job_filter=LONG)
            for i in range(40)
        ],
        reason=LONG,
        cause="gone",
        instead_of=["U2", "U3"],
    ),
    *(
        lambda cause=cause: subscriptions.still_paused_notice(
            [SubscriptionView(id=3, channel_id="C1", vendor="wedgehr", events=("completed",))] * 2, cause=cause
        )
        for cause in ("archived", "gone", "invite")
    ),
    lambda: subscriptions.resumed_notice(
        "C1", count=3, missed=subscriptions.missed_text(queued=200, too_old=1500, days=7, count=3)
    ),
    lambda: subscriptions.removed_notice("C1", 2),
]


@pytest.mark.parametrize("build", ALL_VIEWS)
def test_every_view_is_valid(build):
    view = build()
    if view["type"] == "home":
        assert_valid_blocks(view["blocks"], max_blocks=100)
    else:
        assert_valid_view(view)


@pytest.mark.parametrize("build", ALL_MESSAGES)
def test_every_message_is_valid_and_has_fallback_text(build):
    message = build()
    assert message.text.strip()
    assert_valid_blocks(message.blocks)


HOSTILE = "<!channel> <https://evil.example|Click here> & <@U999>"


def block_texts(value) -> list[str]:
    """Every mrkdwn/plain text string inside a payload."""
    if isinstance(value, dict):
        own = [value["text"]] if isinstance(value.get("text"), str) else []
        return own + [t for v in value.values() for t in block_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in block_texts(v)]
    return []


def live_markup(text: str) -> list[str]:
    return re.findall(r"<[^<>]*>", text)


def test_a_candidates_name_cannot_ping_a_channel_or_plant_a_link_in_a_notification():
    c = spark(
        name=HOSTILE,
        interview_name=HOSTILE,
        email="a|b&c@example.com",
        watch_url="https://x.example/w|<!channel>",
    )
    posts = [
        cards.notification_card(c, event="completed"),
        cards.compact_line(c, event="completed"),
        cards.thread_reply(c, event="rated"),
        cards.job_event_message(title=HOSTILE, event="JobCreated"),
    ]
    for message in posts:
        kwargs = message.as_kwargs()
        assert "&lt;!channel&gt;" in kwargs["text"]
        for text in [kwargs["text"], *block_texts(kwargs["blocks"])]:
            for markup in live_markup(text):
                # Only the bot's own links survive, with the URL unable to end the link early.
                assert markup in {
                    "<https://x.example/w%7C%3C!channel%3E|watch>",
                    "<mailto:a%7Cb%26c@example.com|a|b&amp;c@example.com>",
                } or markup.startswith("<!date^"), markup


def test_fallback_text_is_escaped_except_where_the_bot_mentions_a_channel():
    assert errors.notice("Ann <Lee> & Co").as_kwargs()["text"] == "Ann &lt;Lee&gt; &amp; Co"
    paused = subscriptions.paused_notice(
        SubscriptionView(id=3, channel_id="C1", vendor="sparkhire", events=("rated",)), reason="is_archived <x>"
    )
    assert "<#C1>" in paused.as_kwargs()["text"] and "&lt;x&gt;" in paused.as_kwargs()["text"]
    resumed = subscriptions.resumed_notice("C7", missed=subscriptions.missed_text(queued=2, too_old=0))
    assert resumed.as_kwargs()["text"].startswith("Re-enabled the subscription in <#C7>. Posting the 2 notifications")
    assert live_markup(resumed.blocks[0]["text"]["text"]) == ["<#C7>"]


def test_what_a_re_enable_posts_is_said_with_a_number_only_when_it_is_known():
    exact = subscriptions.missed_text(queued=1_500, too_old=24_853, days=7, most=200)
    assert exact == (
        "Posting the 1,500 notifications missed while paused, in the order they arrived. 24,853 older ones were"
        " not posted: only what arrived in the last 7 days is posted, 200 at most."
    )
    # A job filter checked only on what was read: most of what was not read may be another job's.
    filtered = subscriptions.missed_text(queued=1, too_old=3, older_uncounted=True, days=7, most=200)
    assert filtered == (
        "Posting the 1 notification missed while paused. Some older ones may not have been posted: only what"
        " arrived in the last 7 days is posted, 200 at most."
    )
    nothing = subscriptions.missed_text(queued=0, too_old=0, count=2)
    assert nothing == "Nothing they take arrived while they were paused."
    assert subscriptions.missed_text(queued=0, too_old=2).startswith("Nothing it missed is recent enough to post.")


def test_every_subscription_of_a_channel_following_many_jobs_is_listed_or_counted():
    subs = [
        SubscriptionView(
            id=i,
            channel_id="C1",
            vendor="sparkhire",
            events=("completed", "rated"),
            job_filter=f"Senior Barista, night shift, store {i:03d} " + "x" * 60,
        )
        for i in range(600)
    ]
    message = subscriptions.subscriptions_list(subs[:40], subs)
    assert_valid_blocks(message.blocks)
    text = "\n".join(block_texts(message.blocks))
    assert all(f"store {i:03d}" in text for i in range(40)), "a channel's own subscription is missing"
    shown = len(re.findall(r"store \d{3}", text))
    hidden = int(re.search(r"…and (\d+) more subscription", text).group(1))
    assert shown + hidden == 640

    view = home.home_view(statuses=[], recent=[], subscriptions=subs)
    assert_valid_blocks(view["blocks"], max_blocks=100)
    text = "\n".join(block_texts(view["blocks"]))
    shown = len(re.findall(r"store \d{3}", text))
    assert shown > 20 and shown + int(re.search(r"…and (\d+) more", text).group(1)) == 600


def test_bulk_results_with_a_huge_first_line_start_with_it_not_a_blank_section():
    results = [
        InviteResult(row=1, email="<" * 2950, ok=False, error="not a valid email address"),
        InviteResult(row=2, email="b@example.com", ok=True, link="https://x.example/i|<!here>"),
    ]
    message = invite.results_message(results, vendor="wedgehr")
    assert_valid_blocks(message.blocks)
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert all(s.strip() for s in sections)
    assert sections[1].startswith(":x: 1.")
    assert "b@example.com <https://x.example/i%7C%3C!here%3E|invite link>" in "\n".join(sections)


def test_long_match_lists_say_how_many_are_not_shown():
    found = cards.find_results(
        "ann", [spark(), wedge()] * 20, notes=["a", "b", "c"], unsearched=["wedgehr"], reconnect=True
    )
    assert_valid_blocks(found.blocks)
    assert "…and 26 more not shown" in "\n".join(block_texts(found.blocks))
    by_email = cards.find_results("ann@example.com", [spark()] * 30 + [wedge()] * 12)
    assert_valid_blocks(by_email.blocks)
    more = by_email.blocks[-1]["elements"][0]["text"]
    # The query already is the full address: narrowing by it is no advice; where the rest are is.
    assert (
        more == "…and 28 more not shown (16 on Spark Hire, 12 on WedgeHR); open Spark Hire and WedgeHR to see them all."
    )
    only_spark = cards.find_results("ann@example.com", [spark()] * 40).blocks[-1]["elements"][0]["text"]
    assert only_spark == "…and 26 more not shown; open Spark Hire to see them all."
    choices = resend.resend_choices("bo", [wedge(wedge_id=i) for i in range(33)])
    assert_valid_blocks(choices.blocks)
    assert (
        "…and 13 older ones not shown. To resend one of those, use its wedge id: `/interview resend &lt;wedge id&gt;`."
        in ("\n".join(block_texts(choices.blocks)))
    )
    assert "more not shown" not in "\n".join(block_texts(resend.resend_choices("bo", [wedge(), wedge()]).blocks))


def test_a_rated_cards_notification_text_carries_the_rating():
    # The push preview read "Ann was rated (Spark Hire)": the one thing it is about was missing.
    assert cards.notification_card(spark(name="Ann"), event="rated").text == "Ann was rated: ★★★★☆ 3.5 (Spark Hire)"
    assert cards.notification_card(spark(name="Ann"), event="completed").text == (
        "Ann completed the interview (Spark Hire)"
    )


def test_a_compact_lines_notification_text_names_the_job_or_the_vendor():
    assert cards.compact_line(spark(name="Ann"), event="completed").text == "Ann completed the interview · Barista"
    assert cards.compact_line(spark(name="Ann", interview_name=None), event="rated").text == (
        "Ann was rated · Spark Hire · ★★★★☆ 3.5"
    )


def test_a_rating_reply_says_the_rating_given_and_by_whom_not_the_interviews():
    overall = spark(name="Ann", rating=5.0)
    assert cards.thread_reply(overall, event="rated", rating=2.0, rated_by="Alice").text == (
        "Ann was rated: ★★☆☆☆ 2 by Alice"
    )
    assert cards.thread_reply(overall, event="rated", rated_by="Bob").text == "Ann was rated by Bob: overall ★★★★★ 5"
    assert cards.thread_reply(spark(name="Ann", rating=None), event="rated").text == "Ann was rated"


def test_a_form_given_back_shows_what_was_typed_under_the_vendors_reasons():
    form = refilled_every_input()
    assert form["callback_id"] == "invite_wedgehr" and form["private_metadata"] == '{"a":1}'
    assert not {"id", "hash", "state", "team_id"} & set(form)  # views.update refuses them
    warning, *inputs = form["blocks"]
    assert warning["block_id"] == Block.FORM_PROBLEMS and "&lt;!channel&gt; &amp;" in warning["text"]["text"]
    # What the vendor said of a field is named by the field's label, first; of no field on the form, as it is.
    lines = warning["text"]["text"].splitlines()
    assert lines[1] == "• *text*: &lt;!channel&gt; &amp; &lt;https://evil.example|x&gt;"
    assert lines[2].startswith("• *number*: ") and lines[3] == "• not on the form"
    shown = {b["block_id"]: b["element"] for b in inputs}
    assert shown["text"]["initial_value"] == LONG[:100]
    assert "initial_value" not in shown["emptied"] and "initial_options" not in shown["checks"]
    assert shown["number"]["initial_value"] == "3"
    assert shown["static"]["initial_option"] == option("b", "B")  # Slack wants the option as listed
    assert shown["radio"]["initial_option"] == option("a", "A")
    assert shown["multi"]["initial_options"] == [option("a", "A")]
    assert shown["external"]["initial_option"]["value"] == "j1"
    assert shown["multi_external"]["initial_options"][0]["text"]["text"] == "Barista"
    assert shown["when"]["initial_date_time"] == 1_800_000_000
    assert shown["day"]["initial_date"] == "2026-11-23" and shown["hour"]["initial_time"] == "09:30"
    # Refused again: one warning, the latest.
    again = forms.refilled_form({**form, "state": every_input_form()["state"]}, heading="Again", problems=["x"])
    assert [b.get("block_id") for b in again["blocks"]].count(Block.FORM_PROBLEMS) == 1


@pytest.mark.parametrize("vendor", ["wedgehr", "sparkhire"])
@pytest.mark.parametrize("cause", list(invite.LOOKUP_FAILURES))
def test_a_failed_lookup_is_one_option_within_slacks_limits_that_names_its_cause(vendor, cause):
    picked = invite.lookup_failed_option(vendor, cause)
    assert picked["text"]["text"].startswith("⚠") and len(picked["text"]["text"]) <= 75
    assert invite.lookup_failed_cause(picked["value"]) == cause
    assert invite.lookup_failed_cause("123") is None and invite.lookup_failed_cause(None) is None
    assert len(invite.lookup_failed_error(vendor, cause)) <= 150  # a field error's length


def choices(count_per_account=2, accounts=2, **overrides):
    """unsubscribe's matches, one list per account, as bot/notify/subscriptions.py builds them."""
    return [
        [
            SubscriptionView(
                id=a * 1000 + i,
                channel_id="C1",
                vendor="sparkhire",
                events=("completed", "rated"),
                account=f"Account {a} <Ltd>",
                account_owner="U2" if a else None,
                **overrides,
            )
            for i in range(count_per_account)
        ]
        for a in range(accounts)
    ]


@pytest.mark.parametrize("events", [(), ("rated",)], ids=["remove", "narrow"])
def test_unsubscribes_which_account_answer_names_each_account_and_its_buttons_stop_those(events):
    message = subscriptions.unsubscribe_choices_message(choices(), events=events)
    assert_valid_blocks(message.blocks)
    text = "\n".join(block_texts(message.blocks))
    assert "account: Account 0 &lt;Ltd&gt;\n" in text and "account: Account 1 &lt;Ltd&gt;, <@U2>'s own key" in text
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert all(b["action_id"] == Action.UNSUBSCRIBE_CHOICE for b in buttons)
    picked = [subscriptions.parse_unsubscribe_choice(b["value"]) for b in buttons]
    assert picked == [("C1", [0, 1], events), ("C1", [1000, 1001], events), ("C1", [0, 1, 1000, 1001], events)]
    labels = [b["text"]["text"] for b in buttons]
    assert labels == (
        ["Remove", "Remove", "Remove all 4"] if not events else ["Stop rated"] * 2 + ["Stop rated for all"]
    )


def test_the_most_subscriptions_unsubscribe_asks_about_fit_the_message_and_each_button():
    from bot.notify.subscriptions import CHOICES_MOST

    many = choices(
        CHOICES_MOST // 2,
        excludes=tuple(f"person{i}@{LONG[:40]}.example.com" for i in range(20)),
        job_filter=LONG[:200],
    )
    for events in ((), ("completed", "rated", "expired", "accepted", "created", "rescheduled")):
        message = subscriptions.unsubscribe_choices_message(many, events=events)
        assert_valid_blocks(message.blocks)
        buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
        # Every subscription is in its account's button and in the last one, whole: none cut off.
        assert sorted(subscriptions.parse_unsubscribe_choice(buttons[-1]["value"])[1]) == sorted(
            v.id for group in many for v in group
        )
        assert all(len(b["value"]) <= 2000 for b in buttons)


@pytest.mark.parametrize("lines", [1, 20], ids=["one-line", "long"])
def test_the_most_accounts_unsubscribe_asks_about_fit_slacks_fifty_blocks(lines):
    most = subscriptions.CHOICE_GROUPS_MOST
    many = choices(lines, accounts=most, excludes=tuple(f"person{i}@{LONG[:40]}.example.com" for i in range(20)))
    message = subscriptions.unsubscribe_choices_message(many, events=())
    assert_valid_blocks(message.blocks)  # slack-sdk's models, at most 50 blocks, 12,000 characters
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(buttons) == most + 1


def test_a_button_value_that_is_not_unsubscribes_is_refused():
    for value in ("", "C1", "C1:", "C1:1,x:", ":1:", "C1:1;2:rated", "C1:\u0663:", "C1:1,+2:"):
        assert subscriptions.parse_unsubscribe_choice(value) is None, value


def test_a_button_value_with_more_ids_or_longer_ids_than_a_real_button_is_refused():
    most = subscriptions.CHOICE_IDS_MOST
    largest = "9" * subscriptions.CHOICE_ID_DIGITS
    real = subscriptions.unsubscribe_choice_value("C1", [int(largest)] * most, ["rated"])
    assert subscriptions.parse_unsubscribe_choice(real) == ("C1", [int(largest)] * most, ("rated",))
    # The longest a real button's value gets, tagged (a 32-character digest), fits Slack's 2,000.
    every_event = tuple(sorted(set(grammar.SPARKHIRE_EVENTS) | set(grammar.WEDGEHR_EVENTS)))
    tagged = subscriptions.unsubscribe_choice_value(
        "C0123456789AB", [int(largest)] * most, every_event, tag=lambda covered: "f" * 32
    )
    assert len(tagged) <= 2000 and subscriptions.unsubscribe_choice_tag(tagged)[1] == "f" * 32
    assert subscriptions.parse_unsubscribe_choice(tagged) == ("C0123456789AB", [int(largest)] * most, every_event)
    # With when it was asked (a pick stops no subscription made since), still within 2,000.
    dated = subscriptions.unsubscribe_choice_value(
        "C0123456789AB", [int(largest)] * most, every_event, tag=lambda covered: "f" * 32, asked_at=4102444800.0001
    )
    assert len(dated) <= 2000 and subscriptions.unsubscribe_choice_tag(dated)[1] == "f" * 32
    assert subscriptions.parse_unsubscribe_choice(dated) == ("C0123456789AB", [int(largest)] * most, every_event)
    assert subscriptions.unsubscribe_choice_asked_at(dated) == 4102444800.001
    assert subscriptions.unsubscribe_choice_asked_at(tagged) is None
    too_many = subscriptions.unsubscribe_choice_value("C1", range(1, most + 2), [])
    assert subscriptions.parse_unsubscribe_choice(too_many) is None
    for too_long in (largest + "9", str(2**63), "1" * 700):
        assert subscriptions.parse_unsubscribe_choice(f"C1:4,{too_long}:") is None, too_long


def test_unsubscribes_answer_carries_its_notes():
    message = subscriptions.unsubscribed_message(0, 0, notes=["I could not look `job:<Barista>` up at Spark Hire"])
    assert_valid_blocks(message.blocks)
    assert "I could not look `job:&lt;Barista&gt;` up" in "\n".join(block_texts(message.blocks))


def test_a_subscription_whose_webhook_waits_to_be_registered_by_hand_says_so_and_hides_its_password():
    hook = ManualWebhookView(connection_id="c0ffee", path="/webhooks/sparkhire/c0ffee")
    view = SubscriptionView(id=1, channel_id="C1", vendor="sparkhire", events=("completed",))
    message = subscriptions.subscribed_message([view], by_hand=hook)
    assert_valid_blocks(message.blocks)
    text = " ".join(block_texts(message.blocks))
    assert "*Subscribed* — Spark Hire events will arrive once the webhook is registered." in text
    assert "once the webhook is registered" in message.text
    assert "set `PUBLIC_URL`" in text and "followed by `/webhooks/sparkhire/c0ffee`" in text
    assert "A workspace admin can see them with *Show webhook credentials*" in text
    (button,) = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["value"]) == (Action.SHOW_WEBHOOK_CREDENTIALS, "c0ffee")
    own = subscriptions.subscribed_message([view], by_hand=replace(hook, owner="U2"))
    assert "<@U2>, whose own Spark Hire key it uses, can see them" in " ".join(block_texts(own.blocks))
    # Registered, the headline is the usual one.
    assert "*Subscribed.*" in " ".join(block_texts(subscriptions.subscribed_message([view]).blocks))


def test_the_webhook_credentials_modal_shows_the_url_path_and_credentials_to_enter_in_spark_hire():
    modal = subscriptions.webhook_credentials_modal(
        path="/webhooks/sparkhire/c0ffee", username="interview-bot", password="s3cret-pass", public_url=None
    )
    assert_valid_view(modal)
    text = " ".join(block_texts(modal["blocks"]))
    assert "public https address followed by `/webhooks/sparkhire/c0ffee`" in text and "/slack/events" in text
    assert "Webhook username: `interview-bot`" in text and f"{subscriptions.PASSWORD_LABEL} `s3cret-pass`" in text
    assert "submit" not in modal
    known = subscriptions.webhook_credentials_modal(
        path="/webhooks/sparkhire/c0ffee", username="u", password="p", public_url="https://bot.example"
    )
    assert "`https://bot.example/webhooks/sparkhire/c0ffee`" in " ".join(block_texts(known["blocks"]))


@pytest.fixture
def server_in_chicago(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/Chicago")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_card_shows_a_vendor_time_without_a_zone_as_utc_whatever_the_servers_zone(server_in_chicago):
    from bot.candidates import from_interview
    from bot.sparkhire.models import Interview

    # Read as UTC, as the bot reads every vendor time without a zone (bot.notify.events.vendor_time).
    interview = Interview.model_validate(
        {"uuid": "u", "status": "completed", "completed_at": "2024-04-09 10:15:00", "assigned_to": {"name": "Ann"}}
    )
    text = str(cards.notification_card(from_interview(interview), event="completed").blocks)
    utc = int(datetime(2024, 4, 9, 10, 15, tzinfo=UTC).timestamp())
    assert f"<!date^{utc}^" in text and "|2024-04-09 10:15 UTC>" in text


def test_a_date_given_in_another_zone_falls_back_to_its_utc_time():
    chicago = timezone(timedelta(hours=-5))
    when = datetime(2024, 4, 9, 5, 15, tzinfo=chicago)
    assert slack_date(when) == f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|2024-04-09 10:15 UTC>"
