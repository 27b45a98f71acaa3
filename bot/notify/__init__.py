"""Notification pipeline: vendor webhooks and polling in, Slack deliveries out."""

from __future__ import annotations

import asyncio

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.services import Services


def register_routes(web_app: web.Application, services: Services) -> None:
    """Add the vendor webhook routes to the bot's server."""


def run_workers(services: Services, bolt: AsyncApp) -> list[asyncio.Task[None]]:
    """Start the outbox worker and the WedgeHR poller; returns their tasks."""
    return []
