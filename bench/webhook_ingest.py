"""Benchmark 2 and 4: webhook ingest throughput, and the bot's resident memory idle and after it.

Authenticated, distinct Spark Hire ``InterviewCompleted`` deliveries at concurrency 50 to the bot (each
stored durably before its 2xx) and to a bare aiohttp handler that answers 200, alternating rounds.

Run: ``python -m bench.webhook_ingest [--deliveries 6000] [--rounds 3] [--postgres URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp

from bench.harness import bot_process, fakes, module_process, rss_mb, run_load, save, summary_ms
from tests.support.databases import fresh_postgres_database
from tests.support.slack_requests import SlackSender

CONCURRENCY = 50


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


def distinct_bodies(f, count: int, *, series: int = 0) -> list[bytes]:
    job = next(iter(f.sparkhire.jobs.values()))
    template = f.sparkhire.add_interview(job_uuid=job["uuid"], name="Template", email="t@example.io")
    template = {k: v for k, v in f.sparkhire.set_status(template["uuid"], "completed").items() if k != "questions"}
    bodies = []
    for n in range(count):
        body = dict(template, uuid=f"5a0c2a35-{series:04d}-4000-8000-{n:012d}")
        body["assigned_to"] = dict(template["assigned_to"], name=f"Cand {n}", email=f"c{n}@example.io")
        bodies.append(json.dumps(body).encode())
    return bodies


def sender(url: str, headers: dict[str, str], bodies: list[bytes], offset: int):
    async def send(session: aiohttp.ClientSession, n: int) -> int:
        async with session.post(url, data=bodies[offset + n], headers=headers) as response:
            await response.read()
            return response.status

    return send


async def profile_bot(pid: int, out: str, seconds: int) -> asyncio.subprocess.Process:
    """py-spy samples the bot process (collapsed stacks) while the load runs."""
    command = [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--format", "raw"]
    command += ["--output", out, "--duration", str(seconds), "--rate", "200"]
    return await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )


async def measure(deliveries: int, rounds: int, database_url: str | None, profile: str | None = None) -> dict:
    async with AsyncExitStack() as stack:
        f = await stack.enter_async_context(fakes())
        bot = await stack.enter_async_context(bot_process(f, database_url=database_url))
        baseline = await stack.enter_async_context(module_process("bench.baseline_aiohttp"))
        hook_url, headers = await subscribe(bot.url, f)
        path = hook_url.split(bot.url, 1)[1]
        await asyncio.sleep(1.0)
        idle_rss = rss_mb(bot.proc.pid)
        per_round = deliveries // rounds
        bodies = distinct_bodies(f, per_round * rounds + 200)
        # Warm-up: 200 deliveries to each.
        await run_load(sender(hook_url, headers, bodies, per_round * rounds), total=200, concurrency=CONCURRENCY)
        await run_load(sender(baseline + path, headers, bodies, 0), total=200, concurrency=CONCURRENCY)
        totals = {"bot": [[], 0.0, 0], "baseline": [[], 0.0, 0]}
        if profile:
            spy = await profile_bot(bot.proc.pid, profile, 5)
            await asyncio.sleep(1.0)
            await run_load(
                sender(hook_url, headers, distinct_bodies(f, 30000, series=1), 0), total=30000, concurrency=CONCURRENCY
            )
            await spy.wait()
        for r in range(rounds):
            for target, url in (("bot", hook_url), ("baseline", baseline + path)):
                lat, statuses, wall = await run_load(
                    sender(url, headers, bodies, r * per_round), total=per_round, concurrency=CONCURRENCY
                )
                totals[target][0] += lat
                totals[target][1] += wall
                totals[target][2] += sum(1 for s in statuses if s != 200)
        after_rss = rss_mb(bot.proc.pid)
        result = {}
        for target, (lat, wall, errors) in totals.items():
            result[target] = summary_ms(lat) | {"per_second": round(len(lat) / wall), "non_200": errors}
        result["bot_over_baseline"] = round(result["bot"]["per_second"] / result["baseline"]["per_second"], 3)
        result["memory_mb"] = {"idle": idle_rss, "after_ingest": after_rss}
        return result


async def main_async(args) -> None:
    results = {}
    results["sqlite"] = await measure(args.deliveries, args.rounds, None, args.profile)
    print("sqlite", results["sqlite"], flush=True)
    if args.postgres:
        os.environ.setdefault("TEST_DATABASE_URL", args.postgres)
        url, cleanup = await fresh_postgres_database()
        try:
            results["postgresql"] = await measure(args.deliveries, args.rounds, url)
            print("postgresql", results["postgresql"], flush=True)
        finally:
            await cleanup()
    save("webhook_ingest", results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=6000, help="per target")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", help="write py-spy collapsed stacks of the bot (SQLite run) to this file")
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"), help="also measure on PostgreSQL")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
