"""Benchmark 1: acknowledgement latency of signed slash commands and view submissions.

The bot (a real ``python -m bot`` process on SQLite, against the fake Slack and the sandboxes) and two
baselines, a bare Bolt AsyncApp on aiohttp whose listeners only ack (with Bolt's defaults, and with
``process_before_response=True``), are measured in the same run, in interleaved rounds whose order rotates, so
the ratio survives a noisy machine. The load is an even mix of ``/interview help``, ``/interview invite`` and a
``view_submission`` (WedgeHR invite with an invalid email, answered with a field error), every request
correctly signed, sent by a closed-loop generator in its own process.

Run: ``python -m bench.ack_latency [--requests 3000] [--rounds 5]`` or the soak
``python -m bench.ack_latency --soak-seconds 300``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from contextlib import AsyncExitStack

from bench.harness import bot_process, cpu_seconds, fakes, module_process, py_spy, rss_mb, save, summary_ms
from bench.loadgen import Job, LoadGenerator, non_2xx
from bench.payloads import SLACK_KINDS

CONCURRENCIES = (1, 20, 100)
TARGETS = ("bot", "bolt_default", "bolt_process_before_response")
RATIO_TARGET = 1.5
P99_TARGET_MS_AT_100 = 50.0


async def profile(out: str, seconds: float, concurrency: int, kinds: tuple[str, ...]) -> None:
    """py-spy samples the bot while the generator keeps it busy with ``kinds`` at ``concurrency``."""
    generator = LoadGenerator()
    async with AsyncExitStack() as stack:
        stack.callback(generator.close)
        f = await stack.enter_async_context(fakes())
        bot = await stack.enter_async_context(bot_process(f))
        await generator.run(Job(kind="slack", url=bot.url, total=600, concurrency=10, slack_kinds=kinds))
        spy = await py_spy(bot.proc.pid, out, seconds)
        numbered = 1000
        began = time.monotonic()
        while time.monotonic() - began < seconds + 1:
            await generator.run(
                Job(kind="slack", url=bot.url, total=2000, concurrency=concurrency, first=numbered, slack_kinds=kinds),
                lead=0.1,
            )
            numbered += 2000
            f.slack.calls.clear()
            f.slack.views.clear()
        await spy.wait()


async def measure(
    requests: int, rounds: int, concurrencies: tuple[int, ...], mix: tuple[str, ...] = tuple(SLACK_KINDS)
) -> dict:
    results: dict = {
        "requests_per_target_and_concurrency": requests,
        "rounds": rounds,
        "kinds": list(mix),
        "by_concurrency": {},
    }
    generator = LoadGenerator()
    async with AsyncExitStack() as stack:
        stack.callback(generator.close)
        f = await stack.enter_async_context(fakes())
        bot = await stack.enter_async_context(bot_process(f))
        servers = {
            "bot": (bot.url, bot.proc.pid),
            "bolt_default": await stack.enter_async_context(module_process("bench.baseline_bolt")),
            "bolt_process_before_response": await stack.enter_async_context(
                module_process("bench.baseline_bolt", "--process-before-response")
            ),
        }
        servers = {t: (s if isinstance(s, tuple) else (s.url, s.pid)) for t, s in servers.items()}
        numbered = 0
        for url, _ in servers.values():  # warm up imports, pools, caches and the generator itself
            await generator.run(Job(kind="slack", url=url, total=600, concurrency=10, first=numbered))
            numbered += 600
        for concurrency in concurrencies:
            latencies: dict[str, list[float]] = {t: [] for t in TARGETS}
            kinds: dict[str, list[str]] = {t: [] for t in TARGETS}
            errors = dict.fromkeys(TARGETS, 0)
            wall = dict.fromkeys(TARGETS, 0.0)
            cpu = dict.fromkeys(TARGETS, 0.0)
            rig_cpu = dict.fromkeys(TARGETS, 0.0)
            per_round = max(concurrency, requests // rounds)
            for r in range(rounds):
                order = TARGETS[r % 3 :] + TARGETS[: r % 3]  # rotate so no target always runs first
                for target in order:
                    url, pid = servers[target]
                    cpu_before, rig_before = cpu_seconds(pid), cpu_seconds(os.getpid())
                    result = await generator.run(
                        Job(
                            kind="slack",
                            url=url,
                            total=per_round,
                            concurrency=concurrency,
                            first=numbered,
                            slack_kinds=mix,
                        )
                    )
                    cpu[target] += cpu_seconds(pid) - cpu_before
                    rig_cpu[target] += cpu_seconds(os.getpid()) - rig_before
                    numbered += per_round
                    latencies[target] += result.latencies
                    kinds[target] += result.kinds
                    errors[target] += non_2xx(result)
                    wall[target] += result.wall
                f.slack.calls.clear()  # the bot opens a modal per /interview invite: keep the fake small
                f.slack.views.clear()
            row: dict = {}
            for t in TARGETS:
                row[t] = summary_ms(latencies[t]) | {
                    "non_2xx": errors[t],
                    "requests_per_second": round(len(latencies[t]) / wall[t]),
                    "server_cpu_utilisation": round(cpu[t] / wall[t], 2),
                    "server_cpu_ms_per_request": round(1000 * cpu[t] / len(latencies[t]), 3),
                    # The fake Slack and sandboxes run in this process: CPU the rig takes from the machine.
                    "fakes_cpu_ms_per_request": round(1000 * rig_cpu[t] / len(latencies[t]), 3),
                    "by_kind": {
                        kind: summary_ms([x for x, k in zip(latencies[t], kinds[t], strict=True) if k == kind])
                        for kind in mix
                    },
                }
            faster = min(TARGETS[1:], key=lambda t: row[t]["p99_ms"])
            row["faster_baseline"] = faster
            row["bot_p99_over_faster_baseline"] = round(row["bot"]["p99_ms"] / row[faster]["p99_ms"], 2)
            row["ratio_target_met"] = row["bot_p99_over_faster_baseline"] <= RATIO_TARGET
            if concurrency == 100:
                row["p99_under_50ms"] = row["bot"]["p99_ms"] < P99_TARGET_MS_AT_100
            results["by_concurrency"][str(concurrency)] = row
            print(
                f"c={concurrency}: "
                + ", ".join(
                    f"{t} p50 {row[t]['p50_ms']} p99 {row[t]['p99_ms']} max {row[t]['max_ms']}"
                    f" cpu {row[t]['server_cpu_ms_per_request']} ms/request"
                    f" (fakes {row[t]['fakes_cpu_ms_per_request']})"
                    for t in TARGETS
                )
                + f"; ratio {row['bot_p99_over_faster_baseline']}",
                flush=True,
            )
        results["bot_rss_mb_after"] = rss_mb(bot.proc.pid)
    return results


async def soak(seconds: float, concurrency: int, kinds: tuple[str, ...], profile: str | None = None) -> dict:
    """Steady mixed load on the bot for ``seconds``; the slowest acknowledgement is what matters.

    Every chunk also records the bot's RSS and how many ``/interview invite`` were acknowledged against how
    many modals the bot has opened at the fake Slack (``views.open``): the work handed off after ``ack()``.
    """
    generator = LoadGenerator()
    async with AsyncExitStack() as stack:
        stack.callback(generator.close)
        f = await stack.enter_async_context(fakes())
        bot = await stack.enter_async_context(bot_process(f))
        latencies: list[float] = []
        errors, numbered, invites, views_opened = 0, 0, 0, 0
        timeline = [{"t": 0.0, "rss_mb": rss_mb(bot.proc.pid), "invites_acked": 0, "views_opened": 0}]
        chunk = 3000
        spy = None
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            if profile and spy is None and time.monotonic() - began > seconds - 12:
                spy = await py_spy(bot.proc.pid, profile, 10)
            result = await generator.run(
                Job(kind="slack", url=bot.url, total=chunk, concurrency=concurrency, first=numbered, slack_kinds=kinds),
                lead=0.1,
            )
            numbered += chunk
            latencies += result.latencies
            errors += non_2xx(result)
            invites += sum(1 for k in result.kinds if k == "invite")
            views_opened += sum(1 for c in f.slack.calls if c.method == "views.open")
            f.slack.calls.clear()  # keep the fake's memory flat over a long run
            f.slack.views.clear()
            timeline.append(
                {
                    "t": round(time.monotonic() - began, 1),
                    "rss_mb": rss_mb(bot.proc.pid),
                    "invites_acked": invites,
                    "views_opened": views_opened,
                }
            )
        if spy is not None:
            await spy.wait()
        rss = [point["rss_mb"] for point in timeline]
        return summary_ms(latencies) | {
            "seconds": round(time.monotonic() - began),
            "concurrency": concurrency,
            "kinds": list(kinds),
            "requests_per_second": round(len(latencies) / (time.monotonic() - began)),
            "non_2xx": errors,
            "over_1s": sum(1 for x in latencies if x > 1.0),
            "bot_rss_mb": {"start": rss[0], "max": max(rss), "end": rss[-1]},
            "timeline": timeline,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per target and concurrency (default 3000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCIES))
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=list(SLACK_KINDS),
        choices=list(SLACK_KINDS),
        help="the request mix (default all three); one kind alone shows what each costs",
    )
    parser.add_argument("--name", help="result key (default ack_latency, or ack_latency_<kinds> with --kinds)")
    parser.add_argument("--soak-seconds", type=float, default=0, help="run the soak instead (300 for the report)")
    parser.add_argument("--soak-concurrency", type=int, default=20)
    parser.add_argument("--soak-kinds", nargs="+", default=list(SLACK_KINDS), choices=list(SLACK_KINDS))
    parser.add_argument("--soak-name", default="ack_soak", help="result key (default ack_soak)")
    parser.add_argument("--profile", help="write py-spy stacks of the bot under load here (soak: its last 10 s)")
    parser.add_argument("--profile-kinds", nargs="+", default=list(SLACK_KINDS), choices=list(SLACK_KINDS))
    args = parser.parse_args()
    if args.profile and not args.soak_seconds:
        asyncio.run(profile(args.profile, 10, args.concurrency[-1], tuple(args.profile_kinds)))
    elif args.soak_seconds:
        result = asyncio.run(soak(args.soak_seconds, args.soak_concurrency, tuple(args.soak_kinds), args.profile))
        print({k: v for k, v in result.items() if k != "timeline"})
        save(args.soak_name, result)
    else:
        kinds = tuple(args.kinds)
        name = args.name or ("ack_latency" if set(kinds) == set(SLACK_KINDS) else "ack_latency_" + "_".join(kinds))
        save(name, asyncio.run(measure(args.requests, args.rounds, tuple(args.concurrency), kinds)))


if __name__ == "__main__":
    main()
