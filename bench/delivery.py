"""Benchmark 3: delivery pacing. 1,000 events over 50 subscribed channels, a fake Slack holding each channel
to one message a second (429 with Retry-After otherwise); time from the first delivery to the last post.

The ideal is set by the pacing limit alone: 20 messages per channel at one a second is 19 s after the first.

Run: ``python -m bench.delivery [--channels 50] [--events 1000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import time
from contextlib import AsyncExitStack

import aiohttp

from bench.harness import bot_process, cpu_seconds, fakes, py_spy, save
from bench.paced_slack import PacedSlack
from tests.support.slack_requests import SlackSender


async def measure(channels: int, events: int, profile: str | None = None) -> dict:
    async with AsyncExitStack() as stack:
        slack = PacedSlack(interval=1.0)
        f = await stack.enter_async_context(fakes(slack))
        bot = await stack.enter_async_context(bot_process(f))
        sender = SlackSender(bot.url)
        stack.push_async_callback(sender.aclose)
        jobs = []
        for n in range(channels):  # channel n follows job n
            channel, job = f"C{n:03d}", f.sparkhire.add_job(f"Role {n}")
            f.slack.add_channel(channel, name=f"hiring-{n}")
            await sender.command(
                f"subscribe sparkhire completed job:{job['uuid']}",
                channel=channel,
                response_url=f.slack.response_url(channel),
            )
            await f.slack.wait_for(lambda channel=channel: f.slack.responses.get(channel), timeout=10)
            jobs.append(job)
        (hook,) = f.sparkhire.webhooks.values()
        headers = {
            "Authorization": "Basic " + base64.b64encode(hook["_auth"].encode()).decode(),
            "X-SparkHire-Event": "InterviewCompleted",
        }
        bodies = []
        for n in range(events):
            job = jobs[n % channels]
            interview = f.sparkhire.add_interview(job_uuid=job["uuid"], name=f"Cand {n}", email=f"c{n}@example.io")
            done = f.sparkhire.set_status(interview["uuid"], "completed")
            bodies.append({k: v for k, v in done.items() if k != "questions"})
        f.slack.messages.clear()
        slack.accepted_at.clear()
        slack.rejected = 0
        rate_limited_before = len([c for c in f.slack.calls if c.method == "chat.postMessage"])

        spy = await py_spy(bot.proc.pid, profile, events / channels + 2) if profile else None
        began = time.monotonic()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=50)) as session:

            async def deliver(body: dict) -> int:
                async with session.post(hook["url"], json=body, headers=headers) as response:
                    return response.status

            statuses = await asyncio.gather(*(deliver(b) for b in bodies))
        ingested = time.monotonic() - began
        cpu_at_ingest = cpu_seconds(bot.proc.pid)
        while len(f.slack.messages) < events and time.monotonic() - began < 300:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)  # nothing more may arrive
        if spy:
            await spy.wait()
        delivery_cpu = cpu_seconds(bot.proc.pid) - cpu_at_ingest
        last_post = max(t for times in slack.accepted_at.values() for t in times)
        finished = last_post - began
        posts = [c for c in f.slack.calls if c.method == "chat.postMessage"][rate_limited_before:]
        by_channel = slack.accepted_at  # accepted posts only
        gaps = sorted(b - a for times in by_channel.values() for a, b in itertools.pairwise(times))
        first_posts = sorted(times[0] - began for times in by_channel.values())
        per_channel = events / channels
        ideal = per_channel - 1  # the first message of each channel can go at once, then one a second
        return {
            "events": events,
            "channels": channels,
            "non_200": sum(1 for s in statuses if s != 200),
            "ingest_seconds": round(ingested, 2),
            "posted": len(f.slack.messages),
            "duplicates": len(f.slack.messages) - len({(m.channel, m.text) for m in f.slack.messages}),
            "post_attempts": len(posts),
            "answered_429": slack.rejected,
            "bot_cpu_seconds_after_ingest": round(delivery_cpu, 2),
            "seconds_to_last_post": round(finished, 2),
            "ideal_seconds": ideal,
            "over_ideal": round(finished / ideal - 1, 3),
            "target_met": finished <= ideal * 1.10,
            "first_post_seconds": {"min": round(first_posts[0], 3), "max": round(first_posts[-1], 3)},
            "posted_at_seconds": sorted(round(t - began, 3) for times in by_channel.values() for t in times),
            "gap_seconds": {
                "min": round(gaps[0], 3),
                "median": round(gaps[len(gaps) // 2], 3),
                "max": round(gaps[-1], 3),
            },
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--profile", help="write py-spy collapsed stacks of the bot while it delivers to this file")
    args = parser.parse_args()
    result = asyncio.run(measure(args.channels, args.events, args.profile))
    print({k: v for k, v in result.items() if k != "posted_at_seconds"})
    save("delivery", result)


if __name__ == "__main__":
    main()
