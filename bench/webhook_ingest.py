"""Benchmarks 2 and 4: webhook ingest throughput; the bot's memory idle and after it, and its idle CPU.

Authenticated, distinct Spark Hire ``InterviewCompleted`` deliveries (each stored durably, with its outbox row
for the subscribed channel, before the 2xx) at concurrency 50, to the bot and to a bare aiohttp handler that
reads the body and answers 200, in interleaved rounds whose order alternates. The generator runs in its own
process(es); on a 2-core machine it shares the CPUs with the server under test, which the results record.

Run: ``python -m bench.webhook_ingest [--deliveries 20000] [--rounds 4] [--generators 1]
[--postgres postgresql://postgres@127.0.0.1:5432/test | --no-postgres]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
from contextlib import AsyncExitStack

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bench.harness import (
    DEFAULT_POSTGRES,
    bot_process,
    cpu_seconds,
    fakes,
    fresh_postgres,
    idle_cpu_share,
    module_process,
    py_spy,
    rss_mb,
    save,
    summary_ms,
)
from bench.loadgen import Job, LoadGenerator, non_2xx
from bench.paced_slack import PacedSlack
from bot.settings import normalize_database_url
from tests.support.slack_requests import SlackSender

CONCURRENCY = 50
THROUGHPUT_TARGET = 2000
RATIO_TARGET = 0.30
MEMORY_TARGET_MB = 150
IDLE_CPU_SECONDS = 10.0


async def subscribe(bot_url: str, f) -> tuple[str, dict[str, str]]:
    """Subscribe a channel so every delivery is recorded with an outbox row; the webhook URL and auth."""
    sender = SlackSender(bot_url)
    try:
        await sender.command("subscribe sparkhire completed", response_url=f.slack.response_url("sub"))
        await f.slack.wait_for(lambda: f.slack.responses.get("sub"), timeout=10)
    finally:
        await sender.aclose()
    (hook,) = f.sparkhire.webhooks.values()
    headers = {
        "Authorization": "Basic " + base64.b64encode(hook["_auth"].encode()).decode(),
        "X-SparkHire-Event": "InterviewCompleted",
        "X-SparkHire-Webhook-UUID": hook["uuid"],
        "Content-Type": "application/json",
    }
    return hook["url"], headers


def completed_interview(f) -> dict:
    """A completed interview as the sandbox sends it; each delivery gets its own uuid and candidate."""
    job = next(iter(f.sparkhire.jobs.values()))
    interview = f.sparkhire.add_interview(job_uuid=job["uuid"], name="Template", email="t@example.io")
    return {k: v for k, v in f.sparkhire.set_status(interview["uuid"], "completed").items() if k != "questions"}


async def stored_events(database_url: str | None, workdir) -> int:
    """Rows in the bot's ``events`` table: every 2xx must have been stored."""
    engine = create_async_engine(normalize_database_url(database_url or f"sqlite:///{workdir}/bot.sqlite3"))
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text("SELECT count(*) FROM events"))).scalar_one()
    finally:
        await engine.dispose()


async def measure(
    deliveries: int, rounds: int, database_url: str | None, generators: int, profile: str | None = None
) -> dict:
    generator = LoadGenerator(generators)
    async with AsyncExitStack() as stack:
        stack.callback(generator.close)
        f = await stack.enter_async_context(fakes(PacedSlack()))
        bot = await stack.enter_async_context(bot_process(f, database_url=database_url))
        baseline = await stack.enter_async_context(module_process("bench.baseline_aiohttp"))
        hook_url, headers = await subscribe(bot.url, f)
        path = hook_url.split(bot.url, 1)[1]
        template = completed_interview(f)
        await asyncio.sleep(2.0)
        idle_rss = rss_mb(bot.proc.pid)
        # Subscribed and waiting: the outbox worker's poll and the WedgeHR poller are all that run.
        idle_cpu = await idle_cpu_share(bot.proc.pid, IDLE_CPU_SECONDS)
        servers = {"bot": (hook_url, bot.proc.pid), "baseline": (baseline.url + path, baseline.pid)}
        numbered = 0

        def job(url: str, total: int) -> Job:
            nonlocal numbered
            numbered += total
            return Job(
                kind="webhook",
                url=url,
                total=total,
                concurrency=CONCURRENCY,
                first=numbered - total,
                headers=headers,
                template=template,
            )

        for url, _ in servers.values():  # warm-up
            await generator.run(job(url, 500))
        if profile:
            spy = await py_spy(bot.proc.pid, profile, 8)
            for _ in range(4):
                await generator.run(job(hook_url, 10_000), lead=0.2)
            await spy.wait()
        totals = {t: {"latencies": [], "wall": 0.0, "errors": 0, "cpu": 0.0} for t in servers}
        per_round = deliveries // rounds
        for r in range(rounds):
            for target in list(servers)[:: 1 if r % 2 == 0 else -1]:
                url, pid = servers[target]
                cpu_before = cpu_seconds(pid)
                result = await generator.run(job(url, per_round))
                totals[target]["cpu"] += cpu_seconds(pid) - cpu_before
                totals[target]["latencies"] += result.latencies
                totals[target]["wall"] += result.wall
                totals[target]["errors"] += non_2xx(result)
        after_rss = rss_mb(bot.proc.pid)
        result: dict = {
            "deliveries_per_target": per_round * rounds,
            "rounds": rounds,
            "generator_processes": generators,
        }
        for target, t in totals.items():
            result[target] = summary_ms(t["latencies"]) | {
                "per_second": round(len(t["latencies"]) / t["wall"]),
                "non_2xx": t["errors"],
                "server_cpu_utilisation": round(t["cpu"] / t["wall"], 2),
            }
        result["bot_over_baseline"] = round(result["bot"]["per_second"] / result["baseline"]["per_second"], 3)
        result["memory_mb"] = {"idle": idle_rss, "after_ingest": after_rss}
        result["idle_cpu_share_of_a_core"] = idle_cpu
    result["stored_events"] = await stored_events(database_url, bot.workdir)
    result["acknowledged_by_bot"] = per_round * rounds + 500 + (40_000 if profile else 0)
    return result


async def main_async(args) -> None:
    results = {}
    results["sqlite"] = await measure(args.deliveries, args.rounds, None, args.generators, args.profile)
    print("sqlite", results["sqlite"], flush=True)
    if args.postgres:
        async with fresh_postgres(args.postgres) as url:
            results["postgresql"] = await measure(args.deliveries, args.rounds, url, args.generators)
        print("postgresql", results["postgresql"], flush=True)
    save("webhook_ingest", results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=20_000, help="per target (default 20000)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--generators", type=int, default=1, help="load-generator processes (default 1)")
    parser.add_argument("--profile", help="write py-spy collapsed stacks of the bot (SQLite run) to this file")
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES))
    parser.add_argument("--no-postgres", dest="postgres", action="store_const", const=None)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
