"""Run every benchmark, one after the other, each in its own processes; then plot.

Results are merged into docs/performance.json (or ``--results``), the plot goes to docs/performance.png.

Run: ``python -m bench.run`` (about 6 minutes on 2 cores), ``python -m bench.run --quick`` (about 2 minutes),
``python -m bench.run --soak 300`` to add the 5-minute ack soak, ``--only ack ingest`` for a subset.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import DEFAULT_POSTGRES, RESULTS

FULL = {
    "ack": ["bench.ack_latency", "--requests", "3000", "--rounds", "5"],
    "ingest": ["bench.webhook_ingest", "--deliveries", "20000", "--rounds", "4"],
    "delivery": ["bench.delivery", "--channels", "50", "--events", "1000"],
    "vendor": ["bench.vendor_listing", "--records", "10000"],
}
QUICK = {
    "ack": ["bench.ack_latency", "--requests", "600", "--rounds", "3"],
    "ingest": ["bench.webhook_ingest", "--deliveries", "4000", "--rounds", "2"],
    "delivery": ["bench.delivery", "--channels", "50", "--events", "250"],
    "vendor": ["bench.vendor_listing", "--records", "2000"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests: a smoke run, not for the report")
    parser.add_argument("--only", nargs="+", choices=list(FULL), default=list(FULL))
    parser.add_argument("--soak", type=float, default=0, help="also run the ack soak for this many seconds")
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES))
    parser.add_argument("--no-postgres", dest="postgres", action="store_const", const=None)
    results = Path(os.environ.get("BENCH_RESULTS", RESULTS))
    parser.add_argument("--results", type=Path, default=results)
    parser.add_argument("--plot", type=Path, default=results.with_suffix(".png"))
    args = parser.parse_args()
    env = {**os.environ, "BENCH_RESULTS": str(args.results)}
    plan = [(name, (QUICK if args.quick else FULL)[name]) for name in args.only]
    for name, command in plan:
        if name == "ingest":
            command = [*command, *(["--postgres", args.postgres] if args.postgres else ["--no-postgres"])]
        run(name, command, env)
    if args.soak:
        run("ack soak", ["bench.ack_latency", "--soak-seconds", str(args.soak)], env)
    run("plot", ["bench.plot", "--results", str(args.results), "--out", str(args.plot)], env)


def run(name: str, command: list[str], env: dict[str, str]) -> None:
    print(f"== {name}: python -m {' '.join(command)}", flush=True)
    began = time.monotonic()
    subprocess.run([sys.executable, "-m", *command], check=True, env=env, cwd=Path(__file__).resolve().parent.parent)
    print(f"== {name}: {time.monotonic() - began:.0f} s", flush=True)


if __name__ == "__main__":
    main()
