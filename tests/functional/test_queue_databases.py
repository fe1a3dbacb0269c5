"""The queue and the inbox on each database Gatepost supports (SQLite, and PostgreSQL
when GATEPOST_TEST_PG_URL is set): the same keys, the same posts."""

from __future__ import annotations

from pathlib import Path

from scheduler import services
from scheduler.demo import seed_demo
from scheduler.store import Store
from tests.snapshots.demo_app import SIZE, demo_app, settled
from tui.screens.review import ReviewScreen
from tui.widgets.virtual_table import VirtualTable


async def test_queue_filters_and_inbox_lists_on_each_database(store: Store, tmp_path: Path) -> None:
    seed_demo(store, tmp_path / "outbox")
    app = demo_app(store, "bob")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        table = app.screen.query_one(VirtualTable)
        assert table.total == services.count_posts(store)
        await pilot.press("slash", *"morning")
        await settled(pilot)
        expected = [p.id for p in services.list_posts(store, text="morning")]
        assert len(expected) == 2
        assert [p.id for p in table.loaded_rows()] == expected
        await pilot.press("escape", "2")
        await settled(pilot)
        review = app.screen
        assert isinstance(review, ReviewScreen)
        bob = services.resolve_actor(store, as_login="bob")
        assert [p.id for p in review.posts] == [p.id for p in services.review_inbox(store, bob)]
