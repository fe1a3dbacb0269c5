"""The audit screen on a real store, mounted alone (Pilot)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from textual.widgets import DataTable, Input

from scheduler import services
from tests.functional.screen_harness import (
    ScreenHarness,
    World,
    gatepost_app,
    make_world,
    wait_for_workers,
)
from tui.screens.audit import AuditScreen


@pytest.fixture
def world(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = make_world(tmp_path, tmp_path_factory.getbasetemp())
    yield world
    world.store.dispose()


def chain_status(screen: AuditScreen) -> str:
    return str(screen.query_one("#audit-chain").content)


def shown_subjects(screen: AuditScreen) -> list[str]:
    table = screen.query_one("#audit-table", DataTable)
    return [str(table.get_row_at(row)[4]) for row in range(table.row_count)]


async def test_the_log_shows_chain_intact_then_names_a_tampered_event(world: World) -> None:
    post = services.create_post(world.store, world.author, account="uni-news", text="Hello")
    app = ScreenHarness(lambda: AuditScreen(world.store, world.admin))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        events = services.list_audit(world.store, limit=1000)
        assert chain_status(screen) == f"✔ Chain intact: {len(events)} events verified"
        assert screen.query_one("#audit-chain").has_class("-intact")
        # Newest first: the post just written.
        assert shown_subjects(screen)[0] == f"post:{post.id}"
        # Someone edits an old entry directly in the database.
        target = events[-3].seq
        with world.store.engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE audit_events SET actor = 'mallory' WHERE seq = :seq"),
                {"seq": target},
            )
        await pilot.press("v")
        await wait_for_workers(pilot)
        status = chain_status(screen)
        assert status.startswith(f"✘ Chain broken at event #{target}:")
        assert "was altered" in status
        assert screen.query_one("#audit-chain").has_class("-broken")
        # The bad event's row is drawn in red.
        table = screen.query_one("#audit-table", DataTable)
        row = table.get_row(str(target))
        assert "red" in str(row[0].style)


async def test_the_log_filters_by_words_and_by_subject(world: World) -> None:
    post = services.create_post(world.store, world.author, account="uni-news", text="Hello")
    app = ScreenHarness(lambda: AuditScreen(world.store, world.author))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        await pilot.press("slash", *"asset")
        await wait_for_workers(pilot)
        assert shown_subjects(screen)
        assert all(subject.startswith("asset:") for subject in shown_subjects(screen))
        screen.query_one("#audit-filter", Input).value = f"post:{post.id}"
        await wait_for_workers(pilot)
        assert shown_subjects(screen) == [f"post:{post.id}"]
        assert "post.create on post:" in str(screen.query_one("#audit-detail").content)
        screen.query_one("#audit-filter", Input).value = "nothing-like-this"
        await wait_for_workers(pilot)
        assert shown_subjects(screen) == []
        assert str(screen.query_one("#audit-detail").content) == "No events match."


async def test_in_the_app_6_shows_the_log_and_its_chain(world: World) -> None:
    app = gatepost_app(world, world.approver)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("6")
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        assert chain_status(screen).startswith("✔ Chain intact:")
        assert "asset:" in " ".join(shown_subjects(screen))
