"""Closed-loop HTTP load generator running in its own process(es), so the measuring process is not also the
process that serves the fake Slack and the sandboxes.

Every request (body, signature, headers) is built before the clock starts; the timed part is aiohttp sending
it over a keep-alive connection and reading the answer. Several generator processes can share one job; they
start at the same wall-clock instant and their latencies are merged.
"""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from bench.payloads import slack_request, webhook_body


@dataclass
class Job:
    """``total`` requests of ``kind`` ("slack": an even mix of the Slack kinds; "webhook") to ``url``."""

    kind: str
    url: str
    total: int
    concurrency: int
    first: int = 0  # number of the first request: webhook uuids and trigger ids stay distinct across jobs
    slack_kinds: tuple[str, ...] = ("help", "invite", "view_submission")
    headers: dict[str, str] = field(default_factory=dict)
    template: dict[str, Any] = field(default_factory=dict)
    series: int = 0


@dataclass
class Result:
    latencies: list[float]  # seconds, in completion order
    kinds: list[str]  # the kind of each latency
    statuses: dict[str, int]
    wall: float
    requests: int


def _build(job: Job) -> list[tuple[str, bytes, dict[str, str], str]]:
    built = []
    for n in range(job.first, job.first + job.total):
        if job.kind == "slack":
            kind = job.slack_kinds[n % len(job.slack_kinds)]
            body, headers = slack_request(kind, n)
            built.append((job.url + "/slack/events", body, headers, kind))
        else:
            built.append((job.url, webhook_body(job.template, n, series=job.series), job.headers, "webhook"))
    return built


async def _run(job: Job, start_at: float) -> Result:
    requests = _build(job)
    latencies: list[float] = []
    kinds: list[str] = []
    statuses: Counter[str] = Counter()
    pending = iter(requests)
    connector = aiohttp.TCPConnector(limit=job.concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            for url, body, headers, kind in pending:
                began = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        await response.read()
                        status = str(response.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = type(exc).__name__
                latencies.append(time.perf_counter() - began)
                kinds.append(kind)
                statuses[status] += 1

        await asyncio.sleep(max(0.0, start_at - time.time()))
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(job.concurrency)))
        wall = time.perf_counter() - began
    return Result(latencies, kinds, dict(statuses), wall, len(requests))


def _run_in_process(job: dict[str, Any], start_at: float) -> dict[str, Any]:
    # As timeit does: no cyclic GC while timing. A full collection in the generator stalls every
    # request in flight for tens of ms and charged that pause to whichever server was being measured.
    gc.collect()
    gc.disable()
    try:
        return asdict(asyncio.run(_run(Job(**job), start_at)))
    finally:
        gc.enable()


class LoadGenerator:
    """A pool of ``processes`` spawned generator processes, reused across jobs."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self.pool = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"))

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    async def run(self, job: Job, *, processes: int | None = None, lead: float = 0.5) -> Result:
        """Split ``job`` over the processes; ``lead`` seconds lets each build its requests before the start."""
        loop = asyncio.get_running_loop()
        n = min(processes or self.processes, self.processes)
        start_at = time.time() + lead + job.total * n / 200_000
        parts = []
        for i in range(n):
            part = dict(asdict(job), total=job.total // n + (1 if i < job.total % n else 0))
            part["first"] = job.first + sum(p["total"] for p in parts)
            part["concurrency"] = max(1, job.concurrency // n + (1 if i < job.concurrency % n else 0))
            parts.append(part)
        done = await asyncio.gather(*(loop.run_in_executor(self.pool, _run_in_process, p, start_at) for p in parts))
        statuses: Counter[str] = Counter()
        for d in done:
            statuses.update(d["statuses"])
        return Result(
            latencies=[x for d in done for x in d["latencies"]],
            kinds=[k for d in done for k in d["kinds"]],
            statuses=dict(statuses),
            wall=max(d["wall"] for d in done),
            requests=sum(d["requests"] for d in done),
        )


def non_2xx(result: Result) -> int:
    return sum(n for status, n in result.statuses.items() if not status.startswith("2"))


if __name__ == "__main__":  # a smoke check: python -m bench.loadgen URL
    import sys

    async def _main() -> None:
        generator = LoadGenerator()
        try:
            result = await generator.run(Job(kind="slack", url=sys.argv[1], total=300, concurrency=10))
            print(json.dumps({"statuses": result.statuses, "wall": result.wall}))
        finally:
            generator.close()

    asyncio.run(_main())
