r"""The post lifecycle: every state change of every post goes through this module.

```
draft --submit--> in_review --approve--> scheduled --claim--> publishing --> published
  ^                 |    \--reject--> draft    |                 |  |  \--> failed
  +-----edit--------+------------------------+                 |  \--> unknown
                                   scheduled --misfire--> held  \--hand back--> scheduled
failed --retry--> scheduled    unknown --resolve--> published | --resend--> scheduled
held --confirm--> scheduled    published --retract--> retracted
draft, in_review, scheduled, held, failed, unknown --cancel--> cancelled
```

:func:`transition` checks that the move is legal, refuses to let a post reach
``scheduled`` or ``publishing`` unless its current approval matches its fingerprint,
voids the approval when a post goes back to ``draft`` or ``in_review``, bumps the
version, and appends the audit event, all in the caller's transaction.
:func:`transition_many` does the same for a batch. For the daemon, :func:`claim_many`
claims a batch (``scheduled`` to ``publishing``, with the same approval check) and
:func:`settle_many` records a batch of outcomes (``publishing`` to published, failed or
unknown: moves that keep the content and need no approval), both without loading the
posts as objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from scheduler import fingerprint
from scheduler.audit import EventSpec, append_event, append_events
from scheduler.bulk import dialect_of, one_of, update_rows
from scheduler.errors import IllegalTransition, StaleEdit
from scheduler.models import Account, Approval, Post, PostState

S = PostState

#: (from, to) -> the actions that make that move.
TRANSITIONS: Mapping[tuple[PostState, PostState], frozenset[str]] = {
    (S.DRAFT, S.IN_REVIEW): frozenset({"submit"}),
    (S.DRAFT, S.CANCELLED): frozenset({"cancel"}),
    (S.IN_REVIEW, S.SCHEDULED): frozenset({"approve", "auto-approve"}),
    (S.IN_REVIEW, S.DRAFT): frozenset({"reject", "edit"}),
    (S.IN_REVIEW, S.CANCELLED): frozenset({"cancel"}),
    (S.SCHEDULED, S.PUBLISHING): frozenset({"claim"}),
    (S.SCHEDULED, S.DRAFT): frozenset({"edit"}),
    (S.SCHEDULED, S.IN_REVIEW): frozenset({"recheck"}),
    (S.SCHEDULED, S.HELD): frozenset({"misfire"}),
    (S.SCHEDULED, S.CANCELLED): frozenset({"cancel"}),
    (S.HELD, S.SCHEDULED): frozenset({"confirm"}),
    (S.HELD, S.IN_REVIEW): frozenset({"confirm"}),
    (S.HELD, S.DRAFT): frozenset({"edit"}),
    (S.HELD, S.CANCELLED): frozenset({"cancel"}),
    (S.PUBLISHING, S.PUBLISHED): frozenset({"published"}),
    (S.PUBLISHING, S.FAILED): frozenset({"fail"}),
    (S.PUBLISHING, S.UNKNOWN): frozenset({"outcome-unknown"}),
    (S.PUBLISHING, S.SCHEDULED): frozenset({"hand-back"}),
    (S.PUBLISHING, S.IN_REVIEW): frozenset({"recheck"}),
    (S.UNKNOWN, S.PUBLISHED): frozenset({"resolve"}),
    (S.UNKNOWN, S.SCHEDULED): frozenset({"resend"}),
    (S.UNKNOWN, S.IN_REVIEW): frozenset({"resend"}),
    (S.UNKNOWN, S.CANCELLED): frozenset({"cancel"}),
    (S.FAILED, S.SCHEDULED): frozenset({"retry"}),
    (S.FAILED, S.IN_REVIEW): frozenset({"retry"}),
    (S.FAILED, S.DRAFT): frozenset({"edit"}),
    (S.FAILED, S.CANCELLED): frozenset({"cancel"}),
    (S.PUBLISHED, S.RETRACTED): frozenset({"retract"}),
}

#: States a person can still change the content of (an edit sends the post to ``draft``).
EDITABLE: frozenset[PostState] = frozenset({S.DRAFT, S.IN_REVIEW, S.SCHEDULED, S.HELD, S.FAILED})

#: States a post never leaves.
FINAL: frozenset[PostState] = frozenset({S.CANCELLED, S.RETRACTED})

_NEEDS_APPROVAL = frozenset({S.SCHEDULED, S.PUBLISHING})
_VOIDS_APPROVAL = frozenset({S.DRAFT, S.IN_REVIEW})


def actions_from(state: PostState | str) -> list[str]:
    """The actions possible from ``state``, for messages and menus."""
    current = PostState(state)
    return sorted({a for (src, _), acts in TRANSITIONS.items() if src is current for a in acts})


def is_legal(source: PostState | str, target: PostState | str, action: str) -> bool:
    """Whether ``action`` may move a post from ``source`` to ``target``."""
    return action in TRANSITIONS.get((PostState(source), PostState(target)), frozenset())


def check_version(post: Post, expected_version: int | None) -> None:
    """Raise ``StaleEdit`` when ``post`` is no longer at ``expected_version``."""
    if expected_version is not None and post.version != expected_version:
        raise StaleEdit(
            f"post {post.id} was changed since you read it (it is now at version "
            f"{post.version}, you had version {expected_version}); reload it and try again"
        )


def current_approval(session: Session, post: Post) -> Approval | None:
    """The post's approval if it has one that has not been voided."""
    if post.approval_id is None:
        return None
    approval = session.get(Approval, post.approval_id)
    if approval is None or approval.void_at is not None:
        return None
    return approval


def approval_matches(session: Session, post: Post) -> bool:
    """Whether the post has a live approval for exactly its current content."""
    approval = current_approval(session, post)
    return approval is not None and approval.fingerprint == fingerprint.digest(session, post)


def transition(
    session: Session,
    post: Post,
    target: PostState,
    *,
    action: str,
    actor: str,
    now: datetime,
    reason: str = "",
    detail: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> Post:
    """Move ``post`` to ``target`` by ``action`` and audit it, in the caller's transaction.

    Raises ``IllegalTransition`` when the move is not allowed from the post's state or
    when the post would reach ``scheduled``/``publishing`` without an approval that
    matches its content; ``StaleEdit`` when ``expected_version`` is given and stale.
    """
    check_version(post, expected_version)
    problem = transition_many(
        session,
        [post],
        target,
        action=action,
        actor=actor,
        now=now,
        reason=reason,
        details=[detail],
    )[0]
    if problem is not None:
        raise problem
    return post


def transition_many(
    session: Session,
    posts: Sequence[Post],
    target: PostState,
    *,
    action: str,
    actor: str,
    now: datetime,
    reason: str = "",
    details: Sequence[Mapping[str, Any] | None] | None = None,
) -> list[IllegalTransition | None]:
    """Move each of ``posts`` to ``target`` as :func:`transition` does, with one flush
    and one append to the audit chain for the lot (a daemon claims and records posts a
    batch at a time).

    Returns, for each post in order, ``None`` when it moved, or the ``IllegalTransition``
    that says why it may not; a post that may not move is left exactly as it was.
    """
    if details is None:
        details = [None] * len(posts)
    problems: list[IllegalTransition | None] = []
    moved: list[tuple[Post, dict[str, Any], dict[str, Any]]] = []
    prints = fingerprint.compute_many(session, posts)
    for post, detail, print_ in zip(posts, details, prints, strict=True):
        source = PostState(post.state)
        if not is_legal(source, target, action):
            possible = ", ".join(actions_from(source)) or "nothing: it is final"
            problems.append(
                IllegalTransition(
                    f"post {post.id} is {source.value}: it cannot {action} (possible: {possible})"
                )
            )
            continue
        current = print_.digest
        if target in _NEEDS_APPROVAL:
            approval = current_approval(session, post)
            if approval is None or approval.fingerprint != current:
                problems.append(
                    IllegalTransition(
                        f"post {post.id} cannot become {target.value}: its content does not "
                        "match what was approved"
                    )
                )
                continue
        voided: int | None = None
        if target in _VOIDS_APPROVAL and post.approval_id is not None:
            approval = session.get(Approval, post.approval_id)
            if approval is not None and approval.void_at is None:
                approval.void_at = now
                approval.void_reason = f"{action} by {actor}" + (f": {reason}" if reason else "")
                session.add(approval)
                voided = approval.id
            post.approval_id = None
        before = {"state": source.value, "version": post.version}
        post.state = target.value
        post.state_reason = reason
        post.fingerprint = current
        post.version += 1
        post.updated_at = now
        session.add(post)
        after: dict[str, Any] = {
            "state": target.value,
            "version": post.version,
            "fingerprint": current,
        }
        if reason:
            after["reason"] = reason
        if voided is not None:
            after["voided_approval"] = voided
        if detail:
            after.update(detail)
        moved.append((post, before, after))
        problems.append(None)
    if moved:
        session.flush()
        append_events(
            session,
            [
                EventSpec(
                    at=now,
                    actor=actor,
                    action=f"post.{action}",
                    subject=f"post:{post.id}",
                    before=before,
                    after=after,
                )
                for post, before, after in moved
            ],
        )
    return problems


#: Moves :func:`settle_many` makes: out of ``publishing``, keeping the content (a post
#: being published cannot be edited) and needing no approval check.
_SETTLING = frozenset({S.PUBLISHED, S.FAILED, S.UNKNOWN})

_POSTS: sa.Table = Post.__table__  # type: ignore[attr-defined]
_ACCOUNTS: sa.Table = Account.__table__  # type: ignore[attr-defined]
_APPROVALS: sa.Table = Approval.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Settle:
    """One post to move out of ``publishing`` by :func:`settle_many`: the columns to
    set with it (the same columns for every post of a batch) and what the audit event
    adds."""

    post_id: int
    values: Mapping[str, Any] = field(default_factory=dict)
    detail: Mapping[str, Any] = field(default_factory=dict)


def settle_many(
    session: Session,
    moves: Sequence[Settle],
    target: PostState,
    *,
    action: str,
    actor: str,
    now: datetime,
    lease_owner: str,
    reason: str = "",
) -> list[int]:
    """Move posts in ``publishing`` leased to ``lease_owner`` to ``target`` (published,
    failed or unknown) as :func:`transition` would, in a few statements for the lot.

    For the daemon recording a batch: the posts are not loaded as objects. The lease is
    released, ``values`` set, the version bumped and each move audited. A post no
    longer ``publishing`` under ``lease_owner`` (taken over after its lease ran out) is
    left alone. Returns the ids of the posts moved.
    """
    if target not in _SETTLING or not is_legal(S.PUBLISHING, target, action):
        raise IllegalTransition(f"a post being published cannot {action} to {target.value}")
    if not moves:
        return []
    p = _POSTS.c
    rows = {
        int(row.id): row
        for row in session.execute(
            sa.select(p.id, p.version, p.fingerprint)
            .where(
                one_of(p.id, [m.post_id for m in moves], dialect_of(session)),
                p.state == S.PUBLISHING.value,
                p.lease_owner == lease_owner,
            )
            .with_for_update()
        )
    }
    ours = [m for m in moves if m.post_id in rows]
    if not ours:
        return []
    columns = sorted(ours[0].values)
    if any(sorted(m.values) != columns for m in ours):
        raise ValueError("settle_many: every move must set the same columns")
    update_rows(
        session,
        _POSTS,
        [
            {
                "_id": m.post_id,
                "_version": rows[m.post_id].version,
                **{f"_v_{name}": m.values[name] for name in columns},
            }
            for m in ours
        ],
        {"_id": p.id, "_version": p.version, **{f"_v_{name}": p[name] for name in columns}},
        where=lambda r: [
            p.id == r["_id"],
            p.version == r["_version"],
            p.state == S.PUBLISHING.value,
        ],
        values=lambda r: {
            "state": target.value,
            "state_reason": reason,
            "version": p.version + 1,
            "updated_at": now,
            "lease_owner": None,
            "lease_expires_at": None,
            **{name: r[f"_v_{name}"] for name in columns},
        },
    )
    events = []
    for m in ours:
        row = rows[m.post_id]
        after: dict[str, Any] = {
            "state": target.value,
            "version": row.version + 1,
            "fingerprint": row.fingerprint,
        }
        if reason:
            after["reason"] = reason
        after.update(m.detail)
        events.append(
            EventSpec(
                at=now,
                actor=actor,
                action=f"post.{action}",
                subject=f"post:{m.post_id}",
                before={"state": S.PUBLISHING.value, "version": row.version},
                after=after,
            )
        )
    append_events(session, events)
    return [m.post_id for m in ours]


@dataclass(frozen=True)
class Claim:
    """One post for :func:`claim_many` to move from ``scheduled`` to ``publishing``:
    the version its claimer checked, and whether this try counts as a new attempt."""

    post_id: int
    version: int
    count_attempt: bool = True


@dataclass(frozen=True)
class ClaimedPost:
    """A post as :func:`claim_many` left it in ``publishing``: what sending it needs."""

    id: int
    account_id: int
    text: str
    links: list[str]
    scheduled_at: datetime | None
    not_before: datetime | None
    attempt_count: int
    corrects_post_id: int | None
    fingerprint: str
    version: int


def claim_many(
    session: Session,
    claims: Sequence[Claim],
    *,
    actor: str,
    now: datetime,
    lease_owner: str,
    detail: Mapping[str, Any] | None = None,
) -> dict[int, ClaimedPost | IllegalTransition | StaleEdit]:
    """Move posts from ``scheduled`` to ``publishing`` as :func:`transition` would, in a
    few statements for the lot, for the daemon that leased them (``lease_owner``).

    As :func:`transition` does, each post's fingerprint is computed again from its
    content and must match its live approval; the version is bumped and each move
    audited. A post that is no longer ``scheduled`` under that lease at the version
    the claimer checked, or whose content no longer matches its approval, is left
    exactly as it was and gets the error that says why: ``StaleEdit`` when it changed,
    ``IllegalTransition`` when its content does not match its approval.
    """
    if not claims:
        return {}
    dialect = dialect_of(session)
    p = _POSTS.c
    rows = {
        int(row.id): row
        for row in session.execute(
            sa.select(
                p.id,
                p.version,
                p.state,
                p.lease_owner,
                p.account_id,
                p.text,
                p.links,
                p.scheduled_at,
                p.not_before,
                p.attempt_count,
                p.corrects_post_id,
                p.approval_id,
            )
            .where(one_of(p.id, [c.post_id for c in claims], dialect))
            .with_for_update()
        )
    }
    a = _ACCOUNTS.c
    accounts = {
        int(row.id): row
        for row in session.execute(
            sa.select(a.id, a.platform).where(
                one_of(a.id, sorted({row.account_id for row in rows.values()}), dialect)
            )
        )
    }
    ap = _APPROVALS.c
    approval_ids = sorted({row.approval_id for row in rows.values() if row.approval_id})
    approvals = {
        int(row.id): row
        for row in (
            session.execute(
                sa.select(ap.id, ap.fingerprint, ap.void_at).where(
                    one_of(ap.id, approval_ids, dialect)
                )
            )
            if approval_ids
            else []
        )
    }
    ordered = [rows[c.post_id] for c in claims if c.post_id in rows]
    digests = {
        int(row.id): found.digest
        for row, found in zip(
            ordered, fingerprint.compute_many(session, ordered, accounts=accounts), strict=True
        )
    }
    outcome: dict[int, ClaimedPost | IllegalTransition | StaleEdit] = {}
    going: list[tuple[Claim, Any]] = []
    for claim in claims:
        row = rows.get(claim.post_id)
        if (
            row is None
            or row.state != S.SCHEDULED.value
            or row.lease_owner != lease_owner
            or row.version != claim.version
        ):
            outcome[claim.post_id] = StaleEdit(
                f"post {claim.post_id} changed while it was being claimed"
            )
            continue
        approval = approvals.get(row.approval_id) if row.approval_id else None
        if approval is None or approval.void_at is not None:
            approval = None
        if approval is None or approval.fingerprint != digests[claim.post_id]:
            outcome[claim.post_id] = IllegalTransition(
                f"post {claim.post_id} cannot become {S.PUBLISHING.value}: its content does "
                "not match what was approved"
            )
            continue
        going.append((claim, row))
    if not going:
        return outcome
    update_rows(
        session,
        _POSTS,
        [
            {
                "id": claim.post_id,
                "version": row.version,
                "fingerprint": digests[claim.post_id],
                "count": 1 if claim.count_attempt else 0,
            }
            for claim, row in going
        ],
        {"id": p.id, "version": p.version, "fingerprint": p.fingerprint, "count": p.attempt_count},
        where=lambda r: [
            p.id == r["id"],
            p.version == r["version"],
            p.state == S.SCHEDULED.value,
        ],
        values=lambda r: {
            "state": S.PUBLISHING.value,
            "state_reason": "",
            "fingerprint": r["fingerprint"],
            "version": p.version + 1,
            "attempt_count": p.attempt_count + r["count"],
            "updated_at": now,
        },
    )
    events = []
    for claim, row in going:
        digest = digests[claim.post_id]
        after: dict[str, Any] = {
            "state": S.PUBLISHING.value,
            "version": row.version + 1,
            "fingerprint": digest,
        }
        after.update(detail or {})
        events.append(
            EventSpec(
                at=now,
                actor=actor,
                action="post.claim",
                subject=f"post:{claim.post_id}",
                before={"state": S.SCHEDULED.value, "version": row.version},
                after=after,
            )
        )
        outcome[claim.post_id] = ClaimedPost(
            id=claim.post_id,
            account_id=int(row.account_id),
            text=row.text,
            links=list(row.links or []),
            scheduled_at=row.scheduled_at,
            not_before=row.not_before,
            attempt_count=row.attempt_count + (1 if claim.count_attempt else 0),
            corrects_post_id=row.corrects_post_id,
            fingerprint=digest,
            version=row.version + 1,
        )
    append_events(session, events)
    return outcome


def record_change(
    session: Session,
    post: Post,
    *,
    action: str,
    actor: str,
    now: datetime,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> Post:
    """Audit a change that keeps the post's state (an edit of a draft, a new time...)."""
    post.fingerprint = fingerprint.digest(session, post)
    post.version += 1
    post.updated_at = now
    session.add(post)
    session.flush()
    append_event(
        session,
        at=now,
        actor=actor,
        action=f"post.{action}",
        subject=f"post:{post.id}",
        before=dict(before),
        after={**after, "version": post.version, "fingerprint": post.fingerprint},
    )
    return post
