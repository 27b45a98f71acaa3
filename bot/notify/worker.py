"""The outbox worker: posts recorded events to Slack, threaded per candidate, paced per channel."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import heapq
import logging
import math
import random
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.cards import compact_line, job_event_message, notification_card, thread_reply
from blocks.models import CandidateView
from blocks.subscriptions import poll_outage_notice, poll_recovered_notice, rejoined_notice
from bot.candidates import from_interview, from_wedge
from bot.crypto import constant_time_equals
from bot.errors import NotInstalledError
from bot.notify.events import REVIEWER_KEYS, find_interview_uuid, vendor_time
from bot.notify.paused import CHANNEL_ERRORS, PauseNotifier
from bot.services import ENV_CONNECTED_BY, Services
from bot.sparkhire.models import WATCH_URL, Interview
from bot.storage import Connection, OutboxItem, Subscription, ThreadMessage, is_database_unavailable
from bot.storage.repos import (
    DEFERRED_FILTERS_REFUSED,
    DEFERRED_FILTERS_UNCHECKED,
    PAUSED_ROWS,
    REFRESH_OWED,
    SUBSCRIPTION_REMOVED,
    owed_refreshes,
)
from bot.vendors.errors import VendorError, is_transient
from bot.wedgehr.models import Invite, Wedge

if TYPE_CHECKING:
    from bot.notify.poller import OutageCause

logger = logging.getLogger(__name__)

#: Errors that retrying cannot fix: the subscription is paused (for one about the channel,
#: ``bot.notify.paused.CHANNEL_ERRORS``, every subscription of the channel) and its creator told.
PERMANENT_ERRORS = {
    "channel_not_found",
    "is_archived",
    "not_in_channel",
    "token_revoked",
    "account_inactive",
    "invalid_auth",
    "channel_is_archived",
    "team_access_not_granted",
    "no_permission",
}
#: Why a subscription of a workspace the app is no longer installed in was paused.
NOT_INSTALLED = "app_not_installed"
#: Slack errors that mean "not now" rather than "not allowed".
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
#: Posts whose round trips give the quickest one (OutboxWorker._counted_from).
ROUND_TRIPS_KEPT = 100
#: Channels due within this long of the earliest share one lease query.
COALESCE_SECONDS = 0.005
#: _record stops waiting for the database this long before the channel's lease could end.
RECORD_MARGIN_SECONDS = 2.0
#: On stopping, how long posts already under way may take to finish and be recorded.
STOP_GRACE_SECONDS = 3.0
#: Message metadata on every notification: names the outbox row, so a post that reached Slack but
#: was never recorded (the process died, Slack's answer was lost) is found instead of posted again.
POST_METADATA_EVENT = "interview_notification_posted"
#: How far before an unrecorded attempt the channel is searched (allows for clock skew with Slack).
EARLIER_POST_LOOKBACK_SECONDS = 120.0
#: Pages of 200 messages searched for it at most.
EARLIER_POST_MAX_PAGES = 5
#: The longest one wait for Slack's rate limit lasts, whatever its Retry-After says (a garbage
#: header must not park a channel for years); Slack then answers again with a new Retry-After.
RATE_LIMIT_MAX_WAIT_SECONDS = 3600.0


class SlackClientFor(Protocol):
    """The Web API client for a workspace (its installation's bot token).

    ``token_expired``: Slack refused the workspace's token as expired: refresh it now (token
    rotation) whatever its stored expiry says.
    """

    async def __call__(self, team_id: str, *, token_expired: bool = False) -> AsyncWebClient: ...


class FilteredOut(Exception):
    """The event, once complete, does not pass the subscription's filters: nothing to post."""


class NotRenderable(Exception):
    """The delivery does not carry an interview we can read, nor one we could fetch: nothing to post."""


class PassesOnlyPaused(Exception):
    """A rating passes the filters of none of the channel's subscriptions that wanted it but one
    paused since it was queued: it waits with that one's rows, and its Re-enable posts it."""

    def __init__(self, subscription: Subscription) -> None:
        super().__init__(f"only subscription {subscription.id}, paused, takes it")
        self.subscription = subscription


class InterviewUnavailable(Exception):
    """Spark Hire could not be asked for the interview just now (busy, down): try the row later."""


class ThreadGone(Exception):
    """The candidate's card was deleted in Slack: its thread takes no replies (``THREAD_GONE``)."""


class EarlierPostUnknown(Exception):
    """Slack could not say, for now, whether an earlier attempt posted the message: retry later."""


class ChannelRateLimited(Exception):
    """Slack rate-limited a call whose limit is not posting's: the look for an earlier post
    (``conversations.history``/``.replies``) or a rejoin (``conversations.join``)."""

    def __init__(self, what: str, retry_after: float) -> None:
        super().__init__(f"Slack rate-limited {what} for {retry_after:g} s")
        self.retry_after = retry_after


class CardRefreshRateLimited(Exception):
    """Slack rate-limited the refresh of a card (``chat.update``) after the row's reply was posted.

    ``thread``: the card's record to store as the row waits, naming the reply (``REFRESH_OWED``).
    """

    def __init__(self, retry_after: float, thread: ThreadMessage) -> None:
        super().__init__(f"Slack rate-limited the card's refresh for {retry_after:g} s")
        self.retry_after = retry_after
        self.thread = thread


def posted_reply(item: OutboxItem) -> str | None:
    """The ts of the item's reply if the card's record says it is posted and its card refresh owed."""
    return next(
        (str(e["reply_ts"]) for e in owed_refreshes(item.thread_card) if str(e["outbox_id"]) == str(item.id)), None
    )


def slack_retry_after(response: Any) -> float | None:
    """The seconds a 429 of Slack's says to wait (its ``Retry-After``), None if it says none."""
    if getattr(response, "status_code", None) != 429 and response.get("error") != "ratelimited":
        return None
    for name, value in (getattr(response, "headers", None) or {}).items():
        if name.lower() == "retry-after":
            try:
                seconds = float(value[0] if isinstance(value, list) else value)
            except (TypeError, ValueError):
                return None
            return seconds if math.isfinite(seconds) else None
    return None


#: The status an event says the interview has now, whatever the delivery's snapshot says.
EVENT_STATUS = {"completed": "completed", "expired": "expired", "canceled": "canceled"}
#: The status an event implies, for a delivery that says none.
EVENT_STATUS_IF_UNSAID = {
    "accepted": "accepted",
    "created": "requested",
    "rescheduled": "requested",
    "reset": "requested",
}
#: Slack's answer to a reply whose thread's first message was deleted.
THREAD_GONE = "thread_not_found"
#: In a thread's card record: whether the message heading the thread is a compact line.
COMPACT_LINE = "compact_line"


@dataclass(frozen=True, kw_only=True)
class Rendered:
    """What a Spark Hire or WedgeHR event shows.

    Attributes:
        candidate: The candidate for the card (for a rating: as fetched, with the overall rating).
        fetched: For a rating, or a delivery naming neither candidate nor job, the interview fetched to
            complete it (None: not fetched, or the fetch failed).
        as_of: When the vendor had the candidate in this state (Unix time), if it says.
        current: The state was fetched just now: no delivery can be newer.
        keeps_card: The event is news for the thread but not the candidate's state: a card already
            posted keeps what it shows (an invite of a WedgeHR candidate who has recorded, bounced or
            canceled afterwards).
        rating: For a rating, the stars this delivery gave, if it says.
        rated_by: For a rating, who gave them, if it says.
    """

    candidate: CandidateView
    fetched: Interview | None = None
    as_of: float | None = None
    current: bool = False
    rating: float | None = None
    rated_by: str | None = None
    keeps_card: bool = False


def _as_of(interview: Interview) -> float | None:
    return vendor_time(interview.updated_at)


def _rating_given(obj: dict[str, Any]) -> float | None:
    rating = obj.get("rating")
    if isinstance(rating, dict):  # {"rating": {"rating": 4, ...}}
        rating = rating.get("rating") or rating.get("value")
    if isinstance(rating, str):
        with contextlib.suppress(ValueError):
            rating = float(rating)
    if isinstance(rating, bool) or not isinstance(rating, (int, float)) or not 0 <= rating <= 5:
        return None
    return float(rating)


def _rated_by(obj: dict[str, Any]) -> str | None:
    for key in REVIEWER_KEYS:
        who = obj.get(key)
        if isinstance(who, dict):
            who = who.get("name") or who.get("email")
        if isinstance(who, str) and who.strip():
            return who.strip()[:100]
    return None


class OutboxWorker:
    """Leases due outbox rows and delivers them.

    Args:
        services: Process services (database, vendor clients).
        slack_client_for: The Web API client for a team (bot token of that installation).
        poll_seconds: Longest idle wait between leases. The worker wakes at once for events this
            process records and when a channel it paced or a row it rescheduled is due; the poll
            only finds rows it was not told about (recorded by another process, or leased by a
            process that died), so it can be long: at 0.1 s the idle bot spent 1.8% of a core on it.
        lease_seconds: How long a channel is held for one delivery, renewed every third of it while
            the delivery runs. A process that dies (SIGKILL) leaves its channels held this long.
        pace_seconds: Gap between the earliest moment Slack can have counted a message to a channel
            (``_counted_from``) and the sending of the next. Slack allows about one a second; the
            extra 15 ms absorbs jitter in how long each post takes to arrive, since a 429 would
            cost a whole second.
        max_attempts: Transient failures before a row is given up (and logged). Slack's rate limit
            (a 429 with Retry-After) is not one: the row waits as long as Slack asks, however
            often (``_wait_for_slack``).
    """

    def __init__(
        self,
        *,
        services: Services,
        slack_client_for: SlackClientFor,
        poll_seconds: float = 1.0,
        lease_seconds: float = 20.0,
        pace_seconds: float = 1.015,
        max_attempts: int = 12,
        batch: int = 50,
    ) -> None:
        self.services = services
        self.db = services.db
        self.slack_client_for = slack_client_for
        self.worker_id = f"worker-{secrets.token_hex(4)}"
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.pace_seconds = pace_seconds
        self.max_attempts = max_attempts
        self.batch = batch
        self.wake = asyncio.Event()
        # When the channels just posted to may post again (a min-heap): the idle wait ends at the
        # earliest, not a poll later.
        self._due: list[float] = []
        # Outbox row id -> until when its channel is surely ours (wall clock, as the leases are).
        self._held_until: dict[int, float] = {}
        # When the current idle wait ends (0 while not idle): a due time earlier than this wakes us.
        self._idle_until = 0.0
        # The last round trips of a post; their minimum is what the network adds to each.
        self._round_trips: deque[float] = deque(maxlen=ROUND_TRIPS_KEPT)

    async def run(self) -> None:
        """Lease due channels and deliver without waiting for each other.

        A channel whose message is in flight stays leased, so it is not leased again; the
        others are leased when they are due: the worker sleeps until the earliest pacing
        deadline (plus a few milliseconds, so channels due together share one lease query)
        instead of leasing after every delivery, which keeps each channel close to one
        message a second without a lease query per message.
        """
        in_flight: set[asyncio.Task[None]] = set()
        expect_due = False  # a pacing deadline of ours has passed: the lease may skip its check for any
        try:
            while True:
                room = self.batch - len(in_flight)
                items: list[OutboxItem] = []
                covered = leased_at = 0.0  # due times up to `covered` were covered by a lease
                if room > 0:
                    leased_at = time.time()
                    try:
                        items = await self.db.outbox.lease(
                            self.worker_id, limit=room, lease_seconds=self.lease_seconds, expect_due=expect_due
                        )
                        covered = leased_at
                    except Exception:
                        logger.exception("Outbox lease failed; retrying")
                        await asyncio.sleep(1.0)
                for item in items:
                    task = asyncio.create_task(self.deliver(item, leased_at=leased_at), name=f"outbox-{item.id}")
                    in_flight.add(task)
                    task.add_done_callback(self._delivered(in_flight))
                expect_due = False
                if items:
                    continue
                # Not up to now: a channel that became due while the lease query ran was not in it,
                # and dropping its time would leave it waiting for the next poll.
                while self._due and self._due[0] <= covered:
                    heapq.heappop(self._due)
                now = time.time()
                timeout = (
                    min(self.poll_seconds, self._due[0] - now + COALESCE_SECONDS) if self._due else self.poll_seconds
                )
                self._idle_until = now + timeout
                try:
                    # Not asyncio.wait_for: on Python 3.11, a cancel arriving as the wake-up is set is
                    # swallowed (the inner wait is done, so it returns), and this loop then ran on
                    # forever, holding up shutdown (the outage test's rare hang, the task "cancelling").
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(timeout):
                            await self.wake.wait()
                finally:
                    self._idle_until = 0.0
                # Only a pacing deadline of ours says a channel is due; a recorded event may be for a
                # channel that is paced or in flight, and the empty lease would take SQLite's write lock.
                expect_due = bool(self._due and self._due[0] <= time.time())
                self.wake.clear()
        finally:
            await self._stop(in_flight)

    async def _stop(self, in_flight: set[asyncio.Task[None]]) -> None:
        """Let posts under way finish for a moment, then hand back this worker's channels.

        Without that, a restart (every deploy) left the channels posted to at that moment held by
        a worker that no longer exists until their lease ran out.
        """
        if in_flight:
            await asyncio.wait(in_flight, timeout=STOP_GRACE_SECONDS)
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)
        try:
            released = await self.db.outbox.release_channels(self.worker_id)
        except Exception as exc:  # the leases then end on their own
            logger.warning("Could not hand back the outbox channels on stopping (%s)", type(exc).__name__)
            return
        if released:
            logger.info("Handed back %d outbox channel(s) on stopping", released)

    def _delivered(self, in_flight: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            was_full = len(in_flight) >= self.batch
            in_flight.discard(task)
            if not task.cancelled() and task.exception() is not None:
                logger.error("Outbox delivery crashed", exc_info=task.exception())
            if was_full:  # room again for channels that were waiting; otherwise the due heap wakes us
                self.wake.set()

        return done

    async def deliver(self, item: OutboxItem, *, leased_at: float) -> None:
        self._held_until[item.id] = leased_at + self.lease_seconds
        keeper = asyncio.create_task(self._keep_holding(item), name=f"outbox-hold-{item.id}")
        try:
            await self._deliver(item)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            self._held_until.pop(item.id, None)

    async def _deliver(self, item: OutboxItem) -> None:
        try:
            counted_from, thread = await self._post(item)
        except (FilteredOut, NotRenderable) as exc:
            reason = str(exc)
            level = logging.WARNING if isinstance(exc, NotRenderable) else logging.INFO
            logger.log(level, "Outbox row %s not posted: %s", item.id, reason)
            await self._record(item, lambda: self.db.outbox.skip(item, self.worker_id, reason=reason))
            self._wake_at(time.time())  # the channel was not paced: its next row may go now
            return
        except PassesOnlyPaused as exc:
            logger.info("Outbox row %s waits for its paused subscription %s", item.id, exc.subscription.id)
            hold = functools.partial(self.db.outbox.hold_for_paused, item, self.worker_id, exc.subscription.id)
            await self._record(item, hold)
            self._wake_at(time.time())  # the channel was not paced: its next row may go now
            return
        except InterviewUnavailable as exc:
            logger.warning("Outbox row %s waits: %s", item.id, exc)
            # Nothing was posted this time; what an earlier attempt posted is still to be found, not repeated.
            maybe_posted = item.maybe_posted_since is not None or posted_reply(item) is not None
            await self._retry_later(item, str(exc), maybe_posted=maybe_posted)
            return
        except ChannelRateLimited as exc:
            # That limit is conversations.history's own: other channels' posts are not held back.
            await self._wait_for_slack(item, exc.retry_after, workspace=False, maybe_posted=True)
            return
        except CardRefreshRateLimited as exc:
            # The reply is in Slack: that is written down with the wait, as a post's sent mark is; and
            # the row keeps its posting_since, so that if the mark is lost anyway (an older process's
            # write) its reply is looked for by its metadata, not posted again.
            wait = functools.partial(
                self._wait_for_slack, item, exc.retry_after, workspace=True, maybe_posted=True, thread=exc.thread
            )
            await self._record(item, wait)
            return
        except SlackApiError as exc:
            await self._slack_failure(item, exc)
            return
        except NotInstalledError:  # nothing was sent; no token to tell anyone with either
            await self._pause(item, NOT_INSTALLED, tell=False)
            return
        except Exception as exc:
            # No answer from Slack (a timeout, a dropped connection): the post may have landed.
            logger.exception("Delivering outbox row %s failed", item.id)
            await self._retry_later(item, f"{type(exc).__name__}: {exc}", maybe_posted=True)
            return
        await self._record(
            item,
            lambda: self.db.outbox.mark_sent(
                item, self.worker_id, pace_seconds=self.pace_seconds, paced_from=counted_from, thread=thread
            ),
        )
        self._wake_at(counted_from + self.pace_seconds)

    async def _keep_holding(self, item: OutboxItem) -> None:
        """Renew the channel's lease while its delivery runs (a slow Slack, a long retry).

        The lease can then be short, so a dead process's channels resume soon, without a slow but
        live delivery losing its channel to another worker, which would post the message again.
        """
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            renewing_at = time.time()
            try:
                held = await self.db.outbox.renew(item, self.worker_id, lease_seconds=self.lease_seconds)
            except Exception as exc:  # the database is gone for a moment; _record stops waiting in time
                logger.warning("Could not renew the lease of outbox row %s (%s)", item.id, type(exc).__name__)
                continue
            if not held:
                return
            self._held_until[item.id] = renewing_at + self.lease_seconds

    async def _record(self, item: OutboxItem, write: Callable[[], Awaitable[None]]) -> None:
        """Write down what a message already in Slack changed, waiting out a database that is briefly gone.

        Given up on, the row would be retried (and the message posted a second time), or stay leased
        to us, its channel stalled until the lease ends.
        """
        # Stop waiting while the channel is still surely ours, or another worker could post again.
        delay = 0.25
        give_up_at = self._held_until[item.id] - RECORD_MARGIN_SECONDS
        while True:
            try:
                await write()
                return
            except Exception as exc:
                if not is_database_unavailable(exc) or time.time() + delay > give_up_at:
                    raise
                logger.warning("Database unavailable recording outbox row %s as posted; retrying", item.id)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _retry_later(
        self, item: OutboxItem, error: str, delay: float | None = None, *, maybe_posted: bool = False
    ) -> None:
        if item.attempts + 1 >= self.max_attempts:
            logger.error("Giving up outbox row %s after %d attempts: %s", item.id, item.attempts + 1, error)
            await self.db.outbox.fail(item, self.worker_id, error=error)
            return
        if delay is None:
            delay = min(300.0, 2.0**item.attempts) * random.uniform(0.5, 1.0)
        await self.db.outbox.reschedule(item, self.worker_id, delay=delay, error=error, maybe_posted=maybe_posted)
        self._wake_at(time.time() + delay)

    async def _wait_for_slack(
        self,
        item: OutboxItem,
        seconds: float,
        *,
        workspace: bool,
        maybe_posted: bool = False,
        thread: ThreadMessage | None = None,
    ) -> None:
        """Slack's rate limit said to wait ``seconds``: try the row then, without counting an attempt.

        Not counted, because a rate limit is Slack saying "not yet", never "no": counted, a few
        minutes of it (a busy workspace, another app posting a lot) used up the row's attempts and
        the notification was dropped. So the row waits as long as Slack keeps asking, with no
        bound: each wait is Slack's own Retry-After (one request per wait), the outbox never gives
        up on a pending row otherwise either (housekeeping never touches one), and a notification
        posted late is what an operator expects rather than one lost. The log says each wait.

        ``workspace``: hold back every channel of the workspace for as long too, not only this one.
        Slack's limits apply per method, per app, per workspace; chat.postMessage's are one message
        a second per channel (which the pacing keeps to) and a workspace-wide one on top
        (https://docs.slack.dev/apis/web-api/rate-limits, "Special tier"). A 429 does not say which
        of them it was, and chat.update's (Tier 3) is workspace-wide only: so the workspace's
        other channels wait too, rather than post into the limit (each post another 429, and
        Slack warns that an app that goes on posting once rate limited risks being disabled).
        Another workspace, with its own token and limits, is not held back. The pacing per
        channel stays as it was: holding every channel a second on each channel's 429 costs little.

        ``thread``: the candidate's card record to store with the wait (a card refresh still owed).
        """
        delay = self._rate_limit_delay(seconds)
        logger.info(
            "Outbox row %s waits %.1f s: Slack's rate limit%s",
            item.id,
            delay,
            f" (every channel of {item.team_id})" if workspace else "",
        )
        if workspace:
            await self._hold_workspace(item.team_id, seconds)
        await self.db.outbox.reschedule(
            item,
            self.worker_id,
            delay=delay,
            error="ratelimited",
            maybe_posted=maybe_posted,
            counted=False,
            thread=thread,
        )
        self._wake_at(time.time() + delay)

    def _rate_limit_delay(self, seconds: float) -> float:
        """Slack's Retry-After, at least the channel's pace and at most RATE_LIMIT_MAX_WAIT_SECONDS."""
        return min(max(seconds, self.pace_seconds), RATE_LIMIT_MAX_WAIT_SECONDS)

    async def _hold_workspace(self, team_id: str, seconds: float) -> None:
        """Hold back the workspace's channels for Slack's rate limit (see ``_wait_for_slack``)."""
        delay = self._rate_limit_delay(seconds)
        try:
            await self.db.outbox.hold_workspace(team_id, until=time.time() + delay)
        except Exception as exc:  # the post itself is done: its other channels may meet the limit
            logger.warning("Could not hold back %s for Slack's rate limit (%s)", team_id, type(exc).__name__)
            return
        self._wake_at(time.time() + delay)

    def _wake_at(self, due: float) -> None:
        """Lease again at ``due`` (a paced channel or a rescheduled row of ours), not at the next poll."""
        heapq.heappush(self._due, due)
        if due + COALESCE_SECONDS < self._idle_until:
            self.wake.set()  # the loop recomputes its wait from the heap

    async def _slack_failure(self, item: OutboxItem, exc: SlackApiError) -> None:
        error = str(exc.response.get("error") or "")
        status = exc.response.status_code
        if (seconds := slack_retry_after(exc.response)) is not None:  # from chat.postMessage: _post catches the rest
            await self._wait_for_slack(item, seconds, workspace=True)
            return
        if status == 429 or error == "ratelimited":  # no Retry-After: not Slack's documented limit; counted
            backoff = min(300.0, 2.0**item.attempts) * random.uniform(0.5, 1.0)
            await self._retry_later(item, "ratelimited (no Retry-After)", delay=max(backoff, self.pace_seconds))
            return
        if error == "not_in_channel":
            try:
                rejoined = await self._rejoined(item)
            except ChannelRateLimited as limited:  # conversations.join's own limit: other channels post on
                await self._wait_for_slack(item, limited.retry_after, workspace=False)
                return
            if rejoined is not False:
                # Someone removed the bot from a public channel: it joins again, as on subscribing, says
                # how to stop the posts, and posts once the channel's pace allows (or, if Slack could
                # not be asked just now, a little later).
                await self._retry_later(item, error, delay=self.pace_seconds if rejoined else None)
                return
        if error == "token_expired":
            # Token rotation is on and the bot token ran out though its stored expiry said it had
            # time left (a clock behind Slack's): refresh it now; the retry posts with the new one.
            await self._refresh_token(item.team_id)
            await self._retry_later(item, error)
            return
        if error in PERMANENT_ERRORS:
            await self._pause(item, error)
            return
        # A 5xx can come after Slack posted the message; a 4xx means it did not.
        await self._retry_later(item, error or f"HTTP {status}", maybe_posted=status >= 500)

    async def _refresh_token(self, team_id: str) -> None:
        """Have the workspace's bot token refreshed after Slack refused it as expired."""
        try:
            await self.slack_client_for(team_id, token_expired=True)
        except Exception as exc:  # the retry asks again
            logger.warning("Could not refresh the bot token of workspace %s (%s)", team_id, type(exc).__name__)

    async def _rejoined(self, item: OutboxItem) -> bool | None:
        """Join the item's channel again: False when Slack refuses (a private channel, where only a
        member can invite the bot), None when Slack could not be asked (a timeout: try again later).

        Raises:
            ChannelRateLimited: Slack's rate limit said when to ask again (not an attempt).
        """
        try:
            client = await self.slack_client_for(item.team_id)
            await client.conversations_join(channel=item.channel_id)
        except SlackApiError as exc:
            if (seconds := slack_retry_after(exc.response)) is not None:
                raise ChannelRateLimited("conversations.join", seconds) from exc
            if exc.response.status_code == 429 or exc.response.status_code >= 500:
                return None
            logger.info("Could not rejoin %s: %s", item.channel_id, exc.response.get("error"))
            return False
        except Exception as exc:
            logger.warning("Could not ask Slack to rejoin %s (%s); trying again later", item.channel_id, exc)
            return None
        logger.info("Rejoined %s, which the bot had been removed from", item.channel_id)
        try:
            await client.chat_postMessage(channel=item.channel_id, **rejoined_notice().as_kwargs())
        except Exception as exc:  # the card still goes; the note is a courtesy
            logger.warning("Could not say in %s why the bot joined again (%s)", item.channel_id, exc)
        return True

    async def pause_connection(self, team_id: str, connection_id: str, reason: str) -> int:
        """Pause every active subscription reading through a connection, telling each one's creator.

        For a vendor that stopped taking the connection's credential (WedgeHR refusing the token at
        every poll): silence would look like a quiet week. Returns how many were paused.
        """
        paused = 0
        for subscription in await self.db.subscriptions.list_using_connection(connection_id):
            if subscription.paused:
                continue
            await self.db.subscriptions.pause(subscription.id, reason)
            paused += 1
            logger.warning("Paused subscription %s in %s: %s", subscription.id, subscription.channel_id, reason)
            await self._tell_paused(team_id, [subscription], reason, error="")
        return paused

    async def tell_poll_outage(self, connection: Connection, cause: OutageCause, since: float) -> bool:
        """Tell whoever connected a WedgeHR account that its polls have all failed since ``since``
        (``cause``: what fails, in plain words, and whether reconnecting fixes it); True once someone
        took the DM."""
        return await self._tell_connector(
            connection,
            lambda channels: poll_outage_notice(**channels, cause=cause.text, since=since, reconnect=cause.reconnect),
        )

    async def tell_poll_recovered(self, connection: Connection) -> bool:
        """After :meth:`tell_poll_outage`: the account's polls work again."""
        return await self._tell_connector(connection, lambda channels: poll_recovered_notice(**channels))

    async def _tell_connector(self, connection: Connection, notice: Callable[[dict[str, Any]], Any]) -> bool:
        """A DM to whoever connected the account; a token from the environment (or someone gone):
        to the creators of the subscriptions reading through it, whose notifications it concerns."""
        people = [] if connection.connected_by == ENV_CONNECTED_BY else [connection.connected_by]
        try:
            active = [s for s in await self.db.subscriptions.list_using_connection(connection.id) if not s.paused]
            people += [s.created_by for s in active]
            about = {"account": connection.account_label, "channels": [s.channel_id for s in active]}
            client = await self.slack_client_for(connection.team_id)
            told = await PauseNotifier(self.services).tell_first(client, people, notice(about))
        except Exception:
            logger.warning("Could not tell anyone about connection %s's polls", connection.id, exc_info=True)
            return False
        if told is None:
            logger.warning("Nobody could be told about connection %s's polls", connection.id)
        return told is not None

    async def _pause(self, item: OutboxItem, error: str, *, tell: bool = True) -> None:
        """Pause what Slack refused the item for and tell of it.

        An error about the channel (archived, deleted, the bot removed) pauses every subscription of
        the channel at once, with one notice; any other, the item's subscription. What they had queued
        fails with them, marked so that a Re-enable queues it again.
        """
        reason = error.replace("_", " ")
        await self.db.outbox.fail(item, self.worker_id, error=PAUSED_ROWS + error)
        if error in CHANNEL_ERRORS:
            paused = await self.db.subscriptions.pause_channel(item.team_id, item.channel_id, reason, error=error)
        else:
            subscription = await self.db.subscriptions.get(item.subscription_id)
            if subscription is None:
                return
            await self.db.subscriptions.pause(subscription.id, reason)
            await self.db.outbox.fail_pending_for_subscription(subscription.id, PAUSED_ROWS + error)
            paused = [] if subscription.paused else [subscription]  # one already paused was told then
        for subscription in paused:
            logger.warning("Paused subscription %s in %s: %s", subscription.id, subscription.channel_id, error)
        if tell and paused:
            await self._tell_paused(item.team_id, paused, reason, error=error)

    async def _tell_paused(self, team_id: str, subscriptions: list[Subscription], reason: str, *, error: str) -> None:
        """The paused notice, with its Re-enable and Remove buttons, to whoever created the subscriptions
        (or, when they cannot be reached, to someone who can act for them: ``PauseNotifier``)."""
        try:
            client = await self.slack_client_for(team_id)
            await PauseNotifier(self.services).tell(client, team_id, subscriptions, reason=reason, error=error)
        except Exception:
            logger.warning("Could not tell anyone about the paused subscription", exc_info=True)

    def _counted_from(self, sent_at: float) -> float:
        """The earliest time Slack can have counted a post sent at ``sent_at`` and answered just now.

        Pacing from the send alone failed after a burst: fifty channels' first posts sent at once
        queue at Slack, the last counted up to a tenth of a second after it was sent, and that
        channel's next post, sent into no queue, arrived less than a second later: a 429 and a whole
        second lost. A post is counted no later than its answer less the quickest round trip, so
        pacing from that bound is safe and, once the quickest round trip is known, adds no round trip
        to each gap. Until then (the first posts of a process) it paces from the answer itself.
        """
        answered_at = time.time()
        self._round_trips.append(answered_at - sent_at)
        if len(self._round_trips) < ROUND_TRIPS_KEPT:
            return answered_at
        return max(sent_at, answered_at - min(self._round_trips))

    async def _post(self, item: OutboxItem) -> tuple[float, ThreadMessage | None]:
        """Post the item; returns from when (Unix time) to pace the channel's next post, and the
        candidate's card to remember for the channel (recorded with the row, once posted)."""
        # Leased again only for its card's refresh: its reply is in the thread (no need to look).
        replied = posted_reply(item)
        if (
            item.unwanted == SUBSCRIPTION_REMOVED
            and replied is None  # a refresh only is the row's own (an heir's compact would drop it)
            and (handed := await self.db.outbox.hand_to_heir(item.id))
        ):
            # Queued under a subscription removed meanwhile that another of the channel's takes.
            heir_id, own_payload = handed
            item = dataclasses.replace(
                item, subscription_id=heir_id, payload={**item.payload, **own_payload}, unwanted=None
            )
        payload = item.payload
        # A reply already in the thread is not taken back: the row is sent, whatever changed since.
        if item.unwanted and replied is None:  # unsubscribed since it was queued: the channel asked for no more
            raise FilteredOut(item.unwanted)
        if not payload.get("vendor"):  # every recorded event names its vendor; housekeeping empties old ones
            raise NotRenderable("its event's details were purged (older than EVENT_RETENTION_DAYS)")
        client = await self.slack_client_for(item.team_id)
        # A WedgeHR candidate who recorded again: said so, rather than "completed" a second time.
        event = "completed_again" if payload.get("again") else payload.get("event", "")
        is_job_event = payload.get("source_event", "").startswith("Job")
        thread_ts = None if is_job_event else item.thread_ts
        try:
            earlier = replied or await self._earlier_post(client, item, thread_ts=thread_ts)
            thread_gone = False
        except ThreadGone:
            # An earlier attempt may have posted the candidate's new card: looked for in the channel.
            earlier, thread_gone = await self._earlier_post(client, item, thread_ts=None), True
        metadata = {
            "event_type": POST_METADATA_EVENT,
            "event_payload": {"outbox_id": str(item.id), "tag": self._tag(item.id)},
        }
        if is_job_event:
            if earlier is not None:
                return time.time(), None
            title = str((payload.get("object") or {}).get("title") or "a job")
            sent_at = time.time()
            await client.chat_postMessage(
                channel=item.channel_id,
                **job_event_message(title=title, event=payload["source_event"]).as_kwargs(),
                metadata=metadata,
            )
            return self._counted_from(sent_at), None
        # Its reply in the thread already, a rating fetches its interview for the card alone: a passing
        # failure then tries the row again rather than drop the refresh (on its last attempt, it is dropped).
        refresh_only = (
            thread_ts is not None
            and earlier is not None
            and (not payload.get("compact") or (item.thread_card or {}).get(COMPACT_LINE) is False)
        )
        # Its filters deferred and no card to reply under, a rating without its interview is refused
        # (``_deferred_filters_refuse``): a passing failure tries the row again, so that it is not
        # skipped for good while Spark Hire is down a moment (on its last attempt, it is skipped).
        filters_need_fetch = earlier is None and thread_ts is None and bool(payload.get("filters_deferred"))
        rendered = await self.render(
            payload,
            retry_transient=(refresh_only or filters_need_fetch) and item.attempts + 1 < self.max_attempts,
        )
        candidate = rendered.candidate
        if (
            earlier is None
            and payload.get("filters_deferred")
            and (refused := await self._deferred_filters_refuse(item, rendered.fetched))
        ):
            raise FilteredOut(refused)
        # What the card shows is as of this moment; a delivery older than that (Spark Hire does not
        # deliver in order) still gets its reply, but must not take the card back to its state.
        shown = {key: value for key, value in (item.thread_card or {}).items() if key != REFRESH_OWED}
        # Other rows' replies whose refresh is owed: whatever this row writes of the card keeps them.
        others_owed = [e for e in owed_refreshes(item.thread_card) if str(e["outbox_id"]) != str(item.id)]
        card_as_of = shown.get("as_of")
        newest = not (rendered.keeps_card and thread_ts is not None) and (
            rendered.current
            or card_as_of is None
            or (rendered.as_of is not None and rendered.as_of > card_as_of)
            # Spark Hire's times are to the second: of two deliveries that second, the later to
            # arrive wins, but a card fetched that second is already as new as any of them.
            or (rendered.as_of == card_as_of and not shown.get("fetched"))
        )
        as_of = max((t for t in (card_as_of, rendered.as_of) if t is not None), default=None)
        card = {"event": event, "as_of": as_of, "fetched": rendered.current} if newest else shown
        # A rating whose interview could not be fetched knows only its stars: the reply says them,
        # but the card keeps the candidate it shows rather than being overwritten with less.
        refresh_card = newest and (event != "rated" or rendered.fetched is not None)
        compact = bool(payload.get("compact"))
        # What heads the thread: a compact line (True), a card (False), or not recorded (older posts).
        # A card is kept current whichever subscription's row replies under it (a channel taking
        # completions as cards and ratings as compact lines): it shows the rating too.
        line = compact if thread_ts is None else shown.get(COMPACT_LINE)
        refresh_card = refresh_card and (not compact or line is False)
        if refresh_card and thread_ts is not None:
            line = False  # a compact line refreshed for a full subscription's row becomes its card
        if line is not None:
            card = {**card, COMPACT_LINE: line}
        if others_owed:
            card = {**card, REFRESH_OWED: others_owed}

        async def post_card(card: dict[str, Any]) -> tuple[float, ThreadMessage]:
            message = (
                compact_line(candidate, event=event, rating=rendered.rating, rated_by=rendered.rated_by)
                if compact
                else notification_card(candidate, event=event)
            )
            sent_at = time.time()
            response = await client.chat_postMessage(
                channel=item.channel_id, **message.as_kwargs(), unfurl_links=False, metadata=metadata
            )
            return self._counted_from(sent_at), ThreadMessage(ts=response["ts"], card=card)

        # Someone deleted the candidate's card in Slack: the event starts a new one, which the
        # candidate's later events reply under (retried, it would hold the channel, then be lost).
        fresh = {"event": event, "as_of": rendered.as_of, "fetched": rendered.current, COMPACT_LINE: compact}
        fresh = {**fresh, REFRESH_OWED: others_owed} if others_owed else fresh
        if thread_ts is None or thread_gone:
            if earlier is not None:
                return time.time(), ThreadMessage(ts=earlier, card=fresh if thread_gone else card)
            return await post_card(fresh if thread_gone else card)
        if earlier is None:
            reply = thread_reply(candidate, event=event, rating=rendered.rating, rated_by=rendered.rated_by)
            sent_at = time.time()
            try:
                response = await client.chat_postMessage(
                    channel=item.channel_id, thread_ts=thread_ts, **reply.as_kwargs(), metadata=metadata
                )
            except SlackApiError as exc:
                if exc.response.get("error") != THREAD_GONE:
                    raise
                logger.info("Outbox row %s: the card %s was deleted; posting a new one", item.id, thread_ts)
                return await post_card(fresh)
            reply_ts = str(response["ts"])
            counted_from = self._counted_from(sent_at)
        elif replied is not None:
            reply_ts = replied
            # Posted at least a Retry-After ago, never less than a pace: the next post need not wait.
            counted_from = time.time() - self.pace_seconds
        else:
            reply_ts = earlier
            counted_from = time.time()  # the reply is there; its card may not have been refreshed
        if refresh_card:
            try:  # the reply is what must not be lost or doubled; the card refresh is best effort...
                await client.chat_update(
                    channel=item.channel_id, ts=thread_ts, **notification_card(candidate, event=event).as_kwargs()
                )
            except Exception as exc:  # a timeout or a dropped connection too: the reply is already posted
                if isinstance(exc, SlackApiError) and (seconds := slack_retry_after(exc.response)) is not None:
                    # ...but Slack's "not yet" is not "no": the row waits (the workspace too: chat.update's
                    # limit is the workspace's), remembering its reply, and then only refreshes the card.
                    owes = {**shown, REFRESH_OWED: [*others_owed, {"outbox_id": item.id, "reply_ts": reply_ts}]}
                    raise CardRefreshRateLimited(seconds, ThreadMessage(ts=thread_ts, card=owes)) from exc
                logger.info("Could not update the card %s: %s", thread_ts, exc)
        elif event == "rated" and rendered.fetched is None:
            logger.info(
                "Outbox row %s: its interview could not be fetched: replied, card %s kept as it was", item.id, thread_ts
            )
        elif not newest and replied is not None:
            # Its reply went earlier; since then another row brought the card this far: nothing is owed.
            logger.debug("Outbox row %s: another row already brought the card %s up to date", item.id, thread_ts)
        elif rendered.keeps_card:
            logger.info("Outbox row %s: its candidate has recorded: replied, card %s kept", item.id, thread_ts)
        elif not newest:
            logger.info("Outbox row %s is older than the card %s shows: replied, card kept", item.id, thread_ts)
        return counted_from, ThreadMessage(ts=thread_ts, card=card)

    async def _earlier_post(self, client: AsyncWebClient, item: OutboxItem, *, thread_ts: str | None) -> str | None:
        """The ts of the item's message if an earlier, unrecorded attempt posted it.

        Only asked when an attempt may have reached Slack without being recorded. Looks for the
        message's metadata in the channel (or the candidate's thread) since shortly before that
        attempt. Without the history scopes, Slack refuses: the item is then posted again, which
        may repeat it, and the operator is told which scopes to grant.
        """
        if item.maybe_posted_since is None:
            return None
        oldest = f"{item.maybe_posted_since - EARLIER_POST_LOOKBACK_SECONDS:.6f}"
        wanted = str(item.id)
        # A card or job event is a channel message; a reply is found in the candidate's thread.
        read = client.conversations_history if thread_ts is None else client.conversations_replies
        where = {} if thread_ts is None else {"ts": thread_ts}
        cursor: str | None = None
        try:
            for _ in range(EARLIER_POST_MAX_PAGES):
                page = await read(
                    channel=item.channel_id, oldest=oldest, include_all_metadata=True, limit=200, cursor=cursor, **where
                )
                for message in page.get("messages") or []:
                    metadata = message.get("metadata") or {}
                    fields = metadata.get("event_payload") or {}
                    if (
                        metadata.get("event_type") == POST_METADATA_EVENT
                        and str(fields.get("outbox_id")) == wanted
                        # Another app in the channel can post any metadata; only this bot can tag it.
                        and constant_time_equals(str(fields.get("tag", "")), self._tag(item.id))
                    ):
                        logger.info("Outbox row %s was posted before (%s); not again", item.id, message["ts"])
                        return str(message["ts"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    return None
        except SlackApiError as exc:
            error = exc.response.get("error") or ""
            if thread_ts is not None and error == THREAD_GONE:
                raise ThreadGone(thread_ts) from exc
            if (seconds := slack_retry_after(exc.response)) is not None:
                # Ask again then; the row keeps its posting_since.
                raise ChannelRateLimited("the look for an earlier post", seconds) from exc
            if exc.response.status_code == 429 or exc.response.status_code >= 500 or error in TRANSIENT_ERRORS:
                # Ask again later rather than post blindly; the row keeps its posting_since.
                raise EarlierPostUnknown(f"Slack could not be asked for the channel's messages: {error}") from exc
            logger.warning(
                "Could not check whether outbox row %s reached Slack before (%s); posting it, which may "
                "repeat it. Grant the channels:history and groups:history scopes to prevent that.",
                item.id,
                error or f"HTTP {exc.response.status_code}",
            )
        return None

    def _tag(self, outbox_id: int) -> str:
        return self.services.secret_box.tag(f"outbox:{outbox_id}")

    async def render(self, payload: dict[str, Any], *, retry_transient: bool = False) -> Rendered:
        """The candidate as of this event; for a rating, the interview fetched to complete it.

        ``retry_transient``: a rating whose interview Spark Hire cannot serve just now (busy, down:
        ``is_transient``) raises InterviewUnavailable rather than go without it.
        """
        if payload.get("vendor") == "wedgehr":
            # Polled in order, each diff newer than the last: no time to compare (as_of None).
            if not payload.get("invite"):  # a wedge newly completed, with no invite behind it
                view = from_wedge(Wedge.model_validate(payload["wedge"]))
                # Its status is its last invite's, which need not be the one recorded through (a
                # second invite still open, the public link used instead): the event is a completion.
                if payload.get("event") == "completed":
                    view = dataclasses.replace(view, status="complete")
                return Rendered(candidate=view)
            invite = Invite.model_validate(payload["invite"])
            if payload.get("wedge"):
                view = from_wedge(Wedge.model_validate(payload["wedge"]))
                return Rendered(
                    candidate=CandidateView(
                        **{
                            **view.__dict__,
                            "status": invite.status,
                            "result_url": invite.result_url or view.result_url,
                            "completed_at": invite.completed_at or view.completed_at,
                        }
                    ),
                    # The candidate recorded: another invite of theirs bouncing or canceled (one left
                    # over, a retake's) does not make their completed card "Canceled" with a Resend.
                    keeps_card=view.completed_at is not None and invite.status != "complete",
                )
            return Rendered(
                candidate=CandidateView(
                    vendor="wedgehr",
                    name=invite.email,
                    email=invite.email,
                    interview_name=None,
                    status=invite.status,
                    result_url=invite.result_url,
                    completed_at=invite.completed_at,
                    invite_url=invite.invite_url,
                )
            )
        obj = payload.get("object") or {}
        event = str(payload.get("event") or "")
        if event != "rated":
            try:
                interview = Interview.model_validate(obj)
            except ValidationError as exc:
                # Not the documented shape: the interview as Spark Hire has it now, if the delivery
                # names one; retrying the same body could never succeed.
                uuid = obj.get("uuid") if isinstance(obj.get("uuid"), str) else None
                fetched = await self._fetch_interview(payload, uuid, retry_transient=True) if uuid else None
                if fetched is None:
                    fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
                    raise NotRenderable(f"the delivery's interview is not readable (fields: {fields})") from None
                return Rendered(candidate=from_interview(fetched), as_of=_as_of(fetched), current=True)
            fetched = None
            if interview.assigned_to is None and interview.job_post is None:
                # A delivery naming neither the candidate nor the job: both are fetched, for the
                # card and for the filters (``sparkhire_event``'s ``filters_deferred``).
                fetched = await self._fetch_interview(payload, interview.uuid, retry_transient=retry_transient)
            # The event says what became of the interview; a snapshot taken a moment earlier, or one
            # without a status, said "requested" or nothing on a canceled or completed card.
            status = (
                EVENT_STATUS.get(event)
                or interview.status
                or (fetched.status if fetched else None)
                or EVENT_STATUS_IF_UNSAID.get(event)
            )
            shown = (fetched or interview).model_copy(update={"status": status})
            return Rendered(candidate=from_interview(shown), fetched=fetched, as_of=_as_of(interview))
        uuid = find_interview_uuid(obj)
        given = _rating_given(obj)
        rated_by = _rated_by(obj)
        # Naming no interview, the payload may be the rated interview itself: it is then threaded by
        # its uuid (``sparkhire_event``), and fetched by it too, to be that candidate's.
        own_uuid = obj.get("uuid") if uuid is None and isinstance(obj.get("uuid"), str) and obj["uuid"] else None
        target = uuid or own_uuid
        if (
            target
            and (fetched := await self._fetch_interview(payload, target, retry_transient=retry_transient)) is not None
        ):
            if own_uuid is not None:
                # The interview's own "created_by" is who created it, not who rated it.
                rated_by = _rated_by({k: v for k, v in obj.items() if k != "created_by"})
            return Rendered(
                candidate=from_interview(fetched),
                fetched=fetched,
                as_of=_as_of(fetched),
                current=True,
                rating=given,
                rated_by=rated_by,
            )
        # Still useful without the fetch: the rating and a link to watch.
        return Rendered(
            candidate=CandidateView(
                vendor="sparkhire",
                name="A candidate",
                email=None,
                interview_name=None,
                status="completed",
                rating=given,
                watch_url=WATCH_URL.format(uuid=uuid) if uuid else None,
                interview_uuid=uuid,
            ),
            rating=given,
            rated_by=rated_by,
        )

    async def _fetch_interview(
        self, payload: dict[str, Any], uuid: str, *, retry_transient: bool = False
    ) -> Interview | None:
        """The interview from Spark Hire through the delivery's connection; None if it cannot be had.

        ``retry_transient``: when this fetch is all the post has, a passing failure (429, 5xx, no
        connection or answer: ``is_transient``) raises InterviewUnavailable, so the row is tried
        again rather than dropped; any other refusal (401, 402, 403, 404, 400) gives None at once.
        """
        connection = await self.db.connections.get(str(payload.get("connection_id") or ""))
        if connection is None:
            return None
        try:
            return await self.services.client_for(connection).get_interview(uuid)  # type: ignore[attr-defined]
        except VendorError as exc:
            # Only a passing failure is worth the row's backoff, which holds the channel's later
            # rows; a refused key, a forbidden or missing interview would be refused again.
            if retry_transient and is_transient(exc):
                raise InterviewUnavailable(f"could not fetch interview {uuid}: {exc}") from None
            logger.info("Could not fetch interview %s: %s", uuid, exc)
            return None

    async def _deferred_filters_refuse(self, item: OutboxItem, interview: Interview | None) -> str | None:
        """Why a rating does not belong in this channel after all (None: it does).

        Its job and candidate were unknown when it was recorded. Fetched, they face the filters of
        each of the channel's subscriptions that wanted the event: one that passes is enough. Not
        fetched, it goes only where the candidate already has a card.

        Raises:
            PassesOnlyPaused: Only a subscription paused since the rating was queued passes it.
        """
        if interview is None:
            return None if item.thread_ts else DEFERRED_FILTERS_UNCHECKED
        wanted = [int(i) for i in item.payload.get("subscription_ids") or [item.subscription_id]]
        # And the channel's subscriptions of its account re-enabled since it was queued: their
        # catch-up took this row for the channel's delivery of the rating.
        connection_id = item.payload.get("connection_id")
        wanted += [
            s.id
            for s in await self.db.subscriptions.list_for_channel(item.team_id, item.channel_id)
            if s.id not in wanted
            and not s.paused
            and s.vendor == item.payload.get("vendor")
            and not (connection_id and s.connection_id and s.connection_id != connection_id)
        ]
        paused: Subscription | None = None
        for subscription_id in wanted:
            subscription = await self.db.subscriptions.get(subscription_id)
            # Checked as if active: a paused one would have taken it, had the rating gone at once.
            if subscription is None or not dataclasses.replace(subscription, paused=False).matches(
                str(item.payload.get("event", "")),
                job_name=interview.job_title,
                job_id=interview.job_post.uuid if interview.job_post else None,
                candidate_email=interview.candidate_email,
            ):
                continue
            if not subscription.paused:
                return None
            paused = paused or subscription
        if paused is not None:
            # Held, it keeps its row and place: the Re-enable queues it again as it is.
            raise PassesOnlyPaused(paused)
        return DEFERRED_FILTERS_REFUSED
