"""APScheduler 3.11 as the daemon's clock, and nothing more.

The posts table is the record of what is due; the scheduler only wakes the daemon at
the right moments. It holds one date job per scheduled post due within a horizon (the
next few hours), one cron job per recurring series and a few interval jobs (sync,
heartbeat, reconciliation). Because a job may be lost with the process at any time, and
APScheduler removes a date job from its store *before* running it, nothing here is ever
read back as the truth: the sync job rebuilds the picture from the database.

APScheduler's defaults are wrong for this use and are set explicitly:

- ``misfire_grace_time=None``: APScheduler would otherwise *silently skip* a job more
  than one second late (its default). Lateness is decided by the daemon from the
  account's grace period, which holds a late post for a person instead of dropping it.
- ``coalesce=True``: a cron job that missed several runs (the daemon was down) runs
  once; the series job then works out from the database which occurrence is next.
- ``max_instances=1``: one run of a job at a time; a post's job never overlaps itself.

Jobs are module-level functions with plain arguments (ids), as APScheduler advises;
they find the daemon they belong to through :func:`register_owner`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED

from scheduler.recurrence import cron_trigger

log = logging.getLogger(__name__)

#: Executor names: posts are published on one pool, housekeeping runs on its own so a
#: backlog of due posts never delays the heartbeat, the sync or a series.
PUBLISH_POOL = "publish"
HOUSEKEEPING_POOL = "housekeeping"

_owners: dict[str, Any] = {}
_owners_lock = threading.Lock()


def register_owner(owner_id: str, owner: Any) -> None:
    """Make ``owner`` (a daemon) findable by the id its jobs carry."""
    with _owners_lock:
        _owners[owner_id] = owner


def unregister_owner(owner_id: str) -> None:
    """Forget the owner ``owner_id`` (its jobs then do nothing)."""
    with _owners_lock:
        _owners.pop(owner_id, None)


def find_owner(owner_id: str) -> Any | None:
    """The owner registered as ``owner_id``, or ``None`` once it has stopped."""
    with _owners_lock:
        return _owners.get(owner_id)


def post_job_id(post_id: int) -> str:
    return f"post:{post_id}"


def series_job_id(series_id: str) -> str:
    return f"series:{series_id}"


class _Scheduler(BackgroundScheduler):  # type: ignore[misc]  # APScheduler has no types
    """APScheduler's ``BackgroundScheduler``, safe to stop while it is starting a job.

    Its ``shutdown`` marks it stopped before taking the job-store lock; its main loop,
    part-way through starting a date job, then removes that job, a stopped scheduler
    looks for it among the jobs not yet added ("No job by the id of ... was found"),
    and the loop's thread dies with a traceback on the terminal of an app being quit.
    While stopping, a job already gone is simply gone.
    """

    def remove_job(self, job_id: str, jobstore: str | None = None) -> None:
        try:
            super().remove_job(job_id, jobstore)
        except JobLookupError:
            if self.state != STATE_STOPPED:
                raise


class SchedulerClock:
    """A ``BackgroundScheduler`` configured for publishing, with the few calls we need."""

    def __init__(self, *, publish_workers: int = 8, housekeeping_workers: int = 2) -> None:
        self._executors = {
            PUBLISH_POOL: ThreadPoolExecutor(max_workers=publish_workers),
            HOUSEKEEPING_POOL: ThreadPoolExecutor(max_workers=housekeeping_workers),
        }
        self.scheduler = _Scheduler(
            timezone=UTC,
            executors=dict(self._executors),
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._post_jobs: set[int] = set()
        self._running: set[int] = set()
        self._lock = threading.RLock()

    # -- life -----------------------------------------------------------------------

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self, *, wait: bool) -> None:
        """Stop firing jobs; with ``wait`` also wait for running ones to finish.

        APScheduler's own ``shutdown(wait=True)`` waits for running jobs while holding
        its job-store lock, and a running job that looks at the schedule (the sync job
        does) then waits for that lock for ever: the process could not exit. So the
        scheduler is stopped without waiting, and the jobs are waited for outside it.
        """
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if wait:
            for executor in self._executors.values():
                executor.shutdown(wait=True)

    # -- posts ----------------------------------------------------------------------

    def schedule_post(
        self, func: Callable[..., Any], args: list[Any], post_id: int, at: datetime
    ) -> None:
        """(Re)place the date job of ``post_id`` to run ``func(*args)`` at ``at``."""
        with self._lock:
            self.scheduler.add_job(
                func,
                "date",
                run_date=at,
                args=args,
                id=post_job_id(post_id),
                executor=PUBLISH_POOL,
                replace_existing=True,
            )
            self._post_jobs.add(post_id)

    def forget_post(self, post_id: int) -> None:
        """Drop the job of ``post_id`` if any (cancelled, moved beyond the horizon, run)."""
        with self._lock:
            self._post_jobs.discard(post_id)
            try:
                self.scheduler.remove_job(post_job_id(post_id))
            except JobLookupError:
                pass

    def post_job_ran(self, post_id: int) -> None:
        """Note that the date job of ``post_id`` fired (APScheduler already removed it).

        Until :meth:`post_job_done`, the post counts as having a job, so a sync meanwhile
        does not queue a second run of it.
        """
        with self._lock:
            self._running.add(post_id)

    def post_job_done(self, post_id: int) -> None:
        """Note that the run of ``post_id``'s job has finished."""
        with self._lock:
            self._running.discard(post_id)
            if not self.scheduler.running or self.scheduler.get_job(post_job_id(post_id)) is None:
                self._post_jobs.discard(post_id)

    def has_post_job(self, post_id: int) -> bool:
        with self._lock:
            return post_id in self._post_jobs

    def post_job_count(self) -> int:
        with self._lock:
            return len(self._post_jobs)

    def scheduled_posts(self) -> set[int]:
        with self._lock:
            return set(self._post_jobs)

    # -- series and housekeeping ----------------------------------------------------

    def schedule_series(
        self, func: Callable[..., Any], args: list[Any], series_id: str, cron: str, tz_name: str
    ) -> None:
        """A cron job for a recurring series, read in the account's IANA zone."""
        self.scheduler.add_job(
            func,
            cron_trigger(cron, tz_name),
            args=args,
            id=series_job_id(series_id),
            executor=HOUSEKEEPING_POOL,
            replace_existing=True,
        )

    def forget_series(self, series_id: str) -> None:
        try:
            self.scheduler.remove_job(series_job_id(series_id))
        except JobLookupError:
            pass

    def series_ids(self) -> set[str]:
        return {
            job.id.removeprefix("series:")
            for job in self.scheduler.get_jobs()
            if job.id.startswith("series:")
        }

    def every(
        self,
        func: Callable[..., Any],
        args: list[Any],
        job_id: str,
        seconds: float,
        *,
        first_run: datetime | None = None,
    ) -> None:
        """An interval job on the housekeeping pool (sync, heartbeat, reconciliation)."""
        self.scheduler.add_job(
            func,
            "interval",
            seconds=seconds,
            args=args,
            id=job_id,
            executor=HOUSEKEEPING_POOL,
            replace_existing=True,
            next_run_time=first_run or datetime.now(UTC),
        )

    def run_soon(self, func: Callable[..., Any], args: list[Any], job_id: str) -> None:
        """Run ``func(*args)`` once, now, on the housekeeping pool (e.g. an early sync)."""
        try:
            self.scheduler.add_job(
                func,
                "date",
                run_date=datetime.now(UTC),
                args=args,
                id=job_id,
                executor=HOUSEKEEPING_POOL,
                replace_existing=True,
            )
        except Exception:  # the scheduler may be shutting down
            log.debug("could not queue %s", job_id, exc_info=True)
