"""The app on the demo data at a fixed moment: shared by the snapshot and Pilot tests.

`shared_demo_database` seeds the demo database once per test run (a second or two);
`demo_app` copies it for one test and opens the app on the copy as a demo person.
Everything the screen shows is fixed: the clock, the people, the posts and their times.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from scheduler import services
from scheduler.demo import seed_demo
from scheduler.store import Store, sqlite_url
from tui.app import DaemonFactory, GatepostApp

try:
    import fcntl
except ImportError:  # Windows: each worker seeds its own copy
    fcntl = None  # type: ignore[assignment]

#: The demo's "now": a Thursday in late November, GMT, no clock change near.
DEMO_NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DATABASE = "demo.sqlite3"
SIZE = (120, 40)


def fixed_clock() -> datetime:
    return DEMO_NOW


def seed_demo_database(folder: Path, clock: Callable[[], datetime] = fixed_clock) -> Path:
    """Seed the demo into `folder` and return the database file (closed, checkpointed)."""
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(sqlite_url(folder / DATABASE), clock=clock)
    seed_demo(store, folder / "outbox")
    store.dispose()
    return folder / DATABASE


def shared_demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, seeded once per test run and shared by every test module.

    Under pytest-xdist the workers share the run's temporary folder; a file lock makes
    the first one seed it and the others wait for it. Tests copy it (`open_store`).
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    folder = base / "gatepost-demo-template"
    with open(base / "gatepost-demo-template.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / DATABASE).exists():
            seed_demo_database(folder)
    return folder / DATABASE


def open_store(template: Path, folder: Path, clock: Callable[[], datetime] = fixed_clock) -> Store:
    """A store on a fresh copy of the template database."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, folder / DATABASE)
    return Store(sqlite_url(folder / DATABASE), clock=clock)


def demo_app(
    store: Store,
    login: str = "alice",
    *,
    daemon_factory: DaemonFactory | None = None,
    status_interval: float = 60.0,
) -> GatepostApp:
    """The app on `store`, acting as `login` (a demo database allows any of its people)."""
    actor = services.resolve_actor(store, as_login=login)
    return GatepostApp(
        store,
        actor,
        demo=True,
        daemon_factory=daemon_factory,
        status_interval=status_interval,
    )


async def wait_until(
    pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10.0
) -> None:
    """Let the app run until `condition` holds (workers finish in their own time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the app did not reach the expected state in time")
        await pilot.pause(0.02)
    await pilot.pause()


async def settled(pilot: Pilot[Any]) -> None:
    """Wait for the screen's data workers to finish and the screen to be drawn."""
    app = pilot.app
    # Let messages already queued run first: a dialog's answer may still be on its way
    # to the handler that starts the worker this waits for.
    await pilot.pause()

    def idle() -> bool:
        return not any(
            worker.is_running and worker.group not in ("daemon",) for worker in app.workers
        )

    await wait_until(pilot, idle)
    await asyncio.sleep(0)
    await pilot.pause()
