"""Housekeeping: keeps the events, outbox, OAuth state, poll state and lease tables from growing without bound."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from bot.errors import BusyError
from bot.storage import Database

logger = logging.getLogger(__name__)

#: After start-up, the first purge waits this long: the process is busy starting, and a deploy's
#: processes come and go in that time.
FIRST_PURGE_DELAY_SECONDS = 60.0
#: Then once per this long.
PURGE_INTERVAL_SECONDS = 3600.0
#: The name under which one process at a time purges (``Database.exclusive``).
EXCLUSIVE_NAME = "housekeeping"


@dataclass(frozen=True, kw_only=True)
class PurgeReport:
    """What one purge did."""

    outbox_rows_deleted: int
    event_payloads_emptied: int
    oauth_states_deleted: int = 0
    poll_states_deleted: int = 0
    workspace_holds_deleted: int = 0


class Housekeeper:
    """Every ``interval`` seconds, forget what is older than ``retention_days`` and no longer needed.

    Finished outbox rows are deleted; old events keep their row and de-duplication key, so a
    vendor's late resend is still recognised, but their payload is emptied once no pending delivery
    needs it. Pending deliveries are never touched. Several processes sharing PostgreSQL take turns
    (an advisory lock); the one that comes second finds nothing left to do.

    Args:
        db: The database.
        retention_days: ``EVENT_RETENTION_DAYS``.
        first_delay: Seconds from start-up to the first purge (default FIRST_PURGE_DELAY_SECONDS).
        interval: Seconds between purges (default PURGE_INTERVAL_SECONDS).
    """

    def __init__(
        self,
        *,
        db: Database,
        retention_days: float,
        first_delay: float | None = None,
        interval: float | None = None,
    ) -> None:
        self.db = db
        self.retention_days = retention_days
        self.first_delay = FIRST_PURGE_DELAY_SECONDS if first_delay is None else first_delay
        self.interval = PURGE_INTERVAL_SECONDS if interval is None else interval
        # Events received up to this time are done with: each purge starts after it. In memory only,
        # so a new process looks at every old event once (reading; those already emptied cost no write).
        self._events_done_until: float | None = None

    async def run(self) -> None:
        """Purge after ``first_delay``, then every ``interval``; a failed purge is logged and retried."""
        await asyncio.sleep(self.first_delay)
        while True:
            try:
                await self.purge()
            except BusyError:  # another process's purge ran long: it did this one's work
                logger.info("Housekeeping skipped: another process is purging; trying again in %g s", self.interval)
            except Exception:
                logger.exception("Housekeeping failed; trying again in %g s", self.interval)
            await asyncio.sleep(self.interval)

    async def purge(self) -> PurgeReport:
        """One purge of everything older than the retention period."""
        cutoff = time.time() - self.retention_days * 86400
        async with self.db.exclusive(EXCLUSIVE_NAME):
            deleted = await self.db.outbox.delete_finished(created_before=cutoff)
            events = await self.db.events.purge_payloads(received_before=cutoff, after=self._events_done_until)
            self._events_done_until = events.resume_after
            states = await self.db.delete_expired_oauth_states()
            # Older versions kept a disconnected or uninstalled connection's WedgeHR poll state for ever.
            poll_states = await self.db.poll_state.delete_orphans()
            holds = await self.db.outbox.delete_ended_workspace_holds()
        if deleted or events.purged:
            logger.info(
                "Housekeeping: deleted %d finished notification(s) and emptied %d event payload(s) older than %g days",
                deleted,
                events.purged,
                self.retention_days,
            )
        if states:
            logger.info("Housekeeping: deleted %d expired OAuth install state(s)", states)
        if poll_states:
            logger.info("Housekeeping: deleted the WedgeHR poll state of %d connection(s) no longer there", poll_states)
        if holds:
            logger.info("Housekeeping: deleted %d ended Slack rate-limit hold(s)", holds)
        return PurgeReport(
            outbox_rows_deleted=deleted,
            event_payloads_emptied=events.purged,
            oauth_states_deleted=states,
            poll_states_deleted=poll_states,
            workspace_holds_deleted=holds,
        )
