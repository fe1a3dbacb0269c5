"""The accounts screen on a real store, mounted alone (Pilot)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from textual.widgets import DataTable

from connectors.credentials import CredentialStore
from scheduler import services
from tests.functional.screen_harness import (
    ScreenHarness,
    World,
    gatepost_app,
    make_world,
    wait_for_workers,
)
from tui.screens.accounts import AccountsScreen


@pytest.fixture
def world(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = make_world(tmp_path, tmp_path_factory.getbasetemp())
    yield world
    world.store.dispose()


@pytest.fixture
def credentials(tmp_path: Path) -> CredentialStore:
    return CredentialStore(
        file_path=tmp_path / "credentials.enc", passphrase="a test passphrase", prefer="file"
    )


def rows(screen: AccountsScreen) -> dict[str, list[str]]:
    table = screen.query_one("#accounts-table", DataTable)
    shown = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
    return {row[0]: row[1:] for row in shown}


async def test_accounts_show_platform_connection_limits_and_zone(
    world: World, credentials: CredentialStore
) -> None:
    services.update_account(world.store, world.admin, "uni-news", max_per_hour=4, max_per_day=20)
    services.add_account(
        world.store, world.admin, "uni-nyc", platform="bluesky", timezone="America/New_York"
    )
    credentials.set("uni-nyc", {"identifier": "uni.bsky.social", "app_password": "app-pass"})
    app = ScreenHarness(lambda: AccountsScreen(world.store, world.author, credentials=credentials))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        shown = rows(screen)
        assert shown["uni-news"] == [
            "outbox",
            "@uninews",
            "local",
            "40 characters",
            "4/hour, 20/day",
            "Europe/London",
        ]
        assert shown["uni-nyc"][:5] == ["bluesky", "", "connected", "300 graphemes", "no limit"]
        assert shown["uni-nyc"][5] == "America/New_York"
        assert shown["uni-x"][2:4] == ["not connected", "280 weighted characters"]
        detail = str(screen.query_one("#accounts-detail").content)
        assert "writes to" in detail and "no token needed" in detail


async def test_an_account_whose_token_was_refused_needs_reconnecting(
    world: World, credentials: CredentialStore
) -> None:
    credentials.set("uni-x", {"bearer_token": "old-token"})
    post = services.create_post(
        world.store, world.author, account="uni-x", text="Hi", at="2026-12-01 09:00"
    )
    # As the daemon leaves a post the platform refused for expired credentials.
    with world.store.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE posts SET state = 'failed', last_error = :error WHERE id = :id"),
            {
                "id": post.id,
                "error": "reconnect account uni-x: the platform no longer accepts its credentials",
            },
        )
    app = ScreenHarness(lambda: AccountsScreen(world.store, world.admin, credentials=credentials))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        assert rows(screen)["uni-x"][2] == "needs reconnecting"
        await pilot.press("down")  # uni-x is after uni-news
        await pilot.pause()
        detail = str(screen.query_one("#accounts-detail").content)
        assert f"post #{post.id} failed" in detail
        assert "gatepost accounts connect uni-x" in detail


async def test_an_unreadable_credential_store_is_said_not_hidden(world: World) -> None:
    class Broken(CredentialStore):
        def __init__(self) -> None:  # no backend at all
            pass

        def get(self, account: str) -> dict[str, str] | None:
            from connectors import CredentialsError

            raise CredentialsError("the keyring is locked")

    app = ScreenHarness(lambda: AccountsScreen(world.store, world.admin, credentials=Broken()))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        assert rows(screen)["uni-x"][2] == "unknown"
        await pilot.press("down")
        await pilot.pause()
        assert "the keyring is locked" in str(screen.query_one("#accounts-detail").content)


async def test_in_the_app_5_lists_the_accounts(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app opens the credential store itself: point it at a file, never a real keyring.
    monkeypatch.setenv("GATEPOST_CREDENTIALS_BACKEND", "file")
    monkeypatch.setenv("GATEPOST_CREDENTIALS_KEY", "a test passphrase")
    monkeypatch.setenv("GATEPOST_CREDENTIALS_FILE", str(tmp_path / "app-credentials.enc"))
    app = gatepost_app(world, world.author)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("5")
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, AccountsScreen)
        shown = rows(screen)
        assert shown["uni-news"][2] == "local"
        assert shown["uni-x"][2] == "not connected"
