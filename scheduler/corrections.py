"""Correcting mistakes promptly: retracting or correcting a published post.

The guidance asks for "correcting any mistakes promptly". Two requests, both audited:

- **retract** (:func:`request_retraction`): the daemon deletes the post on the platform
  and marks it ``retracted``.
- **correct** (:func:`request_correction`): the corrected text becomes a new post that
  goes through the gate and approval like any other (``corrects_post_id`` links it to
  the original). When it is due the daemon edits the original in place where the
  platform allows it (Mastodon, Facebook); elsewhere it publishes the corrected post
  and then deletes the original, which becomes ``retracted``.

The daemon carries them out with the publishing discipline: it leases the request,
records that it is about to call the platform, calls it, and records the result. A
delete or an edit repeated after a crash does no harm (deleting twice finds nothing the
second time, and a lookup confirms the post is gone), so nothing is ever published twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from connectors.errors import AuthExpired, ConnectorError, Permanent, Transient
from scheduler import lifecycle, services
from scheduler.audit import append_event
from scheduler.errors import IllegalTransition, InvalidInput, NotFound, PermissionDenied
from scheduler.models import Account, Post, PostCorrection, PostState, Role
from scheduler.publishing import PublishResult, build_request, idempotency_key
from scheduler.store import Store

log = logging.getLogger(__name__)

RETRACT = "retract"
CORRECT = "correct"
corrections_table: sa.Table = PostCorrection.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CorrectionView:
    """A retraction or correction as the CLI and the TUI show it."""

    id: int
    post_id: int
    kind: str
    state: str
    replacement_post_id: int | None
    reason: str
    requested_by: str
    requested_at: datetime
    method: str
    error: str


def _view(row: PostCorrection) -> CorrectionView:
    assert row.id is not None and row.requested_at is not None
    return CorrectionView(
        id=row.id,
        post_id=row.post_id,
        kind=row.kind,
        state=row.state,
        replacement_post_id=row.replacement_post_id,
        reason=row.reason,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        method=row.method,
        error=row.error,
    )


def _published_post(session: Any, actor: Any, post_id: int, what: str) -> Post:
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound(f"there is no post {post_id}")
    if actor.login != post.author and not actor.at_least(Role.APPROVER):
        raise PermissionDenied(f"only the post's author or an approver can {what} post {post_id}")
    if post.state != PostState.PUBLISHED.value:
        raise IllegalTransition(
            f"post {post_id} is {post.state}: only a published post can be {what}ed"
        )
    pending = session.exec(
        select(PostCorrection).where(
            PostCorrection.post_id == post_id, PostCorrection.state == "requested"
        )
    ).first()
    if pending is not None:
        raise InvalidInput(
            f"post {post_id} already has a {pending.kind} in progress (request {pending.id})"
        )
    published: Post = post
    return published


def request_retraction(store: Store, actor: Any, post_id: int, *, reason: str) -> CorrectionView:
    """Ask the daemon to delete published post ``post_id`` from its platform.

    Raises ``InvalidInput`` without a reason or with a request already in progress,
    ``IllegalTransition`` when the post is not published, ``PermissionDenied`` unless the
    actor wrote the post or may approve.
    """
    if not reason.strip():
        raise InvalidInput("say why the post is retracted")
    now = store.now()
    with store.write() as session:
        _published_post(session, actor, post_id, "retract")
        row = PostCorrection(
            post_id=post_id,
            kind=RETRACT,
            reason=reason.strip(),
            requested_by=actor.login,
            requested_at=now,
            state="requested",
            error="",
        )
        session.add(row)
        session.flush()
        append_event(
            session,
            at=now,
            actor=actor.login,
            action="post.retract-requested",
            subject=f"post:{post_id}",
            after={"correction": row.id, "reason": row.reason},
        )
        return _view(row)


def request_correction(
    store: Store, actor: Any, post_id: int, *, text: str, reason: str
) -> CorrectionView:
    """Write the corrected text of published post ``post_id`` as a new post and submit it.

    The new post (linked by ``corrects_post_id``) goes through the gate and, where the
    account or the findings ask for it, an approver; the daemon then edits the original
    in place or replaces it. Raises as :func:`request_retraction`, and ``InvalidInput``
    for an empty text.
    """
    if not text.strip():
        raise InvalidInput("give the corrected text")
    if not reason.strip():
        raise InvalidInput("say what the correction fixes")
    with store.read() as session:
        original = _published_post(session, actor, post_id, "correct")
        account_id = original.account_id
        links = list(original.links or [])
    # A minute ahead: the services refuse a time that is not in the future.
    at = store.now() + timedelta(minutes=1)
    draft = services.create_post(store, actor, account=account_id, text=text, at=at, links=links)
    now = store.now()
    with store.write() as session:
        replacement = session.get(Post, draft.id)
        assert replacement is not None
        replacement.corrects_post_id = post_id
        session.add(replacement)
        row = PostCorrection(
            post_id=post_id,
            kind=CORRECT,
            replacement_post_id=draft.id,
            reason=reason.strip(),
            requested_by=actor.login,
            requested_at=now,
            state="requested",
            error="",
        )
        session.add(row)
        session.flush()
        append_event(
            session,
            at=now,
            actor=actor.login,
            action="post.correct-requested",
            subject=f"post:{post_id}",
            after={"correction": row.id, "replacement": draft.id, "reason": row.reason},
        )
        view = _view(row)
    services.submit_post(store, actor, draft.id)
    return view


def list_corrections(store: Store, *, post_id: int | None = None) -> list[CorrectionView]:
    """Corrections, newest first (of one post when ``post_id`` is given)."""
    with store.read() as session:
        query = select(PostCorrection).order_by(col(PostCorrection.id).desc())
        if post_id is not None:
            query = query.where(PostCorrection.post_id == post_id)
        return [_view(row) for row in session.exec(query).all()]


def correction_for_replacement(session: Any, post: Post) -> PostCorrection | None:
    """The open correction that ``post`` is the corrected text of, if any."""
    if post.corrects_post_id is None:
        return None
    row: PostCorrection | None = session.exec(
        select(PostCorrection).where(
            PostCorrection.replacement_post_id == post.id, PostCorrection.state == "requested"
        )
    ).first()
    return row


# -- what the daemon does ---------------------------------------------------------------


def carry_out_due(daemon: Any) -> list[PublishResult]:
    """Carry out every correction that can go now: retractions, and corrections whose
    replacement has been published (deleting the original). Returns what happened."""
    store: Store = daemon.store
    publisher = daemon.publisher
    now = daemon.publisher._now()
    c = corrections_table.c
    with store.read() as session:
        open_ids = [
            int(i)
            for i in session.execute(
                sa.select(c.id).where(
                    c.state == "requested",
                    sa.or_(c.lease_expires_at.is_(None), c.lease_expires_at < now),
                )
            ).scalars()
        ]
    results: list[PublishResult] = []
    for correction_id in open_ids:
        if publisher.stopping.is_set():
            break
        result = _carry_out(daemon, correction_id)
        if result is not None:
            results.append(result)
            daemon.emit(_event(daemon, result))
    return results


def _event(daemon: Any, result: PublishResult) -> Any:
    from scheduler.daemon import DaemonEvent

    return DaemonEvent(
        result.kind,
        result.message,
        post_id=result.post_id,
        account=result.account,
        daemon_id=daemon.id,
    )


def _carry_out(daemon: Any, correction_id: int) -> PublishResult | None:
    store: Store = daemon.store
    publisher = daemon.publisher
    now = publisher._now()
    c = corrections_table.c
    with store.write() as session:
        row = session.get(PostCorrection, correction_id)
        if row is None or row.state != "requested":
            return None
        original = session.get(Post, row.post_id)
        assert original is not None
        if row.kind == CORRECT:
            replacement = (
                session.get(Post, row.replacement_post_id) if row.replacement_post_id else None
            )
            if replacement is None or replacement.state == PostState.CANCELLED.value:
                row.state, row.error, row.finished_at = (
                    "failed",
                    "the corrected post was cancelled",
                    now,
                )
                session.add(row)
                return PublishResult(row.post_id, "failed", f"correction {row.id}: {row.error}")
            if replacement.state != PostState.PUBLISHED.value or row.method != "replace":
                return None  # still on its way through the gate, or edited in place
        if original.state != PostState.PUBLISHED.value:
            row.state, row.finished_at = "done", now
            row.error = f"the post was already {original.state}"
            session.add(row)
            return None
        won = session.execute(
            sa.update(corrections_table)
            .where(
                c.id == correction_id,
                c.state == "requested",
                sa.or_(c.lease_expires_at.is_(None), c.lease_expires_at < now),
            )
            .values(
                lease_owner=daemon.id,
                lease_expires_at=now + timedelta(seconds=publisher.lease_seconds),
                attempted_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            return None
        account = session.get(Account, original.account_id)
        assert account is not None
        request = build_request(
            session, original, idempotency_key(original.id or 0, original.fingerprint), now
        )
        remote_id = original.remote_id
        post_id = row.post_id
        session.expunge(account)
        kind, reason, requested_by, replacement_id = (
            row.kind,
            row.reason,
            row.requested_by,
            row.replacement_post_id,
        )
    # The attempt is on record (attempted_at, lease): now call the platform.
    try:
        connector = publisher.connector_for(account)
        if remote_id:
            try:
                connector.delete(remote_id)
            except Permanent:
                # Already gone? Ask before calling it a failure.
                if connector.lookup(request) is not None:
                    raise
    except (Transient, AuthExpired, ConnectorError) as exc:
        return _record_failure(daemon, correction_id, account.name, post_id, exc)
    return _record_deleted(
        daemon, correction_id, account.name, kind, reason, requested_by, replacement_id
    )


def _record_failure(
    daemon: Any, correction_id: int, account: str, post_id: int, exc: ConnectorError
) -> PublishResult:
    now = daemon.publisher._now()
    with daemon.store.write() as session:
        row = session.get(PostCorrection, correction_id)
        assert row is not None
        row.lease_owner = None
        row.lease_expires_at = None
        row.error = str(exc)
        if isinstance(exc, Transient):
            session.add(row)  # try again at the next sync
            return PublishResult(
                post_id,
                "waiting",
                f"{row.kind} of post {post_id}: {exc}; trying again",
                account=account,
            )
        row.state = "failed"
        row.finished_at = now
        if isinstance(exc, AuthExpired):
            row.error = f"reconnect account {account}: {exc}"
        session.add(row)
        append_event(
            session,
            at=now,
            actor="daemon",
            action=f"post.{row.kind}-failed",
            subject=f"post:{post_id}",
            after={"correction": row.id, "error": row.error},
        )
        return PublishResult(
            post_id, "failed", f"{row.kind} of post {post_id} failed: {row.error}", account=account
        )


def _record_deleted(
    daemon: Any,
    correction_id: int,
    account: str,
    kind: str,
    reason: str,
    requested_by: str,
    replacement_id: int | None,
) -> PublishResult:
    now = daemon.publisher._now()
    with daemon.store.write() as session:
        row = session.get(PostCorrection, correction_id)
        assert row is not None
        post = session.get(Post, row.post_id)
        assert post is not None
        why = (
            reason
            if kind == RETRACT
            else f"corrected: replaced by post {replacement_id} ({reason})"
        )
        if post.state == PostState.PUBLISHED.value:
            lifecycle.transition(
                session,
                post,
                PostState.RETRACTED,
                action="retract",
                actor=requested_by,
                now=now,
                reason=why,
                detail={"correction": row.id, "daemon": daemon.id, "replaced_by": replacement_id},
            )
        row.state = "done"
        row.method = row.method or "delete"
        row.finished_at = now
        row.lease_owner = None
        row.lease_expires_at = None
        session.add(row)
        post_id = row.post_id
    kind_word = "retracted" if kind == RETRACT else "corrected"
    message = f"post {post_id} {kind_word}: deleted from {account}" + (
        f", replaced by post {replacement_id}" if replacement_id else ""
    )
    return PublishResult(post_id, kind_word, message, account=account)


def record_edit_in_place(session: Any, post: Post, now: datetime, daemon_id: str) -> None:
    """Inside the transaction that records ``post`` published by editing its original:
    close the correction and audit the change on the original."""
    row = correction_for_replacement(session, post)
    if row is None:
        return
    row.method = "edit"
    row.state = "done"
    row.finished_at = now
    session.add(row)
    append_event(
        session,
        at=now,
        actor=row.requested_by,
        action="post.corrected",
        subject=f"post:{row.post_id}",
        after={"correction": row.id, "edited_in_place_by": post.id, "daemon": daemon_id},
    )


def record_replacement_published(session: Any, post: Post) -> None:
    """Inside the transaction that records ``post`` published as a new post: the original
    is now to be deleted by the daemon."""
    row = correction_for_replacement(session, post)
    if row is not None and not row.method:
        row.method = "replace"
        session.add(row)


def original_remote_id(session: Any, post: Post) -> str | None:
    """For a corrected post with an open correction: the original's id on the platform."""
    row = correction_for_replacement(session, post)
    if row is None:
        return None
    original = session.get(Post, row.post_id)
    if original is None or original.state != PostState.PUBLISHED.value:
        return None
    remote_id: str | None = original.remote_id
    return remote_id


__all__ = [
    "CORRECT",
    "RETRACT",
    "CorrectionView",
    "carry_out_due",
    "list_corrections",
    "request_correction",
    "request_retraction",
]
