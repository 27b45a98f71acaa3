"""Benchmark 1: acknowledgement latency of signed slash commands and view submissions.

The bot (a real ``python -m bot`` process on SQLite, fake Slack and sandboxes) and two baselines, a bare
Bolt AsyncApp whose listeners only ack (with Bolt's defaults, and with ``process_before_response=True``),
are measured in the same run, in alternating rounds, so the ratio survives a noisy machine.

Run: ``python -m bench.ack_latency [--requests 600] [--rounds 3] [--soak-seconds 0]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp

from bench.harness import (
    REQUEST_KINDS,
    bot_process,
    fakes,
    module_process,
    run_load,
    save,
    signed_slack_headers,
    summary_ms,
)

CONCURRENCIES = (1, 20, 100)
TARGETS = ("bot", "bolt_default", "bolt_process_before_response")


def sender(url: str):
    kinds = list(REQUEST_KINDS.values())

    async def send(session: aiohttp.ClientSession, n: int) -> int:
        body = kinds[n % len(kinds)](n)  # an even mix of help, invite and view submissions
        async with session.post(url + "/slack/events", data=body, headers=signed_slack_headers(body)) as response:
            await response.read()
            return response.status

    return send


async def profile(out: str, seconds: int = 8) -> None:
    """py-spy samples the bot (collapsed stacks) under the mixed load at concurrency 1."""
    async with AsyncExitStack() as stack:
        f = await stack.enter_async_context(fakes())
        bot = await stack.enter_async_context(bot_process(f))
        await run_load(sender(bot.url), total=60, concurrency=5)
        spy = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("py-spy")),
            *("record", "--pid", str(bot.proc.pid), "--format", "raw", "--output", out),
            *("--duration", str(seconds), "--rate", "500"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        began = time.monotonic()
        while spy.returncode is None and time.monotonic() - began < seconds + 5:
            await run_load(sender(bot.url), total=300, concurrency=1)
            f.slack.calls.clear()
        await spy.wait()


async def measure(requests: int, rounds: int) -> dict:
    results: dict = {}
    async with AsyncExitStack() as stack:
        f = await stack.enter_async_context(fakes())
        bot = await stack.enter_async_context(bot_process(f))
        urls = {
            "bot": bot.url,
            "bolt_default": await stack.enter_async_context(module_process("bench.baseline_bolt")),
            "bolt_process_before_response": await stack.enter_async_context(
                module_process("bench.baseline_bolt", "--process-before-response")
            ),
        }
        for url in urls.values():  # warm up imports, pools and caches
            await run_load(sender(url), total=60, concurrency=5)
        for concurrency in CONCURRENCIES:
            latencies: dict[str, list[float]] = {t: [] for t in TARGETS}
            errors: dict[str, int] = dict.fromkeys(TARGETS, 0)
            for _ in range(rounds):
                for target in TARGETS:  # alternate targets within each round
                    lat, statuses, _ = await run_load(
                        sender(urls[target]), total=requests // rounds, concurrency=concurrency
                    )
                    latencies[target] += lat
                    errors[target] += sum(1 for s in statuses if s != 200)
            results[str(concurrency)] = {t: summary_ms(latencies[t]) | {"non_200": errors[t]} for t in TARGETS}
            faster = min(results[str(concurrency)][t]["p99_ms"] for t in TARGETS[1:])
            results[str(concurrency)]["bot_p99_over_faster_baseline"] = round(
                results[str(concurrency)]["bot"]["p99_ms"] / faster, 2
            )
            print(concurrency, results[str(concurrency)], flush=True)
        await asyncio.sleep(0.5)
        f.slack.calls.clear()
    return results


async def soak(seconds: float, concurrency: int = 20) -> dict:
    """Steady mixed load on the bot for ``seconds``; the slowest acknowledgement is what matters."""
    async with AsyncExitStack() as stack:
        f = await stack.enter_async_context(fakes())
        bot = await stack.enter_async_context(bot_process(f))
        send = sender(bot.url)
        latencies: list[float] = []
        non_200 = 0
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            lat, statuses, _ = await run_load(send, total=2000, concurrency=concurrency)
            latencies += lat
            non_200 += sum(1 for s in statuses if s != 200)
            f.slack.calls.clear()  # keep the fake's memory flat over a long run
            f.slack.views.clear()
        return summary_ms(latencies) | {
            "seconds": round(time.monotonic() - began),
            "concurrency": concurrency,
            "non_200": non_200,
            "over_1s": sum(1 for x in latencies if x > 1.0),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="per target and concurrency")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", help="write py-spy collapsed stacks of the bot under load to this file")
    parser.add_argument("--soak-seconds", type=float, default=0, help="run the soak instead (300 for the report)")
    args = parser.parse_args()
    if args.profile:
        asyncio.run(profile(args.profile))
    elif args.soak_seconds:
        result = asyncio.run(soak(args.soak_seconds))
        print(result)
        save("ack_soak", result)
    else:
        save("ack_latency", asyncio.run(measure(args.requests, args.rounds)))


if __name__ == "__main__":
    main()
