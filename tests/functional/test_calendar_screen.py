"""The calendar screen on a real store, mounted alone (Pilot).

The fixed clock says Thursday 26 November 2026, so "this week" runs from Monday 23 to
Sunday 29 November, in London (GMT).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from scheduler import services
from scheduler.models import PostState
from tests.functional.screen_harness import (
    ScreenHarness,
    World,
    gatepost_app,
    make_world,
    wait_for_workers,
)
from tui.screens.calendar import CalendarScreen, PostChooser, week_window
from tui.screens.compose import ComposeScreen


@pytest.fixture
def world(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = make_world(tmp_path, tmp_path_factory.getbasetemp())
    yield world
    world.store.dispose()


def cell_text(screen: CalendarScreen, hour: int, day: int) -> str:
    grid = screen.query_one("#calendar-grid", DataTable)
    return str(grid.get_cell_at(Coordinate(hour, day + 1)))


def test_a_week_with_the_spring_clock_change_has_167_hours() -> None:
    start, end = week_window(date(2027, 3, 22), "Europe/London")
    assert start == datetime(2027, 3, 22, 0, 0, tzinfo=UTC)
    assert (end - start).total_seconds() == 167 * 3600


async def test_posts_sit_in_their_slots_and_other_weeks_are_a_key_away(world: World) -> None:
    post = services.create_post
    friday_nine = post(
        world.store, world.author, account="uni-news", text="Open day", at="2026-11-27 09:00"
    )
    post(world.store, world.author, account="uni-news", text="Library hours", at="2026-11-27 09:30")
    post(world.store, world.author, account="uni-news", text="Next week", at="2026-12-02 14:00")
    post(world.store, world.author, account="uni-x", text="Elsewhere", at="2026-11-28 12:00")
    app = ScreenHarness(lambda: CalendarScreen(world.store, world.author, account="uni-news"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, CalendarScreen)
        heading = str(screen.query_one("#calendar-week").content)
        assert heading.startswith("Week of Mon 23 Nov – Sun 29 Nov 2026 · Europe/London")
        # Friday (day 4), 09:00 to 10:00: both posts, in time order.
        friday = cell_text(screen, 9, 4)
        assert friday.splitlines() == ["09:00 Open day", "09:30 Library…"]
        assert [p.id for p in screen.posts] == [friday_nine.id, friday_nine.id + 1]
        # Another account's post is not in this account's week.
        assert "Elsewhere" not in "".join(cell_text(screen, 12, day) for day in range(7))
        # The cursor starts on the first post.
        assert screen.posts_in_cell[0].id == friday_nine.id
        await pilot.press("right_square_bracket")
        await wait_for_workers(pilot)
        assert "Week of Mon 30 Nov" in str(screen.query_one("#calendar-week").content)
        assert cell_text(screen, 14, 2) == "14:00 Next we…"
        await pilot.press("left_square_bracket")
        await wait_for_workers(pilot)
        assert cell_text(screen, 9, 4).startswith("09:00 Open day")


async def test_opening_a_post_from_its_slot(world: World) -> None:
    first = services.create_post(
        world.store, world.author, account="uni-news", text="Open day", at="2026-11-27 09:00"
    )
    services.create_post(
        world.store, world.author, account="uni-news", text="Sports day", at="2026-11-27 09:30"
    )
    app = ScreenHarness(lambda: CalendarScreen(world.store, world.author, account="uni-news"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("enter")
        await pilot.pause()
        # Two posts share the slot: choose the first.
        assert isinstance(app.screen, PostChooser)
        await pilot.press("enter")
        await wait_for_workers(pilot)
        editor = app.screen
        assert isinstance(editor, ComposeScreen)
        assert editor.post is not None and editor.post.id == first.id
        assert editor.text == "Open day"


async def test_moving_a_post_a_week_keeps_its_wall_clock_time(world: World) -> None:
    # Sunday 21 March 2027, 09:00 GMT; a week later the clocks have gone forward.
    post = services.create_post(
        world.store, world.author, account="uni-news", text="Spring", at="2027-03-21 09:00"
    )
    app = ScreenHarness(
        lambda: CalendarScreen(
            world.store, world.author, account="uni-news", week_of=date(2027, 3, 21)
        )
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, CalendarScreen)
        assert screen.posts_in_cell[0].id == post.id
        await pilot.press("greater_than_sign")
        await wait_for_workers(pilot)
        moved = services.get_post(world.store, post.id)
        # 09:00 BST on 28 March is 08:00 UTC.
        assert moved.scheduled_at == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
        assert moved.state is PostState.DRAFT
        # The calendar follows the post to its new week and slot.
        assert "Week of Mon 22 Mar" in str(screen.query_one("#calendar-week").content)
        assert cell_text(screen, 9, 6) == "09:00 Spring"


async def test_moving_into_the_hour_the_clocks_skip_is_refused(world: World) -> None:
    post = services.create_post(
        world.store, world.author, account="uni-news", text="Night owl", at="2027-03-21 01:30"
    )
    app = ScreenHarness(
        lambda: CalendarScreen(
            world.store, world.author, account="uni-news", week_of=date(2027, 3, 21)
        )
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("greater_than_sign")
        await wait_for_workers(pilot)
        assert services.get_post(world.store, post.id).scheduled_at == post.scheduled_at
        messages = [n.message for n in app._notifications]
        assert any("does not exist in Europe/London" in m for m in messages)


async def test_in_the_app_3_shows_the_week_and_enter_opens_the_post(world: World) -> None:
    post = services.create_post(
        world.store, world.author, account="uni-news", text="Open day", at="2026-11-27 09:00"
    )
    app = gatepost_app(world, world.author)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("3")
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, CalendarScreen)
        assert cell_text(screen, 9, 4) == "09:00 Open day"
        await pilot.press("enter")
        await wait_for_workers(pilot)
        editor = app.screen
        assert isinstance(editor, ComposeScreen)
        assert editor.post is not None and editor.post.id == post.id
