"""Benchmark 5: listing 10,000 WedgeHR invites and 10,000 Spark Hire interviews through the clients.

The sandboxes run seeded in their own process, so this process's traced memory is the client's alone.
Each listing is consumed as a stream (the async iterators), then, for comparison, held all at once. Spark Hire
is listed once more without the client's 400-requests-a-minute limiter, to show the client's own cost.

Run: ``python -m bench.vendor_listing [--records 10000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable

import httpx

from bench.harness import module_process, save
from bench.vendor_sandboxes import SPARKHIRE_KEY, WEDGEHR_TOKEN
from bot.sparkhire.client import SparkHireClient
from bot.sparkhire.ratelimit import KeyRateLimiters
from bot.wedgehr.client import WedgeHRClient


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts the requests a client makes, around httpx's ordinary transport."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests = 0

    async def handle_async_request(self, request):
        self.requests += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def listing(make_client: Callable, iterate: Callable[[object], AsyncIterator], *, hold: bool) -> dict:
    transport = CountingTransport()
    async with make_client(transport) as client:
        tracemalloc.start()
        began = time.perf_counter()
        held, count = [], 0
        async for item in iterate(client):
            count += 1
            if hold:
                held.append(item)
        seconds = time.perf_counter() - began
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "items": count,
        "requests": transport.requests,
        "seconds": round(seconds, 2),
        "items_per_request": round(count / max(1, transport.requests), 1),
        "peak_traced_mb": round(peak / 2**20, 2),
    }


async def measure(records: int) -> dict:
    async with module_process("bench.vendor_sandboxes", "--records", str(records)) as sandboxes:
        url = sandboxes.url

        def wedgehr(transport):
            return WedgeHRClient(token=WEDGEHR_TOKEN, base_url=url + "/wedgehr", transport=transport)

        def sparkhire(transport):
            return SparkHireClient(api_key=SPARKHIRE_KEY, base_url=url + "/sparkhire", transport=transport)

        def sparkhire_unthrottled(transport):  # the client's own cost, without Spark Hire's 400 requests/minute
            limiters = KeyRateLimiters(rate=10**9)
            return SparkHireClient(
                api_key=SPARKHIRE_KEY, base_url=url + "/sparkhire", transport=transport, limiters=limiters
            )

        results = {}
        for name, make, iterate in (
            ("wedgehr_invites", wedgehr, lambda c: c.iter_invites()),
            ("sparkhire_interviews", sparkhire, lambda c: c.iter_interviews()),
        ):
            results[name] = {
                "streamed": await listing(make, iterate, hold=False),
                "held_in_a_list": await listing(make, iterate, hold=True),
            }
            if name == "sparkhire_interviews":
                results[name]["streamed_without_rate_limit"] = await listing(sparkhire_unthrottled, iterate, hold=False)
            print(name, results[name], flush=True)
        results["records_seeded"] = records
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    save("vendor_listing", asyncio.run(measure(args.records)))


if __name__ == "__main__":
    main()
