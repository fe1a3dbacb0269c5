"""Times: entered in the account's zone, stored in UTC, clock changes refused or resolved."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler.errors import InvalidInput
from scheduler.times import (
    format_local,
    last_sunday,
    local_to_utc,
    parse_time,
    resolve_schedule_time,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LONDON = "Europe/London"


@pytest.mark.parametrize(
    ("text", "fold", "expected"),
    [
        # winter: London is on GMT
        ("2026-12-01 09:00", None, datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        # summer: BST, one hour ahead of UTC
        ("2027-07-01 09:00", None, datetime(2027, 7, 1, 8, 0, tzinfo=UTC)),
        # the T separator and seconds are accepted
        ("2027-07-01T09:00:30", None, datetime(2027, 7, 1, 8, 0, 30, tzinfo=UTC)),
        # an explicit offset wins over the zone
        ("2026-12-01 09:00+02:00", None, datetime(2026, 12, 1, 7, 0, tzinfo=UTC)),
        ("2026-12-01T09:00Z", None, datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        # autumn ambiguity resolved by fold: first 01:30 is BST, second is GMT
        ("2027-10-31 01:30", 0, datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
        ("2027-10-31 01:30", 1, datetime(2027, 10, 31, 1, 30, tzinfo=UTC)),
        # an explicit offset also settles the ambiguity
        ("2027-10-31 01:30+00:00", None, datetime(2027, 10, 31, 1, 30, tzinfo=UTC)),
    ],
)
def test_wall_times_become_utc(text: str, fold: int | None, expected: datetime) -> None:
    assert resolve_schedule_time(text, LONDON, fold=fold, now=NOW) == expected


def test_spring_gap_is_refused_naming_the_clock_change() -> None:
    sunday = last_sunday(2027, 3)
    assert sunday.day == 28
    with pytest.raises(InvalidInput) as caught:
        resolve_schedule_time(f"{sunday:%Y-%m-%d} 01:30", LONDON, fold=None, now=NOW)
    message = str(caught.value)
    assert "does not exist" in message
    assert "clocks go forward from 01:00 to 02:00" in message
    assert "clock change" in message


def test_spring_gap_is_refused_even_with_a_fold() -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        resolve_schedule_time("2027-03-28 01:30", LONDON, fold=1, now=NOW)


def test_autumn_ambiguity_is_refused_without_a_fold() -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve_schedule_time("2027-10-31 01:30", LONDON, fold=None, now=NOW)
    message = str(caught.value)
    assert "happens twice" in message and "--fold 0" in message and "--fold 1" in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-26 11:59", "in the past"),  # a minute ago
        ("2026-11-26 12:00", "in the past"),  # exactly now is not the future
        ("tomorrow at nine", "cannot read"),  # not a time
        ("2026-13-01 09:00", "cannot read"),  # no such month
        ("", "cannot read"),  # nothing
        ("2026-10-25 01:30", "in the past"),  # ambiguous, but gone either way
        ("2026-03-29 01:30", "in the past"),  # a gap, but long gone
    ],
)
def test_bad_times_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        resolve_schedule_time(text, LONDON, fold=None, now=NOW)


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown time zone"):
        local_to_utc(parse_time("2026-12-01 09:00"), "Europe/Atlantis")


def test_other_zones_have_their_own_changes() -> None:
    # New York springs forward at 02:00 on the second Sunday of March.
    with pytest.raises(InvalidInput, match="does not exist in America/New_York"):
        resolve_schedule_time("2027-03-14 02:30", "America/New_York", fold=None, now=NOW)
    # The same wall time is fine in London that day.
    assert resolve_schedule_time("2027-03-14 02:30", LONDON, fold=None, now=NOW)


def test_times_are_shown_in_the_zone_with_its_abbreviation() -> None:
    assert format_local(datetime(2027, 7, 1, 8, 0, tzinfo=UTC), LONDON) == "2027-07-01 09:00 BST"
    assert format_local(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), LONDON) == "2026-12-01 09:00 GMT"
    assert format_local(None, LONDON) == ""
