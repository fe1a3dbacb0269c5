"""The publishing daemon: APScheduler is the clock, the database is the truth.

``Daemon(store, ...)`` publishes what is due, exactly once, until it is stopped. The same
code runs in the foreground (``gatepost daemon``), from cron (``gatepost daemon
--once``) and inside the demo app in a thread::

    daemon = Daemon(store, on_event=print)
    daemon.start()          # returns at once; jobs run on APScheduler's threads
    ...
    daemon.stop()           # stop claiming, finish or hand back what is in flight

What it keeps in step:

- one date job per scheduled post due within ``horizon`` (the next few hours), at most
  ``max_jobs`` of them, so memory stays flat however long the queue is;
- a periodic **sync** job (and one on :meth:`Daemon.wake`) that re-reads the posts
  table, adds and drops jobs, takes over posts whose daemon died (after their lease
  ran out), tops up recurring series and carries out corrections;
- a **heartbeat** row (daemon id, host, pid, last beat) for ``gatepost status`` and the
  TUI's status bar.

Every outcome becomes a :class:`DaemonEvent` passed to ``on_event`` and logged, one
line per event.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from connectors.base import AccountConfig, Connector
from scheduler import clock as clockmod
from scheduler.models import AuditEvent, DaemonHeartbeat, Post, PostState
from scheduler.publishing import (
    DAEMON_ACTOR,
    ConnectorFactory,
    FrequencyLookup,
    FrequencyRule,
    GateRecheck,
    Publisher,
    PublishResult,
    RetryPolicy,
    effective_due,
)
from scheduler.store import Store

log = logging.getLogger("gatepost.daemon")

posts_table: sa.Table = Post.__table__  # type: ignore[attr-defined]
heartbeats_table: sa.Table = DaemonHeartbeat.__table__  # type: ignore[attr-defined]
_audit: sa.Table = AuditEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class DaemonEvent:
    """Something the daemon did or saw, for a log line or the TUI.

    ``kind``: ``started``, ``stopped``, ``heartbeat`` (to ``on_event`` only, not
    logged), ``published``, ``failed``, ``unknown``,
    ``held``, ``in_review``, ``waiting``, ``handed_back``, ``retracted``, ``corrected``,
    ``occurrence`` (a recurring post's next occurrence was created), ``error``.
    """

    kind: str
    message: str
    post_id: int | None = None
    account: str = ""
    remote_url: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    daemon_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(timespec="milliseconds"),
            "kind": self.kind,
            "post_id": self.post_id,
            "account": self.account,
            "message": self.message,
            "remote_url": self.remote_url,
            "daemon": self.daemon_id,
        }


@dataclass(frozen=True)
class DaemonSettings:
    """How a daemon runs. The defaults suit production; tests shorten the intervals.

    ``lease_seconds`` must be longer than any one connector call (its time-out), since
    another daemon takes a post over once its lease has run out.
    """

    publish_workers: int = 8
    batch: int = 50
    lease_seconds: float = 120.0
    sync_seconds: float = 30.0
    watch_seconds: float = 1.0
    heartbeat_seconds: float = 5.0
    horizon: timedelta = timedelta(hours=6)
    max_jobs: int = 20_000
    stop_timeout: float = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def new_daemon_id() -> str:
    """``host:pid:random`` -- unique per process run, readable in ``gatepost status``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def default_connector_factory() -> ConnectorFactory:
    """Connectors with credentials from the credential store (keyring or encrypted file).

    The credential store is opened on first use, so a daemon whose accounts need no
    credentials (the outbox) runs where no keyring is available.
    """
    from connectors.errors import CredentialsError
    from connectors.registry import make_connector

    built: dict[str, Callable[[AccountConfig], Connector]] = {}
    lock = threading.Lock()

    def build(config: AccountConfig) -> Connector:
        if config.platform == "outbox":
            return make_connector(config)
        with lock:
            factory = built.get("factory")
            if factory is None:
                from connectors.credentials import CredentialStore, connector_factory

                try:
                    factory = connector_factory(CredentialStore())
                except CredentialsError:
                    raise
                built["factory"] = factory
        return factory(config)

    return build


def policy_frequency(store: Store, *, reread_seconds: float = 60.0) -> FrequencyLookup:
    """Posting limits: the account's own ``max_per_hour``/``max_per_day`` where set,
    else the policy's ``frequency`` rule for the account's kind (the policy is read
    again every ``reread_seconds``, so an edited policy takes effect without a restart)."""
    import time

    from scheduler import gate

    cache: dict[str, Any] = {}
    lock = threading.Lock()

    def lookup(account: Any) -> FrequencyRule:
        with lock:
            policy, read_at = cache.get("policy"), cache.get("read_at", 0.0)
        if policy is None or time.monotonic() - read_at > reread_seconds:
            with store.read() as session:
                policy = gate.policy(session)
            with lock:
                cache["policy"], cache["read_at"] = policy, time.monotonic()
        limits = policy.frequency_limits(account.kind)
        per_hour = account.max_per_hour if account.max_per_hour is not None else limits.per_hour
        per_day = account.max_per_day if account.max_per_day is not None else limits.per_day
        return FrequencyRule(per_hour, per_day)

    return lookup


class PublishTimeGate:
    """The gate run again at publish time; a reason to send the post back, or ``None``.

    A finding that blocks, or a review finding no approver signed off for this content
    (a revoked or expired asset, a policy that changed since approval), holds the post.
    The policy is re-read when its file changes and the asset index rebuilt when the
    library changes (checked with one small query per post), so a busy queue does not
    rebuild them for every post.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._policy: tuple[Any, Any] | None = None
        self._index: tuple[Any, Any] | None = None

    def _current_policy(self, session: Any) -> Any:
        from scheduler import gate
        from scheduler.models import Setting

        configured = session.get(Setting, gate.POLICY_PATH_SETTING)
        path = configured.value if configured is not None and configured.value else ""
        try:
            key = (path, os.stat(path).st_mtime_ns) if path else ("", 0)
        except OSError:
            key = (path, -1)
        with self._lock:
            if self._policy is not None and self._policy[0] == key:
                return self._policy[1]
        loaded = gate.policy(session)
        with self._lock:
            self._policy = (key, loaded)
        return loaded

    def _current_index(self, session: Any) -> Any:
        from scheduler import gate
        from scheduler.models import Asset

        a = Asset.__table__.c  # type: ignore[attr-defined]
        key = tuple(
            session.execute(
                sa.select(sa.func.count(), sa.func.max(a.id), sa.func.sum(a.version))
            ).one()
        )
        with self._lock:
            if self._index is not None and self._index[0] == key:
                return self._index[1]
        index = gate.asset_index(session)
        with self._lock:
            self._index = (key, index)
        return index

    def __call__(self, session: Any, post: Post, account: Any, now: datetime) -> str | None:
        return self.check_many(session, [(post, account)], now)[0]

    def check_many(
        self, session: Any, items: Sequence[tuple[Post, Any]], now: datetime
    ) -> list[str | None]:
        """The reason to hold each (post, account), or ``None``: the policy and the
        library are looked at once for the lot, the posts' images read in one query."""
        from sqlmodel import col, select

        from compliance import check
        from scheduler import gate
        from scheduler.models import Finding

        if not items:
            return []
        policy = self._current_policy(session)
        index = self._current_index(session)
        holding: dict[int, list[Any]] = {}
        for (post, _), draft in zip(items, gate.drafts_for(session, items), strict=True):
            verdict = check(draft, policy, assets=index, now=now)
            found = [
                f
                for f in verdict.findings
                if str(getattr(f.severity, "value", f.severity)) != "info"
            ]
            if found:
                holding[post.id or 0] = found
        signed: dict[int, set[tuple[Any, ...]]] = {}
        if holding:
            prints = {post.id: post.fingerprint for post, _ in items}
            for row in session.exec(
                select(Finding).where(
                    col(Finding.post_id).in_(list(holding)),
                    col(Finding.signed_off_by).is_not(None),
                )
            ).all():
                if row.fingerprint == prints.get(row.post_id):
                    signed.setdefault(row.post_id, set()).add(
                        (row.rule, row.span_start, row.span_end, row.asset_id, row.message)
                    )
        reasons: list[str | None] = []
        for post, _ in items:
            reasons.append(
                _hold_reason(holding.get(post.id or 0, []), signed.get(post.id or 0, set()))
            )
        return reasons


def _hold_reason(holding: Sequence[Any], signed: set[tuple[Any, ...]]) -> str | None:
    """Why the gate holds a post: a blocking finding, or one nobody signed off."""
    for finding in holding:
        severity = str(getattr(finding.severity, "value", finding.severity))
        span = finding.span or (None, None)
        asset = int(finding.asset_id) if finding.asset_id not in (None, "") else None
        key = (finding.rule, span[0], span[1], asset, finding.message)
        if severity == "block" or key not in signed:
            return f"the gate found at publish time: {finding.message}"
    return None


class Daemon:
    """Publishes due posts until stopped. See the module docstring.

    ``connector_factory`` builds an account's connector (default: the credential store
    and the connector registry). ``gate`` re-runs the gate at publish time (default:
    :class:`PublishTimeGate`; pass ``None`` to skip). ``on_event`` receives every
    :class:`DaemonEvent` (called from the daemon's threads: a UI must hop to its own
    thread, e.g. Textual's thread-safe ``post_message``). ``now`` replaces the clock.
    """

    def __init__(
        self,
        store: Store,
        *,
        connector_factory: ConnectorFactory | None = None,
        gate: GateRecheck | str | None = "default",
        frequency: FrequencyLookup | None = None,
        on_event: Callable[[DaemonEvent], None] | None = None,
        settings: DaemonSettings | None = None,
        daemon_id: str | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or DaemonSettings()
        self.id = daemon_id or new_daemon_id()
        self.on_event = on_event
        self._now = now or store.now
        self.publisher = Publisher(
            store,
            self.id,
            connector_factory or default_connector_factory(),
            gate=PublishTimeGate() if gate == "default" else gate,  # type: ignore[arg-type]
            frequency=frequency or policy_frequency(store),
            retry=self.settings.retry,
            lease_seconds=self.settings.lease_seconds,
            workers=self.settings.publish_workers,
            on_result=self._on_result,
            now=self._now,
        )
        self.clock = clockmod.SchedulerClock(publish_workers=self.settings.publish_workers)
        self._clock_used = False
        self._started_at: datetime | None = None
        self._published = 0
        self._seen_seq = 0  # the last audit event the watch has looked at
        self._count_lock = threading.Lock()
        self._stopped = threading.Event()
        self._running = False
        self._last_beat: datetime | None = None

    # -- life ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    @property
    def published_count(self) -> int:
        return self._published

    @property
    def last_beat(self) -> datetime | None:
        """When this daemon last wrote its heartbeat (for a status bar)."""
        return self._last_beat

    def start(self) -> None:
        """Start the clock and the jobs; returns at once (jobs run on their own threads)."""
        if self._running:
            return
        if self._clock_used:
            # APScheduler's pools cannot be restarted once shut down: take a fresh clock.
            self.clock = clockmod.SchedulerClock(publish_workers=self.settings.publish_workers)
        self._clock_used = True
        self._stopped.clear()
        self.publisher.stopping.clear()
        self._started_at = self._now()
        clockmod.register_owner(self.id, self)
        self.beat()
        s = self.settings
        self.clock.every(heartbeat_job, [self.id], "heartbeat", s.heartbeat_seconds)
        self.clock.every(sync_job, [self.id], "sync", s.sync_seconds)
        self._seen_seq = self._audit_seq()
        self.clock.every(watch_job, [self.id], "watch", s.watch_seconds)
        # Running before the clock starts: its first jobs (the first sync, due at once)
        # may run before this thread goes on, and they do nothing unless running.
        self._running = True
        try:
            self.clock.start()
        except BaseException:
            self._running = False
            raise
        self._emit(DaemonEvent("started", f"daemon {self.id} started", daemon_id=self.id))

    def stop(self, timeout: float | None = None) -> None:
        """Stop claiming, let posts in flight finish (or hand them back), then return.

        Waits at most ``timeout`` seconds (default ``settings.stop_timeout``) for the
        posts in flight; any still unsettled keep their attempt and lease, and the next
        daemon settles them by lookup once the lease has run out.
        """
        if not self._running:
            return
        self._running = False
        self.publisher.stopping.set()
        waiter = threading.Thread(target=self.clock.shutdown, kwargs={"wait": True}, daemon=True)
        waiter.start()
        waiter.join(timeout if timeout is not None else self.settings.stop_timeout)
        if waiter.is_alive():
            log.warning("posts still in flight after the stop time-out; their leases will expire")
        clockmod.unregister_owner(self.id)
        self._mark_stopped()
        self._emit(DaemonEvent("stopped", f"daemon {self.id} stopped", daemon_id=self.id))
        self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop` has finished; ``True`` if it has."""
        return self._stopped.wait(timeout)

    def _audit_seq(self) -> int:
        with self.store.read() as session:
            seq = session.execute(sa.select(sa.func.max(_audit.c.seq))).scalar()
        return int(seq or 0)

    def watch(self) -> None:
        """Sync now if someone else (another process or machine) changed posts since
        the last look: every change is an audit event, so this reads only the events
        that are new. The daemons' own events do not count. A post approved for right
        now elsewhere goes out within a second or two, not at the next periodic sync."""
        if not self._running:
            return
        e = _audit.c
        with self.store.read() as session:
            top, others = session.execute(
                sa.select(
                    sa.func.max(e.seq),
                    sa.func.count().filter(e.actor != DAEMON_ACTOR),
                ).where(e.seq > self._seen_seq)
            ).one()
        if top is None:
            return
        self._seen_seq = int(top)
        if others:
            self.wake()

    def wake(self) -> None:
        """Re-read the posts table now (call after scheduling or changing a post)."""
        if self._running:
            self.clock.run_soon(sync_job, [self.id], "sync-now")

    def run_once(self, *, workers: int | None = None) -> list[PublishResult]:
        """Publish everything due now, settle posts of dead daemons, and return.

        For ``gatepost daemon --once`` (cron) and tests: no scheduler, a pool of
        ``workers`` threads, batches claimed until nothing due is left.
        """
        clockmod.register_owner(self.id, self)
        self._started_at = self._now()
        self.beat()
        results: list[PublishResult] = []
        try:
            results += self.publisher.reconcile_stale()
            results += self._run_corrections()
            pool_size = workers or self.settings.publish_workers
            with ThreadPoolExecutor(max_workers=pool_size) as pool:
                while not self.publisher.stopping.is_set():
                    ids = self.publisher.due_post_ids(limit=self.settings.batch * pool_size)
                    if not ids:
                        break
                    chunks = [ids[i::pool_size] for i in range(pool_size)]
                    done = list(pool.map(self.publisher.publish_many, [c for c in chunks if c]))
                    batch_results = [r for chunk in done for r in chunk]
                    results += batch_results
                    if not any(r.kind not in ("skipped",) for r in batch_results):
                        break
            results += self._run_corrections()
        finally:
            clockmod.unregister_owner(self.id)
            self._mark_stopped()
        return results

    def run_forever(
        self, *, install_signal_handlers: bool = True, exit_process: bool = False
    ) -> int:
        """Run in the foreground until SIGTERM or SIGINT; return the exit status (0).

        With ``exit_process`` (the command line), the process ends as soon as the daemon
        has stopped, without waiting for a connector call still hanging past the stop
        time-out: that post keeps its attempt and lease, and the next daemon settles it
        by lookup, exactly as after a crash.
        """
        if install_signal_handlers:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: threading.Thread(target=self.stop).start())
        self.start()
        while not self._stopped.wait(0.5):
            pass
        if exit_process:
            logging.shutdown()
            os._exit(0)
        return 0

    # -- jobs -----------------------------------------------------------------------------

    def run_post_job(self, post_id: int) -> None:
        """The date job of one post: publish it (and other posts due with it)."""
        self.clock.post_job_ran(post_id)
        try:
            if self._running:
                self.publisher.publish_due(post_id, batch=self.settings.batch)
        finally:
            self.clock.post_job_done(post_id)

    def sync(self) -> None:
        """Bring the jobs in line with the posts table, and do the periodic chores."""
        if not self._running:
            return
        try:
            self.publisher.reconcile_stale()
            self._sync_post_jobs()
            self._sync_series()
            self._run_corrections()
        except Exception:
            log.exception("sync failed; trying again at the next sync")
            self._emit(DaemonEvent("error", "sync failed; see the log", daemon_id=self.id))

    def _sync_post_jobs(self) -> None:
        now = self._now()
        horizon = now + self.settings.horizon
        p = posts_table.c
        with self.store.read() as session:
            rows = session.execute(
                sa.select(p.id, p.scheduled_at, p.not_before)
                .where(p.state == PostState.SCHEDULED.value, p.scheduled_at <= horizon)
                .order_by(p.scheduled_at, p.id)
                .limit(self.settings.max_jobs)
            ).all()
        wanted: dict[int, datetime] = {}
        for post_id, scheduled_at, not_before in rows:
            due = effective_due(_DueRow(scheduled_at, not_before))  # type: ignore[arg-type]
            if due is not None and due <= horizon:
                wanted[int(post_id)] = due
        for post_id in self.clock.scheduled_posts() - set(wanted):
            self.clock.forget_post(post_id)
        for post_id, due in wanted.items():
            if not self.clock.has_post_job(post_id):
                self.schedule_post(post_id, due)

    def schedule_post(self, post_id: int, at: datetime) -> None:
        """(Re)place the date job of ``post_id`` at ``at`` (at once if ``at`` has passed)."""
        if not self._running:
            return
        self.clock.schedule_post(post_job, [self.id, post_id], post_id, max(at, datetime.now(UTC)))

    def _sync_series(self) -> None:
        from scheduler import recurrence

        recurrence.sync_series(self)

    def _run_corrections(self) -> list[PublishResult]:
        from scheduler import corrections

        return corrections.carry_out_due(self)

    # -- heartbeats -------------------------------------------------------------------------

    def beat(self) -> None:
        """Write this daemon's heartbeat row."""
        now = self._now()
        values = {
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": self._started_at or now,
            "last_beat": now,
            "stopped_at": None,
            "published": self._published,
        }
        h = heartbeats_table.c
        with self.store.write() as session:
            updated = session.execute(
                sa.update(heartbeats_table).where(h.daemon_id == self.id).values(**values)
            )
            if updated.rowcount == 0:  # type: ignore[attr-defined]
                session.execute(sa.insert(heartbeats_table).values(daemon_id=self.id, **values))
        self._last_beat = now

    def _mark_stopped(self) -> None:
        try:
            with self.store.write() as session:
                session.execute(
                    sa.update(heartbeats_table)
                    .where(heartbeats_table.c.daemon_id == self.id)
                    .values(stopped_at=self._now(), published=self._published)
                )
        except Exception:
            log.exception("could not record that the daemon stopped")

    # -- events -----------------------------------------------------------------------------

    def _on_result(self, result: PublishResult) -> None:
        if result.kind == "skipped":
            return
        if result.kind == "published":
            with self._count_lock:
                self._published += 1
        if result.kind == "waiting" and result.retry_at is not None:
            self.schedule_post(result.post_id, result.retry_at)
        self._emit(
            DaemonEvent(
                result.kind,
                result.message,
                post_id=result.post_id,
                account=result.account,
                remote_url=result.remote_url,
                daemon_id=self.id,
            )
        )

    def _emit(self, event: DaemonEvent) -> None:
        level = (
            logging.WARNING
            if event.kind in ("failed", "unknown", "held", "error")
            else logging.INFO
        )
        log.log(level, "%s", event.message, extra={"event": event})
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a listener's bug must not stop publishing
                log.exception("event listener failed")

    def notify(self, event: DaemonEvent) -> None:
        """Tell the listener only (heartbeats are not worth a log line)."""
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                log.exception("event listener failed")

    def emit(self, event: DaemonEvent) -> None:
        """Report ``event`` (used by the daemon's helpers: corrections, recurrences)."""
        self._emit(event)


@dataclass(frozen=True)
class _DueRow:
    scheduled_at: datetime | None
    not_before: datetime | None


# -- the jobs APScheduler runs: module-level functions taking ids --------------------------


def post_job(daemon_id: str, post_id: int) -> None:
    """Publish post ``post_id`` for daemon ``daemon_id`` (a no-op once it has stopped)."""
    daemon = clockmod.find_owner(daemon_id)
    if daemon is not None:
        daemon.run_post_job(post_id)


def sync_job(daemon_id: str) -> None:
    """Re-read the posts table for daemon ``daemon_id``."""
    daemon = clockmod.find_owner(daemon_id)
    if daemon is not None:
        daemon.sync()


def watch_job(daemon_id: str) -> None:
    """Look for changes made elsewhere, for daemon ``daemon_id``."""
    daemon = clockmod.find_owner(daemon_id)
    if daemon is not None:
        try:
            daemon.watch()
        except Exception:  # the periodic sync is still there as the safety net
            log.exception("watching for changes failed")


def heartbeat_job(daemon_id: str) -> None:
    """Write daemon ``daemon_id``'s heartbeat."""
    daemon = clockmod.find_owner(daemon_id)
    if daemon is not None and daemon.running:
        try:
            daemon.beat()
        except Exception:
            log.exception("heartbeat failed")
            return
        daemon.notify(DaemonEvent("heartbeat", "alive", daemon_id=daemon_id))


def series_job(daemon_id: str, series_id: str) -> None:
    """A recurring series fired: make sure its next occurrence exists."""
    daemon = clockmod.find_owner(daemon_id)
    if daemon is not None and daemon.running:
        from scheduler import recurrence

        recurrence.top_up_series(daemon, series_id)


# -- status -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DaemonStatus:
    """One daemon as ``gatepost status`` shows it."""

    daemon_id: str
    host: str
    pid: int
    started_at: datetime
    last_beat: datetime
    stopped_at: datetime | None
    published: int
    alive: bool


def daemon_statuses(
    store: Store, *, stale_after: timedelta = timedelta(seconds=30)
) -> list[DaemonStatus]:
    """Every daemon that has written a heartbeat, newest first; ``alive`` when it beat
    within ``stale_after`` and did not stop."""
    from scheduler.times import as_utc

    now = store.now()
    with store.read() as session:
        rows = (
            session.execute(
                sa.select(heartbeats_table).order_by(heartbeats_table.c.last_beat.desc())
            )
            .mappings()
            .all()
        )
    out = []
    for row in rows:
        last = as_utc(row["last_beat"]) or now
        stopped = as_utc(row["stopped_at"])
        out.append(
            DaemonStatus(
                daemon_id=row["daemon_id"],
                host=row["host"],
                pid=row["pid"],
                started_at=as_utc(row["started_at"]) or now,
                last_beat=last,
                stopped_at=stopped,
                published=row["published"],
                alive=stopped is None and now - last <= stale_after,
            )
        )
    return out


__all__ = [
    "Daemon",
    "DaemonEvent",
    "DaemonSettings",
    "DaemonStatus",
    "PublishTimeGate",
    "daemon_statuses",
    "default_connector_factory",
    "new_daemon_id",
    "policy_frequency",
]
