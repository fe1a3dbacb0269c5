"""A small app that shows one screen over a real store, and the store's fixture data.

Screens are tested here on their own, so a test never waits on the main app's start-up;
the same screens are also driven through ``GatepostApp`` in the tests that use it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen

from scheduler import services
from scheduler.models import Role
from scheduler.store import Store, sqlite_url
from scheduler.views import AccountView, Actor, AssetView
from tui.theme import STYLE_VARIABLES

# Thursday 26 November 2026, 10:00 UTC (10:00 GMT in London).
FIXED_NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


class Clock:
    """A clock the test sets."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class ScreenHarness(App[None]):
    """Shows the screen ``make_screen`` builds, pushed over an empty base screen."""

    def __init__(self, make_screen: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self._make_screen = make_screen

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {**super().get_theme_variable_defaults(), **STYLE_VARIABLES}

    def on_mount(self) -> None:
        self.push_screen(self._make_screen())


@dataclass
class World:
    """A store with people, accounts and assets, as the screens' tests need them."""

    store: Store
    clock: Clock
    admin: Actor
    author: Actor
    approver: Actor
    news: AccountView
    x_account: AccountView
    logo: AssetView
    pending: AssetView
    outbox: Path


_TEMPLATE: dict[str, Path] = {}


def png(colour: tuple[int, int, int], size: tuple[int, int] = (48, 32)) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _seed(store: Store, outbox: Path) -> None:
    admin_view = services.init_database(store)
    admin = Actor(admin_view.login, Role.ADMIN)
    services.add_user(store, admin, "alice", role="author", display_name="Alice Author")
    services.add_user(store, admin, "bob", role="approver", display_name="Bob Approver")
    services.add_account(
        store,
        admin,
        "uni-news",
        platform="outbox",
        handle="@uninews",
        timezone="Europe/London",
        options={"dir": str(outbox), "max_chars": "40"},
    )
    services.add_account(
        store, admin, "uni-x", platform="x", handle="@uni", timezone="Europe/London"
    )
    logo = services.add_asset(
        store,
        admin,
        png((10, 40, 160)),
        filename="crest.png",
        title="University crest",
        kind="logo",
        owner="Brand team",
    )
    services.set_asset_permission(store, admin, logo.id, "approved")
    services.add_asset(
        store,
        admin,
        png((200, 30, 30)),
        filename="open-day.png",
        title="Open day photo",
        owner="Events",
        allowed_accounts=["uni-news"],
    )


def _seeded_template(tmp_root: Path) -> Path:
    """The seeded database, built once per test process and copied for each test."""
    cached = _TEMPLATE.get("path")
    if cached is not None and cached.exists():
        return cached
    folder = tmp_root / f"screens-template-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gatepost.sqlite3"
    store = Store(sqlite_url(path), clock=Clock())
    _seed(store, folder / "outbox")
    store.dispose()
    _TEMPLATE["path"] = path
    return path


def make_world(tmp_path: Path, tmp_root: Path) -> World:
    """A fresh copy of a database with an admin (the OS login), an author (alice), an
    approver (bob), two accounts in London time (uni-news on the outbox with a 40
    character limit, uni-x on X, not connected), an approved logo and a pending photo
    allowed only on uni-news. Call ``world.store.dispose()`` when done."""
    database = tmp_path / "gatepost.sqlite3"
    shutil.copyfile(_seeded_template(tmp_root), database)
    clock = Clock()
    store = Store(sqlite_url(database), clock=clock)
    admin_login = next(u.login for u in services.list_users(store) if u.role is Role.ADMIN)
    accounts = {a.name: a for a in services.list_accounts(store)}
    assets = {a.title: a for a in services.list_assets(store)}
    return World(
        store=store,
        clock=clock,
        admin=Actor(admin_login, Role.ADMIN),
        author=Actor("alice", Role.AUTHOR),
        approver=Actor("bob", Role.APPROVER),
        news=accounts["uni-news"],
        x_account=accounts["uni-x"],
        logo=assets["University crest"],
        pending=assets["Open day photo"],
        outbox=Path(str(accounts["uni-news"].options["dir"])),
    )


async def wait_for_workers(pilot: Any, rounds: int = 3) -> None:
    """Let timers fire and every worker finish, a few times over (one result often
    starts the next piece of work)."""
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def gatepost_app(world: World, actor: Actor) -> Any:
    """The real app on the world's store, acting as ``actor``, with no daemon."""
    from tui.app import GatepostApp

    return GatepostApp(world.store, actor, status_interval=60.0)
