"""Regenerate the README's screenshots: `python docs/make_screenshots.py`.

Opens the app headless on a fresh demo database at a fixed moment (120x40) and saves
SVGs with Textual's own `save_screenshot`: the queue as the author sees it, and the
review inbox as the approver sees it.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from scheduler import services
from scheduler.demo import APPROVER, AUTHOR, seed_demo
from scheduler.store import Store, sqlite_url
from tui.app import GatepostApp

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SIZE = (120, 40)


async def _idle(app: GatepostApp) -> None:
    for _ in range(500):
        if not any(worker.is_running for worker in app.workers):
            return
        await asyncio.sleep(0.02)


async def shoot(store: Store, login: str, keys: list[str], filename: str) -> None:
    app = GatepostApp(store, services.resolve_actor(store, as_login=login), demo=True)
    async with app.run_test(size=SIZE) as pilot:
        await _idle(app)
        for key in keys:
            await pilot.press(key)
            await _idle(app)
        await pilot.pause()
        app.save_screenshot(filename, path=str(HERE))
        print(f"wrote {HERE / filename}")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(sqlite_url(Path(folder) / "demo.sqlite3"), clock=lambda: NOW)
        seed_demo(store, Path(folder) / "outbox")
        asyncio.run(shoot(store, AUTHOR, [], "queue.svg"))
        asyncio.run(shoot(store, APPROVER, ["2", "down"], "review.svg"))
        store.dispose()


if __name__ == "__main__":
    main()
