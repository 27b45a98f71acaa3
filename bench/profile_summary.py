"""Summarise py-spy collapsed stacks (``--format raw``): inclusive share of the samples per function.

Run: ``python -m bench.profile_summary bench/profiles/ingest-before.raw [--top 40] [--match bot/ sqlalchemy]``.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def inclusive(path: Path) -> tuple[int, Counter[str]]:
    total, counts = 0, Counter()
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        n = int(samples)
        total += n
        seen = set()
        for frame in stack.split(";"):
            name, _, where = frame.partition(" (")
            key = f"{name} ({where.split(':')[0]})" if where else name
            if key not in seen:
                seen.add(key)
                counts[key] += n
    return total, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--match", nargs="*", default=["bot/", "handlers/", "sqlalchemy", "aiohttp/web", "json"])
    args = parser.parse_args()
    total, counts = inclusive(args.path)
    print(f"{total} samples")
    shown = 0
    for key, n in counts.most_common():
        if any(m in key for m in args.match):
            print(f"{100 * n / total:5.1f}%  {key}")
            shown += 1
            if shown >= args.top:
                break


if __name__ == "__main__":
    main()
