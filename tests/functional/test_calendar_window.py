"""The calendar's window onto the queue, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler import services
from scheduler.calendar import posts_between
from scheduler.errors import InvalidInput, NotFound
from scheduler.store import Store
from tests.conftest import Team

MONDAY = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


def test_a_window_holds_its_accounts_posts_in_time_order(store: Store, team: Team) -> None:
    def post(account: str, at: str, text: str) -> int:
        return services.create_post(store, team.alice, account=account, text=text, at=at).id

    later = post("uni-news", "2026-12-04 09:00", "Friday")
    earlier = post("uni-news", "2026-11-30 00:00", "Monday midnight")  # the first instant
    post("uni-news", "2026-12-07 00:00", "next Monday")  # the end is not included
    post("uni-news", "2026-11-29 23:59", "Sunday before")
    other = post("uni-research", "2026-12-01 10:00", "Elsewhere")
    services.create_post(store, team.alice, account="uni-news", text="Unscheduled")

    week = posts_between(store, start=MONDAY, end=NEXT_MONDAY, account="uni-news")
    assert [p.id for p in week] == [earlier, later]
    everyone = posts_between(store, start=MONDAY, end=NEXT_MONDAY)
    assert [p.id for p in everyone] == [earlier, other, later]
    by_id = posts_between(store, start=MONDAY, end=NEXT_MONDAY, account=team.strict.id)
    assert [p.id for p in by_id] == [other]


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        (NEXT_MONDAY, MONDAY, InvalidInput),  # ends before it starts
        (MONDAY.replace(tzinfo=None), NEXT_MONDAY, InvalidInput),  # a time with no zone
    ],
)
def test_a_window_must_make_sense(
    store: Store, team: Team, start: datetime, end: datetime, error: type[Exception]
) -> None:
    with pytest.raises(error):
        posts_between(store, start=start, end=end)


def test_an_unknown_account_is_named(store: Store, team: Team) -> None:
    with pytest.raises(NotFound, match="no account 'nope'"):
        posts_between(store, start=MONDAY, end=NEXT_MONDAY, account="nope")
