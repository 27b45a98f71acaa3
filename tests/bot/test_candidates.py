"""Pasted candidates: one row per address, whatever separates them."""

import pytest

from bot.candidates import first_candidate, first_email, is_email, mark_duplicates, natural_name, parse_bulk


def entries(text):
    return [(r.name, r.email) for r in parse_bulk(text) if r.error is None]


@pytest.mark.parametrize(
    "line",
    [
        "ann@example.com, bo@example.com",
        "ann@example.com; bo@example.com",
        "ann@example.com bo@example.com",
        "ann@example.com\tbo@example.com",
    ],
)
def test_two_addresses_on_one_line_are_two_candidates(line):
    assert entries(line) == [(None, "ann@example.com"), (None, "bo@example.com")]


def test_named_candidates_on_one_line_keep_their_names():
    assert entries("Ann Lee <ann@example.com>, Bo <bo@example.com>; cy@example.com") == [
        ("Ann Lee", "ann@example.com"),
        ("Bo", "bo@example.com"),
        (None, "cy@example.com"),
    ]
    assert entries("Ann Lee, ann@example.com") == [("Ann Lee", "ann@example.com")]


def test_rows_are_numbered_as_the_results_list_them():
    rows = parse_bulk("ann@example.com, bo@example.com\n\nnot-an-email\ncy@example.com")
    assert [(r.row, r.email, r.error) for r in rows] == [
        (1, "ann@example.com", None),
        (2, "bo@example.com", None),
        (3, "not-an-email", "not a valid email address"),
        (4, "cy@example.com", None),
    ]


def test_a_repeated_address_in_any_case_points_at_its_first_row():
    rows = mark_duplicates(parse_bulk("ann@example.com\nbo@example.com\nANN@example.com"))
    assert [r.duplicate_of for r in rows] == [None, None, 1]


def test_an_address_used_as_a_display_name_is_not_a_second_candidate():
    assert entries('"ann@example.com" <ann@example.com>, bo@example.com') == [
        ("ann@example.com", "ann@example.com"),
        (None, "bo@example.com"),
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("find jöhn@example.com", "jöhn@example.com"),
        ("jo\u0308hn@example.com", "jöhn@example.com"),  # the same letter typed as o + combining diaeresis
        ("山田@例え.jp", "山田@例え.jp"),
        ("Write to <mailto:ann@example.com|ann@example.com>.", "ann@example.com"),
        ("Her address is 'ann@example.com'.", "ann@example.com"),
        ("o'brien@example.com", "o'brien@example.com"),
        ("ann@example.com@example.org", None),  # not one address: no piece of it either
        ("ann@exam_ple.com", None),
        ("連絡先はann@example.comです", "ann@example.com"),  # Japanese text has no spaces around it
        ("_Contact ann@example.com_", "ann@example.com"),  # Slack italics around a sentence
        ("ann@example.com's interview", "ann@example.com"),
        ("ann@example.com- the new one", "ann@example.com"),
    ],
)
def test_an_address_in_text_is_found_whole_or_not_at_all(text, found):
    assert first_email(text) == found
    if found:
        assert is_email(found)


def test_pasted_candidates_with_non_ascii_letters_keep_their_whole_address():
    assert entries("Jöhn <jöhn@example.com>, zoë@example.com") == [
        ("Jöhn", "jöhn@example.com"),
        (None, "zoë@example.com"),
    ]


@pytest.mark.parametrize(
    ("pasted", "found"),
    [
        ("Ann\tLee\tann@example.com", ("Ann Lee", "ann@example.com")),  # first and last name columns
        ("bo@example.com\tBo Diddley", ("Bo Diddley", "bo@example.com")),  # the address first
        ("Cy Young\tcy@example.com\tSales", ("Cy Young", "cy@example.com")),  # a column after it
        ("1. dee@example.com", (None, "dee@example.com")),  # a numbered list
        ("• Eve Arden <eve@example.com>", ("Eve Arden", "eve@example.com")),  # a bulleted list
        ("- fay@example.com", (None, "fay@example.com")),
        ("Gus Grissom gus@example.com", ("Gus Grissom", "gus@example.com")),  # a name, then the address
        ("Hal Roach - hal@example.com", ("Hal Roach", "hal@example.com")),
        ("Ida Lupino (ida@example.com)", ("Ida Lupino", "ida@example.com")),  # as Outlook lists people
        ("mailto:jo@example.com", (None, "jo@example.com")),
    ],
)
def test_spreadsheet_rows_and_list_items_are_one_candidate_each(pasted, found):
    assert entries(pasted) == [found]
    assert [r.error for r in parse_bulk(pasted)] == [None]


def test_pasted_text_with_brackets_is_read_as_written_or_refused_never_guessed():
    assert entries("Ann Lee (ann@example.com); Bob Roe (bob@example.com)") == [
        ("Ann Lee", "ann@example.com"),
        ("Bob Roe", "bob@example.com"),
    ]
    # Someone copied in parentheses is not a candidate: refused, not invited.
    rows = parse_bulk("Ann Lee <ann@example.com> (cc bob@example.com)")
    assert [(r.email, r.error) for r in rows] == [
        ("ann@example.com", None),
        ("(cc bob@example.com)", "not a valid email address"),
    ]
    assert [r.error is not None for r in parse_bulk("Ann Lee <ann@example.com>\tEngineering")] == [True]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Ann Lee <ann@example.com>", ("Ann Lee", "ann@example.com")),
        ("New applicant: Ann Lee <ann@example.com>, thanks", ("Ann Lee", "ann@example.com")),
        # Slack's link for an address typed bare: its brackets are the link's, the words no name.
        ("Please invite <mailto:zed@example.com|zed@example.com>", (None, "zed@example.com")),
        ("New applicant: Ann Lee <mailto:ann@example.com|ann@example.com>, thanks", (None, "ann@example.com")),
        ("<mailto:ann@example.com|Ann Lee>", ("Ann Lee", "ann@example.com")),  # Slack's link, labelled with the name
        ("Ann Lee (ann@example.com)", ("Ann Lee", "ann@example.com")),
        ("*Ann Lee* <ann@example.com>", ("Ann Lee", "ann@example.com")),
        ("ann@example.com", (None, "ann@example.com")),
        ("Please invite ann@example.com today", (None, "ann@example.com")),  # words in a sentence, not a name
        ("<mailto:ann@example.com|ann@example.com>", (None, "ann@example.com")),
        ("no address here", (None, None)),
    ],
)
def test_the_first_candidate_in_text_has_a_name_only_when_written_with_the_address(text, found):
    assert first_candidate(text) == found
    assert first_candidate(text)[1] == first_email(text)


@pytest.mark.parametrize(
    "pasted",
    [
        "Last name,First name,Email\nLee,Ann,ann@example.com\nDoe,Bo,bo@example.com",
        "First Name\tLast Name\tE-mail address\tPhone\nAnn\tLee\tann@example.com\t555-0100\nBo\tDoe\tbo@example.com\t",
        "Candidate email;Surname;Given name\nann@example.com;Lee;Ann\nbo@example.com;Doe;Bo",
        "\nName | Email | Referred by\nAnn Lee | ann@example.com | cy@example.com\nBo Doe | bo@example.com |",
    ],
)
def test_a_spreadsheets_header_row_is_not_a_candidate_and_names_come_out_first_last(pasted):
    rows = parse_bulk(pasted)
    assert [(r.row, r.name, r.email, r.error) for r in rows] == [
        (1, "Ann Lee", "ann@example.com", None),
        (2, "Bo Doe", "bo@example.com", None),
    ]


def test_rows_under_a_header_that_do_not_fit_it_are_read_as_without_one():
    rows = parse_bulk("Email\nann@example.com\nBo Doe <bo@example.com>\nsomeone")
    assert [(r.name, r.email, r.error) for r in rows] == [
        (None, "ann@example.com", None),
        ("Bo Doe", "bo@example.com", None),
        (None, "someone", "not a valid email address"),
    ]
    # A first line that names no email column is not a header: it is refused as a row.
    assert [r.error for r in parse_bulk("Candidates for Friday\nann@example.com")] == [
        "not a valid email address",
        None,
    ]


def test_a_name_written_last_name_first_reads_first_name_first():
    assert natural_name("Lee, Ann") == "Ann Lee"
    assert natural_name("van der Berg, Ann Marie") == "Ann Marie van der Berg"
    for as_written in ("Ann Lee", "Ann Lee, Jr.", "Ann Lee, PhD", "Lee,", ", Ann", "A, B, C", None):
        assert natural_name(as_written) == as_written
