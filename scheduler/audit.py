"""The append-only audit log, hash-chained so an edited, removed or reordered entry shows.

Each event's hash covers its sequence number, time, actor, action, subject, before and
after, and the previous event's hash. A single ``audit_head`` row records the last event;
appending locks it (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already
serialises writers), so two writers can never fork the chain, and ``verify`` uses it to
notice events cut off the end.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from scheduler.bulk import insert_rows
from scheduler.models import AuditEvent, AuditHead

GENESIS = "0" * 64

_EVENTS: sa.Table = AuditEvent.__table__  # type: ignore[attr-defined]
_HEAD: sa.Table = AuditHead.__table__  # type: ignore[attr-defined]


def canonical_json(data: Mapping[str, Any]) -> str:
    """JSON with sorted keys and no spaces: the same data always gives the same text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    before: str,
    after: str,
    prev_hash: str,
) -> str:
    """The hash that chains one event to the one before it."""
    body = canonical_json(
        {
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "subject": subject,
            "before": before,
            "after": after,
            "prev": prev_hash,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class EventSpec:
    """One event to append: what happened, to what, by whom, and the change."""

    at: datetime
    actor: str
    action: str
    subject: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


def append_event(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Append one event to the chain inside the caller's transaction."""
    append_events(session, [EventSpec(at, actor, action, subject, before, after)])


#: ``session.info`` key: set it to true to collect the transaction's events and append
#: them all when :func:`append_deferred` is called just before the commit.
DEFER = "audit_defer"
_PENDING = "audit_pending"


def append_events(session: Session, events: Sequence[EventSpec]) -> None:
    """Append ``events``, in order, to the chain inside the caller's transaction.

    The head is locked once and the rows go in with one statement, so a daemon
    recording a batch of posts pays for the chain once, not once per post. In a
    session whose ``info[DEFER]`` is set the events wait for :func:`append_deferred`.
    """
    if not events:
        return
    if session.info.get(DEFER):
        session.info.setdefault(_PENDING, []).extend(events)
        return
    _append_now(session, events)


def append_deferred(session: Session) -> None:
    """Append the events a deferring session collected, as the last thing before its
    commit: the chain's head (one row every writer needs) is then locked only for the
    insert and the commit, not for the whole transaction."""
    pending: list[EventSpec] = session.info.pop(_PENDING, [])
    if pending:
        _append_now(session, pending)


def _append_now(session: Session, events: Sequence[EventSpec]) -> None:
    seq, prev = _locked_head(session)
    prev = prev or GENESIS
    rows: list[dict[str, Any]] = []
    for spec in events:
        seq += 1
        before_text = canonical_json(spec.before or {})
        after_text = canonical_json(spec.after or {})
        digest = event_hash(
            seq=seq,
            at=spec.at,
            actor=spec.actor,
            action=spec.action,
            subject=spec.subject,
            before=before_text,
            after=after_text,
            prev_hash=prev,
        )
        rows.append(
            {
                "seq": seq,
                "at": spec.at,
                "actor": spec.actor,
                "action": spec.action,
                "subject": spec.subject,
                "before": before_text,
                "after": after_text,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    insert_rows(session, _EVENTS, rows)
    session.execute(sa.update(_HEAD).where(_HEAD.c.id == 1).values(seq=seq, hash=prev))


def _locked_head(session: Session) -> tuple[int, str]:
    """The chain's head (last sequence number and hash), locked for this transaction;
    made on the very first event."""
    query = sa.select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
    row = session.execute(query).first()
    if row is not None:
        return int(row.seq), str(row.hash)
    try:
        # Two first events at once: one insert wins, the other re-reads the winner's row.
        with session.begin_nested():
            session.execute(sa.insert(_HEAD).values(id=1, seq=0, hash=GENESIS))
    except IntegrityError:
        pass
    row = session.execute(query).one()
    return int(row.seq), str(row.hash)


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the chain: ``ok``, how many events, and the first problem."""

    ok: bool
    events: int
    bad_seq: int | None = None
    problem: str = ""


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk the whole log in order and report the first event that does not fit."""
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    last_id = 0
    while True:
        rows = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.id) > last_id)
            .order_by(col(AuditEvent.id))
            .limit(batch)
        ).all()
        if not rows:
            break
        for event in rows:
            last_id = event.id or last_id
            label = _label(event)
            if event.seq != expected_seq:
                if event.seq > expected_seq:
                    return ChainReport(
                        False,
                        count,
                        expected_seq,
                        f"audit event {expected_seq} is missing (the next one found is {label})",
                    )
                return ChainReport(
                    False, count, event.seq, f"{label} is out of order (expected #{expected_seq})"
                )
            if event.prev_hash != prev_hash:
                return ChainReport(
                    False,
                    count,
                    event.seq,
                    f"{label} does not follow the event before it: an event was removed, "
                    "reordered or altered",
                )
            assert event.at is not None
            recomputed = event_hash(
                seq=event.seq,
                at=event.at,
                actor=event.actor,
                action=event.action,
                subject=event.subject,
                before=event.before,
                after=event.after,
                prev_hash=event.prev_hash,
            )
            if recomputed != event.hash:
                return ChainReport(
                    False,
                    count,
                    event.seq,
                    f"{label} was altered: its contents do not match its hash",
                )
            prev_hash = event.hash
            expected_seq += 1
            count += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != prev_hash):
        return ChainReport(
            False,
            count,
            count + 1 if head.seq > count else head.seq,
            f"the log ends at event {count} but its head records event {head.seq}: "
            "events were removed from the end or the head was altered",
        )
    return ChainReport(True, count)


def _label(event: AuditEvent) -> str:
    when = event.at.isoformat(timespec="seconds") if event.at else "?"
    return f"audit event {event.seq} ({event.action} on {event.subject} by {event.actor} at {when})"
