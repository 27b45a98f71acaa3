"""The log filter: what would let someone act as the app never reaches a log line."""

import logging

from bot.logs import REDACTED, RedactingFilter


def scrubbed(message: str, *args) -> str:
    record = logging.LogRecord("slack_sdk.webhook", logging.DEBUG, __file__, 1, message, args, None)
    RedactingFilter(["configured-secret-value"]).filter(record)
    return record.getMessage()


def test_response_urls_are_redacted_but_say_where_they_pointed():
    line = scrubbed(
        "Sending a request - url: %s, body: %s",
        "https://hooks.slack.com/actions/T0001/5529/AbCdEfGhIjKlMnOp",
        {"text": "hi"},
    )
    assert "AbCdEfGhIjKlMnOp" not in line and "5529" not in line
    assert f"https://hooks.slack.com/actions/{REDACTED}, body: {{'text': 'hi'}}" in line
    assert "T0001" not in scrubbed("url='https://hooks.slack.com/commands/T0001/1/x'")


def test_tokens_headers_and_configured_secrets_are_redacted():
    line = scrubbed(
        "token=xoxb-1-2-abc headers={'Authorization': 'Bearer xyz.123'} key configured-secret-value "
        "url https://user:pa55@example.com/x"
    )
    for secret in ("xoxb-1-2-abc", "xyz.123", "configured-secret-value", "pa55"):
        assert secret not in line


def test_slack_refresh_tokens_and_oauth_secrets_are_redacted():
    # slack-sdk logs token rotation's oauth.v2.access at DEBUG: the refresh tokens (xoxe-) it sends
    # and gets back, read from the database, are in no configured list.
    line = scrubbed(
        "Sending a request - url: https://slack.com/api/oauth.v2.access, data: {'grant_type': 'refresh_token', "
        "'refresh_token': 'xoxe-1-My0xLTE-refresh', 'client_id': '111.222', 'client_secret': 'c0ffee-secret'} "
        "body: {'ok': True, 'access_token': 'xoxe.xoxb-1-rotated', 'refresh_token': 'xoxe-1-next'} "
        "form refresh_token=opaque-refresh-value&client_secret=form-secret-value"
    )
    for secret in (
        "xoxe-1-My0xLTE-refresh",
        "c0ffee-secret",
        "xoxb-1-rotated",
        "xoxe-1-next",
        "opaque-refresh-value",
        "form-secret-value",
    ):
        assert secret not in line
    assert "'client_id': '111.222'" in line  # not a secret: kept for whoever reads the log


def test_a_lone_surrogate_from_a_delivery_is_written_escaped_not_lost(tmp_path):
    # A file (or any UTF-8 stream without backslashreplace) cannot take '\ud800': the handler
    # printed a "Logging error" traceback instead of the line.
    handler = logging.FileHandler(tmp_path / "bot.log", encoding="utf-8")
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test.surrogate")
    logger.addHandler(handler)
    try:
        logger.warning("Event %s cannot be stored", "sparkhire:a\ud800b")
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert (tmp_path / "bot.log").read_text(encoding="utf-8") == "Event sparkhire:a\\ud800b cannot be stored\n"
