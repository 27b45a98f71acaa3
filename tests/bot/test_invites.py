"""Bulk invites as the recruiter's report tells them: pure parts of bot/invites.py."""

from bot.candidates import mark_duplicates, parse_bulk
from bot.invites import BulkRun


def test_a_stopped_batch_reports_repeats_and_bad_rows_as_such_and_lists_only_unsent_rows_to_paste():
    rows = mark_duplicates(parse_bulk("ann@example.com\nbo@example.com\nANN@example.com\nnot-an-email\ncy@example.com"))
    batch = BulkRun(rows=rows)
    batch.in_flight = rows[1]  # bo was being sent when the bot stopped
    report = {r.email: r for r in batch.interrupted("the bot restarted")}
    assert report["bo@example.com"].retry_line is None and "may have gone through" in report["bo@example.com"].error
    assert report["ANN@example.com"].skipped and report["ANN@example.com"].retry_line is None
    assert report["not-an-email"].error == "not a valid email address" and report["not-an-email"].retry_line is None
    assert report["cy@example.com"].retry_line == "cy@example.com"
    assert report["ann@example.com"].retry_line == "ann@example.com"  # not reached either
