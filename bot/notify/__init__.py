"""Notification pipeline: vendor webhooks and polling in, Slack deliveries out."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.notify.batcher import EventBatcher
from bot.notify.housekeeping import Housekeeper
from bot.notify.poller import WedgeHRPoller
from bot.notify.receiver import WEBHOOK_PATH, SparkHireReceiver
from bot.notify.shared_check import SharedChannelCheck
from bot.notify.worker import OutboxWorker, SlackClientFor
from bot.services import TOKEN_REJECTED, Services


class Pipeline:
    """The webhook receiver, the WedgeHR poller, the outbox worker, housekeeping and the shared-channel
    check of one process."""

    def __init__(self, *, services: Services, slack_client_for: SlackClientFor) -> None:
        self.services = services
        self.batcher = EventBatcher(services.db)
        self.receiver = SparkHireReceiver(
            db=services.db, batcher=self.batcher, body_timeout=services.settings.http_body_timeout_seconds
        )
        self.worker = OutboxWorker(services=services, slack_client_for=slack_client_for)
        self.poller = WedgeHRPoller(
            services=services,
            interval=services.settings.wedgehr_poll_seconds,
            on_events=self.worker.wake.set,
            on_rejected=lambda connection: self.worker.pause_connection(
                connection.team_id, connection.id, TOKEN_REJECTED
            ),
            on_outage=self.worker.tell_poll_outage,
            on_recovered=self.worker.tell_poll_recovered,
        )
        self.housekeeper = Housekeeper(db=services.db, retention_days=services.settings.event_retention_days)
        self.shared_check = SharedChannelCheck(services=services, slack_client_for=slack_client_for)

    def register_routes(self, web_app: web.Application) -> None:
        async def sparkhire_webhook(request: web.Request) -> web.Response:
            response = await self.receiver.handle(request)
            if response.status == 200:
                self.worker.wake.set()
            return response

        web_app.router.add_post(WEBHOOK_PATH, sparkhire_webhook)

    def start(self) -> list[asyncio.Task[None]]:
        return [
            asyncio.create_task(self.worker.run(), name="outbox-worker"),
            asyncio.create_task(self.poller.run(), name="wedgehr-poller"),
            asyncio.create_task(self.housekeeper.run(), name="housekeeping"),
            asyncio.create_task(self.shared_check.run(), name="shared-channel-check"),
        ]

    async def aclose(self) -> None:
        await self.batcher.aclose()


__all__ = ["Pipeline"]
