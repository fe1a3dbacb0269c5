"""The app around the screens: views, help, the command palette, identity, the daemon's
events arriving from another thread, and errors shown as notifications."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette

from scheduler import services
from scheduler.daemon import DaemonEvent as SchedulerDaemonEvent
from scheduler.store import Store, sqlite_url
from scheduler.views import Actor
from tests.snapshots.demo_app import (
    DEMO_NOW,
    SIZE,
    demo_app,
    fixed_clock,
    open_store,
    settled,
    shared_demo_database,
    wait_until,
)
from tui.app import GatepostApp
from tui.bridge import describe_event
from tui.screens.help import HelpScreen
from tui.screens.queue import QueueScreen
from tui.screens.review import ReviewScreen
from tui.widgets.statusbar import StatusBar, StatusSnapshot


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_demo_database(tmp_path_factory)


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Iterator[Store]:
    store = open_store(template, tmp_path)
    yield store
    store.dispose()


def errors(app: GatepostApp) -> list[tuple[str, str]]:
    return [(n.title, n.message) for n in app._notifications if n.severity == "error"]


async def test_number_keys_switch_views_and_help_lists_the_keys(store: Store) -> None:
    app = demo_app(store, "bob")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("2")
        await settled(pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = str(app.screen.query_one("#help-keys").render())
        for line in ("Approve", "Send back", "Findings", "Switch person", "Queue"):
            assert line in listed
        # Textual's own widget keys are not repeated here.
        assert "Scroll Left" not in listed
        await pilot.press("escape")
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("1")
        await settled(pilot)
        assert isinstance(app.screen, QueueScreen)


async def test_the_palette_offers_each_action_of_the_screen(store: Store) -> None:
    app = demo_app(store, "bob")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for title in ("Filter", "State", "Account", "Sort", "Go to #", "Keys", "Switch person"):
            assert title in titles
        assert "Go to Review" in titles
        # Run one from the palette as a person would: it filters the queue by state.
        await pilot.press("ctrl+p")
        await pilot.press(*"Failed posts")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        options = palette.query_one(CommandList)
        await wait_until(
            pilot,
            lambda: (
                options.option_count > 0
                and "Failed posts" in str(options.get_option_at_index(0).prompt)
            ),
        )
        await pilot.press("enter")
        await settled(pilot)
        failed = [p.id for p in services.list_posts(store, states=["failed"])]
        table = app.screen.query_one("#queue-table")
        assert [p.id for p in table.loaded_rows()] == failed


@dataclass(frozen=True)
class DaemonEvent:
    kind: str
    post_id: int | None
    at: datetime
    detail: str = ""


async def test_daemon_events_from_another_thread_reach_the_status_bar(store: Store) -> None:
    app = demo_app(store, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        bar = app.screen.query_one(StatusBar)
        assert "not heard from" in str(bar.render())
        before = app.posts_version
        sender = threading.Thread(
            target=app.bridge, args=(DaemonEvent("published", 10, DEMO_NOW, "outbox"),)
        )
        sender.start()
        sender.join()
        await wait_until(pilot, lambda: app.posts_version > before)
        assert "daemon ●" in str(bar.render())


async def test_identity_switch_is_refused_outside_a_demo_database(tmp_path: Path) -> None:
    store = Store(sqlite_url(tmp_path / "real.sqlite3"), clock=fixed_clock)
    admin_view = services.init_database(store)
    admin = Actor(admin_view.login, admin_view.role)
    services.add_user(store, admin, "bob", role="approver")
    app = GatepostApp(store, admin, demo=False, status_interval=60)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settled(pilot)
            # No key for it outside the demo...
            assert app.check_action("switch_identity", ()) is False
            # ...and the services refuse it even when asked directly.
            app.switch_identity("bob")
            await settled(pilot)
            assert app.actor.login == admin.login
            assert any(title == "Cannot switch person" for title, _ in errors(app))
    finally:
        store.dispose()


async def test_an_unexpected_failure_is_a_notification_with_its_reason(store: Store) -> None:
    app = demo_app(store, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        store.dispose()
        # The database vanishes under the app: the next read fails.
        (Path(store.url.removeprefix("sqlite:///"))).unlink()
        Path(store.url.removeprefix("sqlite:///")).mkdir()
        app.refresh_status()
        await settled(pilot)
        assert errors(app), "the failure was not shown"
        assert app.is_running


@pytest.mark.parametrize(
    ("event", "line"),
    [
        # the daemon's own event: who, where, what and the link
        (
            SchedulerDaemonEvent(
                "published", "published", post_id=5, account="uni-news", remote_url="file://o/5"
            ),
            "Post #5 on uni-news: published, file://o/5",
        ),
        # a message that says more than the kind is kept in brackets
        (
            SchedulerDaemonEvent("held", "missed its time by 20 minutes", post_id=7),
            "Post #7: held (missed its time by 20 minutes)",
        ),
        # any object with a kind will do
        (
            DaemonEvent("failed", 3, datetime(2026, 1, 1, tzinfo=UTC), "rate limited"),
            "Post #3: failed (rate limited)",
        ),
    ],
)
def test_the_bridge_describes_events_in_words(event: object, line: str) -> None:
    assert describe_event(event) == line


async def test_letters_typed_over_a_dialog_never_switch_person_or_view(store: Store) -> None:
    app = demo_app(store, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("u", "2", "n")
        await settled(pilot)
        assert app.actor.login == "alice"
        assert isinstance(app.screen, HelpScreen)
        assert app.current_mode == "queue"


@pytest.mark.parametrize(
    ("snapshot", "shown"),
    [
        # a daemon in this app that has not beaten yet
        (StatusSnapshot(daemon_in_app=True, now=DEMO_NOW), "daemon starting…"),
        # no daemon here, and none has written a heartbeat
        (StatusSnapshot(now=DEMO_NOW), "daemon not heard from"),
        # a recent heartbeat
        (StatusSnapshot(last_heartbeat=DEMO_NOW - timedelta(seconds=3), now=DEMO_NOW), "3s ago"),
        # silent for longer than it should be: said, with how long
        (
            StatusSnapshot(last_heartbeat=DEMO_NOW - timedelta(minutes=5), now=DEMO_NOW),
            "daemon silent 5m",
        ),
    ],
)
def test_the_status_bar_says_how_the_daemon_is(snapshot: StatusSnapshot, shown: str) -> None:
    assert shown in StatusBar._daemon(snapshot).plain
