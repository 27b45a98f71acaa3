"""Baseline for the acknowledgement benchmark: a bare Bolt AsyncApp on aiohttp whose listeners only ack.

Run: ``python -m bench.baseline_bolt --port 3100 [--process-before-response]``.
"""

from __future__ import annotations

import argparse
import os

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult


def build(process_before_response: bool) -> web.Application:
    async def authorize(**_: object) -> AuthorizeResult:
        # What the bot caches after its one auth.test; no network call per request.
        return AuthorizeResult(enterprise_id=None, team_id="T0001", bot_token="xoxb-baseline", bot_user_id="UBOT")

    app = AsyncApp(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        authorize=authorize,
        process_before_response=process_before_response,
    )

    @app.command("/interview")
    async def command(ack):
        await ack()

    @app.view("invite_wedgehr")
    async def view(ack):
        await ack()

    async def events(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    web_app.router.add_get("/healthz", lambda _: web.json_response({"ok": True}))
    return web_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--process-before-response", action="store_true")
    args = parser.parse_args()
    web.run_app(build(args.process_before_response), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
