"""SIGKILL in the middle of a burst of webhooks: what was acknowledged is posted once, retries add nothing."""

import asyncio
import base64
from collections import Counter
from contextlib import AsyncExitStack

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.bot.notify.test_processes import bot_env, fakes, sqlite_bot, subscribe_channels
from tests.support.databases import TEST_DATABASE_URL, fresh_postgres_database
from tests.support.process import BotProcess
from tests.support.servers import free_port

CHANNELS = 50
PER_CHANNEL = 10  # 500 deliveries; Slack's one message a second per channel keeps each channel at ~10 s
KILL_AFTER_ANSWERS = 150


async def subscribe_one_job_per_channel(bot_url, slack, sparkhire):
    """Channel C<n> follows job <n>, so the 500 events spread over 50 channels."""
    jobs = {f"C{n:03d}": sparkhire.add_job(f"Role {n}") for n in range(CHANNELS)}
    await subscribe_channels(
        bot_url, slack, jobs, words=lambda channel: f"sparkhire completed job:{jobs[channel]['uuid']}"
    )
    return jobs


async def first_bot(stack: AsyncExitStack, backend: str, slack, sparkhire_url, workdir) -> BotProcess:
    """The bot process to kill, on a SQLite file or a fresh PostgreSQL database; the same env restarts it."""
    if backend == "sqlite":
        return sqlite_bot(slack, sparkhire_url, workdir)
    database_url, cleanup = await fresh_postgres_database()
    stack.push_async_callback(cleanup)
    port = free_port()
    env = bot_env(slack, sparkhire_url, database_url, Fernet.generate_key().decode())
    env["PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    return BotProcess(env=env, port=port, workdir=workdir)


@pytest.mark.parametrize(
    "backend, slack_up",
    [
        pytest.param("sqlite", False, id="sqlite-slack-down"),
        pytest.param("sqlite", True, id="sqlite-slack-up"),
        # Production runs on PostgreSQL, where two batches commit at once (SQLite: one writer thread)
        # and the leases are other SQL. Slack up covers the receiving and the posting side in one
        # run (each variant takes 30-45 s, most of it waiting out the dead process's 20 s channel leases).
        pytest.param(
            "postgresql",
            True,
            id="postgresql-slack-up",
            marks=pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set"),
        ),
    ],
)
async def test_sigkill_during_500_webhooks_then_restart_and_retry_posts_each_once(tmp_path, backend, slack_up):
    async with AsyncExitStack() as stack:
        slack, sparkhire, sparkhire_url = await fakes(stack)
        first = await first_bot(stack, backend, slack, sparkhire_url, tmp_path)
        await first.start()
        try:
            jobs = await subscribe_one_job_per_channel(first.url, slack, sparkhire)
            (hook,) = sparkhire.webhooks.values()
            headers = {
                "Authorization": "Basic " + base64.b64encode(hook["_auth"].encode()).decode(),
                "X-SparkHire-Event": "InterviewCompleted",
                "X-SparkHire-Webhook-UUID": hook["uuid"],
            }
            deliveries = []  # (channel, interview body)
            for channel, job in jobs.items():
                for k in range(PER_CHANNEL):
                    name = f"Cand {channel}-{k}"
                    interview = sparkhire.add_interview(job_uuid=job["uuid"], name=name, email=f"{channel}-{k}@ex.io")
                    deliveries.append((channel, sparkhire.set_status(interview["uuid"], "completed")))
            if not slack_up:
                # Every acknowledged event is then still in the outbox when the process dies: this
                # checks the receiving side alone.
                slack.fail("chat.postMessage", status=503, times=1_000_000)
            # Slack up: posts are in flight when the process dies, some already in the channel but not
            # yet recorded as sent; the restarted bot looks for those rather than post them again.

            answered: dict[int, int] = {}
            enough = asyncio.Event()
            queue: asyncio.Queue[int] = asyncio.Queue()
            for index in range(len(deliveries)):
                queue.put_nowait(index)

            async def sender(client: httpx.AsyncClient) -> None:
                while not queue.empty():
                    index = queue.get_nowait()
                    try:
                        response = await client.post(hook["url"], json=deliveries[index][1], headers=headers)
                    except httpx.HTTPError:
                        continue  # no answer: the sender will retry it
                    answered[index] = response.status_code
                    if len(answered) >= KILL_AFTER_ANSWERS:
                        enough.set()

            async with httpx.AsyncClient(timeout=10) as client:
                senders = [asyncio.create_task(sender(client)) for _ in range(25)]
                await asyncio.wait_for(enough.wait(), timeout=60)
                first.kill()
                await first.proc.wait()
                await asyncio.gather(*senders)
        finally:
            await first.stop()

        acknowledged = {i for i, status in answered.items() if 200 <= status < 300}
        assert KILL_AFTER_ANSWERS <= len(acknowledged) < len(deliveries), "the kill should land mid-burst"
        assert all(status < 300 for status in answered.values())
        assert bool(slack.posted()) == slack_up

        slack.failures.clear()
        second = BotProcess(env=first.env, port=first.port, workdir=tmp_path)
        await second.start()
        try:
            # Spark Hire retries everything it got no 2xx for; some of those were stored before the
            # kill. The acknowledged ones are sent again too (a sender whose answer was lost on the
            # way): whether stored before the kill or after, each must still be posted once.
            unanswered = [i for i in range(len(deliveries)) if i not in acknowledged]
            async with httpx.AsyncClient(timeout=10) as client:
                for index in unanswered + sorted(acknowledged):
                    response = await client.post(hook["url"], json=deliveries[index][1], headers=headers)
                    assert response.status_code == 200
            await slack.wait_for(lambda: len(slack.posted()) >= len(deliveries), timeout=120)
            await asyncio.sleep(2.5)  # time for a duplicate to show up, if one were coming
        finally:
            await second.stop()

        posted = Counter((m.channel, m.text) for m in slack.posted())
        expected = Counter(
            (channel, f"{body['assigned_to']['name']} completed the interview (Spark Hire)")
            for channel, body in deliveries
        )
        assert posted == expected
