"""The subscribe/unsubscribe grammar, as a recruiter types it."""

import pytest

from bot.errors import UserFacingError
from bot.notify.grammar import DEFAULT_EVENTS, parse


def test_words_in_any_order_and_case():
    request = parse("COMPACT Rated sparkhire exclude:@Test.Example.com completed")
    assert request.vendors == ("sparkhire",)
    assert request.events == ("rated", "completed") and request.explicit_events
    assert request.compact and request.excludes == ("@test.example.com",)


def test_nothing_but_the_vendor_means_the_default_events():
    request = parse("wedgehr")
    assert request.vendors == ("wedgehr",) and request.events == DEFAULT_EVENTS and not request.explicit_events


@pytest.mark.parametrize(
    "text",
    [
        'job:"Senior Barista"',
        '"job:Senior Barista"',
        "job:\u201cSenior Barista\u201d",  # curly quotes, as macOS and phones type them
    ],
)
def test_a_job_name_with_spaces_in_quotes(text):
    assert parse(f"sparkhire {text} rated").job == "Senior Barista"


def test_an_apostrophe_in_a_job_name_is_kept():
    assert parse("job:Director\u2019s").job == "Director\u2019s"


def test_slack_formatted_email_in_exclude():
    assert parse("exclude:<mailto:qa@acme.io|qa@acme.io>").excludes == ("qa@acme.io",)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("job:Barista job:Chef", "One `job:` at a time"),
        ("job:", "`job:` needs a job name"),
        ("exclude:nobody", "`exclude:` takes an email or @domain"),
        ("sparkhire everything", "don't understand `everything`"),
    ],
)
def test_what_is_wrong_is_said(text, says):
    with pytest.raises(UserFacingError) as raised:
        parse(text)
    assert says in str(raised.value)
