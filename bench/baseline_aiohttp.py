"""Baseline for the webhook benchmark: a bare aiohttp handler that reads the body and answers 200.

Run: ``python -m bench.baseline_aiohttp --port 3101``.
"""

from __future__ import annotations

import argparse

from aiohttp import web


async def receive(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"ok": True})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/webhooks/sparkhire/{connection_id}", receive)
    app.router.add_get("/healthz", lambda _: web.json_response({"ok": True}))
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
