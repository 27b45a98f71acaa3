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
        "job:\u2018Senior Barista\u2019",  # curly single quotes, as phones type them
        "job:'Senior Barista'",
        'job:"Senior\u00a0Barista",',  # a pasted non-breaking space, a list comma after it
    ],
)
def test_a_job_name_with_spaces_in_quotes(text):
    assert parse(f"sparkhire {text} rated").job == "Senior Barista"


def test_an_apostrophe_in_a_job_name_is_kept():
    assert parse("job:Director\u2019s").job == "Director\u2019s"
    assert parse("job:\u2018Director\u2019s Assistant\u2019 rated").job == "Director\u2019s Assistant"
    assert parse("job:O'Neil").job == "O'Neil"


@pytest.mark.parametrize(
    "text", ["job:Barista,", "job:Barista, rated", "job:\u2018Barista\u2019, rated", "job:Barista;"]
)
def test_a_list_comma_after_a_job_name_is_not_part_of_it(text):
    assert parse(text).job == "Barista"


def test_a_comma_inside_a_job_name_is_kept():
    assert parse('job:"Manager, Sales" rated').job == "Manager, Sales"
    assert parse("job:Manager,Sales").job == "Manager,Sales"


@pytest.mark.parametrize(
    "text", ["completed, rated", "completed,rated", "completed; rated,", "sparkhire\u00a0completed\trated"]
)
def test_events_may_be_listed_with_commas_or_any_whitespace(text):
    assert parse(text).events == ("completed", "rated")


def test_slack_formatted_email_in_exclude():
    assert parse("exclude:<mailto:qa@acme.io|qa@acme.io>").excludes == ("qa@acme.io",)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("job:Barista job:Chef", "One `job:` at a time"),
        ("job:", "`job:` needs a job name"),
        ("exclude:nobody", "`exclude:` takes an email or @domain"),
        ("sparkhire everything", "don't understand `everything`"),
        (
            "sparkhire job:Sr. Account Executive rated",
            "don't understand `Account Executive`. A job name with spaces goes in quotes: "
            '`job:"Sr. Account Executive"`',
        ),
        ('job:"Senior Barista rated', "is not closed"),
        ("sparkhire everything", 'a name with spaces in quotes: job:"Senior Barista"'),
        # Longer than the column that stores it (PostgreSQL refused it: "Something went wrong").
        ('job:"' + "x" * 201 + '"', "201 characters long; a job filter takes at most 200"),
        ("exclude:" + "a" * 250 + "@example.com", "at most 254 characters"),
    ],
)
def test_what_is_wrong_is_said(text, says):
    with pytest.raises(UserFacingError) as raised:
        parse(text)
    assert says in str(raised.value)


def test_a_job_name_as_long_as_its_column_is_taken():
    assert parse('job:"' + "x" * 200 + '"').job == "x" * 200


def test_shared_confirms_a_channel_shared_with_another_organisation():
    request = parse("sparkhire completed shared")
    assert request.shared and request.events == ("completed",)
    assert not parse("sparkhire").shared
