"""Property tests of every public function in ``blocks/``: for hostile and huge inputs, what Slack gets
is valid Block Kit within its limits, text from people or vendors cannot ping or link, and a message's
fallback text is there and says what the message is about.

``test_every_public_builder_has_a_property_test`` is the registry: a public function added to a
``blocks/`` module fails it until a test here covers it (``@covers``).
"""

from __future__ import annotations

import html
import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import fields, is_dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocks import cards, connect, errors, forms, help, home, invite, resend, share, subscriptions
from blocks.common import escape, options
from blocks.ids import LOOKUP_FAILED, Action, Block
from blocks.models import (
    VENDOR_LABELS,
    AuditEntryView,
    CandidateView,
    ConnectionStatusView,
    InviteResult,
    ManualWebhookView,
    Message,
    Option,
    ReviewerLinkView,
    SubscriptionView,
)
from bot.notify import grammar
from bot.notify.grammar import VENDOR_EVENTS
from tests.support.blockkit import assert_valid_blocks, assert_valid_view

BUILDER_MODULES = (cards, connect, errors, forms, help, home, invite, resend, share, subscriptions)

PROPERTIES = settings(
    derandomize=True,
    database=None,
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

# ---------------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------------

COVERED: set[Callable[..., Any]] = set()


def covers(*functions: Callable[..., Any]):
    """Marks the test that checks the properties of ``functions``."""
    COVERED.update(functions)
    return lambda test: test


def public_functions() -> set[Callable[..., Any]]:
    return {
        f
        for module in BUILDER_MODULES
        for name, f in vars(module).items()
        if inspect.isfunction(f) and f.__module__ == module.__name__ and not name.startswith("_")
    }


def test_every_public_builder_has_a_property_test():
    missing = sorted(f"{f.__module__}.{f.__name__}" for f in public_functions() - COVERED)
    assert not missing, f"public functions of blocks/ without a property test here: {missing}"
    assert len(public_functions()) >= 70  # the walk itself found the modules' functions


# ---------------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------------

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0123>",
    "<@U123>",
    "<#C123>",
    "<https://evil.example|click>",
    "<mailto:x@evil.example|boss>",
    "<!date^1700000000^{date}|x>",
    "*bold*",
    "_it_",
    "~s~",
    "`code`",
    "```",
    "&<>",
    "&amp;",
    "&lt;!channel&gt;",
    ">quote",
    "|",
    ":",
    ",",
    "\n",
    "\u202eevil\u202c",
    "שלום",
    "مرحبا",
    "e\u0301\u0308\u0323",
    "👩\u200d👩\u200d👧\u200d👦",
    "🎉",
    " ",
    "Ann Lee",
    "ann@example.com",
    "Ünïcødé",
]
fragment = st.sampled_from(HOSTILE) | st.text(max_size=12)
short_text = st.lists(fragment, max_size=8).map("".join)
long_text = st.builds(lambda f, n: ((f or "x") * n)[:3000], fragment, st.integers(100, 3000))
#: People's and vendors' text: hostile markup, scripts, emoji, empty, and very long.
text = st.one_of(short_text, short_text, short_text, long_text)
nonempty = text.filter(lambda t: t.strip())

emails = st.one_of(
    st.sampled_from(["ann@example.com", "a|b&c@x.example", "<!channel>@x.example", "o'neil+tag@x.example"]),
    st.builds(lambda a, b: f"{a}@{b}.example", short_text, short_text).map(lambda e: e[:320]),
)
URLS = [
    "https://www.sparkhire.com/interview/u/watch",
    "https://evil.example|click",
    "https://x.example/?a=1&b=<!channel>|x>y",
    "https://x.example/" + "a" * 3500,
    "https://x.example/😀/שלום",
]
#: An ``exclude:`` word of a subscribe command (whose text Slack bounds: a few thousand characters).
exclude_words = st.sampled_from(
    ["@test.example", "ann@example.com", "<!channel>@x.example", "a&b@x.example", "@שלום.example", "*@x*"]
) | short_text.map(lambda t: t[:40])
#: What a handler says besides (a vendor's error, a hint): a sentence or a paragraph.
note_text = text.map(lambda t: t[:500])
urls = st.sampled_from(URLS) | st.builds(lambda t: "https://x.example/" + t, short_text)
channel_ids = st.from_regex(r"\AC[0-9A-Z]{8,10}\Z")
user_ids = st.from_regex(r"\AU[0-9A-Z]{8,10}\Z")
vendors = st.sampled_from(["wedgehr", "sparkhire"])
aware = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
metadata = st.one_of(st.just(""), st.just("{}"), text)
STATUSES = ["completed", "complete", "invited", "requested", "accepted", "expired", "canceled", "send_failure"]


def opt(strategy):
    return st.none() | strategy


def many(strategy, most: int, least: int = 0):
    """Up to ``most`` items (hundreds) without generating each: a few drawn, repeated."""
    return st.tuples(st.lists(strategy, min_size=1, max_size=4), st.integers(least, most)).map(
        lambda t: (t[0] * (t[1] // len(t[0]) + 1))[: t[1]]
    )


candidates = st.builds(
    CandidateView,
    vendor=vendors,
    name=text,
    email=opt(emails),
    interview_name=opt(text),
    status=opt(st.sampled_from(STATUSES) | text),
    rating=opt(st.floats(-1, 7, allow_nan=False)),
    deadline=opt(aware),
    completed_at=opt(aware),
    watch_url=opt(urls),
    result_url=opt(urls),
    invite_url=opt(urls),
    wedge_id=opt(st.integers(1, 2**63 - 1)),
    interview_uuid=opt(st.uuids().map(str) | text),
)
wedges = st.builds(
    lambda c, wid: CandidateView(**{**vars(c), "vendor": "wedgehr", "wedge_id": wid}),
    candidates,
    st.integers(1, 2**63 - 1),
)
events = st.sampled_from(sorted(cards.EVENT_LABELS))


@st.composite
def subscription_views(draw, channel_id: str | None = None, vendor: str | None = None, paused: bool | None = None):
    vendor = vendor or draw(vendors)
    return SubscriptionView(
        id=draw(st.integers(1, 10**18 - 1)),
        channel_id=channel_id or draw(channel_ids),
        vendor=vendor,
        events=tuple(draw(st.lists(st.sampled_from(VENDOR_EVENTS[vendor]), min_size=1, max_size=9, unique=True))),
        job_filter=draw(opt(text)),
        excludes=tuple(draw(many(exclude_words, 100))),
        compact=draw(st.booleans()),
        paused=draw(st.booleans()) if paused is None else paused,
        paused_reason=draw(opt(text)),
        account=draw(opt(text)),
        account_owner=draw(opt(user_ids)),
    )


statuses = st.builds(
    ConnectionStatusView,
    vendor=vendors,
    workspace_label=opt(text),
    own_label=opt(text),
    workspace_environment=opt(st.sampled_from(["production", "staging"]) | text),
    workspace_id=opt(st.from_regex(r"\A[0-9a-f]{32}\Z")),
    workspace_setting=opt(st.sampled_from(["WEDGEHR_TOKEN", "SPARKHIRE_API_KEY"])),
    own_id=opt(st.from_regex(r"\A[0-9a-f]{32}\Z")),
)
statuses_per_vendor = st.lists(statuses, max_size=2, unique_by=lambda s: s.vendor)


@st.composite
def invite_results(draw):
    outcome = draw(st.sampled_from(["ok", "skipped", "failed"]))
    return InviteResult(
        row=draw(st.integers(0, 5000)),
        email=draw(emails | text),
        ok=outcome == "ok",
        link=draw(opt(urls)) if outcome == "ok" else None,
        error=draw(opt(text)) if outcome != "ok" else None,
        skipped=outcome == "skipped",
        key_rejected=outcome == "failed" and draw(st.booleans()),
        retry_line=draw(opt(text)) if outcome == "failed" else None,
    )


reviewer_links = st.builds(
    ReviewerLinkView, uuid=st.uuids().map(str), email=emails | text, url=urls, active=st.booleans()
)
hooks = st.builds(
    ManualWebhookView,
    connection_id=st.from_regex(r"\A[0-9a-f]{32}\Z"),
    path=st.from_regex(r"\A/webhooks/sparkhire/[0-9a-f]{16}\Z"),
    owner=opt(user_ids),
)
audit_entries = st.builds(
    AuditEntryView,
    action=st.sampled_from(sorted(home.ACTION_LABELS)),
    vendor=st.sampled_from(["wedgehr", "sparkhire", None]),
    target=opt(text),
    at=aware,
)

# ---------------------------------------------------------------------------------------------------
# The properties
# ---------------------------------------------------------------------------------------------------

#: Every <...> control sequence of mrkdwn (what Slack turns into a mention, a link or a date).
MARKUP = re.compile(r"<([^<>]*)>")
#: Slack's most characters of a message's fallback text (it truncates the rest, changelog 2018-04).
FALLBACK_TEXT = 40_000


class Trusted:
    """What a builder may turn into a mention or link: the ids and URLs it was given as such."""

    def __init__(self, *given: Any, ids: Iterable[str] = ()):
        self.ids: set[str] = set(ids)
        self.urls: set[str] = set()
        for value in given:
            self._collect(value)

    def _collect(self, value: Any) -> None:
        if isinstance(value, list | tuple | set):
            for v in value:
                self._collect(v)
        elif is_dataclass(value):
            for f in fields(value):
                v = getattr(value, f.name)
                if not isinstance(v, str) or not v:
                    self._collect(v)
                elif f.name in {"channel_id", "account_owner", "owner"}:
                    self.ids.add(v)
                elif f.name.endswith("url") or f.name == "link":
                    self.urls.add(unquote(v))
                elif f.name == "email":
                    self.urls.add("mailto:" + v)

    def check(self, mrkdwn: str, where: str) -> None:
        for sequence in MARKUP.findall(mrkdwn):
            target = sequence.split("|", 1)[0]
            if target.startswith(("#", "@")):
                assert target[1:] in self.ids, f"{where}: mention <{sequence}> of an id it was not given"
            elif target.startswith("!"):
                assert re.fullmatch(r"!date\^\d+\^\{date_short_pretty\} at \{time\}", target), (
                    f"{where}: special mention <{sequence}>"
                )
            else:
                url = unquote(target.replace("&amp;", "&"))
                assert url in self.urls, f"{where}: link <{sequence}> to a URL it was not given"


def _texts(value: Any, path: str = "") -> Iterable[tuple[str, dict[str, Any]]]:
    """Every text object, with where it is."""
    if isinstance(value, list):
        for i, v in enumerate(value):
            yield from _texts(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        if value.get("type") in {"plain_text", "mrkdwn"} and isinstance(value.get("text"), str):
            yield path, value
        else:
            for k, v in value.items():
                yield from _texts(v, f"{path}.{k}")


def _ids(value: Any, key: str) -> Iterable[str]:
    if isinstance(value, list):
        for v in value:
            yield from _ids(v, key)
    elif isinstance(value, dict):
        if isinstance(value.get(key), str):
            yield value[key]
        for v in value.values():
            yield from _ids(v, key)


def check_blocks(blocks: list[dict[str, Any]], trusted: Trusted) -> None:
    """What every message, modal and Home tab must hold, beyond what slack-sdk checks."""
    for where, obj in _texts(blocks):
        assert obj["text"], f"empty text object at {where}"
        if obj["type"] == "mrkdwn":
            trusted.check(obj["text"], where)
    for block in blocks:
        assert len(block.get("block_id", "")) <= 255
        action_ids = list(_ids(block.get("elements", []), "action_id")) + list(
            _ids([block[k] for k in ("accessory", "element") if k in block], "action_id")
        )
        assert all(len(a) <= 255 for a in action_ids)
        if block["type"] == "actions":
            assert len(action_ids) == len(set(action_ids)), f"duplicate action_id in {block}"
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
    for element in _elements(blocks):
        if element.get("type") == "button":
            assert len(element["text"]["text"]) <= 75
            assert len(element.get("value", "")) <= 2000
            assert len(element.get("url", "")) <= 3000


def _elements(value: Any) -> Iterable[dict[str, Any]]:
    if isinstance(value, list):
        for v in value:
            yield from _elements(v)
    elif isinstance(value, dict):
        if "action_id" in value:
            yield value
        for v in value.values():
            yield from _elements(v)


def about(fallback: str, needle: str | None) -> bool:
    """Whether ``fallback`` (as Slack gets it) names ``needle``, its start at least (on one line: a
    name's line breaks are spaces there)."""
    starts = [escape(text[:20]).strip()[:15] for text in ((needle or "").strip(), " ".join((needle or "").split()))]
    return any(not start or start in fallback for start in starts)


def check_message(message: Message, trusted: Trusted, *, about_: Iterable[str | None] = ()) -> None:
    assert isinstance(message, Message)
    sent = message.as_kwargs()
    assert_valid_blocks(sent["blocks"])
    check_blocks(sent["blocks"], trusted)
    fallback = sent["text"]
    assert fallback.strip(), "empty fallback text"
    assert len(fallback) <= FALLBACK_TEXT
    trusted.check(fallback, "text")
    for needle in about_:
        assert about(fallback, needle), f"the fallback text {fallback[:200]!r} does not name {needle[:40]!r}"


def check_view(view: dict[str, Any], trusted: Trusted) -> None:
    assert_valid_view(view)
    check_blocks(view["blocks"], trusted)
    assert len(view.get("private_metadata", "")) <= 3000
    assert len(view.get("callback_id", "")) <= 255
    block_ids = [b["block_id"] for b in view["blocks"] if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))


def check_line(line: str, trusted: Trusted, *, most: int = 3000) -> None:
    """A line builders put in mrkdwn."""
    assert line.strip()
    assert len(line) <= most
    trusted.check(line, "line")


def in_actions(*elements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "actions", "elements": list(elements)}]


# ---------------------------------------------------------------------------------------------------
# cards
# ---------------------------------------------------------------------------------------------------


@covers(cards.candidate_fields, cards.candidate_actions, cards.candidate_blocks)
@PROPERTIES
@given(candidates)
def test_candidate_parts(c):
    trusted = Trusted(c)
    check_line(cards.candidate_fields(c), trusted, most=10**6)  # a section around it truncates it
    row = cards.candidate_actions(c)
    if row is not None:
        assert_valid_blocks([row])
        check_blocks([row], trusted)
    blocks = cards.candidate_blocks(c)
    assert_valid_blocks(blocks)
    check_blocks(blocks, trusted)


@covers(cards.find_results)
@PROPERTIES
@given(
    query=emails,  # what find searches by
    found=many(candidates, 300),
    notes=st.lists(note_text, max_size=5),
    searched=st.lists(vendors, max_size=2, unique=True),
    unsearched=st.lists(vendors, max_size=2, unique=True),
    reconnect=st.booleans(),
    connect_vendor=opt(vendors),
)
def test_find_results(query, found, notes, searched, unsearched, reconnect, connect_vendor):
    message = cards.find_results(
        query,
        found,
        notes=notes,
        searched=searched,
        unsearched=unsearched,
        reconnect=reconnect,
        connect_vendor=connect_vendor,
    )
    check_message(message, Trusted(found), about_=[query])
    # Every match is shown or counted.
    cards_shown = sum(b["type"] == "divider" for b in message.blocks)
    assert cards_shown + counted(message, r"…and (\d+) more not shown") == len(found)
    assert cards_shown or not found


def counted(message: Message, pattern: str) -> int:
    """The number a "…and N more" line of ``message`` says, or 0."""
    found = [int(m) for _, t in _texts(message.blocks) for m in re.findall(pattern, t["text"])]
    assert len(found) <= 1
    return found[0] if found else 0


@covers(cards.notification_card, cards.compact_line, cards.thread_reply)
@PROPERTIES
@given(c=candidates, event=events, rating=opt(st.floats(0, 5)), rated_by=opt(text))
def test_candidate_events(c, event, rating, rated_by):
    trusted = Trusted(c)
    check_message(cards.notification_card(c, event=event), trusted, about_=[c.name])
    check_message(cards.compact_line(c, event=event, rating=rating, rated_by=rated_by), trusted, about_=[c.name])
    check_message(cards.thread_reply(c, event=event, rating=rating, rated_by=rated_by), trusted, about_=[c.name])


@covers(cards.job_event_message)
@PROPERTIES
@given(title=text, event=st.sampled_from(["JobCreated", "JobUpdated", "JobDeleted", "Other"]))
def test_job_event_message(title, event):
    check_message(cards.job_event_message(title=title, event=event), Trusted(), about_=[title])


# ---------------------------------------------------------------------------------------------------
# connect
# ---------------------------------------------------------------------------------------------------


@covers(connect.connect_modal)
@PROPERTIES
@given(
    is_admin=st.booleans(),
    statuses=statuses_per_vendor,
    env=st.sampled_from(["production", "staging"]),
    private_metadata=metadata,
    notices=st.lists(text, max_size=3),
)
def test_connect_modal(is_admin, statuses, env, private_metadata, notices):
    view = connect.connect_modal(
        is_admin=is_admin, statuses=statuses, wedgehr_env=env, private_metadata=private_metadata, notices=notices
    )
    check_view(view, Trusted())


@covers(connect.disconnect_value, connect.parse_disconnect_value, connect.label_digest)
@PROPERTIES
@given(is_admin=st.booleans(), statuses=statuses_per_vendor)
def test_disconnect_buttons_name_the_connection_and_the_account_their_confirmation_names(is_admin, statuses):
    view = connect.connect_modal(is_admin=is_admin, statuses=statuses)
    buttons = [b["accessory"] for b in view["blocks"] if b.get("accessory", {}).get("action_id") == Action.DISCONNECT]
    shown = [(s.workspace_id, s.workspace_label) for s in statuses if is_admin and s.workspace_id]
    shown += [(s.own_id, s.own_label) for s in statuses if s.vendor == "sparkhire" and s.own_id]
    assert sorted(connect.parse_disconnect_value(b["value"]) for b in buttons) == sorted(
        (i, connect.label_digest(label)) for i, label in shown
    )
    assert connect.parse_disconnect_value("0123abcd") == ("0123abcd", None)  # a button from before
    for i, label in shown:
        other = connect.label_digest(f"{label} (another)")
        assert connect.parse_disconnect_value(connect.disconnect_value(i, label))[1] != other


@covers(connect.connected_message, connect.connected_view)
@PROPERTIES
@given(connected=st.lists(st.tuples(vendors, text), max_size=2), notes=st.lists(text, max_size=3))
def test_connected(connected, notes):
    message = connect.connected_message(connected, notes=notes)
    check_message(message, Trusted(), about_=[VENDOR_LABELS[v] for v, _ in connected])
    check_view(connect.connected_view(connected, notes=notes), Trusted())


@covers(connect.disconnected_pause_notice)
@PROPERTIES
@given(
    paused=st.lists(subscription_views(), min_size=1, max_size=60),
    vendor=vendors,
    by_user=user_ids,
    reason=text,
    with_commands=st.booleans(),
)
def test_disconnected_pause_notice(paused, vendor, by_user, reason, with_commands):
    channels = [s.channel_id for s in paused]
    # The commands that resume them, at their longest (many excludes) as well.
    commands = [subscriptions.subscribe_command(s, shared=False) for s in paused] if with_commands else []
    message = connect.disconnected_pause_notice(channels, vendor, by_user=by_user, reason=reason, commands=commands)
    check_message(message, Trusted(paused, ids=[by_user]), about_=[VENDOR_LABELS[vendor], channels[0]])
    if with_commands:
        assert commands[0] in message.text  # the first is always shown whole


# ---------------------------------------------------------------------------------------------------
# errors and help
# ---------------------------------------------------------------------------------------------------


@covers(
    errors.reconnect_actions,
    errors.error_message,
    errors.nothing_connected_message,
    errors.busy_retrying_message,
    errors.notice,
    errors.error_view,
    errors.outsider_text,
    errors.outsider_message,
    errors.outsider_view,
)
@PROPERTIES
@given(
    words=nonempty,
    reconnect=st.booleans(),
    vendor=opt(vendors),
    seconds=st.floats(0, 10**6),
    host=nonempty,
)
def test_errors(words, reconnect, vendor, seconds, host):
    trusted = Trusted()
    row = errors.reconnect_actions(vendor)
    assert_valid_blocks([row])
    check_blocks([row], trusted)
    check_message(errors.error_message(words, reconnect=reconnect, connect_vendor=vendor), trusted, about_=[words])
    check_message(errors.nothing_connected_message(words), trusted, about_=[words])
    check_message(errors.busy_retrying_message(words, seconds), trusted, about_=[words])
    check_message(errors.notice(words), trusted, about_=[words])
    check_view(errors.error_view(words), trusted)
    assert host in errors.outsider_text(host)
    check_message(errors.outsider_message(host), trusted, about_=[host])
    check_view(errors.outsider_view(host), trusted)


@covers(help.help_message)
@PROPERTIES
@given(unknown=opt(text))
def test_help_message(unknown):
    check_message(help.help_message(unknown=unknown), Trusted(), about_=["Interview Bot"])


# ---------------------------------------------------------------------------------------------------
# forms
# ---------------------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FORMS = {
    "wedgehr": lambda: invite.wedgehr_invite_modal(private_metadata="{}"),
    "sparkhire": lambda: invite.sparkhire_invite_modal(deadline=NOW, private_metadata="{}"),
    "connect": lambda: connect.connect_modal(is_admin=True, statuses=[]),
    "share": lambda: share.advanced_share_modal(
        interviews=[Option(value="u1", label="Ann"), Option(value="u2", label="Bo")], selected=[], private_metadata=""
    ),
}


@st.composite
def submitted(draw):
    """A form of ours as Slack sends it back: what the user typed or picked in each input."""
    view = FORMS[draw(st.sampled_from(sorted(FORMS)))]()
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind, state = element["type"], {"type": element["type"]}
        listed = element.get("options") or []
        if kind in {"plain_text_input", "email_text_input"}:
            state["value"] = draw(opt(text.map(lambda t, e=element: t[: e.get("max_length", 3000)])))
        elif kind in {"static_select", "radio_buttons"}:
            state["selected_option"] = draw(opt(st.sampled_from(listed)))
        elif kind in {"checkboxes", "multi_static_select"}:
            state["selected_options"] = draw(st.lists(st.sampled_from(listed), unique_by=lambda o: o["value"]))
        elif kind == "external_select":
            state["selected_option"] = draw(
                opt(
                    st.builds(
                        lambda t, v: {"text": {"type": "plain_text", "text": t[:75] or "x"}, "value": v[:150]},
                        text,
                        text,
                    )
                )
            )
        elif kind == "datetimepicker":
            state["selected_date_time"] = draw(st.integers(0, 2**31))
        elif kind == "multi_users_select":
            state["selected_users"] = draw(st.lists(user_ids, max_size=5))
        values[block["block_id"]] = {element["action_id"]: state}
    inputs = [b["block_id"] for b in view["blocks"] if b.get("type") == "input"]
    return {**view, "id": "V1", "hash": "h", "state": {"values": values}}, inputs


@covers(forms.refilled_form)
@PROPERTIES
@given(
    form=submitted(),
    heading=text,
    problems=st.lists(text, max_size=20),
    field_problems=st.data(),
)
def test_refilled_form(form, heading, problems, field_problems):
    view, inputs = form
    by_field = field_problems.draw(st.dictionaries(st.sampled_from(inputs), text, max_size=5))
    blank = field_problems.draw(st.lists(st.sampled_from(inputs), max_size=3))
    again = forms.refilled_form(view, heading=heading, problems=problems, field_problems=by_field, blank=blank)
    check_view(again, Trusted())
    assert again["blocks"][0]["block_id"] == Block.FORM_PROBLEMS
    # Shown again once more: still one warning, still valid.
    twice = forms.refilled_form({**again, "state": view["state"]}, heading=heading, problems=problems)
    check_view(twice, Trusted())
    assert [b.get("block_id") for b in twice["blocks"]].count(Block.FORM_PROBLEMS) == 1
    for block in again["blocks"]:
        if block.get("block_id") in blank:
            element = block["element"]
            assert not {"initial_value", "initial_option", "initial_options"} & set(element)


@covers(forms.refilled_element)
@PROPERTIES
@given(
    listed=st.lists(
        st.builds(Option, value=text.map(lambda t: t[:150] or "v"), label=text),
        min_size=1,
        max_size=100,
        unique_by=lambda o: o.value[:150],
    ),
    data=st.data(),
)
def test_refilled_element(listed, data):
    element = {"type": "static_select", "action_id": Action.INPUT, "options": options(listed)}
    picked = data.draw(
        opt(
            st.sampled_from(element["options"])
            | st.builds(lambda v: {"text": {"type": "plain_text", "text": "x"}, "value": v}, text)
        )
    )
    refilled = forms.refilled_element(element, {"selected_option": picked} if picked else {})
    # An initial option Slack takes is one of the element's own.
    if "initial_option" in refilled:
        assert refilled["initial_option"] in element["options"]
    blocks = [{"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "L"}, "element": refilled}]
    assert_valid_blocks(blocks)


# ---------------------------------------------------------------------------------------------------
# home
# ---------------------------------------------------------------------------------------------------


@st.composite
def home_inputs(draw):
    subs = draw(many(subscription_views(), 300))
    paused = [s for s in subs if s.paused]
    groups = None
    if paused and draw(st.booleans()):
        by_channel: dict[str, list[SubscriptionView]] = {}
        for s in paused:
            by_channel.setdefault(s.channel_id, []).append(s)
        groups = list(by_channel.values())
    return subs, groups


@covers(home.home_view)
@PROPERTIES
@given(
    statuses=statuses_per_vendor,
    recent=many(audit_entries, 200),
    subs=home_inputs(),
    others_hidden=st.integers(0, 10_000),
    notice=opt(text.map(escape)),
)
def test_home_view(statuses, recent, subs, others_hidden, notice):
    subscriptions_, groups = subs
    view = home.home_view(
        statuses=statuses,
        recent=recent,
        subscriptions=subscriptions_,
        others_hidden=others_hidden,
        paused_groups=groups,
        notice=notice,
    )
    assert view["type"] == "home"
    check_view(view, Trusted(subscriptions_))


# ---------------------------------------------------------------------------------------------------
# invite
# ---------------------------------------------------------------------------------------------------


@covers(invite.vendor_choice_modal, invite.wedgehr_invite_modal, invite.sparkhire_invite_modal, invite.working_view)
@PROPERTIES
@given(
    private_metadata=metadata,
    email=opt(emails),
    first=opt(text),
    last=opt(text),
    name=opt(text),
    deadline=aware,
    words=text,
)
def test_invite_forms(private_metadata, email, first, last, name, deadline, words):
    trusted = Trusted()
    check_view(invite.vendor_choice_modal(private_metadata=private_metadata), trusted)
    check_view(invite.wedgehr_invite_modal(email=email, name=(first, last), private_metadata=private_metadata), trusted)
    check_view(
        invite.sparkhire_invite_modal(email=email, name=name, deadline=deadline, private_metadata=private_metadata),
        trusted,
    )
    check_view(invite.working_view(words), trusted)


@covers(invite.lookup_failed_option, invite.lookup_failed_cause, invite.lookup_failed_error, invite.refused_heading)
@PROPERTIES
@given(vendor=vendors, cause=st.sampled_from(sorted(invite.LOOKUP_FAILURES)) | text, value=opt(text))
def test_lookup_failures(vendor, cause, value):
    item = invite.lookup_failed_option(vendor, cause)
    select = {"type": "static_select", "action_id": Action.INPUT, "options": [item]}
    assert_valid_blocks(in_actions(select))
    known = cause if cause in invite.LOOKUP_FAILURES else "error"
    # The option's value says why (within Slack's 150 characters), and is never taken for a pick.
    assert invite.lookup_failed_cause(item["value"]) == known or len(f"{LOOKUP_FAILED}:{cause}") > 150
    assert invite.lookup_failed_cause(item["value"]) is not None
    assert VENDOR_LABELS[vendor] in invite.lookup_failed_error(vendor, cause)
    if value is not None and not value.startswith(LOOKUP_FAILED + ":"):
        assert invite.lookup_failed_cause(value) is None
    check_line(invite.refused_heading(vendor), Trusted())


@covers(invite.progress_view)
@PROPERTIES
@given(total=st.integers(0, 10_000), data=st.data(), vendor=vendors, waiting=opt(st.floats(0, 10**5)))
def test_progress_view(total, data, vendor, waiting):
    done = data.draw(st.integers(0, total))
    check_view(invite.progress_view(done=done, total=total, vendor=vendor, waiting_seconds=waiting), Trusted())


@covers(invite.results_summary, invite.results_view, invite.results_message)
@PROPERTIES
@given(results=many(invite_results(), 500, least=1), vendor=vendors, emailed=st.booleans())
def test_results(results, vendor, emailed):
    trusted = Trusted(results)
    summary = invite.results_summary(results, vendor=vendor, emailed=emailed)
    check_line(summary, trusted)
    assert f"{sum(r.ok for r in results)} {'sent' if emailed else 'created'}" in summary
    check_view(invite.results_view(results, vendor=vendor, emailed=emailed), trusted)
    message = invite.results_message(results, vendor=vendor, emailed=emailed)
    check_message(message, trusted, about_=[VENDOR_LABELS[vendor]])


@covers(invite.invite_confirmation)
@PROPERTIES
@given(c=candidates.filter(lambda c: c.email or c.name), emailed=st.booleans())
def test_invite_confirmation(c, emailed):
    # An invite is sent to an address or a name (the Open candidate button searches by it).
    message = invite.invite_confirmation(c, emailed=emailed)
    check_message(message, Trusted(c), about_=[c.email or c.name])


# ---------------------------------------------------------------------------------------------------
# resend
# ---------------------------------------------------------------------------------------------------


@covers(resend.resend_confirm, resend.resend_button)
@PROPERTIES
@given(w=wedges, label=nonempty, style=st.sampled_from([None, "primary", "danger"]))
def test_resend_button(w, label, style):
    dialog = resend.resend_confirm(w)
    trusted = Trusted(w)
    trusted.check(dialog["text"]["text"], "confirm")
    button = resend.resend_button(w, label=label, style=style)
    assert button["value"] == str(w.wedge_id) and button["confirm"] == dialog
    assert_valid_blocks(in_actions(button))
    check_blocks(in_actions(button), trusted)


@covers(resend.resend_choices)
@PROPERTIES
@given(query=emails | st.integers(1, 2**63).map(str), found=many(wedges, 300, least=1))
def test_resend_choices(query, found):
    message = resend.resend_choices(query, found)
    check_message(message, Trusted(found), about_=[found[0].email] if len(found) == 1 else [query])
    if len(found) > 1:  # every match is offered or counted
        choices = sum(b["type"] == "section" for b in message.blocks) - 1
        assert choices >= 1
        assert choices + counted(message, r"…and (\d+) older ones not shown") == len(found)


@covers(resend.resent, resend.recently_resent)
@PROPERTIES
@given(
    w=wedges,
    email=emails | text,
    by_user=st.just("") | user_ids,
    seconds=st.integers(0, 600),
    confirmed=st.booleans(),
)
def test_resent(w, email, by_user, seconds, confirmed):
    check_message(resend.resent(w), Trusted(w), about_=[w.email])
    check_message(
        resend.recently_resent(email, by_user=by_user, seconds_ago=seconds, confirmed=confirmed),
        Trusted(ids=[by_user]),
        about_=[email],
    )


# ---------------------------------------------------------------------------------------------------
# share
# ---------------------------------------------------------------------------------------------------


@covers(share.share_link_message, share.wedgehr_result_message)
@PROPERTIES
@given(c=candidates, uuid=st.uuids().map(str), url=urls, link_uuid=st.uuids().map(str), active=st.booleans())
def test_share_link(c, uuid, url, link_uuid, active):
    shared = CandidateView(**{**vars(c), "interview_uuid": uuid})  # a share link is of a Spark Hire interview
    check_message(
        share.share_link_message(shared, url=url, link_uuid=link_uuid, active=active),
        _with_urls(Trusted(c), url),
        about_=[c.name],
    )
    check_message(share.wedgehr_result_message(c), Trusted(c), about_=[c.name])


def _with_urls(trusted: Trusted, *urls_: str | None) -> Trusted:
    trusted.urls.update(unquote(u) for u in urls_ if u)
    return trusted


@covers(share.wedgehr_results_message)
@PROPERTIES
@given(query=emails | st.uuids().map(str), found=many(wedges, 300, least=1))  # share takes an email or a uuid
def test_wedgehr_results_message(query, found):
    message = share.wedgehr_results_message(query, found)
    check_message(message, Trusted(found), about_=[found[0].name] if len(found) == 1 else [query])


@covers(share.advanced_share_modal)
@PROPERTIES
@given(
    # The handler always lists the interview whose button opened the form.
    interviews=many(st.builds(Option, value=st.uuids().map(str), label=text), 100, least=1),
    data=st.data(),
    private_metadata=metadata,
    more_matched=st.booleans(),
    scanned_only=st.none() | st.integers(1, 10**9),
    of_job=st.booleans(),
)
def test_advanced_share_modal(interviews, data, private_metadata, more_matched, scanned_only, of_job):
    values = [o.value for o in interviews]
    selected = data.draw(st.lists(st.sampled_from([*values, "not-listed"]), max_size=3))
    view = share.advanced_share_modal(
        interviews=interviews,
        selected=selected,
        private_metadata=private_metadata,
        more_matched=more_matched,
        scanned_only=scanned_only,
        of_job=of_job,
    )
    check_view(view, Trusted())
    block = next(b for b in view["blocks"] if b.get("block_id") == Block.SHARE_INTERVIEWS)
    # Says so exactly when the list leaves some out, and how to share one it does not list.
    assert ("hint" in block) == (more_matched or bool(scanned_only))
    if "hint" in block:
        assert "/interview share <email | interview uuid>" in block["hint"]["text"]
    picker = block["element"]
    for chosen in picker.get("initial_options", []):
        assert chosen in picker["options"], "an initial option must be one of the options"


@covers(share.advanced_links_message, share.advanced_link_deactivated_message, share.reviewer_link_targets)
@PROPERTIES
@given(
    links=many(reviewer_links, 300),
    emailed=st.booleans(),
    email=emails | text,
    more=st.integers(0, 10_000),
)
def test_reviewer_links(links, emailed, email, more):
    links = list({each.uuid: each for each in links}.values())  # one row per link
    trusted = Trusted(links)
    created = share.advanced_links_message(links, emailed=emailed)
    check_message(created, trusted, about_=["reviewer link"])
    check_message(share.advanced_link_deactivated_message(email, links, more=more), trusted, about_=[email])
    # Each Deactivate button names its own link and the links its message lists.
    rows = [b for b in created.blocks[1:] if b["type"] == "section"]
    shown = [each.uuid for each in links[: len(rows)]]
    buttons = [b["accessory"] for b in rows if "accessory" in b]
    assert len(buttons) == sum(each.active for each in links[: len(rows)])
    for button in buttons:
        targets = share.reviewer_link_targets(button["value"])
        assert targets.link in shown
        assert not targets.listed or targets.listed == shown
        for uuid, known in targets.known.items():
            original = next(each for each in links if each.uuid == uuid)
            assert known.email == original.email and known.active == original.active
            if known.active:
                assert known.url == original.url


@covers(share.advanced_links_created_view)
@PROPERTIES
@given(count=st.integers(0, 10_000), emailed=st.booleans())
def test_advanced_links_created_view(count, emailed):
    check_view(share.advanced_links_created_view(count, emailed=emailed), Trusted())


# ---------------------------------------------------------------------------------------------------
# subscriptions
# ---------------------------------------------------------------------------------------------------


@covers(subscriptions.subscription_line, subscriptions.subscribe_command, subscriptions.pause_buttons)
@PROPERTIES
@given(s=subscription_views(), limit=st.integers(200, 2900), count=st.integers(1, 500))
def test_subscription_line(s, limit, count):
    trusted = Trusted(s)
    line = subscriptions.subscription_line(s, limit=limit)
    check_line(line, trusted, most=limit)
    # The channel, platform and events are always shown whole.
    assert line.startswith(f"• <#{s.channel_id}> · *{VENDOR_LABELS[s.vendor]}* · {', '.join(s.events)}")
    command = subscriptions.subscribe_command(s)
    check_line(command, trusted, most=1_500)
    assert command.startswith("`/interview subscribe")
    row = subscriptions.pause_buttons(s, count)
    assert_valid_blocks([row])
    check_blocks([row], trusted)
    assert {e["value"] for e in row["elements"]} == {str(s.id)}


#: Excludes as the grammar stores them (it refuses others), with the characters it reads as quotes.
typed_excludes = st.sampled_from(
    ["@test.example.com", "ann@example.com", "a,b@x.example", "'q@x.example", '"q"@x.example', "o'n;eil'@x.io"]
)
quote_heavy = st.text(st.sampled_from(list("ab ,;`'\"\u2018\u2019\u201c\u201d\u201e\t\u00a0")), min_size=1, max_size=12)


@covers(subscriptions.renewing_words, subscriptions.generic_renewal)
@settings(PROPERTIES, max_examples=100)
@given(s=subscription_views(), job=opt(quote_heavy | nonempty), excludes=many(typed_excludes, 3))
def test_the_resume_command_quoted_reads_back_as_the_subscription(s, job, excludes):
    # Typed as shown, the command renews this very subscription: same platform, events, job and
    # excludes; a name the grammar cannot read back (say, both kinds of quote) gets the generic words.
    s = replace(s, job_filter=job, excludes=tuple(excludes))
    shown = subscriptions.subscribe_command(s)
    if "with the words it was set up with" in shown:
        name = job or ""
        unquotable = set(name) & set('`"\u201c\u201d') or any(c.isspace() and c != " " for c in name)
        unquotable = unquotable or name != name.strip()
        assert unquotable or len(name) > subscriptions.JOB_QUOTED_MOST == grammar.JOB_FILTER_MAX
        assert subscriptions.renewing_words(s) is None and shown == subscriptions.generic_renewal()
        assert "shared" not in subscriptions.generic_renewal(shared=False)
        return
    typed = html.unescape(shown.strip("`"))
    assert "`" not in typed
    # As typed (a plain-text message quotes it so), without `shared` where none is needed.
    assert subscriptions.renewing_words(s) == typed
    plain = subscriptions.renewing_words(s, shared=False)
    assert plain is not None and plain.split()[-1] != "shared" and typed == plain + " shared"
    request = grammar.parse(typed.removeprefix("/interview subscribe "))
    assert request.vendors == (s.vendor,) and request.events == s.events
    assert request.job == s.job_filter and request.excludes == s.excludes
    assert request.compact == s.compact and request.shared


@covers(subscriptions.subscribed_message, subscriptions.manual_webhook_blocks, subscriptions.manual_webhook_text)
@PROPERTIES
@given(
    channel=channel_ids,
    data=st.data(),
    notes=st.lists(text, max_size=6),
    others=many(subscription_views(), 300),
    by_hand=opt(hooks),
)
def test_subscribed_message(channel, data, notes, others, by_hand):
    # One subscription per platform: what one /interview subscribe makes.
    chosen = data.draw(st.lists(vendors, min_size=1, max_size=2, unique=True))
    subs = [data.draw(subscription_views(channel_id=channel, vendor=v, paused=False)) for v in chosen]
    message = subscriptions.subscribed_message(subs, notes=notes, others=others, by_hand=by_hand)
    trusted = Trusted(subs, others, by_hand)
    check_message(message, trusted, about_=[VENDOR_LABELS[s.vendor] for s in subs])
    if by_hand is not None:
        blocks = subscriptions.manual_webhook_blocks(by_hand)
        assert_valid_blocks(blocks)
        check_blocks(blocks, trusted)
        assert by_hand.path in str(blocks)
    check_line(subscriptions.manual_webhook_text(), Trusted())
    assert "<" not in subscriptions.manual_webhook_text()


@covers(subscriptions.webhook_credentials_refused, subscriptions.webhook_credentials_modal)
@PROPERTIES
@given(
    words=text,
    path=st.from_regex(r"\A/webhooks/sparkhire/[0-9a-f]{16}\Z"),
    password=st.from_regex(r"\A[A-Za-z0-9_-]{32}\Z"),
    public_url=opt(st.sampled_from(["https://bot.example", "https://bot.example:8443/x"])),
)
def test_webhook_credentials(words, path, password, public_url):
    check_view(subscriptions.webhook_credentials_refused(words), Trusted())
    view = subscriptions.webhook_credentials_modal(
        path=path, username="sparkhire", password=password, public_url=public_url
    )
    check_view(view, Trusted())
    assert password in str(view["blocks"])


@covers(subscriptions.subscriptions_list, subscriptions.subscription_sections)
@PROPERTIES
@given(
    channel=many(subscription_views(), 300),
    workspace=opt(many(subscription_views(), 300)),
    title=text.map(escape),
    max_blocks=st.integers(1, 45),
)
def test_subscriptions_list(channel, workspace, title, max_blocks):
    trusted = Trusted(channel, workspace)
    check_message(subscriptions.subscriptions_list(channel, workspace), trusted, about_=["subscription"])
    blocks = subscriptions.subscription_sections(title or "*T*", channel, max_blocks=max_blocks)
    assert len(blocks) <= max_blocks + 1
    assert_valid_blocks(blocks)
    check_blocks(blocks, trusted)


@covers(subscriptions.unsubscribed_message)
@PROPERTIES
@given(removed=st.integers(0, 10_000), changed=st.integers(0, 10_000), notes=st.lists(text, max_size=5))
def test_unsubscribed_message(removed, changed, notes):
    message = subscriptions.unsubscribed_message(removed, changed, notes=notes)
    check_message(message, Trusted(), about_=[str(removed) if removed or changed else "Nothing"])


@st.composite
def choice_groups(draw):
    """What unsubscribe asks about: one channel, up to 12 accounts, 96 subscriptions in all."""
    channel = draw(channel_ids)
    n = draw(st.integers(1, subscriptions.CHOICE_GROUPS_MOST))
    room = subscriptions.CHOICE_IDS_MOST
    groups = []
    for i in range(n):
        size = draw(st.integers(1, max(1, min(room - (n - i - 1), 40))))
        room -= size
        template = draw(subscription_views(channel_id=channel))
        ids = draw(st.lists(st.integers(1, 10**18 - 1), min_size=size, max_size=size, unique=True))
        groups.append([SubscriptionView(**{**vars(template), "id": each}) for each in ids])
    return groups


@covers(
    subscriptions.unsubscribe_choices_message,
    subscriptions.unsubscribe_choice_value,
    subscriptions.unsubscribe_choice_tag,
    subscriptions.unsubscribe_choice_asked_at,
    subscriptions.parse_unsubscribe_choice,
)
@PROPERTIES
@given(
    choices=choice_groups(),
    events=st.lists(
        st.sampled_from(sorted(set(VENDOR_EVENTS["sparkhire"]) | set(VENDOR_EVENTS["wedgehr"]))), unique=True
    ),
    tagged=st.booleans(),
    asked_at=opt(st.floats(0, 4 * 10**9)),
)
def test_unsubscribe_choices(choices, events, tagged, asked_at):
    tag = (lambda value: "f" * 64) if tagged else None
    message = subscriptions.unsubscribe_choices_message(choices, events=events, tag=tag, asked_at=asked_at)
    check_message(message, Trusted(choices), about_=["account"])
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    expected = [[s.id for s in group] for group in choices] + [[s.id for group in choices for s in group]]
    assert len(buttons) == len(expected)
    for button, ids in zip(buttons, expected, strict=True):
        # Every button's value carries, whole, what it stops.
        assert subscriptions.parse_unsubscribe_choice(button["value"]) == (choices[0][0].channel_id, ids, tuple(events))
        covered, its_tag = subscriptions.unsubscribe_choice_tag(button["value"])
        assert its_tag == ("f" * 64 if tagged else None)
        when = subscriptions.unsubscribe_choice_asked_at(button["value"])
        assert (when is None) == (asked_at is None)
        if asked_at is not None:
            assert asked_at <= when < asked_at + 0.002
        assert covered + (f":{its_tag}" if its_tag else "") == button["value"]
        value = subscriptions.unsubscribe_choice_value(
            choices[0][0].channel_id, ids, events, tag=tag, asked_at=asked_at
        )
        assert value == button["value"]


PAUSE_CAUSES = st.sampled_from([None, "archived", "gone", "removed", "shared"])


@covers(subscriptions.paused_notice, subscriptions.shared_pause_notice, subscriptions.still_paused_notice)
@PROPERTIES
@given(
    channel=channel_ids,
    data=st.data(),
    reason=text,
    cause=PAUSE_CAUSES,
    instead_of=st.lists(user_ids, max_size=8),
    days=st.integers(1, 365),
    still=st.sampled_from(["archived", "gone", "removed", "shared", "invite"]),
)
def test_pause_notices(channel, data, reason, cause, instead_of, days, still):
    subs = data.draw(many(subscription_views(channel_id=channel, paused=True), 300, least=1))
    trusted = Trusted(subs, ids=instead_of)
    one = subs[0] if data.draw(st.booleans()) else subs
    message = subscriptions.paused_notice(one, reason=reason, cause=cause, instead_of=instead_of, catch_up_days=days)
    check_message(message, trusted, about_=[channel])
    shared = subscriptions.shared_pause_notice(subs, catch_up_days=days, instead_of=instead_of)
    check_message(shared, trusted, about_=[channel])
    check_message(subscriptions.still_paused_notice(subs, cause=still), trusted, about_=[channel])


@covers(
    subscriptions.missed_text,
    subscriptions.resumed_text,
    subscriptions.resumed_notice,
    subscriptions.removed_text,
    subscriptions.removed_notice,
    subscriptions.rejoined_notice,
)
@PROPERTIES
@given(
    channel=channel_ids,
    queued=st.integers(0, 10**6),
    too_old=st.integers(0, 10**6),
    older_uncounted=st.booleans(),
    days=st.integers(1, 365),
    most=st.integers(1, 10**4),
    count=st.integers(1, 10**4),
    nothing=opt(nonempty.map(lambda t: t[:500])),
)
def test_resume_and_remove(channel, queued, too_old, older_uncounted, days, most, count, nothing):
    trusted = Trusted(ids=[channel])
    missed = subscriptions.missed_text(
        queued=queued,
        too_old=too_old,
        older_uncounted=older_uncounted,
        days=days,
        most=most,
        count=count,
        nothing=nothing,
    )
    assert missed.strip()
    if nothing is None:
        assert "<" not in missed
    escaped = escape(missed)  # plain text: the callers escape it before it goes in a notice
    check_line(subscriptions.resumed_text(channel, missed=escaped, count=count), trusted, most=10_000)
    check_message(subscriptions.resumed_notice(channel, missed=escaped, count=count), trusted, about_=[channel])
    check_line(subscriptions.removed_text(channel, count), trusted)
    check_message(subscriptions.removed_notice(channel, count), trusted, about_=[channel])
    check_message(subscriptions.rejoined_notice(), trusted, about_=["unsubscribe"])


@covers(subscriptions.poll_outage_notice, subscriptions.poll_recovered_notice)
@PROPERTIES
@given(
    account=nonempty,
    cause=nonempty,
    channels=many(channel_ids, 12),
    since=st.floats(0, 4_102_444_800, allow_nan=False),
    reconnect=st.booleans(),
)
def test_poll_outage_notices(account, cause, channels, since, reconnect):
    trusted = Trusted(ids=channels)
    named = [channels[0] if channels else None, account]
    check_message(
        subscriptions.poll_outage_notice(
            account=account, channels=channels, cause=cause, since=since, reconnect=reconnect
        ),
        trusted,
        about_=named,
    )
    check_message(subscriptions.poll_recovered_notice(account=account, channels=channels), trusted, about_=named)


def test_a_candidate_named_like_a_mention_is_caught_by_the_check():
    """The ping check itself fails on what it must catch."""
    leaked = Message(text="x", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "<!channel> hi"}}])
    for bad in (leaked, Message(text="<@U123> done", text_is_markup=True)):
        try:
            check_message(bad, Trusted())
        except AssertionError:
            continue
        raise AssertionError(f"{bad} passed the ping check")
    check_message(Message(text="<#C1>", text_is_markup=True, blocks=[]), Trusted(ids=["C1"]))
