"""The bot as real processes: crash recovery and several web processes on one PostgreSQL."""

import asyncio
import base64
import contextlib
import itertools
import time
from contextlib import AsyncExitStack

import httpx
import pytest
import sqlalchemy as sa
from aiohttp import web
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import create_async_engine

from blocks.ids import Action, Block, Callback
from bot.settings import normalize_database_url
from bot.sparkhire.sandbox import SparkHireSandbox
from bot.wedgehr.sandbox import WedgeHRSandbox
from tests.support.databases import TEST_DATABASE_URL, fresh_postgres_database
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.process import BotProcess
from tests.support.servers import free_port, serve
from tests.support.slack_requests import SIGNING_SECRET, SlackSender

KEY = "spark-process-key-0123456789"


async def fakes(stack: AsyncExitStack):
    slack, sparkhire = FakeSlack(), SparkHireSandbox()
    slack.base_url = await stack.enter_async_context(serve(slack.app))
    sparkhire_url = await stack.enter_async_context(serve(sparkhire.app))
    return slack, sparkhire, sparkhire_url


def bot_env(slack, sparkhire_url, database_url, secret):
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url + "/api/",
        "SPARKHIRE_API_URL": sparkhire_url,
        "SPARKHIRE_API_KEY": KEY,
        "DATABASE_URL": database_url,
        "BOT_SECRET_KEY": secret,
        "LOG_LEVEL": "INFO",
    }


def sqlite_bot(slack, sparkhire_url, workdir):
    """A bot process on a SQLite file in ``workdir``; a second one with the same env is a restart."""
    port = free_port()
    env = bot_env(slack, sparkhire_url, f"sqlite:///{workdir}/bot.sqlite3", Fernet.generate_key().decode())
    env["PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    return BotProcess(env=env, port=port, workdir=workdir)


async def subscribe_channels(bot_url, slack, channels, words=lambda channel: "sparkhire completed"):
    """Run `/interview subscribe <words>` in each channel and wait for each confirmation."""
    sender = SlackSender(bot_url)
    try:
        for channel in channels:
            slack.add_channel(channel, name=channel.lower())
            await sender.command(
                f"subscribe {words(channel)}", channel=channel, response_url=slack.response_url(f"sub-{channel}")
            )
            await slack.wait_for(lambda channel=channel: slack.responses.get(f"sub-{channel}"), timeout=10)
    finally:
        await sender.aclose()


async def connect_view(slack, after=None):
    """The connect form once it replaced the "Loading…" view (a newer one than ``after``)."""
    (call, *_) = await slack.wait_for(
        lambda: [
            c
            for c in reversed(slack.calls_to("views.update"))
            if c.args["view"]["callback_id"] == Callback.CONNECT and (after is None or c.args["view_id"] != after["id"])
        ],
        timeout=10,
    )
    return slack.views[call.args["view_id"]]


def interviews(sparkhire, count):
    job = next(iter(sparkhire.jobs.values()))
    made = []
    for n in range(count):
        interview = sparkhire.add_interview(job_uuid=job["uuid"], name=f"Cand {n}", email=f"c{n}@example.io")
        made.append(sparkhire.set_status(interview["uuid"], "completed"))
    return made


async def test_sigkill_after_answering_then_restart_posts_each_once(tmp_path):
    async with AsyncExitStack() as stack:
        slack, sparkhire, sparkhire_url = await fakes(stack)
        first = sqlite_bot(slack, sparkhire_url, tmp_path)
        await first.start()
        try:
            await subscribe_channels(first.url, slack, ["C1"])
            # Slack is down: deliveries are acknowledged to Spark Hire but stay in the outbox.
            slack.fail("chat.postMessage", status=503, times=10_000)
            made = interviews(sparkhire, 5)
            for interview in made:
                (delivery,) = await sparkhire.emit("InterviewCompleted", interview)
                assert delivery.status == 200
            first.kill()
            await first.proc.wait()
        finally:
            await first.stop()
        slack.failures.clear()
        assert slack.posted("C1") == []
        second = BotProcess(env=first.env, port=first.port, workdir=tmp_path)
        await second.start()
        try:
            # A channel whose post was in flight at the kill resumes when its lease expires (20 s).
            await slack.wait_for(lambda: len(slack.posted("C1")) >= 5, timeout=90)
            await asyncio.sleep(1.5)
            texts = sorted(m.text for m in slack.posted("C1"))
            assert texts == sorted(f"Cand {n} completed the interview (Spark Hire)" for n in range(5))
        finally:
            await second.stop()


async def test_sigkill_after_slack_took_a_post_then_restart_finds_it_instead_of_posting_again(tmp_path):
    async with AsyncExitStack() as stack:
        slack, sparkhire, sparkhire_url = await fakes(stack)
        first = sqlite_bot(slack, sparkhire_url, tmp_path)
        await first.start()
        answer = asyncio.Event()
        try:
            await subscribe_channels(first.url, slack, ["C1"], words=lambda channel: "sparkhire")
            # The card is in the channel, but the bot dies before Slack's answer reaches it.
            slack.after_handling["chat.postMessage"] = answer.wait
            (interview,) = interviews(sparkhire, 1)
            (delivery,) = await sparkhire.emit("InterviewCompleted", interview)
            assert delivery.status == 200
            (card,) = await slack.wait_for(lambda: slack.posted("C1"), timeout=10)
            first.kill()
            await first.proc.wait()
        finally:
            answer.set()
            await first.stop()
        second = BotProcess(env=first.env, port=first.port, workdir=tmp_path)
        await second.start()
        try:
            (delivery,) = await sparkhire.rate_interview(interview["uuid"], 4.5)
            assert delivery.status == 200
            # Once the dead process's lease on the channel ends (20 s), the card is looked for, found,
            # and the rating replies in its thread.
            (reply,) = await slack.wait_for(lambda: [m for m in slack.posted("C1") if m.thread_ts], timeout=60)
            await asyncio.sleep(1.5)
            assert slack.posted("C1") == [card, reply]
            assert reply.thread_ts == card.ts and "4.5" in reply.text
        finally:
            await second.stop()


async def test_a_restarted_bot_posts_at_once_what_it_was_posting_when_stopped(tmp_path):
    async with AsyncExitStack() as stack:
        slack, sparkhire, sparkhire_url = await fakes(stack)
        first = sqlite_bot(slack, sparkhire_url, tmp_path)
        await first.start()
        post_arrived, stopped = asyncio.Event(), asyncio.Event()

        async def slack_stalls_until_the_bot_stops():
            post_arrived.set()
            await stopped.wait()
            raise web.HTTPServiceUnavailable()  # to a client already gone; nothing is posted

        try:
            await subscribe_channels(first.url, slack, ["C1"])
            slack.before_answering["chat.postMessage"] = slack_stalls_until_the_bot_stops
            (interview,) = interviews(sparkhire, 1)
            (delivery,) = await sparkhire.emit("InterviewCompleted", interview)
            assert delivery.status == 200
            await asyncio.wait_for(post_arrived.wait(), timeout=10)
        finally:
            await first.stop()  # SIGTERM, as a deploy or a restart sends
            stopped.set()
        assert first.proc.returncode == 0 and "Handed back 1 outbox channel" in first.log.read_text()
        second = BotProcess(env=first.env, port=first.port, workdir=tmp_path)
        await second.start()
        try:
            # Well within the minute the channel's lease would have lasted.
            (card,) = await slack.wait_for(lambda: slack.posted("C1"), timeout=15)
            assert card.text == "Cand 0 completed the interview (Spark Hire)"
        finally:
            await second.stop()


@contextlib.asynccontextmanager
async def two_processes_on_postgresql(tmp_path, **settings: str):
    """Fakes, and two bot processes started at once (both migrate) on a fresh PostgreSQL database."""
    database_url, cleanup = await fresh_postgres_database()
    try:
        async with AsyncExitStack() as stack:
            slack, sparkhire, sparkhire_url = await fakes(stack)
            env = bot_env(slack, sparkhire_url, database_url, Fernet.generate_key().decode()) | settings
            ports = [free_port(), free_port()]
            env["PUBLIC_URL"] = f"http://127.0.0.1:{ports[0]}"
            bots = [BotProcess(env=env, port=p, workdir=tmp_path) for p in ports]
            await asyncio.gather(*(b.start() for b in bots))
            try:
                yield slack, sparkhire, bots
            finally:
                await asyncio.gather(*(b.stop() for b in bots))
    finally:
        await cleanup()


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_two_processes_on_postgresql_post_each_event_once(tmp_path):
    async with two_processes_on_postgresql(tmp_path) as (slack, sparkhire, bots):
        channels = [f"C{n}" for n in range(1, 11)]
        await subscribe_channels(bots[0].url, slack, channels)
        (hook,) = sparkhire.webhooks.values()
        auth = {
            "Authorization": "Basic " + base64.b64encode(hook["_auth"].encode()).decode(),
            "X-SparkHire-Event": "InterviewCompleted",
        }
        path = hook["url"].removeprefix(bots[0].url)
        made = interviews(sparkhire, 3)
        async with httpx.AsyncClient() as client:
            # Every delivery goes to both processes (a retry landing elsewhere), concurrently.
            responses = await asyncio.gather(
                *(client.post(bot.url + path, json=interview, headers=auth) for interview in made for bot in bots)
            )
        assert {r.status_code for r in responses} == {200}
        expected = len(channels) * len(made)
        await slack.wait_for(lambda: len(slack.posted()) >= expected, timeout=30)
        await asyncio.sleep(1.5)
        posted = [(m.channel, m.text) for m in slack.posted()]
        assert len(posted) == expected and len(set(posted)) == expected


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_two_processes_subscribing_at_once_register_one_webhook(tmp_path):
    async with two_processes_on_postgresql(tmp_path) as (slack, sparkhire, bots):
        # C1 subscribes through one process and C2 through the other, at the same moment,
        # while Spark Hire is slow to answer (each process's read-then-register overlaps).
        sparkhire.latency_seconds = 0.3
        await asyncio.gather(
            subscribe_channels(bots[0].url, slack, ["C1"]), subscribe_channels(bots[1].url, slack, ["C2"])
        )
        assert len(sparkhire.webhooks) == 1  # one registration, the one the bot stored
        sparkhire.latency_seconds = 0.0
        (interview,) = interviews(sparkhire, 1)
        (delivery,) = await sparkhire.emit("InterviewCompleted", interview)
        assert delivery.status == 200
        await slack.wait_for(lambda: slack.posted("C1") and slack.posted("C2"), timeout=15)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_a_subscribe_that_waits_past_the_database_timeout_for_the_other_is_saved_and_says_so(tmp_path):
    async with two_processes_on_postgresql(tmp_path, DATABASE_TIMEOUT_SECONDS="1") as (slack, sparkhire, bots):
        # The other process holds the account's webhook lock longer than DATABASE_TIMEOUT_SECONDS:
        # Spark Hire takes 2 s to register the webhook.
        sparkhire.latency_seconds = 2.0
        await asyncio.gather(
            subscribe_channels(bots[0].url, slack, ["C1"]), subscribe_channels(bots[1].url, slack, ["C2"])
        )
        replies = [str(slack.responses[f"sub-{c}"][-1]) for c in ("C1", "C2")]
        assert all("Subscribed" in reply for reply in replies), replies
        assert sum("Another request is setting up" in reply for reply in replies) == 1
        assert not any("database" in reply.casefold() for reply in replies)
        sparkhire.latency_seconds = 0.0
        assert len(sparkhire.webhooks) == 1
        (interview,) = interviews(sparkhire, 1)
        await sparkhire.emit("InterviewCompleted", interview)
        await slack.wait_for(lambda: slack.posted("C1") and slack.posted("C2"), timeout=15)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_two_processes_on_postgresql_keep_each_thread_in_order_while_slack_refuses_posts(tmp_path):
    async with two_processes_on_postgresql(tmp_path) as (slack, sparkhire, bots):
        channels = ["C1", "C2"]
        await subscribe_channels(bots[0].url, slack, channels, words=lambda channel: "sparkhire")
        (hook,) = sparkhire.webhooks.values()
        path = hook["url"].removeprefix(bots[0].url)
        ann, bea = interviews(sparkhire, 2)
        # Slack refuses posts for a while: a 429 with Retry-After (the fake refuses any post before it
        # runs out), then errors on its side.
        slack.fail("chat.postMessage", status=429, error="ratelimited", retry_after=2, times=1)
        slack.fail("chat.postMessage", status=500, times=2)
        slack.fail("chat.postMessage", status=503, times=1)
        deliveries = [
            lambda: sparkhire.emit("InterviewCompleted", ann),
            lambda: sparkhire.emit("InterviewCompleted", bea),
            lambda: sparkhire.rate_interview(ann["uuid"], 4, reviewer="Alice"),
            lambda: sparkhire.rate_interview(bea["uuid"], 5, reviewer="Alice"),
            lambda: sparkhire.rate_interview(ann["uuid"], 2, reviewer="Bob"),
        ]
        for n, deliver in enumerate(deliveries):
            hook["url"] = bots[n % 2].url + path  # a router spreads Spark Hire's deliveries over both
            (delivery,) = await deliver()
            assert delivery.status == 200
        # A deploy stops the first process once the first message is in, some rows still waiting out
        # Slack's errors; the other one posts the rest. (Until then the first one's worker, which wakes
        # when a channel of its own is due, usually takes every channel before the other's poll.)
        await slack.wait_for(lambda: slack.posted(), timeout=30)
        await bots[0].stop()
        handed_over = time.monotonic()
        await slack.wait_for(lambda: all(len(slack.posted(c)) >= 5 for c in channels), timeout=60)
        await asyncio.sleep(1.5)  # time for a duplicate to show up, if one were coming

        assert slack.failures["chat.postMessage"] == [], "Slack should have refused some posts"
        posts = slack.calls_to("chat.postMessage")
        assert [c for c in posts if c.at > handed_over], "the second process should have posted the rest"
        # The first post met the 429. Another channel's post already on its way got one too; no other
        # was sent, by either process, until Slack's Retry-After ran out.
        refusal, *later = posts
        in_flight = [c for c in later if c.at - refusal.at < 2.0]
        assert len(in_flight) < len(channels), [(c.args["channel"], round(c.at - refusal.at, 2)) for c in in_flight]
        assert all(c.at - refusal.at < 0.5 and c.args["channel"] != refusal.args["channel"] for c in in_flight)
        top_level = {c.args["text"] for c in posts if not c.args.get("thread_ts")}
        assert top_level == {f"Cand {n} completed the interview (Spark Hire)" for n in (0, 1)}  # tries included
        for channel in channels:
            posted = slack.posted(channel)
            ann_card, bea_card = (m for m in posted if m.thread_ts is None)
            # Each card was posted in the order the completions came, then refreshed once a rating, the
            # last refresh showing the last rating.
            assert [(ann_card.text, ann_card.updates), (bea_card.text, bea_card.updates)] == [
                ("Cand 0 was rated: ★★☆☆☆ 2 (Spark Hire)", 2),
                ("Cand 1 was rated: ★★★★★ 5 (Spark Hire)", 1),
            ]
            thread = {card.ts: [m.text for m in posted if m.thread_ts == card.ts] for card in (ann_card, bea_card)}
            assert thread == {
                ann_card.ts: ["Cand 0 was rated: ★★★★☆ 4 by Alice", "Cand 0 was rated: ★★☆☆☆ 2 by Bob"],
                bea_card.ts: ["Cand 1 was rated: ★★★★★ 5 by Alice"],
            }, channel
            # The channel as a whole in the order the events came, each once.
            outbox_ids = [int(m.metadata["event_payload"]["outbox_id"]) for m in posted]
            assert outbox_ids == sorted(set(outbox_ids)) and len(posted) == 5


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_a_wedgehr_token_disconnected_through_one_process_is_gone_at_once_in_the_other(tmp_path):
    wedgehr = WedgeHRSandbox()
    async with AsyncExitStack() as stack:
        wedgehr_url = await stack.enter_async_context(serve(wedgehr.app))
        async with two_processes_on_postgresql(tmp_path, WEDGEHR_API_URL=wedgehr_url) as (slack, _, bots):
            first, second = (SlackSender(b.url, trigger_ids=slack.issue_trigger_id) for b in bots)
            stack.push_async_callback(first.aclose)
            stack.push_async_callback(second.aclose)
            # An admin connects the workspace's WedgeHR token through the first process.
            await first.command("connect", user="U1")
            view = await connect_view(slack)
            values = {Block.WEDGEHR_TOKEN: {Action.INPUT: {"type": "plain_text_input", "value": "company-token-123"}}}
            assert (await first.view_submission(view, values)).json() == {"response_action": "clear"}
            await slack.wait_for(lambda: slack.ephemerals("U1"), timeout=10)
            # C1 subscribes through the second process, which now knows the token.
            for channel in ("C1", "C2"):
                slack.add_channel(channel, name=channel.lower())
            await second.command("subscribe wedgehr", channel="C1", response_url=slack.response_url("sub-C1"))
            await slack.wait_for(lambda: slack.responses.get("sub-C1"), timeout=10)
            assert "Subscribed" in str(slack.responses["sub-C1"][-1])

            # The admin disconnects it through the first process...
            await first.command("connect", user="U1")
            view = await connect_view(slack, after=view)
            (connection_id,) = (
                b["accessory"]["value"]
                for b in view["blocks"]
                if b.get("accessory", {}).get("action_id") == Action.DISCONNECT
            )
            updates = len(slack.calls_to("views.update"))
            await first.block_action(Action.DISCONNECT, value=connection_id, view=view, user="U1", channel=None)
            await slack.wait_for(lambda: len(slack.calls_to("views.update")) > updates, timeout=10)
            assert "workspace: not connected" in str(slack.views[view["id"]]["blocks"])

            # ...and a recruiter subscribes C2 through the second one a moment later: told to connect
            # WedgeHR, not "Subscribed" to an account that is gone (whose posts would never come).
            await second.command("subscribe wedgehr", channel="C2", response_url=slack.response_url("sub-C2"))
            await slack.wait_for(lambda: slack.responses.get("sub-C2"), timeout=10)
            reply = str(slack.responses["sub-C2"][-1])
            assert "WedgeHR is not connected yet" in reply, reply


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_two_processes_together_post_to_a_channel_no_faster_than_slack_takes(tmp_path):
    async with two_processes_on_postgresql(tmp_path) as (slack, sparkhire, bots):
        await subscribe_channels(bots[0].url, slack, ["C1"])
        (hook,) = sparkhire.webhooks.values()
        path = hook["url"].removeprefix(bots[0].url)
        slack.pace_per_channel = 1.0  # Slack's one message a second per channel: a faster post is a 429
        made = interviews(sparkhire, 6)
        for n, interview in enumerate(made):
            hook["url"] = bots[n % 2].url + path  # a router spreads Spark Hire's deliveries over both
            (delivery,) = await sparkhire.emit("InterviewCompleted", interview)
            assert delivery.status == 200
        await slack.wait_for(lambda: len(slack.posted("C1")) >= 6, timeout=30)
        posts = slack.calls_to("chat.postMessage")
        assert len(posts) == 6, [round(b.at - a.at, 3) for a, b in itertools.pairwise(posts)]
        assert [m.text for m in slack.posted("C1")] == [
            f"Cand {n} completed the interview (Spark Hire)" for n in range(6)
        ]


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_a_wedgehr_account_whose_poller_was_killed_mid_poll_is_polled_by_another_process_soon(tmp_path):
    interval = 10.0
    database_url, cleanup = await fresh_postgres_database()
    wedgehr = WedgeHRSandbox()
    try:
        async with AsyncExitStack() as stack:
            slack, _, sparkhire_url = await fakes(stack)
            wedgehr_url = await stack.enter_async_context(serve(wedgehr.app))
            env = bot_env(slack, sparkhire_url, database_url, Fernet.generate_key().decode()) | {
                "WEDGEHR_TOKEN": "company-token-123",
                "WEDGEHR_API_URL": wedgehr_url,
                "WEDGEHR_POLL_SECONDS": str(interval),
            }
            first = BotProcess(env=env, port=free_port(), workdir=tmp_path)
            second = BotProcess(env=env, port=free_port(), workdir=tmp_path)
            await first.start()
            try:
                await subscribe_channels(first.url, slack, ["C1"], words=lambda channel: "wedgehr")
                # The first process's next poll hangs at WedgeHR, and the process is killed meanwhile
                # (the dyno lost, OOM): the second one, running by then, must take the account over.
                asked = len(wedgehr.requests)
                wedgehr.slow_next(120)
                await slack.wait_for(lambda: len(wedgehr.requests) > asked, timeout=interval + 5)
                await second.start()
                first.kill()
                await first.proc.wait()
                killed_at = time.monotonic()
                await slack.wait_for(lambda: len(wedgehr.requests) > asked + 1, timeout=90)
                took = time.monotonic() - killed_at
                # As a channel mid-post waits for a killed process (20 s), then the next poll's turn.
                assert took < 20 + interval + 2, f"the account was not polled for {took:.0f} s"
            finally:
                await first.stop()
                await second.stop()
    finally:
        await cleanup()


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_a_subscribe_through_one_process_while_its_key_is_disconnected_through_the_other_is_not_left_dead(
    tmp_path,
):
    async with two_processes_on_postgresql(tmp_path, SPARKHIRE_API_KEY="") as (slack, sparkhire, bots):
        first, second = (SlackSender(b.url, trigger_ids=slack.issue_trigger_id) for b in bots)
        try:
            sparkhire.add_account("acme-key-123456", "Acme Corp")
            await first.command("connect", user="U2")
            view = await connect_view(slack)
            values = {
                Block.SPARKHIRE_USER_KEY: {Action.INPUT: {"type": "plain_text_input", "value": "acme-key-123456"}}
            }
            assert (await first.view_submission(view, values, user="U2")).json() == {"response_action": "clear"}
            await slack.wait_for(lambda: slack.ephemerals("U2"), timeout=10)
            for channel in ("C1", "C2"):
                slack.add_channel(channel, name=channel.lower())
            await first.command("subscribe sparkhire", user="U2", channel="C1", response_url=slack.response_url("s1"))
            await slack.wait_for(lambda: slack.responses.get("s1"), timeout=10)
            await first.command("connect", user="U2")
            view = await connect_view(slack, after=view)
            (connection_id,) = (
                b["accessory"]["value"].split(":")[0]
                for b in view["blocks"]
                if b.get("accessory", {}).get("action_id") == Action.DISCONNECT
            )

            # Spark Hire is slow: the Disconnect (through the first process) is deleting the key's
            # webhook when the same recruiter subscribes C2 with that key (through the second).
            sparkhire.latency_seconds = 1.0
            updates = len(slack.calls_to("views.update"))
            await first.block_action(Action.DISCONNECT, value=connection_id, view=view, user="U2", channel=None)
            await asyncio.sleep(0.3)
            await second.command("subscribe sparkhire", user="U2", channel="C2", response_url=slack.response_url("s2"))
            await slack.wait_for(lambda: len(slack.calls_to("views.update")) > updates, timeout=15)
            await slack.wait_for(lambda: slack.responses.get("s2"), timeout=15)
            await asyncio.sleep(1.5)

            # No webhook is left at Spark Hire for the key that is gone (its deliveries refused for ever)...
            assert [h["url"] for h in sparkhire.webhooks.values() if connection_id in h["url"]] == []
            # ...and no channel is left subscribed through it unpaused, silently getting nothing.
            engine = create_async_engine(normalize_database_url(bots[0].env["DATABASE_URL"]))
            try:
                async with engine.connect() as conn:
                    dead = (
                        await conn.execute(
                            sa.text(
                                "SELECT channel_id FROM subscriptions s WHERE NOT s.paused AND NOT EXISTS "
                                "(SELECT 1 FROM vendor_connections c WHERE c.id = s.connection_id)"
                            )
                        )
                    ).all()
            finally:
                await engine.dispose()
            assert dead == [], (dead, slack.responses["s2"][-1])
        finally:
            await first.aclose()
            await second.aclose()


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_three_processes_polling_one_wedgehr_account_post_each_completion_once(tmp_path):
    database_url, cleanup = await fresh_postgres_database()
    wedgehr = WedgeHRSandbox()
    try:
        async with AsyncExitStack() as stack:
            slack, _, sparkhire_url = await fakes(stack)
            wedgehr_url = await stack.enter_async_context(serve(wedgehr.app))
            env = bot_env(slack, sparkhire_url, database_url, Fernet.generate_key().decode()) | {
                "WEDGEHR_TOKEN": "company-token-123",
                "WEDGEHR_API_URL": wedgehr_url,
                "WEDGEHR_POLL_SECONDS": "0.5",
            }
            # Three processes started at once on an empty database: each migrates, none fails.
            bots = [BotProcess(env=env, port=free_port(), workdir=tmp_path) for _ in range(3)]
            await asyncio.gather(*(b.start() for b in bots))
            try:
                await subscribe_channels(bots[0].url, slack, ["C1"], words=lambda channel: "wedgehr")
                interview = next(iter(wedgehr.interviews.values()))
                invites = [
                    wedgehr.add_invite(interview_id=interview["id"], email=f"cand{n}@example.io") for n in range(4)
                ]
                await asyncio.sleep(2)  # the baseline
                for invite in invites:
                    wedgehr.complete_invite(invite["id"])
                    await asyncio.sleep(0.3)  # each process's timer meanwhile, polling whoever leases
                await slack.wait_for(lambda: len(slack.posted("C1")) >= 4, timeout=30)
                await asyncio.sleep(3)  # several more polls by each, for a second card to show up
                cards = [m.text for m in slack.posted("C1")]
                assert len(cards) == 4 and len(set(cards)) == 4, cards
            finally:
                await asyncio.gather(*(b.stop() for b in bots))
    finally:
        await cleanup()
