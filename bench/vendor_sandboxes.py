"""Both vendor sandboxes in their own process, seeded with many records, for the listing benchmark.

Run: ``python -m bench.vendor_sandboxes --port 3102 [--records 10000]``; WedgeHR answers under
``/wedgehr``, Spark Hire under ``/sparkhire``.
"""

from __future__ import annotations

import argparse

from aiohttp import web

from bot.sparkhire.sandbox import SparkHireSandbox
from bot.wedgehr.sandbox import WedgeHRSandbox

WEDGEHR_TOKEN = "bench-wedge-token"
SPARKHIRE_KEY = "bench-spark-key"


def seeded(records: int) -> web.Application:
    wedgehr = WedgeHRSandbox(tokens={WEDGEHR_TOKEN})
    interview = next(iter(wedgehr.interviews.values()))
    template = wedgehr.add_invite(interview_id=interview["id"], email="c0@example.io")
    for n in range(1, records):  # copies of one invite: add_invite's duplicate check is quadratic
        invite_id = template["id"] + n
        wedgehr.invites[invite_id] = dict(template, id=invite_id, email=f"c{n}@example.io")
    sparkhire = SparkHireSandbox(api_keys={SPARKHIRE_KEY})
    sparkhire.mount_prefix = "/sparkhire"
    job = next(iter(sparkhire.jobs.values()))
    for n in range(records):
        sparkhire.add_interview(job_uuid=job["uuid"], name=f"Cand {n}", email=f"c{n}@example.io")
    app = web.Application()
    app.add_subapp("/wedgehr", wedgehr.app)
    app.add_subapp("/sparkhire", sparkhire.app)
    app.router.add_get("/healthz", lambda _: web.json_response({"ok": True}))
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    web.run_app(seeded(args.records), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
