"""What the calendar and the asset library look like at 120x40 on the demo data.

Update after a deliberate change with
`pytest tests/snapshots/test_snapshots_views.py --snapshot-update` and look at the
report before committing the new pictures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from scheduler.store import Store
from tests.snapshots.demo_app import SIZE, demo_app, open_store, settled, shared_demo_database


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_demo_database(tmp_path_factory)


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Iterator[Store]:
    store = open_store(template, tmp_path)
    yield store
    store.dispose()


def press_then_settle(key: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press(key)
        await settled(pilot)
        # The image preview and the week arrive from workers started by the first load.
        await settled(pilot)

    return run_before


def test_calendar_week(snap_compare: Any, store: Store) -> None:
    app = demo_app(store, "alice")
    assert snap_compare(app, terminal_size=SIZE, run_before=press_then_settle("3"))


def test_asset_library_as_an_author(snap_compare: Any, store: Store) -> None:
    # An author: the library without the admins' actions, and no login of the machine.
    app = demo_app(store, "alice")
    assert snap_compare(app, terminal_size=SIZE, run_before=press_then_settle("4"))
