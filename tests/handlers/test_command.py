import asyncio
import json
import logging
import time
from urllib.parse import urlencode

import pytest

from tests.support.blockkit import assert_valid_blocks
from tests.support.slack_requests import sign


async def test_help_answers_in_the_ack_with_usage(bot):
    response = await bot.sender.command("help")
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"
    text = str(body["blocks"])
    for word in ("invite", "resend", "share", "find", "connect", "subscribe", "unsubscribe", "subscriptions"):
        assert f"/interview {word}" in text
    assert "/interview subscribe test" in text  # issue 4's way to check the wiring
    assert 'job:"Senior Account Executive"' in text  # how to name a job of several words
    assert_valid_blocks(body["blocks"])


async def test_empty_and_unknown_text_get_help(bot):
    empty = (await bot.sender.command("")).json()
    assert "/interview invite" in str(empty["blocks"])
    unknown = (await bot.sender.command("frobnicate now")).json()
    assert "frobnicate" in str(unknown["blocks"])


async def test_unsigned_or_stale_requests_are_refused_and_call_nothing(bot):
    response = await bot.sender.client.post(
        bot.sender.url,
        content="command=%2Finterview&text=help",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401
    stale = await bot.sender.post_form(
        {"command": "/interview", "text": "invite a@b.co", "user_id": "U1", "team_id": "T0001", "trigger_id": "t"},
        timestamp=int(time.time()) - 600,
    )
    assert stale.status_code == 401
    tampered = await bot.sender.post_form(
        {"command": "/interview", "text": "help"}, headers={"X-Slack-Signature": "v0=" + "0" * 64}
    )
    assert tampered.status_code == 401
    assert bot.slack.calls == []


async def test_requests_just_outside_slacks_five_minutes_or_with_a_changed_body_are_refused(bot):
    form = {"command": "/interview", "text": "invite a@b.co", "user_id": "U1", "team_id": "T0001", "trigger_id": "t"}
    for seconds in (-301, 301):  # a replay just too old, and a timestamp from the future
        late = await bot.sender.post_form(form, timestamp=int(time.time()) + seconds)
        assert late.status_code == 401, seconds
    original = urlencode({**form, "text": "help"})
    changed = urlencode({**form, "text": "invite mallory@example.com"})
    response = await bot.sender.client.post(
        bot.sender.url,
        content=changed,
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(original)},
    )
    assert response.status_code == 401
    assert (await bot.sender.post_form(form, timestamp=int(time.time()) - 240)).status_code == 200
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.open"))
    assert len(bot.slack.calls_to("views.open")) == 1  # only the request inside the window


async def test_slacks_unsigned_ssl_check_is_answered_and_a_body_that_is_not_utf8_is_refused(bot):
    ssl_check = await bot.sender.client.post(
        bot.sender.url,
        content="ssl_check=1&token=legacy",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert ssl_check.status_code == 200
    posing = await bot.sender.client.post(
        bot.sender.url,
        content="ssl_check=0&command=%2Finterview&text=help",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": "abc"},
    )
    assert posing.status_code == 401
    latin1 = "payload=" + '{"type": "block_actions", "user": {"id": "Ü"}}'
    well_formed = sign(latin1)  # the right format, but not a signature of these bytes
    response = await bot.sender.client.post(
        bot.sender.url,
        content=latin1.encode("latin-1"),
        headers={"Content-Type": "application/x-www-form-urlencoded", **well_formed},
    )
    assert response.status_code == 401
    assert bot.slack.calls == []


@pytest.mark.parametrize(
    ("timestamp", "signature"), [("abc", "v0=zz"), ("1", "v0=é"), ("", "")], ids=["text", "non-ascii", "none"]
)
async def test_a_forged_click_posing_as_slacks_ssl_check_is_refused_and_answers_nobody(bot, timestamp, signature):
    # Bolt reads a form with a payload as that payload alone: ``ssl_check=1`` in front of a forged
    # click is not an ssl_check to it, and must not let the click skip the signature's format check.
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": "U2", "team_id": "T0001"},
        "channel": {"id": "C1"},
        "response_url": bot.slack.response_url("forged"),
        "actions": [{"action_id": "open_connect", "block_id": "b", "type": "button", "action_ts": "1"}],
    }
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    response = await bot.sender.client.post(
        bot.sender.url,
        content="ssl_check=1&" + urlencode({"payload": json.dumps(payload)}),
        headers={k: v.encode() for k, v in headers.items()},
    )
    assert response.status_code == 401
    await asyncio.sleep(0.3)  # what a listener would have started after the answer
    assert bot.slack.calls == [] and not bot.slack.responses.get("forged")


@pytest.mark.parametrize("payload", ["1", "[1]", "not json"])
async def test_an_unsigned_ssl_check_with_a_payload_that_is_no_object_is_refused_not_a_500(bot, payload):
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=é",
    }
    response = await bot.sender.client.post(
        bot.sender.url,
        content="ssl_check=1&" + urlencode({"payload": payload}),
        headers={k: v.encode() for k, v in headers.items()},
    )
    assert response.status_code == 401
    assert bot.slack.calls == []


async def test_a_forged_request_in_a_charset_python_does_not_know_is_refused_not_a_500(bot):
    body = urlencode({"command": "/interview", "text": "help", "user_id": "U1", "team_id": "T0001"})
    response = await bot.sender.client.post(
        bot.sender.url,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=no-such-charset", **sign(body + "x")},
    )
    assert response.status_code == 401
    assert bot.slack.calls == []


@pytest.mark.parametrize(
    "shape",
    [{"channel": 5}, {"enterprise": 5}, {"authorizations": 5}, {"response_urls": 5}, {"event": {"user": 5}}],
    ids=str,
)
async def test_a_payload_with_ids_of_the_wrong_type_is_refused_unsigned_and_a_400_signed(bot, shape, caplog):
    # Bolt reads the ids out of the body before it verifies it.
    body = urlencode({"payload": json.dumps(shape)})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    forged = await bot.sender.client.post(bot.sender.url, content=body, headers={**headers, **sign(body + "x")})
    assert forged.status_code == 401
    signed = await bot.sender.client.post(bot.sender.url, content=body, headers={**headers, **sign(body)})
    assert signed.status_code == 400
    assert bot.slack.calls == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("charset", ["raw_unicode_escape", "unicode_escape"])
async def test_a_forged_click_in_a_charset_that_decodes_to_no_utf8_is_refused_and_answers_nobody(bot, charset):
    # Decoded by this charset, "\\ud800" is a lone surrogate, which Bolt's verifier cannot encode.
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": "U2", "team_id": "T0001"},
        "channel": {"id": "C1"},
        "response_url": bot.slack.response_url("forged"),
        "actions": [{"action_id": "open_connect", "block_id": "b", "type": "button", "action_ts": "1"}],
    }
    body = urlencode({"payload": json.dumps(payload)}) + "&x=\\ud800"
    response = await bot.sender.client.post(
        bot.sender.url,
        content=body,
        headers={"Content-Type": f"application/x-www-form-urlencoded; charset={charset}", **sign(body + "x")},
    )
    assert response.status_code == 401
    await asyncio.sleep(0.3)  # what a listener would have started after the answer
    assert bot.slack.calls == [] and not bot.slack.responses.get("forged")


@pytest.mark.parametrize("twice", ["X-Slack-Request-Timestamp", "X-Slack-Signature"])
async def test_a_forged_click_with_a_signature_header_twice_is_refused_and_answers_nobody(bot, twice):
    # The first of each header is in Slack's format; Bolt reads the last one, which is not.
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": "U2", "team_id": "T0001"},
        "channel": {"id": "C1"},
        "response_url": bot.slack.response_url("forged"),
        "actions": [{"action_id": "open_connect", "block_id": "b", "type": "button", "action_ts": "1"}],
    }
    headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("X-Slack-Request-Timestamp", str(int(time.time()))),
        ("X-Slack-Signature", "v0=" + "0" * 64),
        (twice, "abc" if twice == "X-Slack-Request-Timestamp" else "v0=é"),
    ]
    response = await bot.sender.client.post(
        bot.sender.url,
        content=urlencode({"payload": json.dumps(payload)}),
        headers=[(name, value.encode()) for name, value in headers],
    )
    assert response.status_code == 401
    await asyncio.sleep(0.3)  # what a listener would have started after the answer
    assert bot.slack.calls == [] and not bot.slack.responses.get("forged")


async def test_healthz(bot):
    response = await bot.sender.client.get(bot.url + "/healthz")
    assert response.status_code == 200 and response.json()["ok"] is True


@pytest.mark.parametrize("gap", ["\t", "\n", "\u00a0", " \u2003 "], ids=["tab", "newline", "nbsp", "em-space"])
async def test_any_whitespace_after_the_subcommand_separates_it_from_its_arguments(bot, gap):
    response = await bot.sender.command(f"invite{gap}ann@example.com")
    assert response.status_code == 200 and "I don't know" not in response.text
    await bot.slack.wait_for(lambda: bot.slack.calls_to("views.open"))
    assert "ann@example.com" in bot.slack.calls_to("views.open")[-1].args["view"]["private_metadata"]
    looked_up = (await bot.sender.command(f"find{gap}ann@example.com")).json()
    assert looked_up["text"] == "Looking up ann@example.com…"


async def test_help_names_only_the_unknown_word_whatever_whitespace_follows_it(bot):
    unknown = (await bot.sender.command("frobnicate\u00a0now")).json()
    assert "I don't know `frobnicate`" in str(unknown["blocks"])
