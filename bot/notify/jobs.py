"""Checking a subscription's ``job:`` against the vendor: Spark Hire's jobs, WedgeHR's interviews.

A name the vendor does not have would be confirmed and then never match anything; a job renamed
at the vendor would stop matching its name. So ``subscribe`` looks the job up: found, the
subscription keeps the job's id too (matched first, ``Subscription.matches``); not found, it
follows the name as typed and the reply offers the closest names (a typo is seen at once; a job
may also be subscribed to before it exists); when the vendor cannot be asked in time, it follows
the name as typed and says that it could not be checked.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from dataclasses import dataclass

from bot.crypto import SecretKeyMismatchError
from bot.notify.events import vendor_time
from bot.notify.grammar import LIST_PUNCTUATION
from bot.services import Services
from bot.storage import Connection
from bot.storage.schema import JOB_FILTER_MAX, JOB_ID_MAX
from bot.vendors.errors import VendorError

logger = logging.getLogger(__name__)

#: How long subscribe waits for a vendor's list of jobs before it subscribes by name, unchecked.
#: The user is waiting for the confirmation; each vendor is asked at the same time.
JOB_CHECK_SECONDS = 8.0
#: Names offered when the one typed is not found.
SUGGESTIONS = 3
#: What each vendor calls what ``job:`` names.
WHAT = {"sparkhire": "job", "wedgehr": "interview"}
VENDOR_NAMES = {"sparkhire": "Spark Hire", "wedgehr": "WedgeHR"}


@dataclass(frozen=True)
class VendorJob:
    id: str
    name: str
    #: When the vendor last changed the job (UNIX seconds, the vendor's clock; None: it does not say).
    changed_at: float | None = None


@dataclass(frozen=True)
class JobCheck:
    """What the vendor said about the job typed for one platform's subscription."""

    vendor: str
    typed: str
    #: The one job it names (by id or by name).
    found: VendorJob | None = None
    #: How many jobs share the name typed, when more than one does: followed by name.
    same_name: tuple[VendorJob, ...] = ()
    #: The vendor's job names, when none matched.
    names: tuple[str, ...] = ()
    #: Why the vendor could not be asked (then the name is followed unchecked).
    unchecked: str | None = None

    @property
    def missing(self) -> bool:
        return self.found is None and not self.same_name and self.unchecked is None

    @property
    def name(self) -> str:
        """The name to store: the vendor's own spelling when it was found (cut to the column's
        width: a job found by its id may have a longer name; it is matched by the id)."""
        if self.found is not None:
            return self.found.name[:JOB_FILTER_MAX]
        if self.same_name:
            return self.same_name[0].name[:JOB_FILTER_MAX]
        return self.typed

    @property
    def job_id(self) -> str | None:
        return self.found.id if self.found is not None else None

    @property
    def named_at(self) -> float | None:
        """When the job had the name found: as of its last change at the vendor, which the vendor's
        own Job* events are ordered by. None when the vendor does not say: our clock is not the
        vendor's, and a time of ours could put a later Job* event's rename in the past."""
        return self.found.changed_at if self.found is not None else None

    def note(self) -> str | None:
        """What the user should know about a subscription that follows the job unchecked or by name."""
        label, what = VENDOR_NAMES[self.vendor], WHAT[self.vendor]
        if self.unchecked is not None:
            return (
                f"I could not check the {what} `{_shown(self.typed)}` with {label}, so this subscription "
                f"follows the {what} named exactly that: if no posts come, check the name in {label} and "
                f"subscribe again. Why it could not be checked: {self.unchecked}"
            )
        if self.same_name:
            return (
                f"{label} has {len(self.same_name)} {what}s named `{self.name}`: this subscription follows "
                f"them all by name (renamed at {label}, they stop). To follow one, use its id: "
                + ", ".join(f"`job:{j.id}`" for j in self.same_name[:SUGGESTIONS])
                + "."
            )
        return None

    def not_found(self) -> str:
        """The name is not the vendor's (yet): what it may have meant. The subscription is kept:
        a job can be subscribed to before it is created, and ``job:`` is a public grammar."""
        label, what = VENDOR_NAMES[self.vendor], WHAT[self.vendor]
        said = f"{label} has no {what} named `{_shown(self.typed)}` yet."
        close = closest(self.typed, self.names)
        if close:
            said += " Did you mean " + " or ".join(f"`{job_word(n)}`" for n in close) + "?"
        elif self.names:
            said += f" Its {what}s include " + ", ".join(f"`{job_word(n)}`" for n in self.names[:SUGGESTIONS]) + "."
        else:
            said += f" It lists no {what}s to this account."
        return (
            said + f" This subscription follows the name as typed, so it posts once a {what} of that name exists;"
            # The platform too: `job:` alone would also remove the other platform's subscription to it.
            f" `/interview unsubscribe {self.vendor} {job_word(self.typed)}` removes it."
        )


def job_word(name: str) -> str:
    """How to type ``job:`` for this name: in quotes when it has spaces or list punctuation."""
    name = _shown(name)
    if not any(c.isspace() or c in LIST_PUNCTUATION for c in name):
        return f"job:{name}"
    return f'job:"{name}"' if '"' not in name else f"job:\u201c{name}\u201d"


def _shown(name: str) -> str:
    """A name inside `code` marks: a backtick would end them."""
    return name.replace("`", "'")[:JOB_FILTER_MAX]


def _folded(name: str) -> str:
    return " ".join(name.split()).casefold()


def closest(typed: str, names: tuple[str, ...], limit: int = SUGGESTIONS) -> list[str]:
    """The vendor's names most like ``typed``: the closest spellings, then those containing it."""
    by_folded: dict[str, str] = {}
    for name in names:
        by_folded.setdefault(_folded(name), name)
    wanted = _folded(typed)
    close = difflib.get_close_matches(wanted, list(by_folded), n=limit, cutoff=0.6)
    containing = [f for f in by_folded if wanted and (wanted in f or f in wanted)]
    return [by_folded[f] for f in dict.fromkeys([*close, *containing])][:limit]


async def check_job(services: Services, connection: Connection, typed: str) -> JobCheck:
    """Look ``typed`` up among the vendor's jobs (an id or a name), within JOB_CHECK_SECONDS."""
    jobs, why = await vendor_jobs(services, connection)
    if jobs is None:
        return JobCheck(connection.vendor, typed, unchecked=why)
    return match_job(connection.vendor, typed, jobs)


async def vendor_jobs(services: Services, connection: Connection) -> tuple[list[VendorJob] | None, str]:
    """The jobs the connection's key lists, within JOB_CHECK_SECONDS; None and why, when it could not."""
    vendor = connection.vendor
    try:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel (bot/notify/worker.py).
        async with asyncio.timeout(JOB_CHECK_SECONDS):
            return await _jobs_of(services, connection), ""
    except TimeoutError:
        logger.info("%s did not list its jobs within %g s", vendor, JOB_CHECK_SECONDS)
        return None, f"it did not answer within {JOB_CHECK_SECONDS:g} seconds"
    except (VendorError, SecretKeyMismatchError) as exc:
        logger.info("Could not list %s jobs to check a subscription's job: %s", vendor, exc)
        return None, str(exc)[:200]


def match_job(vendor: str, typed: str, jobs: list[VendorJob]) -> JobCheck:
    """What ``typed`` (a job's id or name) names among ``jobs``."""
    wanted = _folded(typed)
    by_id = [j for j in jobs if j.id.casefold() == wanted]
    if by_id:
        return JobCheck(vendor, typed, found=by_id[0])
    by_name = [j for j in jobs if _folded(j.name) == wanted]
    if len(by_name) == 1:
        return JobCheck(vendor, typed, found=by_name[0])
    if by_name:
        return JobCheck(vendor, typed, same_name=tuple(by_name))
    return JobCheck(vendor, typed, names=tuple(dict.fromkeys(j.name for j in jobs)))


async def _jobs_of(services: Services, connection: Connection) -> list[VendorJob]:
    """Every job (Spark Hire, any status) or interview (WedgeHR) the connection's key lists."""
    client = services.client_for(connection)
    jobs: list[VendorJob] = []
    if connection.vendor == "sparkhire":
        # Both statuses asked for: the reference does not say whether an unfiltered GET /jobs lists
        # inactive jobs, and an inactive job (between hiring rounds) still has interviews rated.
        statuses = ["active", "inactive"]
        async for job in client.iter_jobs(status=statuses, page_size=100):  # type: ignore[union-attr]
            if job.title:
                jobs.append(VendorJob(id=job.uuid, name=job.title, changed_at=vendor_time(job.updated_at)))
    else:
        async for interview in client.iter_interviews():  # type: ignore[union-attr]
            jobs.append(VendorJob(id=str(interview.id), name=interview.name))
    # An id longer than its column is no vendor's: it could not be stored.
    return [j for j in jobs if len(j.id) <= JOB_ID_MAX]
