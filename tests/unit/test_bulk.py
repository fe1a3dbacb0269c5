"""Statements over many rows give the same results on SQLite and on PostgreSQL (arrays)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from scheduler.bulk import insert_rows, one_of, update_rows
from scheduler.models import AuditEvent, Setting
from scheduler.store import Store

SETTINGS: sa.Table = Setting.__table__  # type: ignore[attr-defined]
s = SETTINGS.c


def _values(store: Store) -> dict[str, str]:
    with store.read() as session:
        return {
            k: v for k, v in session.execute(sa.select(s.key, s.value).where(s.key.like("t-%")))
        }


def test_rows_go_in_with_one_statement_and_come_back_when_asked(store: Store) -> None:
    with store.write() as session:
        back = insert_rows(
            session,
            SETTINGS,
            [{"key": f"t-{i}", "value": f"v{i}"} for i in range(3)],
            returning=[s.key],
        )
        assert insert_rows(session, SETTINGS, []) == []
    assert sorted(row.key for row in back) == ["t-0", "t-1", "t-2"]
    assert _values(store) == {"t-0": "v0", "t-1": "v1", "t-2": "v2"}


def test_each_row_is_updated_with_its_own_values_and_only_where_it_matches(store: Store) -> None:
    with store.write() as session:
        insert_rows(session, SETTINGS, [{"key": f"t-{i}", "value": "old"} for i in range(4)])
    with store.write() as session:
        update_rows(
            session,
            SETTINGS,
            [
                {"key": "t-0", "seen": "old", "new": "zero"},
                {"key": "t-1", "seen": "changed meanwhile", "new": "one"},  # no longer matches
                {"key": "t-2", "seen": "old", "new": "two"},
            ],
            {"key": s.key, "seen": s.value, "new": s.value},
            where=lambda r: [s.key == r["key"], s.value == r["seen"]],
            values=lambda r: {"value": r["new"] + sa.literal("!")},
        )
        update_rows(session, SETTINGS, [], {"key": s.key}, where=lambda r: [], values=dict)
    assert _values(store) == {"t-0": "zero!", "t-1": "old", "t-2": "two!", "t-3": "old"}


def test_one_of_picks_the_rows_named_and_none_for_an_empty_list(store: Store) -> None:
    with store.write() as session:
        insert_rows(session, SETTINGS, [{"key": f"t-{i}", "value": ""} for i in range(5)])
    with store.read() as session:
        picked = session.execute(
            sa.select(s.key).where(one_of(s.key, ["t-1", "t-3", "t-9"], store.dialect))
        ).scalars()
        assert sorted(picked) == ["t-1", "t-3"]
        assert session.execute(sa.select(s.key).where(one_of(s.key, [], store.dialect))).all() == []


def test_times_keep_their_zone_through_the_arrays(store: Store) -> None:
    # Aware UTC datetimes pass through the column's own type, element by element.
    events: sa.Table = AuditEvent.__table__  # type: ignore[attr-defined]
    at = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    row = {
        "actor": "t",
        "action": "test",
        "subject": "x",
        "before": "{}",
        "after": "{}",
        "prev_hash": "0",
        "hash": "1",
    }
    with store.write() as session:
        insert_rows(
            session,
            events,
            [{**row, "seq": 10**9 + i, "at": at + timedelta(minutes=i)} for i in range(2)],
        )
    with store.read() as session:
        found = session.execute(
            sa.select(events.c.at).where(events.c.seq >= 10**9).order_by(events.c.seq)
        ).scalars()
        assert list(found) == [at, at + timedelta(minutes=1)]
