"""The daemon as the TUI and ``gatepost daemon`` run it: APScheduler fires, posts go out.

These run a real :class:`~scheduler.daemon.Daemon` in the test process (its jobs on
APScheduler's threads) against a ledger platform on loopback, on the real clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from scheduler import lifecycle
from scheduler.daemon import Daemon, DaemonEvent, DaemonSettings, daemon_statuses
from scheduler.models import Post, PostState
from scheduler.publishing import no_frequency_limits
from scheduler.store import Store
from tests.daemon_support import add_account, add_scheduled_post, post_row
from tests.fakes.ledger import LedgerPlatform, ledger_connector_factory

FAST = DaemonSettings(
    publish_workers=4,
    lease_seconds=10,
    sync_seconds=0.5,
    heartbeat_seconds=0.2,
    stop_timeout=3,
)


@pytest.fixture
def live_store(store_url: str) -> Iterator[Store]:
    """A store on the real clock: APScheduler fires on real time."""
    opened = Store(store_url)
    yield opened
    opened.dispose()


@pytest.fixture
def fake() -> Iterator[LedgerPlatform]:
    with LedgerPlatform() as platform:
        yield platform


class Events:
    """Collects daemon events from the daemon's threads and waits for one."""

    def __init__(self) -> None:
        self.items: list[DaemonEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: DaemonEvent) -> None:
        with self._cond:
            self.items.append(event)
            self._cond.notify_all()

    def wait_for(self, kind: str, post_id: int | None = None, timeout: float = 10) -> DaemonEvent:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.items:
                    if event.kind == kind and (post_id is None or event.post_id == post_id):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    kinds = [(e.kind, e.post_id, e.message) for e in self.items]
                    raise AssertionError(f"no {kind} event for post {post_id}; saw {kinds}")
                self._cond.wait(left)


def make_daemon(store: Store, events: Events, **kw: object) -> Daemon:
    return Daemon(
        store,
        connector_factory=ledger_connector_factory,
        gate=None,
        frequency=no_frequency_limits,
        on_event=events,
        settings=kw.pop("settings", FAST),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def events() -> Events:
    return Events()


def test_a_post_goes_out_when_it_falls_due_not_a_polling_interval_later(live_store, fake, events):
    account = add_account(live_store, "news", api_base=fake.base_url)
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    post_id = add_scheduled_post(live_store, account, "On the hour", due)
    daemon = make_daemon(live_store, events)
    daemon.start()
    try:
        published = events.wait_for("published", post_id)
    finally:
        daemon.stop()

    lateness = (published.at - due).total_seconds()
    assert 0 <= lateness < 1.0
    assert post_row(live_store, post_id).state == "published"
    assert [p["text"] for p in fake.posts] == ["On the hour"]
    assert events.items[0].kind == "started"
    assert events.items[-1].kind == "stopped"


def test_a_post_scheduled_while_running_is_picked_up_by_the_sync(live_store, fake, events):
    account = add_account(live_store, "news", api_base=fake.base_url)
    daemon = make_daemon(live_store, events)
    daemon.start()
    try:
        post_id = add_scheduled_post(
            live_store, account, "Added later", datetime.now(UTC) + timedelta(seconds=0.2)
        )
        daemon.wake()
        events.wait_for("published", post_id, timeout=5)
    finally:
        daemon.stop()
    assert len(fake.posts) == 1


def test_a_post_cancelled_before_its_time_is_not_published(live_store, fake, events):
    account = add_account(live_store, "news", api_base=fake.base_url)
    keep = add_scheduled_post(live_store, account, "Keep", datetime.now(UTC) + timedelta(seconds=1))
    drop = add_scheduled_post(live_store, account, "Drop", datetime.now(UTC) + timedelta(seconds=1))
    daemon = make_daemon(live_store, events)
    daemon.start()
    try:
        with live_store.write() as session:
            post = session.get(Post, drop)
            assert post is not None
            lifecycle.transition(
                session,
                post,
                PostState.CANCELLED,
                action="cancel",
                actor="ada",
                now=datetime.now(UTC),
            )
        events.wait_for("published", keep)
        time.sleep(0.5)
    finally:
        daemon.stop()
    assert [p["text"] for p in fake.posts] == ["Keep"]
    assert post_row(live_store, drop).state == "cancelled"


def test_a_rate_limited_account_resumes_after_the_reset_while_others_go_on(
    live_store, fake, events
):
    limited = add_account(live_store, "news", api_base=fake.base_url)
    other = add_account(live_store, "sport", api_base=fake.base_url)
    first = add_scheduled_post(live_store, limited, "News", datetime.now(UTC))
    fake.rate_limit_reset = int(time.time()) + 3
    fake.inject("429", path="/api/posts")
    daemon = make_daemon(live_store, events)
    daemon.start()
    try:
        waiting = events.wait_for("waiting", first)
        # While news waits for the platform's reset, another account's post goes out.
        second = add_scheduled_post(live_store, other, "Sport", datetime.now(UTC))
        events.wait_for("published", second)
        events.wait_for("published", first, timeout=8)
    finally:
        daemon.stop()
    assert "rate limited" in waiting.message
    assert [p["text"] for p in fake.posts] == ["Sport", "News"]


def test_heartbeats_show_the_daemon_alive_then_stopped(live_store, fake, events):
    daemon = make_daemon(live_store, events)
    daemon.start()
    try:
        time.sleep(0.5)
        (alive,) = daemon_statuses(live_store)
        assert alive.alive and alive.daemon_id == daemon.id
        assert daemon.last_beat is not None
    finally:
        started = time.monotonic()
        daemon.stop()
        stop_took = time.monotonic() - started
    (stopped,) = daemon_statuses(live_store)
    assert not stopped.alive and stopped.stopped_at is not None
    assert stop_took < 5


def test_run_once_publishes_everything_due_and_settles_then_returns(live_store, fake, events):
    account = add_account(live_store, "news", api_base=fake.base_url)
    now = datetime.now(UTC)
    due = [
        add_scheduled_post(live_store, account, f"Due {i}", now - timedelta(minutes=1))
        for i in range(12)
    ]
    later = add_scheduled_post(live_store, account, "Tomorrow", now + timedelta(days=1))

    results = make_daemon(live_store, events).run_once(workers=3)

    assert sorted(r.post_id for r in results if r.kind == "published") == sorted(due)
    assert post_row(live_store, later).state == "scheduled"
    assert sorted(fake.copies_by_key().values()) == [1] * 12


def test_a_slow_platform_gets_posts_from_every_publishing_thread_at_once(live_store, events):
    # Threads wait for a turn only while the process is busy; waiting on a platform
    # that takes its time is not being busy, so all of them send at once.
    with LedgerPlatform(latency=0.3) as slow:
        accounts = [add_account(live_store, f"news{i}", api_base=slow.base_url) for i in range(4)]
        now = datetime.now(UTC)
        for i in range(24):
            add_scheduled_post(live_store, accounts[i % 4], f"Due {i}", now - timedelta(minutes=1))
        results = make_daemon(live_store, events).run_once(workers=4)
        assert sum(r.kind == "published" for r in results) == 24
        assert slow.most_at_once == FAST.publish_workers


def test_a_daemon_stopped_and_started_again_keeps_publishing(live_store, fake, events):
    account = add_account(live_store, "news", api_base=fake.base_url)
    daemon = make_daemon(live_store, events)
    daemon.start()
    daemon.stop()
    post_id = add_scheduled_post(live_store, account, "After a restart", datetime.now(UTC))
    daemon.start()
    try:
        events.wait_for("published", post_id)
    finally:
        daemon.stop()
    assert len(fake.posts) == 1


def test_a_post_approved_elsewhere_goes_out_without_waiting_for_the_periodic_sync(
    live_store, fake, events
):
    # Another process (a person's app, another machine) approves a post for right now;
    # nobody wakes this daemon, and its periodic sync is a minute away.
    settings = DaemonSettings(
        publish_workers=2, sync_seconds=60, watch_seconds=0.2, heartbeat_seconds=1
    )
    account = add_account(live_store, "news", api_base=fake.base_url)
    daemon = make_daemon(live_store, events, settings=settings)
    daemon.start()
    try:
        time.sleep(0.5)  # the first sync has run
        elsewhere = Store(live_store.url)
        try:
            post_id = add_scheduled_post(
                elsewhere, account, "Approved elsewhere", datetime.now(UTC)
            )
        finally:
            elsewhere.dispose()
        published = events.wait_for("published", post_id, timeout=5)
    finally:
        daemon.stop()
    assert (published.at - post_row(live_store, post_id).scheduled_at).total_seconds() < 3
    assert [p["text"] for p in fake.posts] == ["Approved elsewhere"]


def test_posts_due_at_start_go_out_even_when_the_first_sync_runs_at_once(live_store, fake, events):
    # The first sync is due the moment the clock starts; if it ran before the daemon
    # counted itself as running it did nothing, and a due post waited for the next sync.
    settings = DaemonSettings(publish_workers=2, sync_seconds=60, heartbeat_seconds=1)
    account = add_account(live_store, "news", api_base=fake.base_url)
    post_id = add_scheduled_post(live_store, account, "Due at start", datetime.now(UTC))
    daemon = make_daemon(live_store, events, settings=settings)
    start = daemon.clock.start

    def start_then_pause() -> None:
        start()
        time.sleep(0.5)  # the first sync runs before the caller goes on

    daemon.clock.start = start_then_pause  # type: ignore[method-assign]
    daemon.start()
    try:
        events.wait_for("published", post_id, timeout=5)
    finally:
        daemon.stop()


def test_the_daemons_own_publishing_does_not_make_it_sync_again(live_store, fake, events):
    settings = DaemonSettings(
        publish_workers=2, sync_seconds=60, watch_seconds=0.1, heartbeat_seconds=1
    )
    account = add_account(live_store, "news", api_base=fake.base_url)
    post_id = add_scheduled_post(live_store, account, "Mine", datetime.now(UTC))
    daemon = make_daemon(live_store, events, settings=settings)
    syncs: list[float] = []
    original = daemon.sync

    def counting_sync() -> None:
        syncs.append(time.monotonic())
        original()

    daemon.sync = counting_sync  # type: ignore[method-assign]
    daemon.start()
    try:
        events.wait_for("published", post_id)
        time.sleep(0.6)  # several looks by the watch after the daemon's own events
    finally:
        daemon.stop()
    assert len(syncs) == 1  # the first sync only
