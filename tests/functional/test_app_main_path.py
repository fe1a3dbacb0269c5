"""The walk-through, by keyboard alone, with the real daemon publishing inside the app.

The author submits a post the gate flags, switches to the approver, who signs each
finding off and approves it; the post goes out through the outbox connector and the
queue shows it published. The clock runs a minute behind until the approval, then
catches up, so the post is due at once instead of a minute later.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler import services
from scheduler.daemon import Daemon, DaemonSettings
from scheduler.store import Store, sqlite_url
from scheduler.views import Actor
from tests.snapshots.demo_app import SIZE, settled, wait_until
from tui.app import GatepostApp
from tui.screens.prompt import TextPrompt
from tui.screens.queue import QueueScreen
from tui.screens.review import ReviewScreen
from tui.widgets.virtual_table import VirtualTable

FLAGGED_TEXT = "Embargoed until Friday: questions to press.office@example.ac.uk"


class CatchUpClock:
    """Real time, shifted by `offset` (which the test changes)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock() -> CatchUpClock:
    return CatchUpClock(timedelta(minutes=-1))


@pytest.fixture
def store(tmp_path: Path, clock: CatchUpClock) -> Iterator[Store]:
    store = Store(sqlite_url(tmp_path / "gatepost.sqlite3"), clock=clock)
    admin_view = services.init_database(store)
    services.mark_demo(store)
    admin = Actor(admin_view.login, admin_view.role)
    services.add_user(store, admin, "alice", role="author", display_name="Alice Author")
    services.add_user(store, admin, "bob", role="approver", display_name="Bob Approver")
    services.add_account(
        store, admin, "uni-news", platform="outbox", options={"dir": str(tmp_path / "outbox")}
    )
    yield store
    store.dispose()


def row_states(app: GatepostApp) -> dict[int, str]:
    table = app.screen.query_one(VirtualTable)
    return {post.id: post.state for post in table.loaded_rows()}


async def test_flagged_post_is_signed_off_approved_and_published(
    store: Store, clock: CatchUpClock, tmp_path: Path
) -> None:
    alice = services.resolve_actor(store, as_login="alice")
    draft = services.create_post(
        store, alice, account="uni-news", text=FLAGGED_TEXT, at=store.now() + timedelta(seconds=30)
    )
    settings = DaemonSettings(sync_seconds=0.3, heartbeat_seconds=0.5, stop_timeout=2.0)

    def daemon(on_event: Any) -> Daemon:
        return Daemon(store, on_event=on_event, settings=settings)

    app = GatepostApp(store, alice, demo=True, daemon_factory=daemon, status_interval=5.0)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert row_states(app) == {draft.id: "draft"}

        # The author submits; the gate holds it for review.
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: row_states(app).get(draft.id) == "in_review")
        findings = services.list_findings(store, draft.id)
        assert len(findings) >= 2  # the embargo marker and the e-mail address

        # Switch to the approver and open the inbox.
        await pilot.press("u")
        await wait_until(pilot, lambda: app.actor.login == "bob")
        await pilot.press("2")
        await settled(pilot)
        review = app.screen
        assert isinstance(review, ReviewScreen)
        assert review.post is not None and review.post.id == draft.id

        # Sign off every finding, each with a comment, then approve.
        await pilot.press("right")
        for number in range(len(findings)):
            await wait_until(pilot, lambda: review.check_action("sign_off", ()) is True)
            await pilot.press("space")
            assert isinstance(app.screen, TextPrompt)
            await pilot.press(*f"checked {number}", "enter")
            # the screen shows the sign-off, and its highlight moves on by itself
            await wait_until(
                pilot,
                lambda n=number: (
                    review.post is not None
                    and sum(f.signed_off for f in review.post.findings) == n + 1
                ),
            )
            await settled(pilot)
        await wait_until(pilot, lambda: review.check_action("approve", ()) is True)
        await pilot.press("a", "enter")
        await wait_until(pilot, lambda: services.get_post(store, draft.id).state == "scheduled")

        # Back in the queue: the clock catches up, the daemon publishes it.
        await pilot.press("1")
        await settled(pilot)
        clock.offset = timedelta(0)
        await wait_until(pilot, lambda: row_states(app).get(draft.id) == "published", timeout=20)
        published = services.get_post(store, draft.id)
        assert published.remote_url
        assert any((tmp_path / "outbox").rglob("*")), "nothing reached the outbox"
        # The daemon's event reached the app through the bridge: a toast, fresh counts.
        assert any(n.title == "Daemon" for n in app._notifications)
        await wait_until(pilot, lambda: app.status.counts.get("published") == 1)
        assert app.status.last_heartbeat is not None
