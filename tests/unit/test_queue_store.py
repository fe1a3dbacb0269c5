"""The queue query: filters, sort orders and paging, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from scheduler import services
from scheduler.errors import InvalidInput
from scheduler.models import PostState
from scheduler.store import Store
from tests.conftest import Team


def _fill(store: Store, team: Team) -> list[int]:
    made = []
    for day in range(1, 8):
        post = services.create_post(
            store,
            team.alice if day % 2 else team.dave,
            account="uni-news" if day <= 4 else "uni-research",
            text=f"Day {day}: open day 50% off_road" if day == 3 else f"Day {day} news",
            at=f"2026-12-{day:02d} 09:00",
        )
        made.append(post.id)
    # One draft with no time yet.
    made.append(services.create_post(store, team.alice, account="uni-news", text="Undated").id)
    services.submit_post(store, team.alice, made[0])  # clean, relaxed account: scheduled
    services.submit_post(store, team.alice, made[4])  # strict account: in review
    return made


def test_undated_posts_come_last_in_either_direction(store: Store, team: Team) -> None:
    made = _fill(store, team)
    page = services.list_posts(store)
    assert [p.id for p in page] == made  # created in time order; the undated one last
    backwards = services.list_posts(store, descending=True)
    assert [p.id for p in backwards] == [*reversed(made[:-1]), made[-1]]


def test_pages_join_up_without_gaps_or_repeats(store: Store, team: Team) -> None:
    made = _fill(store, team)
    seen = []
    for offset in range(0, len(made), 3):
        seen += [p.id for p in services.list_posts(store, offset=offset, limit=3)]
    assert seen == made
    assert services.list_posts(store, offset=100) == []


@pytest.mark.parametrize(
    ("filters", "expected_positions"),
    [
        ({"states": ["scheduled"]}, [0]),  # only the submitted clean post
        ({"states": ["in_review", "scheduled"]}, [0, 4]),  # several states
        ({"account": "uni-research"}, [4, 5, 6]),  # by account name
        ({"author": "dave"}, [1, 3, 5]),  # by author
        ({"text": "50% OFF_road"}, [2]),  # case-insensitive, % and _ are literal
        ({"text": "DAY 6"}, [5]),
        ({"text": "nothing like this"}, []),
    ],
)
def test_filters(store: Store, team: Team, filters: dict, expected_positions: list[int]) -> None:  # type: ignore[type-arg]
    made = _fill(store, team)
    expected = [made[i] for i in expected_positions]
    assert [p.id for p in services.list_posts(store, **filters)] == expected
    assert services.count_posts(store, **filters) == len(expected)


def test_sort_by_account_then_id(store: Store, team: Team) -> None:
    made = _fill(store, team)
    page = services.list_posts(store, order_by="account")
    assert [p.account for p in page] == sorted(p.account for p in page)
    news = [p.id for p in page if p.account == "uni-news"]
    assert news == sorted(news)
    assert len(page) == len(made)


def test_list_views_carry_what_the_queue_shows(store: Store, team: Team) -> None:
    made = _fill(store, team)
    (review,) = services.list_posts(store, states=["in_review"])
    assert review.id == made[4]
    assert review.state is PostState.IN_REVIEW
    assert review.scheduled_local == "2026-12-05 09:00 GMT"
    assert review.findings == ()  # the list leaves findings to get_post


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"order_by": "text"}, "cannot sort by"),  # not a sort key
        ({"limit": 0}, "a page holds"),  # empty page
        ({"limit": 5000}, "a page holds"),  # too big a page
        ({"offset": -1}, "negative"),
        ({"states": ["lost"]}, "unknown state"),
    ],
)
def test_bad_queries_are_refused(store: Store, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidInput, match=message):
        services.list_posts(store, **kwargs)


def test_counts_by_state(store: Store, team: Team) -> None:
    _fill(store, team)
    counts = services.count_by_state(store)
    assert counts[PostState.DRAFT] == 6
    assert counts[PostState.SCHEDULED] == 1
    assert counts[PostState.IN_REVIEW] == 1
    assert counts[PostState.PUBLISHED] == 0
