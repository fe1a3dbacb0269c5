"""Recurring posts: wall-clock times in the account's zone, one occurrence at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from scheduler import services
from scheduler.daemon import DaemonEvent
from scheduler.errors import InvalidInput
from scheduler.models import Post
from scheduler.recurrence import (
    next_occurrence,
    occurrences,
    parse_repeat,
    set_repeat,
    top_up_series,
)

LONDON = "Europe/London"


@pytest.mark.parametrize(
    ("text", "cron"),
    [
        ("daily 09:00", "0 9 * * *"),  # every day
        ("every day at 7:05", "5 7 * * *"),  # a single-digit hour
        ("weekdays 08:30", "30 8 * * mon-fri"),  # Monday to Friday
        ("weekly mon 09:00", "0 9 * * mon"),  # one day a week
        ("every Monday, thursday 12:15", "15 12 * * mon,thu"),  # several days, any case
        ("monthly 1 10:00", "0 10 1 * *"),  # a day of the month
        ("0 9 * * mon", "0 9 * * mon"),  # a cron expression as it is
    ],
)
def test_repeat_rules_read_as_cron(text, cron):
    assert parse_repeat(text).cron == cron


@pytest.mark.parametrize(
    "text",
    [
        "fortnightly 09:00",  # not a form we know
        "weekly funday 09:00",  # not a day
        "daily 25:00",  # not a time
        "61 9 * * *",  # a cron field out of range
    ],
)
def test_unreadable_repeat_rules_are_refused_with_the_forms_we_accept(text):
    with pytest.raises(InvalidInput):
        parse_repeat(text)


def test_a_weekly_0900_post_stays_at_0900_london_time_across_the_autumn_clock_change():
    # The clocks go back on Sunday 25 October 2026.
    start = datetime(2026, 10, 15, 12, 0, tzinfo=UTC)
    found = occurrences("0 9 * * mon", LONDON, start, 3)
    local = [moment.astimezone(ZoneInfo(LONDON)) for moment in found]
    assert [f"{m:%Y-%m-%d %H:%M}" for m in local] == [
        "2026-10-19 09:00",
        "2026-10-26 09:00",
        "2026-11-02 09:00",
    ]
    # ...which is a different UTC time before and after the change (BST, then GMT).
    assert [m.hour for m in found] == [8, 9, 9]


def test_a_time_repeated_when_the_clocks_go_back_fires_once():
    found = occurrences("30 1 * * *", LONDON, datetime(2026, 10, 24, 12, 0, tzinfo=UTC), 3)
    assert found == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 01:30 BST, the first of the two
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
        datetime(2026, 10, 27, 1, 30, tzinfo=UTC),
    ]


def test_a_time_skipped_when_the_clocks_go_forward_fires_just_after_the_gap():
    # 01:30 does not exist in London on 29 March 2026: it goes out at 02:30 BST.
    found = next_occurrence("30 1 * * *", LONDON, datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert found == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


class _Daemon:
    """What top_up_series needs of a daemon: its store, and somewhere to report."""

    id = "test-daemon"

    def __init__(self, store):
        self.store = store
        self.events: list[DaemonEvent] = []

    def emit(self, event: DaemonEvent) -> None:
        self.events.append(event)


def test_each_occurrence_is_created_as_its_own_post_through_the_gate(store, team, clock):
    # Thursday 26 November 2026, 12:00 UTC: first occurrence at 12:30 London (GMT).
    first = services.create_post(
        store, team.alice, account="uni-news", text="Weekly digest", at="2026-11-26 12:30"
    )
    services.submit_post(store, team.alice, first.id)
    rule = set_repeat(store, team.alice, first.id, "weekly thu 12:30")
    assert rule.cron == "30 12 * * thu"
    daemon = _Daemon(store)

    assert top_up_series(daemon, _series(store, first.id)) is None  # not due yet
    clock.advance(minutes=31)
    created = top_up_series(daemon, _series(store, first.id))

    assert created is not None
    view = services.get_post(store, created)
    assert view.text == "Weekly digest"
    assert view.scheduled_at == datetime(2026, 12, 3, 12, 30, tzinfo=UTC)
    assert view.state.value == "scheduled"  # the gate passed it; this account needs no approver
    assert [e.kind for e in daemon.events] == ["occurrence"]
    # The rule moved to the new occurrence: asking again makes nothing more.
    assert top_up_series(daemon, _series(store, first.id)) is None
    with store.read() as session:
        series = session.get(Post, first.id).series_id  # type: ignore[union-attr]
        holders = list(
            session.exec(select(Post.id).where(Post.repeat_rule.is_not(None)))  # type: ignore[union-attr]
        )
    assert holders == [created]
    assert series == _series(store, created)


def test_cancelling_the_latest_occurrence_ends_the_series(store, team, clock):
    first = services.create_post(
        store, team.alice, account="uni-news", text="Daily tip", at="2026-11-26 12:30"
    )
    services.submit_post(store, team.alice, first.id)
    set_repeat(store, team.alice, first.id, "daily 12:30")
    services.cancel_post(store, team.alice, first.id, reason="no more tips")
    clock.advance(minutes=31)

    assert top_up_series(_Daemon(store), _series(store, first.id)) is None


def test_a_series_on_an_account_requiring_approval_waits_in_review(store, team, clock):
    first = services.create_post(
        store, team.alice, account="uni-research", text="Lab news", at="2026-11-26 12:30"
    )
    services.submit_post(store, team.alice, first.id)
    set_repeat(store, team.alice, first.id, "daily 12:30")
    clock.advance(minutes=31)

    created = top_up_series(_Daemon(store), _series(store, first.id))

    assert created is not None
    assert services.get_post(store, created).state.value == "in_review"


def _series(store, post_id: int) -> str:
    with store.read() as session:
        post = session.get(Post, post_id)
        assert post is not None and post.series_id
        return post.series_id


def test_repeat_rule_time_zone_follows_the_account(store, team):
    assert next_occurrence(
        "0 9 * * *", "America/New_York", datetime(2026, 11, 26, 12, tzinfo=UTC)
    ) == datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
