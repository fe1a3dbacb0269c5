"""The queue screen over 100,000 posts: first paint and a filter keystroke.

Builds a SQLite database with 100,000 posts across a few accounts, then, in the same
process and on the same data, measures (headless, `App.run_test` at 120x40):

- the subject: `GatepostApp`'s queue, which reads one page at a time through the
  scheduler's `list_posts`/`count_posts`;
- the baseline: a plain Textual `DataTable` loaded with every post, the obvious way to
  write a queue screen.

For each: the first paint (from starting the app to the first rows on screen) and a
filter keystroke (from pressing a key in the filter to the filtered rows on screen; the
baseline filters its rows in memory and reloads its table). Targets for the subject:
first paint under 1 s, keystroke under 100 ms. Exit status 1 when a target is missed.

    python bench/tui_queue.py [--posts N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from scheduler import services
from scheduler.models import Post, PostState, Role
from scheduler.store import Store, sqlite_url
from scheduler.views import Actor
from tui.app import GatepostApp
from tui.screens.queue import QueueScreen, local_time
from tui.widgets.virtual_table import VirtualTable

SIZE = (120, 40)
WORDS = (
    "open day",
    "graduation",
    "research",
    "library hours",
    "sports results",
    "lecture",
    "concert",
    "admissions",
    "alumni",
    "campus news",
)
STATES = (
    PostState.PUBLISHED,
    PostState.PUBLISHED,
    PostState.SCHEDULED,
    PostState.DRAFT,
    PostState.IN_REVIEW,
    PostState.FAILED,
    PostState.HELD,
    PostState.CANCELLED,
)
# Typed into the filter one key at a time; each key is one measured keystroke.
TYPED = "concert"


def build_database(path: Path, posts: int) -> Store:
    """A database with `posts` posts over three accounts, written in bulk."""
    store = Store(sqlite_url(path))
    admin = services.init_database(store)
    actor = Actor(admin.login, Role(admin.role))
    accounts = [
        services.add_account(store, actor, name, platform="outbox", options={"dir": "outbox"})
        for name in ("uni-news", "uni-research", "uni-sport")
    ]
    now = datetime.now(UTC)
    table = Post.__table__  # type: ignore[attr-defined]
    # One row built by the model (so every column has its default), copied and varied.
    template = Post(
        account_id=accounts[0].id, author="alice", created_at=now, updated_at=now
    ).model_dump(exclude={"id"})
    rows = []
    for number in range(posts):
        row = dict(template)
        row["account_id"] = accounts[number % len(accounts)].id
        row["text"] = f"Post {number}: {WORDS[number % len(WORDS)]} — see the website"
        row["scheduled_at"] = now + timedelta(minutes=number)
        row["state"] = STATES[number % len(STATES)].value
        rows.append(row)
    with store.write() as session:
        connection = session.connection()
        for start in range(0, len(rows), 10_000):
            connection.execute(table.insert(), rows[start : start + 10_000])
    return store


async def _until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the screen did not settle")
        await asyncio.sleep(0.0005)


async def type_key(app: App[object], key: str) -> None:
    """Deliver a key the way the terminal driver does (no test-harness waiting)."""
    app.post_message(events.Key(key, key))


async def measure_subject(store: Store) -> tuple[float, list[float], list[float]]:
    admin = services.list_users(store)[0]
    app = GatepostApp(store, Actor(admin.login, Role(admin.role)))
    started = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: isinstance(app.screen, QueueScreen))
        table = app.screen.query_one(VirtualTable)
        await _until(lambda: table.painted_generation >= 1)
        first_paint = time.perf_counter() - started
        await pilot.press("slash")
        keystrokes: list[float] = []
        counted: list[float] = []
        for key in TYPED:
            before = table.generation
            began = time.perf_counter()
            await type_key(app, key)
            await _until(
                lambda before=before: (
                    table.generation > before and table.painted_generation == table.generation
                )
            )
            keystrokes.append(time.perf_counter() - began)
            # The count follows the rows; let it land before the next key.
            await _until(lambda: table.total_is_exact and not table.is_loading)
            counted.append(time.perf_counter() - began)
        expected = services.count_posts(store, text=TYPED)
        assert table.total == expected, (table.total, expected)
    return first_paint, keystrokes, counted


class AllRowsQueue(App[None]):
    """The baseline: every post in a DataTable, filtered in memory."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.posts: list[tuple[str, ...]] = []
        self.painted = 0

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter")
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("#", "State", "Account", "Scheduled (local)", "Text")
        total = services.count_posts(self.store)
        for offset in range(0, total, services.MAX_PAGE):
            for post in services.list_posts(self.store, offset=offset, limit=services.MAX_PAGE):
                self.posts.append(
                    (
                        str(post.id),
                        post.state.value,
                        post.account,
                        local_time(post.scheduled_at, post.timezone),
                        post.text,
                    )
                )
        table.add_rows(self.posts)
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        self.painted += 1

    def on_input_changed(self, event: Input.Changed) -> None:
        table = self.query_one(DataTable)
        table.clear()
        needle = event.value.lower()
        table.add_rows(row for row in self.posts if needle in row[4].lower())
        self.call_after_refresh(self._painted)


async def measure_baseline(store: Store) -> tuple[float, list[float]]:
    app = AllRowsQueue(store)
    started = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await _until(lambda: app.painted >= 1, timeout=600)
        first_paint = time.perf_counter() - started
        app.query_one(Input).focus()
        await pilot.pause()
        keystrokes = []
        for key in TYPED:
            before = app.painted
            began = time.perf_counter()
            await type_key(app, key)
            await _until(lambda before=before: app.painted > before, timeout=600)
            keystrokes.append(time.perf_counter() - began)
    return first_paint, keystrokes


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        store = build_database(Path(folder) / "bench.sqlite3", options.posts)
        print(f"{options.posts:,} posts written in {time.perf_counter() - began:.1f} s")
        subject_paint, subject_keys, subject_counts = asyncio.run(measure_subject(store))
        baseline_paint, baseline_keys = asyncio.run(measure_baseline(store))
        store.dispose()
    subject_key = statistics.median(subject_keys)
    baseline_key = statistics.median(baseline_keys)
    print(f"{'':28}{'queue screen':>14}{'DataTable, all rows':>24}{'ratio':>10}")
    print(
        f"{'first paint':28}{_ms(subject_paint):>14}{_ms(baseline_paint):>24}"
        f"{baseline_paint / subject_paint:>9.1f}x"
    )
    print(
        f"{'filter keystroke (median)':28}{_ms(subject_key):>14}{_ms(baseline_key):>24}"
        f"{baseline_key / subject_key:>9.1f}x"
    )
    print(
        f"{'filter keystroke (worst)':28}{_ms(max(subject_keys)):>14}"
        f"{_ms(max(baseline_keys)):>24}{max(baseline_keys) / max(subject_keys):>9.1f}x"
    )
    print(
        f"{'count shown (median)':28}{_ms(statistics.median(subject_counts)):>14}"
        f"{'(with the rows)':>24}"
    )
    print(f"(ratio: how many times faster the queue screen is; keys typed: {TYPED!r})")
    missed = []
    if subject_paint >= 1.0:
        missed.append("first paint under 1 s")
    if max(subject_keys) >= 0.1:
        missed.append("every filter keystroke under 100 ms")
    if missed:
        print("targets missed: " + ", ".join(missed))
        return 1
    print("targets met: first paint under 1 s, every filter keystroke under 100 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
