"""The queue screen, driven by keys: filter as you type, state and account filters,
jumping to a post, and the person's decisions on posts the daemon could not finish."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler import services
from scheduler.store import Store
from tests.snapshots.demo_app import (
    SIZE,
    demo_app,
    open_store,
    settled,
    shared_demo_database,
    wait_until,
)
from tui.screens.prompt import TextPrompt
from tui.screens.queue import QueueQuery, QueueScreen, parse_filter
from tui.widgets.statusbar import StatusBar
from tui.widgets.virtual_table import VirtualTable


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_demo_database(tmp_path_factory)


@pytest.fixture
def store(template: Path, tmp_path: Path) -> Iterator[Store]:
    store = open_store(template, tmp_path)
    yield store
    store.dispose()


def shown(app: object) -> list[int]:
    """The post numbers the queue table shows, in order."""
    table = app.screen.query_one(VirtualTable)  # type: ignore[attr-defined]
    return [post.id for post in table.loaded_rows()]


def notices(app: object) -> list[tuple[str, str, str]]:
    return [
        (n.title, n.message, n.severity)
        for n in app._notifications  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # plain words are searched for in the text
        ("open day", QueueQuery(text="open day")),
        # state: and is: pick a state, dashes allowed for underscores
        ("state:in-review erosion", QueueQuery(text="erosion", state="in_review")),
        ("is:held", QueueQuery(state="held")),
        # @ picks an account, # a post number
        ("@uni-news #12", QueueQuery(account="uni-news", post_id=12)),
    ],
)
def test_filter_words_become_a_query(typed: str, expected: QueueQuery) -> None:
    assert parse_filter(typed, QueueQuery()) == expected


async def test_queue_lists_every_post_with_local_time_and_findings(store: Store) -> None:
    app = demo_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        assert isinstance(app.screen, QueueScreen)
        everything = services.list_posts(store, limit=100)
        assert shown(app) == [post.id for post in everything]
        table = app.screen.query_one(VirtualTable)
        lines = [table.render_line(y).text for y in range(1, len(everything) + 1)]
        flagged = next(p for p in everything if p.open_findings)
        line = next(text for text in lines if text.strip().startswith(str(flagged.id)))
        # The local time in the account's zone, and the count of findings to sign off.
        assert "Sat 28 Nov 12:00 GMT" in line
        assert f" {flagged.open_findings} " in line
        count = app.screen.query_one("#queue-count").render()
        assert f"{len(everything)} posts" in str(count)


async def test_filter_as_you_type_narrows_the_queue(store: Store) -> None:
    app = demo_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("slash", *"good morning")
        await settled(pilot)
        expected = [p.id for p in services.list_posts(store, text="good morning")]
        assert len(expected) == 2
        assert shown(app) == expected
        # escape clears the filter and gives the keys back to the table
        await pilot.press("escape")
        await settled(pilot)
        assert len(shown(app)) == services.count_posts(store)
        assert isinstance(app.focused, VirtualTable)


async def test_state_and_account_keys_filter(store: Store) -> None:
    app = demo_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("s")  # all -> draft
        await settled(pilot)
        drafts = [p.id for p in services.list_posts(store, states=["draft"])]
        assert shown(app) == drafts
        await pilot.press("a")  # every account -> the first one
        await settled(pilot)
        first_account = services.list_accounts(store)[0].name
        both = services.list_posts(store, states=["draft"], account=first_account)
        assert shown(app) == [p.id for p in both]


async def test_status_bar_counts_and_keys_for_posts_that_need_a_person(store: Store) -> None:
    app = demo_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        bar = app.screen.query_one(StatusBar)
        text = str(bar.render())
        assert "Alice Author" in text and "author" in text
        assert "held 1" in text and "failed 1" in text and "unknown 1" in text
        await pilot.press("U")
        await settled(pilot)
        unknown = [p.id for p in services.list_posts(store, states=["unknown"])]
        assert shown(app) == unknown


async def test_go_to_a_post_by_number(store: Store) -> None:
    app = demo_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("g")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"#9", "enter")
        await settled(pilot)
        assert shown(app) == [9]
        detail = str(app.screen.query_one("#queue-detail").render())
        assert "admissions.help@example.ac.uk" in detail


async def test_a_held_post_is_confirmed_and_an_unknown_one_settled(store: Store) -> None:
    app = demo_app(store, login="bob")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("H")
        await settled(pilot)
        held = services.list_posts(store, states=["held"])[0]
        assert shown(app) == [held.id]
        await pilot.press("c")
        await wait_until(pilot, lambda: services.get_post(store, held.id).state == "scheduled")
        await settled(pilot)
        assert any("scheduled for" in message for _, message, _ in notices(app))

        await pilot.press("U")
        await settled(pilot)
        unknown = services.list_posts(store, states=["unknown"])[0]
        await pilot.press("w")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("enter")  # an empty link is refused in place
        assert isinstance(app.screen, TextPrompt)
        await pilot.press(*"https://example.org/p/1", "enter")
        await wait_until(pilot, lambda: services.get_post(store, unknown.id).state == "published")
        settled_post = services.get_post(store, unknown.id)
        assert settled_post.state == "published"
        assert settled_post.remote_url == "https://example.org/p/1"


async def test_a_refused_action_is_a_notification_not_a_traceback(store: Store) -> None:
    app = demo_app(store, login="bob")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("F")
        await settled(pilot)
        failed = services.list_posts(store, states=["failed"])[0]
        # Someone else deals with it first, behind this screen's back.
        bob = services.resolve_actor(store, as_login="bob")
        services.cancel_post(store, bob, failed.id, reason="handled elsewhere")
        await pilot.press("t")
        await wait_until(pilot, lambda: any(n[2] == "error" for n in notices(app)))
        errors = [n for n in notices(app) if n[2] == "error"]
        title, message, _ = errors[-1]
        assert title == "Not possible in this state"
        assert "cancelled" in message
        assert app.is_running


async def test_the_mouse_sorts_by_a_header_and_picks_a_row(store: Store) -> None:
    app = demo_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        table = app.screen.query_one(VirtualTable)
        # The header's second column is the state ("#" is 7 cells wide, then a space).
        await pilot.click(VirtualTable, offset=(10, 0))
        await settled(pilot)
        assert table.sort_key == "state"
        by_state = [p.id for p in services.list_posts(store, order_by="state")]
        assert shown(app) == by_state
        await pilot.click(VirtualTable, offset=(10, 0))  # again: the other way round
        await settled(pilot)
        assert table.sort_descending
        await pilot.click(VirtualTable, offset=(30, 3))  # the third row
        await settled(pilot)
        assert table.cursor_row == 2


async def test_a_queue_that_cannot_be_read_says_why(store: Store) -> None:
    app = demo_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        # The database file is replaced by a folder: every read now fails.
        path = Path(store.url.removeprefix("sqlite:///"))
        store.dispose()
        path.unlink()
        path.mkdir()
        await pilot.press("slash", "x")
        await wait_until(
            pilot, lambda: any(title == "Could not read the queue" for title, _, _ in notices(app))
        )
        assert app.is_running
        table = app.screen.query_one(VirtualTable)
        assert not table.is_loading  # a failed read does not leave the table waiting
