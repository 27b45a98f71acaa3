"""WedgeHR has no webhooks: poll each subscribed connection for invites whose status changed and
wedges newly completed (a candidate who recorded through an interview's public link has no invite)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.crypto import SecretKeyMismatchError
from bot.notify.events import wedgehr_event
from bot.services import Services
from bot.storage import Connection, NewEvent
from bot.vendors.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    RateLimitError,
    ServerError,
    SessionError,
    VendorError,
)
from bot.wedgehr.client import WedgeHRClient
from bot.wedgehr.models import InviteStatus, Wedge

logger = logging.getLogger(__name__)

#: Polls in a row whose token WedgeHR refused before the connection's channels are told (one 401
#: may be WedgeHR's glitch; three, a minute or more apart, are not).
REJECTIONS_BEFORE_PAUSE = 3

WATCHED_STATUSES = ("complete", "send_failure", "canceled")

#: The watched statuses an invite reaches again after leaving them: a resend keeps the invite's id
#: and sets a bounced or canceled one back to "invited" (inferred from wedgehr-connect-v2.txt's
#: "Resend Invite" example: the wedge comes back with the invite id the other examples show, status
#: "invited"; the reference says nothing of the status before). Each time is news.
#: (Completing again is a retake: told apart by its wedge's ``completedAt``, ``_Recordings``.)
REPEATABLE_STATUSES = ("send_failure", "canceled")
#: The bot's resends read per poll: far more than a team makes in one poll interval.
RESENDS_READ = 1000

#: Connections polled at the same time by one process (each is a few requests in a row).
POLLS_AT_ONCE = 4

#: A poll still reading WedgeHR this many intervals after it began is abandoned: each request has
#: its own timeout, but only between two bytes, so an answer trickled a byte at a time would hold
#: the poll (and its turn among POLLS_AT_ONCE) for ever, and the account would never be polled again.
#: A poll slower than the interval only delays its own account (``run``), so the limit only needs to
#: catch one that will not end.
POLL_DEADLINE_INTERVALS = 5
#: Never less than this, whatever the interval: a large account's many pages take minutes.
POLL_DEADLINE_MIN_SECONDS = 300.0

#: How long a poll holds its connection without renewing the lease (every third of it): a process
#: killed mid-poll leaves the account unpolled this long (then until another's next tick), as a
#: killed process's channels wait for the outbox's lease (``OutboxWorker.lease_seconds``).
POLL_LEASE_SECONDS = 20.0

#: WedgeHR's Retry-After is honoured up to this long: a wrong header (a day, a year) must not
#: silence an account for good; no real rate limit window is longer.
RETRY_AFTER_MOST_SECONDS = 3600.0

#: A connection's polls all failing (WedgeHR down, its sessions failing, out of reach) for this
#: long before whoever connected it is told. WedgeHR's blips of a few minutes are common and the
#: next poll catches up unnoticed; past half an hour, someone waiting for a completion wonders.
OUTAGE_SECONDS = 30 * 60.0
#: And at least this many polls failed: with a long WEDGEHR_POLL_SECONDS, one or two failures
#: half an hour apart may still be a blip.
OUTAGE_POLLS = 3


class WedgeHRPoller:
    """Every ``interval`` seconds, diff each connection's invites against the stored state.

    The first poll of a connection only takes a baseline. A lease row makes sure
    that with several processes one of them polls a connection at a time, and once
    per interval whichever process it is.
    """

    def __init__(
        self,
        *,
        services: Services,
        interval: float,
        on_events: Any = None,
        lease_seconds: float | None = None,
        on_rejected: Callable[[Connection], Awaitable[Any]] | None = None,
        deadline_seconds: float | None = None,
        on_outage: Callable[[Connection, OutageCause, float], Awaitable[bool]] | None = None,
        on_recovered: Callable[[Connection], Awaitable[Any]] | None = None,
        outage_seconds: float = OUTAGE_SECONDS,
        outage_polls: int = OUTAGE_POLLS,
    ) -> None:
        self.services = services
        self.db = services.db
        self.interval = interval
        #: How long a connection is held; renewed every third of it while its poll runs, so a long
        #: poll (a large account) is never taken over by another process halfway, and short, so the
        #: account of a process that died mid-poll (SIGKILL) is soon polled by another.
        self.lease_seconds = lease_seconds if lease_seconds is not None else POLL_LEASE_SECONDS
        self.holder = f"poller-{secrets.token_hex(4)}"
        #: Longest one poll reads WedgeHR; past it the poll is abandoned and the next tick polls again.
        self.deadline_seconds = (
            deadline_seconds
            if deadline_seconds is not None
            else max(interval * POLL_DEADLINE_INTERVALS, POLL_DEADLINE_MIN_SECONDS)
        )
        self.on_events = on_events
        #: Called once WedgeHR refused a connection's token REJECTIONS_BEFORE_PAUSE polls in a row.
        self.on_rejected = on_rejected
        #: Called with what fails (:class:`OutageCause`) and since when, once a connection's polls have all
        #: failed for ``outage_seconds`` and ``outage_polls``; True when someone was told. Once per
        #: outage, whichever process polls (the poll state says), as is ``on_recovered``: once a
        #: poll works again after that.
        self.on_outage = on_outage
        self.on_recovered = on_recovered
        self.outage_seconds = outage_seconds
        self.outage_polls = outage_polls
        #: Per connection, the token refused (a digest) and how many polls in a row refused it.
        self._rejections: dict[str, tuple[str, int]] = {}
        #: Connections whose token this process cannot read (another BOT_SECRET_KEY), already logged.
        self._unreadable: set[str] = set()
        #: The timer's polls running at once (each is a few requests in a row), across its ticks.
        self._at_once = asyncio.Semaphore(POLLS_AT_ONCE)

    async def run(self) -> None:
        """Every ``interval``, start polling each subscribed connection not still being polled.

        The timer does not wait for the polls it started: one account slower than the interval (a
        huge account, WedgeHR answering late) is polled again once its poll has ended, while every
        other connection keeps its own pace.
        """
        in_flight: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                try:
                    await self._start_polls(in_flight)
                except Exception:
                    logger.exception("WedgeHR poll failed")
                await asyncio.sleep(self.interval)
        finally:
            for task in in_flight.values():
                task.cancel()
            await asyncio.gather(*in_flight.values(), return_exceptions=True)

    async def _start_polls(self, in_flight: dict[str, asyncio.Task[None]]) -> None:
        scheduled = time.time()  # before anything else: the lease's "until" is never later than the next tick
        for connection_id in sorted(await self._subscribed_connections()):
            if connection_id in in_flight:
                continue  # still polling (or waiting its turn): never twice at once in one process

            async def poll(connection_id: str = connection_id) -> None:
                try:
                    async with self._at_once:
                        await self._poll_leased(connection_id, scheduled=scheduled)
                except Exception:  # the database failing a lease: the next tick tries again
                    logger.exception("WedgeHR poll of connection %s failed", connection_id)
                finally:
                    in_flight.pop(connection_id, None)

            in_flight[connection_id] = asyncio.create_task(poll(), name=f"poll-{connection_id}")

    async def _subscribed_connections(self) -> set[str]:
        return {s.connection_id for s in await self.db.subscriptions.list_active("wedgehr") if s.connection_id}

    async def poll_all(self) -> int:
        """Poll every subscribed connection we can lease; returns how many events were new.

        A few connections at a time: one slow or unreachable account (each request waiting out its
        timeout and retries) must not hold back every other workspace's notifications.
        """
        connection_ids = await self._subscribed_connections()
        at_once = asyncio.Semaphore(POLLS_AT_ONCE)

        async def poll_one(connection_id: str) -> int:
            async with at_once:
                return await self._poll_leased(connection_id)

        results = await asyncio.gather(*(poll_one(c) for c in sorted(connection_ids)), return_exceptions=True)
        for result in results:  # the database failing a lease: said once all have ended
            if isinstance(result, BaseException):
                raise result
        return sum(results)  # type: ignore[arg-type]

    async def _poll_leased(self, connection_id: str, *, scheduled: float | None = None) -> int:
        """Poll one connection if no process holds it; ``scheduled``: when the timer's tick began."""
        started = time.time() if scheduled is None else min(scheduled, time.time())
        if not await self.db.poll_state.try_lease(connection_id, self.holder, self.lease_seconds):
            return 0
        keeper = asyncio.create_task(self._keep_lease(connection_id), name=f"poll-lease-{connection_id}")
        connection: Connection | None = None
        # Held until a whole interval has passed since this poll began: every process runs its
        # own timer, and the next one must not poll the connection again at once.
        until, for_everyone = started + self.interval, False
        try:
            # Not strict: a token another BOT_SECRET_KEY sealed is still a connection whose people are told.
            connection = await self.db.connections.get(connection_id, strict=False)
            if connection is None:
                return 0
            new = await self.poll_connection(connection)
            self._rejections.pop(connection_id, None)
            self._unreadable.discard(connection_id)
            return new
        except PollTooLong as exc:
            logger.warning(
                "Polling WedgeHR for connection %s (team %s) took more than %g s; abandoned, the next poll starts over",
                connection_id,
                connection.team_id if connection is not None else "unknown",
                self.deadline_seconds,
            )
            await self._failed(connection, exc, started)
        except AuthenticationError as exc:
            await self._rejected(connection, exc)
        except VendorError as exc:
            logger.warning("Polling WedgeHR for connection %s failed: %s", connection_id, exc)
            if isinstance(exc, RateLimitError) and exc.retry_after:
                # WedgeHR said when to ask again: no process polls the account before then (this
                # one's own timer included), or every early poll is one more 429 and its wait longer.
                asked = time.time() + min(exc.retry_after, RETRY_AFTER_MOST_SECONDS)
                if asked > until:
                    until, for_everyone = asked, True
                    logger.info(
                        "WedgeHR asked to wait %g s: connection %s is not polled before then",
                        exc.retry_after,
                        connection_id,
                    )
            await self._failed(connection, exc, started)
        except SecretKeyMismatchError as exc:
            # The same every poll until the key or the token changes: said once, not a traceback a poll.
            if connection_id not in self._unreadable:
                self._unreadable.add(connection_id)
                logger.warning(
                    "Cannot poll WedgeHR for connection %s (team %s): its token was saved under another "
                    "BOT_SECRET_KEY. Set BOT_SECRET_KEY to the key it was saved with, or reconnect it with "
                    "/interview connect; its notifications wait until then",
                    connection_id,
                    connection.team_id if connection is not None else "unknown",
                )
            await self._failed(connection, exc, started)
        except Exception:  # one connection (a bad page) must not stop the others
            logger.exception("Polling WedgeHR for connection %s failed", connection_id)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            await self.db.poll_state.release(connection_id, self.holder, until=until, for_everyone=for_everyone)
        return 0

    async def _failed(self, connection: Connection | None, error: Exception, started: float) -> None:
        """Count a failed poll in the connection's state; once they have all failed long enough,
        tell (``on_outage``) whoever connected it, once per outage.

        The count is in the poll state, written only while holding the lease: with several
        processes, one at a time counts and tells, and the next successful poll (whichever process
        makes it) replaces the state and says it is back.
        """
        if connection is None:
            return
        try:
            state = await self.db.poll_state.load(connection.id) or {}
            outage = dict(state.get("outage") or {})
            since = outage.setdefault("since", started)
            outage["polls"] = int(outage.get("polls", 0)) + 1
            tell = (
                self.on_outage is not None
                and not outage.get("told")
                and outage["polls"] >= self.outage_polls
                and time.time() - since >= self.outage_seconds
            )
            outage["told"] = bool(outage.get("told")) or tell
            # Saved only while still held: another process that took the connection over counts it.
            if not await self.db.poll_state.save(connection.id, self.holder, {**state, "outage": outage}):
                return
            if not tell:
                return
            logger.warning("WedgeHR polls of connection %s have all failed since %s", connection.id, since)
            if not await self.on_outage(connection, _outage_cause(error), since):  # type: ignore[misc]
                outage["told"] = False  # nobody took it: the next failed poll tries again
                await self.db.poll_state.save(connection.id, self.holder, {**state, "outage": outage})
        except Exception:  # the database or Slack failing: this poll's failure is logged already
            logger.exception("Could not note the failed WedgeHR poll of connection %s", connection.id)

    async def _recovered(self, connection: Connection) -> None:
        """A poll succeeded after its outage was told of: say it is back (once: the state is saved)."""
        if self.on_recovered is None:
            return
        try:
            await self.on_recovered(connection)
        except Exception:
            logger.exception("Could not tell that WedgeHR polls of connection %s work again", connection.id)

    async def _rejected(self, connection: Connection | None, exc: AuthenticationError) -> None:
        """WedgeHR refused the token: a few times in a row (not one glitch), its channels are told."""
        if connection is None:
            return
        refused = _token_digest(connection)
        # A new token connected while this poll ran with the old one: the refusal is not the new
        # token's, and pausing would undo the fix the admin just made (and its "re-enabled").
        now = await self.db.connections.get(connection.id)
        if now is None or _token_digest(now) != refused:
            self._rejections.pop(connection.id, None)
            logger.info("WedgeHR refused connection %s's old token; a new one was connected since", connection.id)
            return
        token, count = self._rejections.get(connection.id, (refused, 0))
        count = count + 1 if token == refused else 1  # another token's refusals do not count
        self._rejections[connection.id] = (refused, count)
        logger.warning("WedgeHR refused connection %s's token (%d in a row): %s", connection.id, count, exc)
        if count >= REJECTIONS_BEFORE_PAUSE and self.on_rejected is not None:
            self._rejections.pop(connection.id, None)
            await self.on_rejected(connection)

    async def _keep_lease(self, connection_id: str) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                # Renewed only while still held: a restarted baseline (a new token) takes the lease
                # away for good, so this poll's state, read with the old token, is never saved.
                if not await self.db.poll_state.renew(connection_id, self.holder, self.lease_seconds):
                    return  # taken over: this poll's state will not be saved (PollStateRepo.save)
            except Exception as exc:  # the database is gone for a moment: the lease has two thirds left
                logger.warning("Could not renew the poll lease of connection %s (%s)", connection_id, exc)

    async def poll_connection(self, connection: Connection) -> int:
        """Poll one connection; raises :class:`PollTooLong` if reading it outlasts ``deadline_seconds``."""
        limit = asyncio.timeout(self.deadline_seconds)
        try:
            async with limit:
                return await self._poll_connection(connection, limit)
        except TimeoutError:
            if limit.expired():
                raise PollTooLong from None
            raise  # another timeout (a database's): not this poll's deadline

    async def _poll_connection(self, connection: Connection, limit: asyncio.Timeout) -> int:
        client = self.services.client_for(connection)
        assert isinstance(client, WedgeHRClient)
        started = time.time()  # what this poll saw is complete up to its start, not its end
        state = await self.db.poll_state.load(connection.id) or {}
        baseline_taken = bool(state.get("baseline"))
        # A baseline restarted at a moment (first subscription, a new token) still posts what was
        # completed from then on; anything older is what the account already held.
        since = None if baseline_taken else state.get("baseline_after")

        def completed_since(completed_at: datetime | None) -> bool:
            return since is not None and completed_at is not None and completed_at.timestamp() >= since

        events: list[NewEvent] = []  # invites' changes first: a completion found both ways is recorded
        wedge_events: list[NewEvent] = []  # with its invite (the first of a key in a batch is kept)

        # Wedges first: the newly completed ones are posted themselves (a candidate who recorded
        # through the public link has no invite) and are what an invite completed since the last
        # poll belongs to. A state saved before wedges were watched has no "wedges": that first
        # look is their baseline, so an upgrade does not post every past completion.
        known_wedges = set(state.get("wedges", ()))
        wedges_watched = "wedges" in state
        # Per wedge ever seen completed, its first and its latest completedAt: a later one is the
        # candidate recording again (WedgeHR completes the same wedge anew, through a new invite or
        # the same one sent again). Kept while the wedge shows none, as it may between the two.
        recordings = _Recordings(state.get("completions"))
        completed_wedges: list[int] = []
        newly_completed: dict[tuple[str, int], dict[str, Any]] = {}  # (email, interview id) -> wedge
        # Every wedge listed, by the same key: a changed invite's wedge is looked up here first.
        listed: dict[tuple[str, int], Wedge] = {}
        # Every invite the wedges embed, with its status: the one listing that shows an invite back
        # to "invited" (the invites are listed by watched status only).
        embedded: dict[str, str] = {}
        # And the wedge embedding it: an invite's own, where a candidate has several for one
        # interview (an old walk-in's beside an invite's), which (email, interview) cannot tell apart.
        own_wedges: dict[str, Wedge] = {}
        # Resent through the bot since the last poll began: its invites left any bounce in between,
        # though a bounce again before this poll may never show them out of it.
        resent = await self._resent_between(connection.team_id, state.get("polled_at"), started)
        resent_invites: list[str] = []
        async for wedge in client.iter_wedges():
            listed.setdefault((wedge.candidate_email.casefold(), wedge.interview_id), wedge)
            recordings.listed(wedge.id)
            resend = resent.get(wedge.id)
            was_resent = resend is not None and resend[0] == wedge.candidate_email.casefold()
            for embedded_invite in wedge.invites:
                key = str(embedded_invite.id)
                embedded.setdefault(key, _status_label(embedded_invite.status))
                own_wedges.setdefault(key, wedge)
                if was_resent and (resend[1] is None or key in resend[1]):  # type: ignore[index]
                    resent_invites.append(key)
            if wedge.completed_at is None:
                continue
            completed_wedges.append(wedge.id)
            dumped = wedge.model_dump(mode="json", by_alias=True)
            # A wedge known from a state that kept no times: what it shows now is its first.
            recorded_again = recordings.saw(dumped)
            first_seen = baseline_taken and wedges_watched and wedge.id not in known_wedges
            if (recorded_again and baseline_taken) or first_seen or completed_since(wedge.completed_at):
                newly_completed[(wedge.candidate_email.casefold(), wedge.interview_id)] = dumped
                # Keyed by the wedge, as its invite's completion is: found both ways, posted once.
                wedge_events.append(
                    wedgehr_event(
                        team_id=connection.team_id,
                        connection_id=connection.id,
                        candidate_tag=self.services.secret_box.tag,
                        invite=None,
                        wedge=dumped,
                        status="complete",
                        again=recordings.is_again(dumped),
                    )
                )

        known: dict[str, str] = state.get("invites", {})
        occurrences = _Occurrences(state.get("occurrences"), known)
        occurrences.resent(resent_invites)
        current: dict[str, str] = {}
        listed_statuses: set[str] = set()  # the statuses whose listing was not empty
        for status in WATCHED_STATUSES:
            async for invite in client.iter_invites(status=status):
                listed_statuses.add(status)
                key = str(invite.id)
                news = baseline_taken or (status == "complete" and completed_since(invite.completed_at))
                # Known in this status, it is news again only once it was seen out of it in between.
                occurrence, anew = occurrences.reached(key, status)
                if not news or (known.get(key) == status and not anew):
                    current[key] = status
                    continue
                candidate = (invite.email.casefold(), invite.interview_id)
                own = own_wedges.get(key)
                wedge = newly_completed.get(candidate) if own is None else own.model_dump(mode="json", by_alias=True)
                if wedge is None and (listed_wedge := listed.get(candidate)) is not None:
                    wedge = listed_wedge.model_dump(mode="json", by_alias=True)
                if wedge is None:  # made since the wedges were listed
                    wedge = await self._wedge_for(client, invite.email, invite.interview_id)
                    if wedge is not None:
                        recordings.listed(wedge["id"])
                if status == "complete" and (wedge is None or recordings.not_shown_yet(wedge)):
                    # Keyed by its invite, a completion found again through its wedge would post
                    # twice; a wedge completed before that does not show this recording yet cannot
                    # key it: either way, it waits for the next poll.
                    if key in known:
                        current[key] = known[key]
                    continue
                current[key] = status
                if wedge is not None and status == "complete":
                    recordings.saw(wedge)  # found first here: the wedges' listing is behind
                events.append(
                    wedgehr_event(
                        team_id=connection.team_id,
                        connection_id=connection.id,
                        candidate_tag=self.services.secret_box.tag,
                        invite=invite.model_dump(mode="json", by_alias=True),
                        wedge=wedge,
                        status=status,
                        again=wedge is not None and status == "complete" and recordings.is_again(wedge),
                        occurrence=occurrence,
                    )
                )
        occurrences.shown(embedded)
        events += wedge_events
        # All was read: the writes below (events, then the state) are never cut halfway.
        limit.reschedule(None)
        inserted = 0
        if events:
            # Record before saving the state: a crash in between re-detects, and dedup keys absorb it.
            inserted = sum(await self.db.events.record_many(events))
            if self.on_events is not None and inserted:
                self.on_events()
        # Only what WedgeHR still lists is kept (a deleted wedge or invite is forgotten), unless a
        # record was left out as unreadable: that one is not gone, and must not come back as news.
        # Nor is an empty listing taken for "all deleted": WedgeHR answers one with 404, "nothing
        # matches" (ERRATA), and a single such answer in error would make every past completion
        # or bounce of the account news at the next poll.
        whole = client.unreadable_listed == 0
        wedges_whole = whole and bool(listed)
        kept = {
            key: status
            for key, status in known.items()
            if key not in current and not (whole and status in listed_statuses)
        }
        saved = await self.db.poll_state.save(
            connection.id,
            self.holder,
            {  # no "outage": this poll worked
                "baseline": True,
                "invites": current | kept,
                "wedges": completed_wedges if wedges_whole else sorted(known_wedges.union(completed_wedges)),
                "completions": recordings.still_listed() if wedges_whole else recordings.state,
                "occurrences": occurrences.still_found() if wedges_whole else occurrences.state,
                "polled_at": started,
            },
        )
        # Only the process whose save ended the outage says so (another took over: it will).
        if saved and (state.get("outage") or {}).get("told"):
            await self._recovered(connection)
        return inserted

    async def _resent_between(self, team_id: str, since: Any, until: float) -> dict[int, tuple[str, set[str] | None]]:
        """The wedges the bot resent in [since, until): their candidate's address (casefolded) and
        the invites the resend set back to "invited" (None: not recorded, all of the wedge's).

        Windows that start where the last poll began cover every resend once: one made while a poll
        ran counts for the next poll, which sees what followed it."""
        if not isinstance(since, int | float):
            return {}  # no poll before this one: nothing known bounced yet
        entries = await self.db.audit.recent(team_id, action_prefix="resend.sent", since=since, limit=RESENDS_READ)
        resent: dict[int, tuple[str, set[str] | None]] = {}
        for entry in entries:
            detail = entry.detail or {}
            wedge_id, invites = detail.get("wedge_id"), detail.get("invites")
            if entry.created_at < until and isinstance(wedge_id, int) and entry.target:
                reset = {str(i) for i in invites} if isinstance(invites, list) else None
                if (earlier := resent.get(wedge_id)) is not None:  # resent twice since the last poll
                    reset = None if reset is None or earlier[1] is None else reset | earlier[1]
                resent[wedge_id] = (entry.target.casefold(), reset)
        return resent

    @staticmethod
    async def _wedge_for(client: WedgeHRClient, email: str, interview_id: int) -> dict[str, Any] | None:
        try:
            page = await client.list_wedges(email=email, interview_id=interview_id, page_size=1)
        except VendorError:
            return None  # the card still shows the invite
        return page.data[0].model_dump(mode="json", by_alias=True) if page.data else None


class PollTooLong(Exception):
    """A poll still reading WedgeHR at its deadline: abandoned before anything of it was saved."""


class _Recordings:
    """Each completed wedge's first and latest ``completedAt`` (as its JSON spells it), by wedge id.

    The first completion is keyed as every one was before retakes were told apart
    (``wedgehr:...:complete``), so one posted then is not posted again; a later one, a retake, is
    keyed by its time too.
    """

    def __init__(self, saved: dict[str, list[str]] | None) -> None:
        self.state: dict[str, list[str]] = dict(saved or {})
        #: The wedges this poll found (listed, or an invite's looked up).
        self._found: set[str] = set()

    def listed(self, wedge_id: int) -> None:
        """Note that WedgeHR still lists the wedge (completed or not)."""
        self._found.add(str(wedge_id))

    def still_listed(self) -> dict[str, list[str]]:
        """The state of the wedges this poll found: one no longer listed was deleted."""
        return {wedge_id: times for wedge_id, times in self.state.items() if wedge_id in self._found}

    def saw(self, wedge: dict[str, Any]) -> bool:
        """Note the wedge's completion; True when it is a new one of a wedge completed before."""
        self.listed(wedge["id"])
        at = wedge.get("completedAt")
        if at is None:
            return False
        times = self.state.get(str(wedge["id"]))
        self.state[str(wedge["id"])] = [times[0] if times else at, at]
        return times is not None and times[1] != at

    def is_again(self, wedge: dict[str, Any]) -> bool:
        """Whether the wedge's completion is a later one than its first (a retake)."""
        times = self.state.get(str(wedge["id"]))
        return times is not None and wedge.get("completedAt") not in (None, times[0])

    def not_shown_yet(self, wedge: dict[str, Any]) -> bool:
        """The wedge was completed before and shows no completion now: its new one is not there yet."""
        return wedge.get("completedAt") is None and str(wedge["id"]) in self.state


@dataclass(frozen=True)
class OutageCause:
    """Why a connection's polls fail, for whoever connected it.

    Attributes:
        text: What fails, in plain words for a recruiter: never the vendor's raw answer.
        reconnect: Theirs to fix, by connecting the account again (waiting will not help).
    """

    text: str
    reconnect: bool = False


def _outage_cause(error: Exception) -> OutageCause:
    if isinstance(error, SecretKeyMismatchError):  # the bot's own storage, not WedgeHR: it will not pass
        return OutageCause("the bot cannot read the WedgeHR token saved for this account", reconnect=True)
    if isinstance(error, SessionError):  # ERRATA: a problem on WedgeHR's side, not a wrong token
        return OutageCause("WedgeHR could not fetch its session data (a problem on WedgeHR's side)")
    if isinstance(error, RateLimitError):
        return OutageCause("WedgeHR asks the bot to wait before asking again (rate limited)")
    if isinstance(error, ServerError):
        return OutageCause("WedgeHR answers with server errors")
    if isinstance(error, APITimeoutError | PollTooLong):
        return OutageCause("WedgeHR does not answer in time")
    if isinstance(error, APIConnectionError):
        return OutageCause("the bot cannot reach WedgeHR")
    return OutageCause("WedgeHR answers the bot's requests with an error")


def _token_digest(connection: Connection) -> str:
    """Which token a connection holds, without keeping the token itself in memory longer."""
    return hashlib.sha256(connection.credential.get_secret_value().encode()).hexdigest()


def _status_label(status: str) -> str:
    """An invite's status as its label (``filter[status]`` takes the number too, ERRATA)."""
    try:
        return InviteStatus.parse(status).name
    except (KeyError, ValueError):
        return status


class _Occurrences:
    """For each invite seen bounced or canceled: how many times it reached each of those statuses,
    and the status it was last seen in, by invite id (``{"counts": {"send_failure": 2}, "status":
    "invited"}``).

    A resend keeps the invite's id and sets it back to "invited"; bouncing (or canceled) again is
    a new time, keyed by its number (``wedgehr:...:send_failure:2``). The first time is keyed as
    every one was before times were counted, so one posted then is not posted again.

    An invite is taken to have left a status only when a listing shows it in another one (its
    wedge's, which lists every invite whatever its status): not for missing from its status's
    listing, which WedgeHR may answer once with 404 "nothing matches" in error.
    """

    def __init__(self, saved: dict[str, Any] | None, known: dict[str, str]) -> None:
        self.state: dict[str, dict[str, Any]] = {}
        for key, record in (saved or {}).items():
            counts = record.get("counts") if isinstance(record, dict) else None
            if isinstance(counts, dict):
                self.state[key] = {"counts": dict(counts), "status": record.get("status")}
        # A state saved before times were counted: the status it knew an invite in is its first time.
        for key, status in known.items():
            if status in REPEATABLE_STATUSES and key not in self.state:
                self.state[key] = {"counts": {status: 1}, "status": status}
        #: The invites this poll listed by status, and those it found at all (in a wedge too).
        self._listed: set[str] = set()
        self._found: set[str] = set()

    def reached(self, key: str, status: str) -> tuple[int, bool]:
        """Note the invite listed in ``status``: which time it is in it (1 the first), and whether
        this poll is the first to see it so (it was last seen in another status)."""
        self._listed.add(key)
        self._found.add(key)
        record = self.state.get(key)
        if status not in REPEATABLE_STATUSES:
            if record is not None:
                record["status"] = status  # out of a bounce: the next one is a new time
            return 1, False
        if record is None:
            record = self.state[key] = {"counts": {}, "status": None}
        count = record["counts"].get(status, 0)
        anew = count == 0 or record["status"] != status
        if anew:
            count = record["counts"][status] = count + 1
        record["status"] = status
        return count, anew and count > 1

    def resent(self, keys: list[str]) -> None:
        """Note invites the bot resent: WedgeHR set them back to "invited", so being listed in a
        bounce (or canceled) again is a new time."""
        for key in keys:
            if (record := self.state.get(key)) is not None:
                record["status"] = InviteStatus.invited.name

    def shown(self, embedded: dict[str, str]) -> None:
        """Note the statuses the wedges' listing shows its invites in (one listed by status keeps
        that one: it is the later answer)."""
        for key, status in embedded.items():
            self._found.add(key)
            if status not in InviteStatus.__members__ or status == InviteStatus.unknown.name:
                continue  # no status given, or not one the bot knows: not shown to have left it
            if key not in self._listed and (record := self.state.get(key)) is not None:
                record["status"] = status

    def still_found(self) -> dict[str, dict[str, Any]]:
        """The records of the invites this poll found: one no longer listed anywhere was deleted."""
        return {key: record for key, record in self.state.items() if key in self._found}
