"""Plot docs/performance.json as docs/performance.png (matplotlib, Agg): each benchmark against its baseline.

Run: ``python -m bench.plot [--results docs/performance.json] [--out docs/performance.png]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.harness import RESULTS

COLORS = {"bot": "#1f77b4", "bolt_default": "#bbbbbb", "bolt_process_before_response": "#7f7f7f"}
LABELS = {
    "bot": "bot",
    "bolt_default": "bare Bolt (defaults)",
    "bolt_process_before_response": "bare Bolt (process_before_response)",
}


def ack(ax, data: dict) -> None:
    rows = data["by_concurrency"]
    concurrencies = list(rows)
    width = 0.27
    for i, target in enumerate(COLORS):
        xs = [c + (i - 1) * width for c in range(len(concurrencies))]
        p99 = [rows[c][target]["p99_ms"] for c in concurrencies]
        p50 = [rows[c][target]["p50_ms"] for c in concurrencies]
        ax.bar(xs, p99, width, color=COLORS[target], label=f"{LABELS[target]} p99")
        ax.scatter(xs, p50, marker="_", color="black", s=120, zorder=3, label="p50" if i == 0 else None)
        for x, y in zip(xs, p99, strict=True):
            ax.annotate(f"{y:.0f}" if y >= 10 else f"{y:.1f}", (x, y), ha="center", va="bottom", fontsize=7)
    ax.axhline(50, color="red", linestyle="--", linewidth=1, label="50 ms target (c=100)")
    ax.set_xticks(range(len(concurrencies)), [f"concurrency {c}" for c in concurrencies])
    ax.set_yscale("log")
    ax.set_ylabel("ack latency (ms, log)")
    ratios = ", ".join(f"c={c}: {rows[c]['bot_p99_over_faster_baseline']}x" for c in concurrencies)
    ax.set_title(f"1. Ack latency, p99 (bars) and p50\nbot p99 / faster baseline p99: {ratios} (target <= 1.5x)")
    ax.legend(fontsize=7, loc="upper left")


def ingest(ax, data: dict) -> None:
    dbs = [db for db in ("sqlite", "postgresql") if db in data]
    width = 0.38
    for i, target in enumerate(("bot", "baseline")):
        xs = [d + (i - 0.5) * width for d in range(len(dbs))]
        values = [data[db][target]["per_second"] for db in dbs]
        label = "bot (stored before 2xx)" if target == "bot" else "bare aiohttp 200 (no storage)"
        ax.bar(xs, values, width, color=COLORS["bot"] if target == "bot" else "#7f7f7f", label=label)
        for x, y, db in zip(xs, values, dbs, strict=True):
            text = f"{y}/s\np99 {data[db][target]['p99_ms']:.0f} ms"
            ax.annotate(text, (x, y), ha="center", va="bottom", fontsize=7)
    ax.axhline(2000, color="red", linestyle="--", linewidth=1, label="2000/s target")
    ax.set_xticks(range(len(dbs)), [f"{db}\nbot/baseline {data[db]['bot_over_baseline']:.0%}" for db in dbs])
    ax.set_ylabel("deliveries per second (concurrency 50)")
    ax.set_title("2. Webhook ingest throughput (target >= 2000/s and >= 30% of baseline)")
    ax.set_ylim(0, max(data[db]["baseline"]["per_second"] for db in dbs) * 1.25)
    ax.legend(fontsize=7, loc="upper right")


def delivery(ax, data: dict) -> None:
    times = data["posted_at_seconds"]
    ax.step(times, range(1, len(times) + 1), where="post", color=COLORS["bot"], label="bot: messages posted")
    per_channel = data["events"] // data["channels"]
    ideal_t = [float(s) for s in range(per_channel)]
    ideal_n = [data["channels"] * (s + 1) for s in range(per_channel)]
    ax.step(ideal_t, ideal_n, where="post", color="#7f7f7f", linestyle="--", label="ideal: 1 msg/s/channel")
    ax.axvline(data["ideal_seconds"] * 1.1, color="red", linestyle=":", linewidth=1, label="ideal + 10%")
    ax.set_xlabel("seconds since the first delivery")
    ax.set_ylabel("messages posted")
    ax.set_title(
        f"3. Delivery of {data['events']} events to {data['channels']} paced channels: "
        f"{data['seconds_to_last_post']} s (ideal {data['ideal_seconds']} s)"
    )
    ax.legend(fontsize=7, loc="lower right")


def memory(ax, results: dict) -> None:
    bars: list[tuple[str, float]] = []
    for db, row in results.get("webhook_ingest", {}).items():
        bars += [(f"{db}\nidle", row["memory_mb"]["idle"]), (f"{db}\nafter ingest", row["memory_mb"]["after_ingest"])]
    soak = results.get("ack_soak")
    if soak:
        bars.append((f"max in {soak['seconds']} s\nack soak", soak["bot_rss_mb"]["max"]))
    ax.bar(range(len(bars)), [b[1] for b in bars], color=COLORS["bot"])
    for i, (_, y) in enumerate(bars):
        ax.annotate(f"{y:.0f} MB", (i, y), ha="center", va="bottom", fontsize=7)
    ax.axhline(150, color="red", linestyle="--", linewidth=1, label="150 MB target")
    ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=7)
    ax.set_ylabel("bot RSS (MB)")
    ax.set_title("4. Bot resident memory")
    ax.legend(fontsize=7)


def vendor(ax, data: dict) -> None:
    rows = []
    for name, label in (("wedgehr_invites", "WedgeHR invites"), ("sparkhire_interviews", "Spark Hire interviews")):
        for mode in ("streamed", "held_in_a_list"):
            r = data[name][mode]
            rows.append((f"{label}\n{mode.replace('_', ' ')}", r))
    values = [r["peak_traced_mb"] for _, r in rows]
    ax.bar(range(len(rows)), values, color=[COLORS["bot"], "#7f7f7f"] * 2)
    for i, (_, r) in enumerate(rows):
        text = f"{r['peak_traced_mb']} MB\n{r['requests']} req, {r['seconds']} s"
        ax.annotate(text, (i, r["peak_traced_mb"]), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(rows)), [r[0] for r in rows], fontsize=7)
    ax.set_ylabel("peak traced memory (MB, tracemalloc)")
    ax.set_ylim(0, max(values) * 1.3)
    ax.set_title(f"5. Listing {data.get('records_seeded', 10000)} records: streaming vs holding them")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=RESULTS.with_suffix(".png"))
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    fig, axes = plt.subplots(3, 2, figsize=(15, 15))
    panels = [
        ("ack_latency", ack, axes[0][0]),
        ("webhook_ingest", ingest, axes[0][1]),
        ("delivery", delivery, axes[1][0]),
        (None, memory, axes[1][1]),
        ("vendor_listing", vendor, axes[2][0]),
    ]
    for key, draw, ax in panels:
        if key is None:
            draw(ax, results)
        elif key in results:
            draw(ax, results[key])
        else:
            ax.set_axis_off()
    axes[2][1].set_axis_off()
    m = results.get("machine", {})
    fig.suptitle(f"Interview Bot benchmarks: {m.get('cpus')} CPUs, {m.get('cpu_model', '')}, Python {m.get('python')}")
    fig.tight_layout()
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
