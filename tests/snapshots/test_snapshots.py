"""What the main screens look like at 120x40 on the demo data (pytest-textual-snapshot).

Update after a deliberate change with `pytest tests/snapshots --snapshot-update` and
look at the report before committing the new pictures.
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


def test_queue(snap_compare: Any, store: Store) -> None:
    assert snap_compare(demo_app(store, "alice"), terminal_size=SIZE, run_before=settled)


def test_review_inbox(snap_compare: Any, store: Store) -> None:
    async def open_review(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("2")
        await settled(pilot)
        await pilot.press("down")  # the post with a finding
        await settled(pilot)

    assert snap_compare(demo_app(store, "bob"), terminal_size=SIZE, run_before=open_review)
