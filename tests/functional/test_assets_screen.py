"""The asset library screen on a real store, mounted alone (Pilot)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable

from scheduler import services
from tests.functional.screen_harness import (
    ScreenHarness,
    World,
    gatepost_app,
    make_world,
    wait_for_workers,
)
from tui.screens.assets import AssetsScreen
from tui.screens.prompt import TextPrompt
from tui.widgets.image_preview import ImagePreview

PERMISSION_ACTIONS = {"Approve", "Reject", "Revoke"}


@pytest.fixture
def world(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = make_world(tmp_path, tmp_path_factory.getbasetemp())
    yield world
    world.store.dispose()


def shown_actions(screen: AssetsScreen) -> set[str]:
    """The actions the footer and the command palette offer on this screen."""
    return {active.binding.description for active in screen.active_bindings.values()}


async def test_the_library_lists_permission_validity_and_accounts(world: World) -> None:
    app = ScreenHarness(lambda: AssetsScreen(world.store, world.author))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, AssetsScreen)
        table = screen.query_one("#assets-table", DataTable)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows == [
            ["2", "Open day photo", "image", "pending", "no end date", "uni-news"],
            ["1", "University crest", "logo", "approved", "no end date", "any account"],
        ]
        # The highlighted asset is drawn in half blocks beside the list.
        preview = screen.query_one("#assets-image", ImagePreview)
        assert preview.drawn
        detail = str(screen.query_one("#assets-detail").content)
        assert "allowed on: uni-news" in detail
        assert "owner: Events" in detail


async def test_an_author_sees_no_approve_reject_or_revoke(world: World) -> None:
    app = ScreenHarness(lambda: AssetsScreen(world.store, world.author))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, AssetsScreen)
        assert shown_actions(screen) & PERMISSION_ACTIONS == set()
        assert "a approve" not in str(screen.query_one("#assets-detail").content)
        await pilot.press("a")  # the key does nothing either
        await wait_for_workers(pilot)
        assert services.get_asset(world.store, world.pending.id).permission == "pending"


async def test_an_approver_sees_no_permission_actions_either(world: World) -> None:
    app = ScreenHarness(lambda: AssetsScreen(world.store, world.approver))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        assert shown_actions(app.screen) & PERMISSION_ACTIONS == set()  # type: ignore[arg-type]


async def test_an_admin_approves_then_revokes_with_a_reason(world: World) -> None:
    app = ScreenHarness(lambda: AssetsScreen(world.store, world.admin))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, AssetsScreen)
        assert PERMISSION_ACTIONS <= shown_actions(screen)
        await pilot.press("a")  # the pending photo is highlighted
        await wait_for_workers(pilot)
        assert services.get_asset(world.store, world.pending.id).permission == "approved"
        table = screen.query_one("#assets-table", DataTable)
        assert str(table.get_row_at(0)[3]) == "approved"
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("enter")  # a reason is required
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"consent withdrawn", "enter")
        await wait_for_workers(pilot)
        assert services.get_asset(world.store, world.pending.id).permission == "revoked"
        audit = services.list_audit(world.store, subject=f"asset:{world.pending.id}", limit=1)
        assert audit[0].after["comment"] == "consent withdrawn"


@pytest.mark.parametrize(
    ("who", "sees_actions"),
    [
        ("author", False),  # alice writes posts; permissions are not hers to give
        ("admin", True),  # the OS login that created the database
    ],
)
async def test_in_the_app_4_opens_the_library_with_actions_by_role(
    world: World, who: str, sees_actions: bool
) -> None:
    app = gatepost_app(world, getattr(world, who))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("4")
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, AssetsScreen)
        assert (PERMISSION_ACTIONS <= shown_actions(screen)) is sees_actions
        palette = {command.title for command in app.get_system_commands(screen)}
        assert ("Approve" in palette) is sees_actions


async def test_approving_an_approved_asset_changes_nothing_and_says_why(world: World) -> None:
    app = ScreenHarness(lambda: AssetsScreen(world.store, world.admin))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("down", "a")  # the crest is approved already
        await wait_for_workers(pilot)
        warnings = [n.message for n in app._notifications if n.severity == "warning"]
        assert warnings == [f"Asset #{world.logo.id} is already approved."]
        events = services.list_audit(world.store, subject=f"asset:{world.logo.id}")
        assert [e.action for e in events] == ["asset.permission", "asset.add"]
