"""The app on a new, empty database (`gatepost init`, then `gatepost app`): it says what
to do next instead of showing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from scheduler import services
from scheduler.store import Store, sqlite_url
from tests.snapshots.demo_app import SIZE, settled, wait_until
from tui.app import GatepostApp
from tui.cli import cli
from tui.screens.compose import ComposeScreen
from tui.widgets.virtual_table import VirtualTable


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(sqlite_url(tmp_path / "gatepost.sqlite3"))
    services.init_database(opened)  # the current login is its first admin
    yield opened
    opened.dispose()


def _app(store: Store, **options: float) -> GatepostApp:
    return GatepostApp(store, services.resolve_actor(store), demo=False, **options)  # type: ignore[arg-type]


async def test_an_empty_queue_says_how_to_write_the_first_post(store: Store) -> None:
    app = _app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        table = app.screen.query_one("#queue-table", VirtualTable)
        await wait_until(pilot, lambda: "n writes the first one" in table.empty_message)
        # A filter that matches nothing is a different matter.
        await pilot.press("/", *"nothing here")
        await wait_until(pilot, lambda: table.empty_message == "No posts match.")


async def test_writing_a_post_without_any_account_says_how_to_add_one(store: Store) -> None:
    app = _app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, ComposeScreen))
        await settled(pilot)
        await pilot.press(*"Hello", "ctrl+s")
        await settled(pilot)

        def told() -> bool:
            return any(
                n.title == "No accounts yet" and "gatepost accounts add" in n.message
                for n in app._notifications
            )

        await wait_until(pilot, told)
        assert services.list_posts(store) == []  # nothing half-saved


def test_the_app_command_needs_a_terminal(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEPOST_DATABASE_URL", store.url)
    result = CliRunner().invoke(cli, ["app"])
    assert result.exit_code == 1
    assert "the app needs a terminal" in result.output


async def test_a_post_written_in_another_app_appears_in_the_open_queue(store: Store) -> None:
    admin = services.resolve_actor(store)
    services.add_account(store, admin, name="news", platform="outbox")
    app = _app(store, status_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        table = app.screen.query_one("#queue-table", VirtualTable)
        await wait_until(pilot, lambda: table.total == 0)
        # Someone else's app: its own connection to the same database.
        elsewhere = Store(store.url)
        try:
            services.create_post(elsewhere, admin, account="news", text="Written elsewhere")
        finally:
            elsewhere.dispose()
        await wait_until(pilot, lambda: table.total == 1, timeout=5)
