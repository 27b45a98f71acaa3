"""WedgeHR has no webhooks: poll each subscribed connection for invites whose status changed and
wedges newly completed (a candidate who recorded through an interview's public link has no invite)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

from bot.notify.events import wedgehr_event
from bot.services import Services
from bot.storage import Connection, NewEvent
from bot.vendors.errors import VendorError
from bot.wedgehr.client import WedgeHRClient

logger = logging.getLogger(__name__)

WATCHED_STATUSES = ("complete", "send_failure", "canceled")


class WedgeHRPoller:
    """Every ``interval`` seconds, diff each connection's invites against the stored state.

    The first poll of a connection only takes a baseline. A lease row makes sure
    that with several processes one of them polls a connection at a time.
    """

    def __init__(self, *, services: Services, interval: float, on_events: Any = None) -> None:
        self.services = services
        self.db = services.db
        self.interval = interval
        self.holder = f"poller-{secrets.token_hex(4)}"
        self.on_events = on_events

    async def run(self) -> None:
        while True:
            try:
                await self.poll_all()
            except Exception:
                logger.exception("WedgeHR poll failed")
            await asyncio.sleep(self.interval)

    async def poll_all(self) -> int:
        """Poll every subscribed connection we can lease; returns how many events were new."""
        connection_ids = {
            s.connection_id for s in await self.db.subscriptions.list_active("wedgehr") if s.connection_id
        }
        new = 0
        for connection_id in sorted(connection_ids):
            if not await self.db.poll_state.try_lease(connection_id, self.holder, self.interval * 2 + 30):
                continue
            try:
                connection = await self.db.connections.get(connection_id)
                if connection is not None:
                    new += await self.poll_connection(connection)
            except VendorError as exc:
                logger.warning("Polling WedgeHR for connection %s failed: %s", connection_id, exc)
            finally:
                await self.db.poll_state.release(connection_id, self.holder)
        return new

    async def poll_connection(self, connection: Connection) -> int:
        client = self.services.client_for(connection)
        assert isinstance(client, WedgeHRClient)
        state = await self.db.poll_state.load(connection.id) or {}
        known: dict[str, str] = state.get("invites", {})
        current: dict[str, str] = {}
        events: list[NewEvent] = []
        for status in WATCHED_STATUSES:
            async for invite in client.iter_invites(status=status):
                key = str(invite.id)
                current[key] = status
                if state.get("baseline") and known.get(key) != status:
                    wedge = await self._wedge_for(client, invite.email, invite.interview_id)
                    events.append(
                        wedgehr_event(
                            team_id=connection.team_id,
                            connection_id=connection.id,
                            invite=invite.model_dump(mode="json", by_alias=True),
                            wedge=wedge,
                            status=status,
                        )
                    )
        # Wedges newly completed. A state saved before wedges were watched has no "wedges": that
        # first look is their baseline, so an upgrade does not post every past completion.
        known_wedges = set(state.get("wedges", ()))
        wedges_watched = "wedges" in state
        completed_wedges: list[int] = []
        async for wedge in client.iter_wedges():
            if wedge.completed_at is None:
                continue
            completed_wedges.append(wedge.id)
            if state.get("baseline") and wedges_watched and wedge.id not in known_wedges:
                # Keyed by the wedge, as its invite's completion is: found both ways, posted once.
                events.append(
                    wedgehr_event(
                        team_id=connection.team_id,
                        connection_id=connection.id,
                        invite=None,
                        wedge=wedge.model_dump(mode="json", by_alias=True),
                        status="complete",
                    )
                )
        inserted = 0
        if events:
            # Record before saving the state: a crash in between re-detects, and dedup keys absorb it.
            inserted = sum(await self.db.events.record_many(events))
            if self.on_events is not None and inserted:
                self.on_events()
        await self.db.poll_state.save(
            connection.id,
            self.holder,
            {"baseline": True, "invites": current, "wedges": completed_wedges, "polled_at": time.time()},
        )
        return inserted

    @staticmethod
    async def _wedge_for(client: WedgeHRClient, email: str, interview_id: int) -> dict[str, Any] | None:
        try:
            page = await client.list_wedges(email=email, interview_id=interview_id, page_size=1)
        except VendorError:
            return None  # the card still shows the invite
        return page.data[0].model_dump(mode="json", by_alias=True) if page.data else None
