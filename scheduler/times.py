"""Time handling: stored in UTC, entered and shown in the account's time zone.

A wall-clock time that does not exist in the zone (the clocks go forward) is refused
naming the gap; one that happens twice (the clocks go back) is refused unless the caller
says which with ``fold`` (0 = the first, 1 = the second) or gives an explicit offset.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from scheduler.errors import InvalidInput

DEFAULT_TIMEZONE = "Europe/London"

#: A clock returns the current time as an aware UTC datetime; tests pass their own.
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for ``name``; raises ``InvalidInput`` for an unknown zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {name!r} (use a name like Europe/London)") from exc


def check_timezone(name: str) -> str:
    """Return ``name`` if it is a known IANA time zone, else raise ``InvalidInput``."""
    if name not in available_timezones():
        raise InvalidInput(f"unknown time zone {name!r} (use a name like Europe/London)")
    return name


_LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def parse_time(text: str) -> datetime:
    """Parse ``YYYY-MM-DD HH:MM`` (naive: a wall-clock time) or with ``Z``/``+01:00`` (aware).

    Raises ``InvalidInput`` when the text is not a time.
    """
    cleaned = text.strip()
    if _OFFSET.search(cleaned):
        try:
            parsed = datetime.fromisoformat(cleaned.replace(" ", "T", 1))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    for fmt in _LOCAL_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
    raise InvalidInput(
        f"cannot read {text!r} as a time: use YYYY-MM-DD HH:MM (optionally with an offset "
        "such as +01:00)"
    )


def local_to_utc(wall: datetime, tz_name: str, fold: int | None = None) -> datetime:
    """Convert a wall-clock time in ``tz_name`` to an aware UTC datetime.

    ``wall`` may already be aware (an explicit offset), in which case it is simply
    converted. Raises ``InvalidInput`` when the wall time falls in a clock-change gap, or
    when it is ambiguous and ``fold`` is ``None``.
    """
    if wall.tzinfo is not None:
        return wall.astimezone(UTC)
    tz = zone(tz_name)
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    when = f"{wall:%H:%M} on {wall:%Y-%m-%d}"
    if first.utcoffset() != second.utcoffset():
        round_trip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if round_trip != wall:
            # PEP 495: in a gap, fold=0 reads the time with the offset in force before it.
            before, after = first.utcoffset(), second.utcoffset()
            jump_from, jump_to = _gap_edges(wall, tz)
            raise InvalidInput(
                f"{when} does not exist in {tz_name}: the clocks go forward from "
                f"{jump_from:%H:%M} to {jump_to:%H:%M} that night (clock change, "
                f"UTC{_fmt_offset(before)} to UTC{_fmt_offset(after)}); choose another time"
            )
        if fold is None:
            raise InvalidInput(
                f"{when} happens twice in {tz_name} because the clocks go back that night "
                f"(clock change); say which with --fold 0 (the first, "
                f"UTC{_fmt_offset(first.utcoffset())}) or --fold 1 (the second, "
                f"UTC{_fmt_offset(second.utcoffset())}), or give an explicit offset"
            )
        if fold not in (0, 1):
            raise InvalidInput("fold must be 0 (the first) or 1 (the second)")
        return (second if fold else first).astimezone(UTC)
    return first.astimezone(UTC)


def _gap_edges(wall: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The wall-clock times either side of the gap that ``wall`` falls in."""
    before = wall.replace(tzinfo=tz, fold=0).utcoffset() or timedelta()
    after = wall.replace(tzinfo=tz, fold=1).utcoffset() or timedelta()
    # The instant of the change is the later of the two readings of ``wall``.
    instant = min(
        (wall - before).replace(tzinfo=UTC),
        (wall - after).replace(tzinfo=UTC),
    )
    # Walk minutes until the local offset changes: at most a few hours.
    probe = instant - timedelta(hours=3)
    previous = probe.astimezone(tz)
    for _ in range(6 * 60):
        probe += timedelta(minutes=1)
        local = probe.astimezone(tz)
        if local.utcoffset() != previous.utcoffset():
            return (
                (previous + timedelta(minutes=1)).replace(tzinfo=None),
                local.replace(tzinfo=None),
            )
        previous = local
    return wall, wall  # pragma: no cover - a zone with no change near a gap cannot happen


def _fmt_offset(offset: timedelta | None) -> str:
    total = int((offset or timedelta()).total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def to_local(moment: datetime, tz_name: str) -> datetime:
    """Show an aware UTC datetime in ``tz_name``."""
    return moment.astimezone(zone(tz_name))


def format_local(moment: datetime | None, tz_name: str) -> str:
    """``YYYY-MM-DD HH:MM`` plus the zone's abbreviation, or an empty string for ``None``."""
    if moment is None:
        return ""
    local = to_local(moment, tz_name)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def resolve_schedule_time(
    at: datetime | str,
    tz_name: str,
    *,
    fold: int | None,
    now: datetime,
) -> datetime:
    """Turn what a person typed (or a naive wall time) into an aware UTC time in the future.

    Raises ``InvalidInput`` for unreadable text, clock-change gaps and ambiguities, and
    times that are not in the future.
    """
    wall = parse_time(at) if isinstance(at, str) else at
    if wall.tzinfo is None:
        # A time long gone is "in the past" whichever reading of a clock change it is.
        latest = max(wall.replace(tzinfo=zone(tz_name), fold=f).astimezone(UTC) for f in (0, 1))
        if latest <= now:
            raise InvalidInput(
                f"{wall:%Y-%m-%d %H:%M} in {tz_name} is in the past (it is now "
                f"{format_local(now, tz_name)}); schedule a time in the future"
            )
    moment = local_to_utc(wall, tz_name, fold)
    if moment <= now:
        raise InvalidInput(
            f"{format_local(moment, tz_name)} is in the past (it is now "
            f"{format_local(now, tz_name)}); schedule a time in the future"
        )
    return moment


def as_utc(moment: datetime | None) -> datetime | None:
    """Normalise a stored datetime to aware UTC (SQLite hands naive UTC back)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def last_sunday(year: int, month: int) -> datetime:
    """The last Sunday of a month (a naive date at midnight), e.g. Europe's clock changes."""
    if month == 12:
        first_of_next = datetime(year + 1, 1, 1)
    else:
        first_of_next = datetime(year, month + 1, 1)
    last = first_of_next - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)
