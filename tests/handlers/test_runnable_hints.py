"""Every `/interview ...` the bot tells a user to run is one the command accepts.

A hint the grammar refuses (or that answers with help) is a dead end for a recruiter. The hints are
collected from the source (string literals and f-strings of handlers/, blocks/ and bot/), from the
help message and from the README, and each is read by the command's own router and parsers.
"""

from __future__ import annotations

import ast
import html
import itertools
import re
from pathlib import Path

import pytest

from blocks.help import EXAMPLES, USAGE
from blocks.models import SubscriptionView
from blocks.subscriptions import generic_renewal, renewing_words, subscribe_command
from bot.candidates import first_email
from bot.errors import UserFacingError
from bot.notify import grammar
from bot.notify import subscriptions as subscriptions_module
from bot.notify.jobs import job_word
from handlers import FLOWS
from handlers.command import collect_subcommands, split_command
from handlers.resend import resend_query
from handlers.share import share_query
from handlers.subscriptions import shared_channel_warning
from tests.bot.notify.test_subscriptions import said, subscribe, subscriptions
from tests.handlers.test_connect import click_disconnect, connect_own_key, open_connect, spark_hire_fails_after
from tests.support.harness import running_bot

#: A subscription with every filter, as a hint that renews one quotes it.
FILTERED = SubscriptionView(
    id=2,
    channel_id="C1",
    vendor="sparkhire",
    events=("completed",),
    job_filter="Director's Assistant, Night",
    excludes=("@test.example.com", "qa@example.com"),
    compact=True,
)
ROOT = Path(__file__).resolve().parents[2]
ROUTES = collect_subcommands(FLOWS)
#: "/interview" as a command, not a path such as "/interviews/{uuid}" or "///interview-bot.sqlite3".
COMMAND_RE = re.compile(r"(?<![/\w])/interview(?![\w/-])")
#: A hint in a code span; outside one, only the word after "/interview" is the command's.
CODE_SPAN_RE = re.compile(r"`(/interview(?![\w/-])[^`]*)`")
BARE_RE = re.compile(r"(?<![/\w`])/interview(?![\w/-])(?: (\w+))?")

#: What an f-string's placeholder inside a hint stands for (module, expression as written): plausible
#: values, each hint checked with every one.
SAMPLES: dict[tuple[str, str], list[str]] = {
    ("handlers/find.py", "others[0]"): ["bob@example.com"],
    ("handlers/resend.py", "others[0]"): ["bob@example.com", "12345"],  # an address, or a wedge id after one
    ("handlers/subscriptions.py", "words + ' ' if words else ''"): [
        "sparkhire completed ",
        'sparkhire job:"Senior Barista" ',
        "",
    ],
    ("handlers/subscriptions.py", "words"): ["sparkhire completed job:Barista", 'job:"Senior Barista" compact'],
    ("bot/notify/jobs.py", "job_word(self.typed)"): [job_word("Barista"), job_word("Senior Barista"), job_word("A, B")],
    ("bot/notify/jobs.py", "self.vendor"): ["sparkhire", "wedgehr"],
    ("bot/notify/subscriptions.py", "words"): [
        "sparkhire",
        f"sparkhire {job_word('Senior Barista')}",
        f"wedgehr {job_word('Front desk')}",
    ],
    ("blocks/resend.py", "escape('<wedge id>')"): ["&lt;wedge id&gt;"],
    ("handlers/subscriptions.py", "f'`{words}`' if words else generic_renewal(shared=shared)"): [
        f"`{renewing_words(FILTERED, shared=False)}`",
        f"`{renewing_words(FILTERED, shared=True)}`",
        generic_renewal(shared=False),
    ],
}
#: Hints that are templates by design: the reader fills them in.
TEMPLATES = {
    "/interview resend <wedge id>": "a wedge id to fill in (resend's usage, and its list of older ones)",
    "/interview resend <email>": "an address to fill in (a button that carries no wedge id)",
    "/interview share <interview uuid>": "a uuid to fill in (share's usage)",
    "/interview share <email>": "an address to fill in (a button that carries no interview)",
    "/interview share <email | interview uuid>": "help's usage line",
    "/interview resend <email | wedge id>": "help's usage line",
    "/interview find <email>": "help's usage line; the candidate's address to fill in (a create that may be done)",
    "/interview invite [email]": "help's usage line",
    "/interview subscribe [wedgehr|sparkhire|all] [event ...] [job:<name or id>] [exclude:<email or @domain>] "
    "[compact] [shared]": "help's usage line",
    "/interview subscribe test [event]": "help's usage line",
    "/interview unsubscribe [same words]": "help's usage line",
    "/interview subscribe ... shared": "the words the subscription was set up with, when unknown",
    "/interview subscribe …\nshared": "README: the words the subscription was set up with",
}
#: Strings naming the command that are no hint to a user.
NOT_HINTS = {
    "/interview": "the command's name (handlers/command.py COMMAND)",
    "/interview {word} is claimed twice ({module.__name__})": "a developer's error at start-up",
    "/interview subscribe": "the first words of subscribe_command's list (checked below through subscribe_command)",
}


def _text(node: ast.JoinedStr, values: dict[str, str]) -> str:
    parts = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            parts.append(str(part.value))
        else:
            expression = ast.unparse(part.value)  # type: ignore[attr-defined]
            parts.append(values.get(expression, "{" + expression + "}"))
    return "".join(parts)


def _strings(path: Path, where: str) -> list[str]:
    """The user-facing strings of a module naming the command, f-strings filled with each sample."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    inside_fstrings = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings and id(node) not in inside_fstrings and COMMAND_RE.search(node.value):
                found.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            # A placeholder with samples may be the hint itself (a command built elsewhere).
            used = [e for (module, e) in SAMPLES if module == where and "{" + e + "}" in _text(node, {})]
            if used or COMMAND_RE.search(_text(node, {})):
                for combination in itertools.product(*(SAMPLES[where, e] for e in used)):
                    found.append(_text(node, dict(zip(used, combination, strict=True))))
    return found


def hints_in(text: str) -> list[tuple[str, bool]]:
    """The commands ``text`` tells the reader to run, as they would type them, each with whether it
    is only named in prose (``run /interview connect``): then only its first word is the command's."""
    if text in NOT_HINTS:
        return []
    if text.startswith("/interview "):  # a command on its own (SHARE_ONE)
        return [(text, False)]
    spans = [(html.unescape(m.group(1)), False) for m in CODE_SPAN_RE.finditer(text)]
    rest = CODE_SPAN_RE.sub("", text)
    return spans + [(f"/interview {m.group(1) or ''}".strip(), True) for m in BARE_RE.finditer(rest)]


def product_hints() -> list[tuple[str, str, bool]]:
    """(where, hint, named in prose) for every hint of the product."""
    found = []
    for package in ("handlers", "blocks", "bot"):
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            found += [(where, *hint) for text in _strings(path, where) for hint in hints_in(text)]
    found += [("blocks/help.py USAGE", html.unescape(cmd.strip("`")), False) for cmd, _ in USAGE]
    found += [("blocks/help.py EXAMPLES", e, False) for e in EXAMPLES]
    found += [("README.md", *hint) for hint in hints_in((ROOT / "README.md").read_text(encoding="utf-8"))]
    # Hints built from what a user typed or a subscription is: the builders, with sample values.
    views = [
        SubscriptionView(id=1, channel_id="C1", vendor="sparkhire", events=("completed", "rated")),
        FILTERED,
        SubscriptionView(id=3, channel_id="C1", vendor="wedgehr", events=("send_failure",), job_filter="Front desk"),
    ]
    found += [("subscribe_command", *h) for v in views for h in hints_in(subscribe_command(v))]
    for typed in ("sparkhire completed", 'sparkhire job:"Senior Barista"', "job:\u201cSenior Barista\u201d", ""):
        found += [("shared_channel_warning", *h) for h in hints_in(shared_channel_warning(typed))]
    return found


async def answered(bot, text: str, *, user: str = "U1", channel: str = "C1") -> str:
    """What ``/interview <text>`` answered, in its ack or by its response_url."""
    key = f"answer-{next(ANSWERS)}"
    response = await bot.sender.command(text, user=user, channel=channel, response_url=bot.slack.response_url(key))
    if response.content:
        return response.json()["text"]
    return str(await bot.slack.wait_for(lambda: bot.slack.responses.get(key), timeout=10))


ANSWERS = itertools.count()


def refusal(hint: str, *, in_prose: bool = False) -> str | None:
    """Why ``/interview`` would not do ``hint`` (None: it is accepted), as the router and the
    subcommand's own parser read it; ``in_prose``: only the subcommand's word is checked."""
    if not hint.startswith("/interview"):
        return "not the command"
    word, args = split_command(hint.removeprefix("/interview"))
    if word not in ROUTES:
        return f"`{word}` is no subcommand: the answer is help"
    if in_prose:
        return None
    if word in ("subscribe", "unsubscribe"):
        try:
            grammar.parse(args)
        except UserFacingError as exc:
            return exc.message
    elif word == "find" and first_email(args) is None:
        return "find's usage (no address)"
    elif word == "resend" and resend_query(args) is None:
        return "resend's usage (no address or wedge id)"
    elif word == "share" and share_query(args) is None:
        return "share's usage (no address or interview uuid)"
    return None


HINTS = sorted(set(product_hints()))


def test_every_hint_is_found_and_the_lists_of_exceptions_are_current():
    hints = {h for _, h, _ in HINTS}
    assert len(hints) > 30  # the collection still finds them
    assert set(TEMPLATES) <= hints, set(TEMPLATES) - hints  # no stale exceptions
    assert (
        '/interview subscribe sparkhire completed job:"Director\'s Assistant, Night" exclude:@test.example.com'
        " exclude:qa@example.com compact" in hints
    )  # the re-enable's, filled from a sample


@pytest.mark.parametrize(
    ("where", "hint", "in_prose"), [h for h in HINTS if h[1] not in TEMPLATES], ids=lambda v: str(v)[:60]
)
def test_every_hint_the_bot_gives_is_a_command_it_accepts(where, hint, in_prose):
    why = refusal(hint, in_prose=in_prose)
    assert why is None, f"{where}: `{hint}` is refused: {why}"


#: The hints a recruiter meets most, in the order that sets up what the next needs.
COMMON = [
    "/interview help",
    "/interview connect",
    "/interview invite",
    "/interview subscribe sparkhire",
    "/interview subscribe test",
    "/interview subscriptions",
    "/interview subscribe sparkhire completed rated job:Barista exclude:@test.example.com",
    "/interview find bob@example.com",
    "/interview resend bob@example.com",
    "/interview unsubscribe sparkhire job:Barista",
    "/interview unsubscribe",
]
#: What the command answers to words it does not take: help, a usage line, the grammar's complaint.
NOT_TAKEN = ("I don't know", "Tell me", "I don't understand", "is not closed", "needs a job name", "takes an email")


async def test_the_common_hints_typed_into_the_running_app_are_taken(bot):
    hints = {h for _, h, _ in HINTS}
    for n, hint in enumerate(COMMON):
        assert hint in hints, hint  # a hint the product gives, as it gives it
        key = f"hint-{n}"
        opened = len(bot.slack.calls_to("views.open"))
        response = await bot.sender.command(hint.removeprefix("/interview "), response_url=bot.slack.response_url(key))
        assert response.status_code == 200
        answered = response.text
        word, _ = split_command(hint.removeprefix("/interview"))
        if word in ("connect", "invite"):  # a form opens
            await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.open")) > opened)  # noqa: B023
        elif word != "help":  # the answer follows by response_url
            answered += str(await bot.slack.wait_for(lambda: bot.slack.responses.get(key), timeout=10))  # noqa: B023
        assert not any(s in answered for s in NOT_TAKEN), (hint, answered[:300])
        assert word == "help" or "Here is what I can do" not in answered


async def test_the_hint_under_a_job_one_platform_lacks_removes_that_platforms_subscription_only(bot):
    # WedgeHR has an interview "Movers", Spark Hire no job of that name: `subscribe job:Movers`
    # follows it on both, and the Spark Hire note says how to remove its subscription.
    reply = await subscribe(bot, "subscribe completed job:Movers")
    (hint,) = [h for h in re.findall(r"`(/interview unsubscribe [^`]*)`", said(reply)) if "Movers" in h]
    assert {s.vendor for s in await subscriptions(bot)} == {"wedgehr", "sparkhire"}

    await subscribe(bot, html.unescape(hint).removeprefix("/interview "))
    assert [s.vendor for s in await subscriptions(bot)] == ["wedgehr"]  # "removes it": that one only


async def test_the_disconnect_notice_names_the_command_that_resumes_each_paused_subscription():
    # Bo's WedgeHR subscription follows one interview. Plain `/interview subscribe` would add one
    # for every interview (and Spark Hire's) and leave this one paused; the notice's command resumes it.
    async with running_bot(env_credentials=False) as bot:
        await bot.services.db.connections.upsert_workspace(
            "T0001", "wedgehr", "company-token-123", account_label="WedgeHR company 7", connected_by="U1"
        )
        await subscribe(bot, "subscribe wedgehr completed job:Movers", user="U2")
        (connection,) = await bot.services.db.connections.list_for_team("T0001")
        await click_disconnect(bot, await open_connect(bot, "U1"), connection.id)
        (told,) = await bot.slack.wait_for(lambda: bot.slack.posted("U2"))
        (command,) = re.findall(r"`(/interview subscribe[^`]*)`", told.text) or ["/interview subscribe"]

        await bot.services.db.connections.upsert_workspace(
            "T0001", "wedgehr", "company-token-456", account_label="WedgeHR company 8", connected_by="U1"
        )
        await subscribe(bot, html.unescape(command).removeprefix("/interview "), user="U2")
        (resumed,) = await subscriptions(bot)
        assert not resumed.paused and resumed.job_filter == "Movers" and resumed.events == ("completed",)


async def test_a_new_key_whose_webhook_failed_says_to_subscribe_again_with_each_subscriptions_own_words():
    # The channel follows one job: plain `/interview subscribe` there would add every job's events
    # (and WedgeHR's); its own words register the webhook and leave the channel's subscription as it was.
    async with running_bot(env_credentials=False) as bot:
        bot.sparkhire.add_account("acme-key-123456", "Acme Corp")
        await connect_own_key(bot, "shermer-key-123456")
        await subscribe(bot, "subscribe sparkhire completed job:Barista", user="U2")
        spark_hire_fails_after(bot, "GET /webhooks", 500)  # the registration that follows the listing
        reply = await connect_own_key(bot, "acme-key-123456")
        assert "with each subscription's own words" in reply.text and "`/interview subscriptions`" in reply.text

        listed = await subscribe(bot, "subscriptions", user="U2")
        assert "completed" in said(listed) and "Barista" in said(listed)
        await subscribe(bot, "subscribe sparkhire completed job:Barista", user="U2")
        (kept,) = await subscriptions(bot)
        assert kept.events == ("completed",) and kept.job_filter == "Barista" and not kept.paused
        (hook,) = bot.sparkhire.webhooks.values()
        assert hook["_company"] == bot.sparkhire.company_of("acme-key-123456")["uuid"]


async def test_without_public_url_a_new_key_says_to_subscribe_again_with_the_subscriptions_own_words():
    async with running_bot(env_credentials=False, public_url=None) as bot:
        bot.sparkhire.add_account("acme-key-123456", "Acme Corp")
        await connect_own_key(bot, "shermer-key-123456")
        await subscribe(bot, "subscribe sparkhire completed job:Barista", user="U2")
        reply = await connect_own_key(bot, "acme-key-123456")
        assert "PUBLIC_URL" in reply.text and "with the words of its Spark Hire subscription" in reply.text

        answer = await subscribe(bot, "subscribe sparkhire completed job:Barista", user="U2")
        assert "by hand" in said(answer) or "Show webhook credentials" in str(answer["blocks"])
        (kept,) = await subscriptions(bot)
        assert kept.events == ("completed",) and kept.job_filter == "Barista"


async def test_subscribe_typed_in_a_direct_message_names_the_same_command_for_the_channel(bot):
    answer = (await bot.sender.command("subscribe sparkhire completed job:Barista", channel="D0123")).json()
    assert "can't post notifications in a direct message" in answer["text"]
    (command,) = re.findall(r"`(/interview subscribe[^`]*)`", answer["text"])

    await subscribe(bot, command.removeprefix("/interview "))  # in the channel, as told
    (subscribed,) = await subscriptions(bot)  # what was asked for, not every job's default events
    assert subscribed.events == ("completed",) and subscribed.job_filter == "Barista"


async def test_the_hint_for_a_subscription_whose_account_went_unchecked_leaves_the_channels_others(bot, monkeypatch):
    # Spark Hire stalls while asked whether U2's key reads the account of the channel's subscription:
    # U2's is separate, and the answer says how to have one. Following it must not stop WedgeHR's.
    monkeypatch.setattr(subscriptions_module, "JOB_CHECK_SECONDS", 0.3)  # how long subscribe waits for Spark Hire
    same_account_key = "spark-key-of-u2-0123456789"  # the sandbox's default company, like the workspace key
    await bot.services.db.connections.upsert_user("T0001", "U2", "sparkhire", same_account_key, account_label="Mine")
    await subscribe(bot, "subscribe wedgehr")
    await subscribe(bot, "subscribe sparkhire completed")
    bot.sparkhire.slow_next(1, when=lambda r: r.method == "GET" and r.path == "/webhooks")
    reply = await subscribe(bot, "subscribe sparkhire completed", user="U2")
    assert "could not say in time whether your key reads the same account" in said(reply)
    assert len(await subscriptions(bot)) == 3

    (stop,) = re.findall(r"`(/interview unsubscribe[^`]*)`", said(reply))
    await answered(bot, html.unescape(stop).removeprefix("/interview "), user="U2")
    await answered(bot, "subscribe sparkhire completed", user="U2")  # "this command again"
    assert sorted(s.vendor for s in await subscriptions(bot)) == ["sparkhire", "wedgehr"]


@pytest.mark.parametrize("where", ["direct message", "Slack Connect channel"])
async def test_a_command_quoted_back_has_an_address_as_typed_not_slacks_link_of_it(bot, where):
    # Slack sends a typed address as a link; quoted back as such and typed again, its brackets
    # would arrive escaped (&lt;mailto:…&gt;) and the grammar refuse it.
    channel = "D0123" if where == "direct message" else "C9"
    if channel == "C9":
        bot.slack.add_channel("C9", name="agency-shared")
        bot.slack.channels["C9"].update(is_shared=True, is_ext_shared=True)
    typed = "subscribe sparkhire completed exclude:<mailto:qa@x.example|qa@x.example>"
    said_back = await answered(bot, typed, channel=channel)
    (command,) = set(re.findall(r"`(/interview subscribe[^`]*)`", said_back))  # its text and its blocks

    shown = html.unescape(command)  # as Slack shows it
    retyped = shown.removeprefix("/interview ").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert "Subscribed" in await answered(bot, retyped, channel="C1" if channel == "D0123" else "C9")
