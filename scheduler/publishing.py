"""Publishing due posts exactly once: claim, re-check, attempt, send, record, reconcile.

Every post goes the same way, whether the daemon's clock fired its job, ``gatepost
daemon --once`` swept the queue, or a crashed daemon's post is taken over:

1. **Claim** it atomically: ``scheduled`` -> ``publishing`` with a lease (owner and
   expiry). On PostgreSQL the candidates are locked with ``FOR UPDATE SKIP LOCKED``; on
   SQLite the transaction starts with ``BEGIN IMMEDIATE`` and a conditional ``UPDATE``
   whose row count says who won. The lifecycle's :func:`~scheduler.lifecycle.transition`
   refuses the move unless the post's approval matches its fingerprint.
2. **Re-check** what may have changed since approval: the gate runs again (a revoked or
   expired asset, a changed policy), the post may be late beyond its account's grace
   period (held for a person), the account may be rate limited or at its posting limit
   (the post waits for the next slot).
3. **Write the attempt** (outcome ``pending``) and commit it *before* the connector is
   called, so a crash after sending leaves a trace.
4. **Call the connector** and **record** the receipt or the classified error.

Exactly once: a post whose last attempt has no known outcome (``pending`` after a crash,
or ``transient``: the request may have reached the platform) is first looked up on the
platform with the same idempotency key. Found: it is recorded as published. Not found:
it is sent. The platform cannot tell: the post goes to ``unknown`` for a person.
Nothing is ever sent twice on a guess.
"""

from __future__ import annotations

import logging
import random
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from connectors.base import AccountConfig, Connector, MediaItem, PublishRequest, Receipt
from connectors.errors import (
    AuthExpired,
    ConnectorError,
    Permanent,
    RateLimited,
    Transient,
    Unsupported,
)
from scheduler import audit, lifecycle
from scheduler.bulk import dialect_of, insert_rows, one_of, update_rows
from scheduler.errors import IllegalTransition, StaleEdit
from scheduler.models import Account, Post, PostState, PublishAttempt
from scheduler.pacing import WorkerLimit
from scheduler.store import Store
from scheduler.times import as_utc, format_local
from scheduler.views import due_time

log = logging.getLogger(__name__)

S = PostState
posts_table: sa.Table = Post.__table__  # type: ignore[attr-defined]
attempts_table: sa.Table = PublishAttempt.__table__  # type: ignore[attr-defined]
_ACCOUNTS: sa.Table = Account.__table__  # type: ignore[attr-defined]

#: The actor named in the audit log for what the daemon does.
DAEMON_ACTOR = "daemon"


class Outcome:
    """Attempt outcomes written to ``publish_attempts.outcome``."""

    PENDING = "pending"  # written before the call; no result recorded (yet)
    PUBLISHED = "published"  # the platform's receipt
    FOUND = "found"  # a lookup showed the post had gone out
    NOT_SENT = "not_sent"  # known not to have gone out (lookup, hand-back, a person)
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"  # may or may not have reached the platform
    FAILED = "failed"  # refused for good
    AUTH_EXPIRED = "auth_expired"
    UNKNOWN = "unknown"  # the platform cannot tell; a person decides
    RESOLVED = "resolved"  # a person said it went out
    EDITED = "edited"  # a correction applied by editing the original in place


STOPPING = "the daemon is stopping; handed back before sending"

#: How many recently published post ids a publisher remembers (see ``_published``).
_REMEMBER_PUBLISHED = 50_000

#: Outcomes after which the platform must be asked before sending again.
AMBIGUOUS = frozenset({Outcome.PENDING, Outcome.TRANSIENT})


# -- retry policy -------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by a number of tries and a deadline.

    The n-th retry waits between half and all of ``min(max_seconds, base * 2**(n-1))``
    ("equal jitter"): spread out so many posts failing together do not come back
    together, yet never retried at once.
    """

    max_attempts: int = 5
    base_seconds: float = 2.0
    max_seconds: float = 300.0

    def delay(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(retry_number - 1, 0))
        return (rng or random).uniform(ceiling / 2, ceiling)

    def next_try(
        self,
        attempts_made: int,
        now: datetime,
        deadline: datetime,
        rng: random.Random | None = None,
    ) -> datetime | None:
        """When to try again after ``attempts_made`` tries, or ``None`` to give up.

        Gives up when the tries are used up or the next try would fall after ``deadline``
        (the end of the post's grace window: a late post is worse than a failed one).
        """
        if attempts_made >= self.max_attempts:
            return None
        at = now + timedelta(seconds=self.delay(attempts_made, rng))
        return at if at <= deadline else None


# -- what callers get back ----------------------------------------------------------------


@dataclass(frozen=True)
class PublishResult:
    """What happened to one post in one pass, for events, logs and tests.

    ``kind`` is one of ``published``, ``failed``, ``unknown``, ``held``, ``in_review``,
    ``waiting`` (rate limit, posting limit or backoff: ``retry_at`` says until when),
    ``handed_back`` (shutdown), ``skipped`` (not ours to publish: not due, not
    scheduled, or claimed by someone else).
    """

    post_id: int
    kind: str
    message: str = ""
    remote_url: str | None = None
    retry_at: datetime | None = None
    account: str = ""
    published_at: datetime | None = None


def idempotency_key(post_id: int, fingerprint: str) -> str:
    """The key that names one post's content on the platform, the same for every try."""
    return f"gatepost-{post_id}-{fingerprint[:16]}"


def effective_due(post: Post) -> datetime | None:
    """When the post may go: its scheduled time, or later if it was told to wait."""
    return due_time(post.scheduled_at, post.not_before)


#: The gate, run again at publish time. Returns ``None`` when the post may go as it was
#: approved, else the reason to send it back to ``in_review``.
GateRecheck = Callable[[Session, Post, Account, datetime], "str | None"]

#: Builds the connector for an account.
ConnectorFactory = Callable[[AccountConfig], Connector]

#: Receives one result at a time (the daemon turns them into events).
ResultSink = Callable[[PublishResult], None]


def account_config(account: Account) -> AccountConfig:
    """The plain description of ``account`` a connector needs (credentials added later)."""
    options = {str(k): str(v) for k, v in (account.options or {}).items()}
    return AccountConfig(
        name=account.name,
        platform=account.platform,
        handle=account.handle,
        api_base=account.api_base,
        options=options,
    )


@dataclass
class _Candidate:
    """A due post as read before the claim (the claim takes it only at this version)."""

    post_id: int
    account_id: int
    gate_reason: str | None
    ambiguous: bool
    version: int
    due: datetime | None
    account: Account


@dataclass(frozen=True)
class _Stop:
    """Why a claimed post may not go now: ``held`` (too late), ``in_review`` (the gate
    or its approval says no) or ``waiting`` (until ``until``)."""

    kind: str
    reason: str
    until: datetime | None = None


@dataclass
class _Claimed:
    post_id: int
    account: Account
    request: PublishRequest
    attempt_id: int | None
    ambiguous: bool
    deadline: datetime
    attempts_made: int
    grace: timedelta
    edit_remote_id: str | None = None
    lease_until: datetime | None = None
    lease_lost: bool = False


@dataclass
class _Sent:
    """A post the platform accepted, waiting to be recorded."""

    item: _Claimed
    attempt_id: int | None
    receipt: Receipt
    outcome: str


@dataclass
class FrequencyRule:
    """Posting limits for one account: at most ``per_hour`` and ``per_day`` posts."""

    per_hour: int | None = None
    per_day: int | None = None


FrequencyLookup = Callable[[Account], FrequencyRule]


def no_frequency_limits(account: Account) -> FrequencyRule:
    """Only the account's own ``max_per_hour``/``max_per_day``."""
    return FrequencyRule(account.max_per_hour, account.max_per_day)


@dataclass
class Publisher:
    """Publishes due posts for one daemon (``owner``) against one store.

    Thread-safe: the daemon runs one ``publish`` per due post on a pool of ``workers``
    threads.
    ``connector_factory`` builds a connector for an account (each thread keeps its own
    so HTTP sessions are never shared between threads). ``gate`` re-runs the gate;
    ``frequency`` gives an account's posting limits; ``on_result`` hears every outcome.
    """

    store: Store
    owner: str
    connector_factory: ConnectorFactory
    gate: GateRecheck | None = None
    frequency: FrequencyLookup = no_frequency_limits
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lease_seconds: float = 120.0
    record_every: int = 25
    workers: int = 1
    on_result: ResultSink | None = None
    now: Callable[[], datetime] | None = None
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._local = threading.local()
        self._paused: dict[int, datetime] = {}
        self._paused_lock = threading.Lock()
        self._in_hand: set[int] = set()
        # Posts this daemon published lately: their date jobs, still queued behind the
        # batch that took them, end at once instead of each looking for due posts.
        # Only published ones: every other outcome can come back to ``scheduled``.
        self._published: set[int] = set()
        self._published_order: deque[int] = deque()
        self.stopping = threading.Event()
        # Threads beyond what keeps the process busy wait for a turn (scheduler.pacing).
        # Two at least, so one thread's database or network wait is another's turn.
        workers = max(1, self.workers)
        self.turns = WorkerLimit(workers, minimum=min(2, workers))

    # -- small helpers ----------------------------------------------------------------

    def _now(self) -> datetime:
        return (self.now or self.store.now)()

    def _emit(self, result: PublishResult) -> PublishResult:
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:  # a listener's bug must not stop publishing
                log.exception("result listener failed")
        return result

    def connector_for(self, account: Account) -> Connector:
        cache: dict[tuple[Any, ...], Connector] | None = getattr(self._local, "connectors", None)
        if cache is None:
            cache = self._local.connectors = {}
        key = (
            account.id,
            account.platform,
            account.api_base,
            repr(sorted((account.options or {}).items())),
        )
        connector = cache.get(key)
        if connector is None:
            connector = cache[key] = self.connector_factory(account_config(account))
        return connector

    def paused_until(self, account_id: int, now: datetime) -> datetime | None:
        """When the account's rate limit lifts, if it is rate limited now."""
        with self._paused_lock:
            until = self._paused.get(account_id)
            if until is not None and until <= now:
                del self._paused[account_id]
                return None
            return until

    def _pause(self, account_id: int, until: datetime) -> None:
        with self._paused_lock:
            current = self._paused.get(account_id)
            if current is None or until > current:
                self._paused[account_id] = until

    # -- the one-post path ------------------------------------------------------------

    def publish(self, post_id: int) -> PublishResult:
        """Publish one post if it is due, scheduled and not claimed by someone else."""
        results = self.publish_many([post_id])
        return results[0] if results else PublishResult(post_id, "skipped", "not due or not ours")

    def publish_due(self, post_id: int | None = None, *, batch: int = 20) -> list[PublishResult]:
        """Publish ``post_id`` (when given) and other posts due now, up to ``batch`` of them.

        Many posts falling due together are claimed, checked and recorded a batch at a
        time, which costs far fewer transactions than one post at a time.
        """
        if self.stopping.is_set():
            return []
        if post_id is not None and self._already_taken(post_id):
            return []  # another thread of this daemon claimed it with its batch (or sent it)
        return self.publish_many([post_id] if post_id is not None else [], fill_to=batch)

    def publish_many(self, post_ids: Sequence[int], *, fill_to: int = 0) -> list[PublishResult]:
        """Claim and publish the given posts (those still due and free), one after another.

        Receipts are recorded together at the end of the batch (or every
        ``record_every`` posts): a crash in between leaves attempts without an outcome,
        which the next daemon settles by lookup, never by sending again.
        """
        if self.stopping.is_set() or not (post_ids or fill_to):
            return []
        with self.turns.turn(self.stopping) as working:
            if not working:
                return []
            if post_ids and fill_to and all(self._already_taken(i) for i in post_ids):
                return []  # taken (or sent) by a thread that worked while this one waited
            return self._publish_many(post_ids, fill_to=fill_to)

    def _publish_many(self, post_ids: Sequence[int], *, fill_to: int) -> list[PublishResult]:
        if fill_to:
            fill_to = self.turns.share(fill_to)  # bigger batches while threads sit out
        now = self._now()
        reserved: set[int] = set()
        try:
            candidates = self._prepare(post_ids, now, fill_to=fill_to, reserved=reserved)
            if not candidates:
                return []
            claimed, results = self._claim(candidates, now)
            # Posts not won go back at once: another thread may take them.
            unclaimed = reserved - {item.post_id for item in claimed}
            with self._paused_lock:
                self._in_hand -= unclaimed
            reserved -= unclaimed
            results.extend(self._send_claimed(claimed))
            return results
        finally:
            with self._paused_lock:
                self._in_hand -= reserved

    def _lease_holds(self, item: _Claimed, remaining: Sequence[_Claimed]) -> bool:
        """Whether the lease on ``item`` is still ours, renewing it (and the leases of the
        rest of the batch) once half of it has gone, before anything is sent.

        A post whose lease ran out may have been taken over by another daemon: sending
        it would risk a second copy, so it is left alone.
        """
        if item.lease_lost:
            return False
        now = self._now()
        if item.lease_until is None:
            return True
        if now < item.lease_until - timedelta(seconds=self.lease_seconds / 2):
            return True
        renewed_until = now + timedelta(seconds=self.lease_seconds)
        ids = [i.post_id for i in remaining if i.lease_until is not None]
        p = posts_table.c
        with _write(self.store) as session:
            session.execute(
                sa.update(posts_table)
                .where(
                    p.id.in_(ids),
                    p.state == S.PUBLISHING.value,
                    p.lease_owner == self.owner,
                    p.lease_expires_at > now,
                )
                .values(lease_expires_at=renewed_until)
                .execution_options(synchronize_session=False)
            )
            kept = {
                int(i)
                for i in session.execute(
                    sa.select(p.id).where(
                        p.id.in_(ids),
                        p.lease_owner == self.owner,
                        p.lease_expires_at == renewed_until,
                    )
                ).scalars()
            }
        for other in remaining:
            if other.lease_until is None:
                continue
            if other.post_id in kept:
                other.lease_until = renewed_until
            else:
                other.lease_lost = True  # gone: never send it
        return not item.lease_lost

    def _already_taken(self, post_id: int) -> bool:
        with self._paused_lock:
            return post_id in self._in_hand or post_id in self._published

    def _remember_published(self, post_ids: Iterable[int]) -> None:
        with self._paused_lock:
            for post_id in post_ids:
                if post_id not in self._published:
                    self._published.add(post_id)
                    self._published_order.append(post_id)
            while len(self._published_order) > _REMEMBER_PUBLISHED:
                self._published.discard(self._published_order.popleft())

    def _send_claimed(self, claimed: list[_Claimed]) -> list[PublishResult]:
        results: list[PublishResult] = []
        sent: list[_Sent] = []
        record_every = self.turns.share(self.record_every)
        for index, item in enumerate(claimed):
            if self.stopping.is_set():
                # Stopping: record what went out, hand the rest back in one transaction.
                if sent:
                    results.extend(self._record_published_many(sent))
                    sent = []
                results.extend(self._hand_back_many(claimed[index:], STOPPING))
                break
            if not self._lease_holds(item, claimed[index:]):
                results.append(self._emit(PublishResult(item.post_id, "skipped", "lease lost")))
                continue
            outcome = self._send(item)
            if isinstance(outcome, _Sent):
                sent.append(outcome)
                if len(sent) >= record_every:
                    results.extend(self._record_published_many(sent))
                    sent = []
            else:
                results.append(outcome)
        if sent:
            results.extend(self._record_published_many(sent))
        return results

    # -- step 1: read and re-check, outside the write lock ----------------------------

    def _prepare(
        self, post_ids: Sequence[int], now: datetime, *, fill_to: int = 0, reserved: set[int]
    ) -> list[_Candidate]:
        """Read the posts (and, with ``fill_to``, other due posts up to that many) and
        run the checks that need no lock: due, free, the gate, an unsettled last try.

        The posts are first reserved in ``reserved`` (and the daemon's set of posts in
        hand), so the daemon's other threads pick other posts instead of checking these
        again only to lose the claim; the caller gives them back."""
        found: list[_Candidate] = []
        with self.store.read() as session:
            wanted = list(dict.fromkeys(post_ids))
            limit = fill_to * 4
            due_now = due_ids(session, now, limit=limit) if fill_to > len(wanted) else []
            with self._paused_lock:
                wanted = [i for i in wanted if i not in self._in_hand]
                if fill_to > len(wanted):
                    free = [i for i in due_now if i not in wanted and i not in self._in_hand]
                    # A few dozen due posts are shared out so every thread has some;
                    # hundreds go in whole batches (fewer transactions per post).
                    share = fill_to
                    if len(due_now) < limit:
                        share = min(fill_to, -(-(len(free) + len(wanted)) // self.turns.limit))
                    wanted = (wanted + free)[: max(share, len(wanted))]
                reserved.update(wanted)
                self._in_hand.update(wanted)
            post_ids = wanted
            if not post_ids:
                return []
            dialect = self.store.dialect
            posts = session.exec(
                select(Post).where(one_of(posts_table.c.id, list(post_ids), dialect))
            ).all()
            account_ids = sorted({p.account_id for p in posts})
            accounts: dict[int, Account] = {
                a.id: a
                for a in session.exec(
                    select(Account).where(one_of(_ACCOUNTS.c.id, account_ids, dialect))
                )
                if a.id is not None
            }
            last_outcomes = last_attempt_outcomes(
                session, [p.id for p in posts if p.id is not None and p.attempt_count]
            )
            ready: list[tuple[Post, Account]] = []
            for post in posts:
                if post.state != S.SCHEDULED.value or post.id is None:
                    continue
                due = effective_due(post)
                if due is None or due > now:
                    continue
                if post.lease_owner and post.lease_expires_at and post.lease_expires_at > now:
                    continue
                account = accounts.get(post.account_id)
                if account is None:
                    continue
                ready.append((post, account))
            reasons = self._gate_reasons(session, ready, now)
            for (post, account), reason in zip(ready, reasons, strict=True):
                assert post.id is not None
                last = last_outcomes.get(post.id) if post.attempt_count else None
                found.append(
                    _Candidate(
                        post_id=post.id,
                        account_id=post.account_id,
                        gate_reason=reason,
                        ambiguous=last in AMBIGUOUS,
                        version=post.version,
                        due=effective_due(post),
                        account=account,
                    )
                )
        return found

    def _gate_reasons(
        self, session: Session, items: Sequence[tuple[Post, Account]], now: datetime
    ) -> list[str | None]:
        """The gate's reason to hold each post (``None``: it may go), for the batch at
        once where the gate can (the daemon's own does)."""
        if self.gate is None:
            return [None] * len(items)
        check_many = getattr(self.gate, "check_many", None)
        if check_many is not None:
            return list(check_many(session, items, now))
        return [self.gate(session, post, account, now) for post, account in items]

    # -- step 2: claim, in one write transaction --------------------------------------

    def _claim(
        self, candidates: list[_Candidate], now: datetime
    ) -> tuple[list[_Claimed], list[PublishResult]]:
        """Lease the candidates still as they were read, stop those that may not go now,
        and move the rest to ``publishing`` with an attempt each, in one transaction.

        The posts that go are not loaded as objects (:func:`lifecycle.claim_many`): what
        was read in :meth:`_prepare` still holds, since the lease is taken only on
        posts still at the version read. Only a post stopped here is loaded.
        """
        lease_until = now + timedelta(seconds=self.lease_seconds)
        by_id = {c.post_id: c for c in candidates}
        claimed: list[_Claimed] = []
        results: list[PublishResult] = []
        with _write(self.store) as session:
            won = claim_due_posts(
                session,
                self.store.dialect,
                owner=self.owner,
                now=now,
                lease_until=lease_until,
                post_ids=list(by_id),
                limit=len(by_id),
                versions={c.post_id: c.version for c in candidates},
            )
            clean: list[_Candidate] = []
            per_account: dict[int, int] = {}
            for post_id in won:
                cand = by_id[post_id]
                pending = per_account.get(cand.account_id, 0)
                stop = self._stop_for(session, cand, now, pending)
                if stop is not None:
                    results.append(self._stop_claimed(session, cand, stop, now))
                    continue
                per_account[cand.account_id] = pending + 1
                clean.append(cand)
            moved = lifecycle.claim_many(
                session,
                [
                    lifecycle.Claim(c.post_id, c.version, count_attempt=not c.ambiguous)
                    for c in clean
                ],
                actor=DAEMON_ACTOR,
                now=now,
                lease_owner=self.owner,
                detail={"daemon": self.owner},
            )
            going: list[tuple[_Candidate, lifecycle.ClaimedPost]] = []
            for cand in clean:
                outcome = moved[cand.post_id]
                if isinstance(outcome, lifecycle.ClaimedPost):
                    going.append((cand, outcome))
                    continue
                post = session.get(Post, cand.post_id)
                assert post is not None
                if isinstance(outcome, StaleEdit):
                    # Changed under the lease just taken (it should not be possible):
                    # leave it for the next pass to look at again.
                    if post.lease_owner == self.owner:
                        _release(post)
                        session.add(post)
                    results.append(
                        PublishResult(cand.post_id, "skipped", "changed while being claimed")
                    )
                    continue
                results.append(
                    _back_to_review(
                        session,
                        post,
                        cand.account,
                        "its content no longer matches what was approved",
                        now,
                    )
                )
            keys = {row.id: idempotency_key(row.id, row.fingerprint) for _, row in going}
            attempt_ids = _new_attempts(
                session,
                [(row.id, keys[row.id]) for cand, row in going if not cand.ambiguous],
                self.owner,
                now,
            )
            media = load_media(session, [row.id for _, row in going])
            for cand, row in going:
                key = keys[row.id]
                request = build_request(
                    session,
                    row,
                    key,
                    now,
                    first_attempt=not cand.ambiguous and row.attempt_count == 1,
                    media=media.get(row.id, ()),
                )
                edit_remote_id = None
                if row.corrects_post_id is not None:
                    from scheduler.corrections import original_remote_id

                    correction = session.get(Post, row.id)
                    assert correction is not None
                    edit_remote_id = original_remote_id(session, correction)
                grace = timedelta(minutes=cand.account.grace_minutes)
                claimed.append(
                    _Claimed(
                        post_id=row.id,
                        account=cand.account,
                        request=request,
                        attempt_id=attempt_ids.get(row.id),
                        ambiguous=cand.ambiguous,
                        deadline=retry_deadline(row, grace, now),
                        attempts_made=row.attempt_count,
                        grace=grace,
                        edit_remote_id=edit_remote_id,
                        lease_until=lease_until,
                    )
                )
        for result in results:
            self._emit(result)
        return claimed, results

    def _stop_for(
        self, session: Session, cand: _Candidate, now: datetime, pending: int
    ) -> _Stop | None:
        """What stops a claimed post before it is sent; ``None``: it may go.
        ``pending``: posts of the same account ahead of it in this claim."""
        account = cand.account
        due = cand.due or now
        if now - due > timedelta(minutes=account.grace_minutes):
            reason = (
                f"was due at {format_local(due, account.timezone)} and it is now "
                f"{format_local(now, account.timezone)}: more than {account.grace_minutes} "
                "minutes late, so it is held for a person to confirm"
            )
            return _Stop("held", reason)
        if cand.gate_reason:
            return _Stop("in_review", cand.gate_reason)
        paused = self.paused_until(account.id or 0, now)
        if paused is not None:
            message = (
                f"{account.name} is rate limited by the platform until "
                f"{format_local(paused, account.timezone)}; waiting"
            )
            return _Stop("waiting", message, until=paused)
        slot = next_frequency_slot(
            session, self.store.dialect, account, self.frequency(account), now, pending=pending
        )
        if slot is not None:
            at, why = slot
            when = format_local(at, account.timezone)
            message = f"{account.name} {why}; waiting for the next slot at {when}"
            return _Stop("waiting", message, until=at)
        return None

    def _stop_claimed(
        self, session: Session, cand: _Candidate, stop: _Stop, now: datetime
    ) -> PublishResult:
        """Carry out ``stop`` on a claimed post: held, back to review, or waiting."""
        post = session.get(Post, cand.post_id)
        assert post is not None
        account = cand.account
        if stop.kind == "in_review":
            return _back_to_review(session, post, account, stop.reason, now)
        _release(post)
        if stop.kind == "held":
            lifecycle.transition(
                session,
                post,
                S.HELD,
                action="misfire",
                actor=DAEMON_ACTOR,
                now=now,
                reason=stop.reason,
            )
            return PublishResult(cand.post_id, "held", stop.reason, account=account.name)
        assert stop.until is not None
        _wait(post, stop.until, stop.reason)
        session.add(post)
        return PublishResult(
            cand.post_id, "waiting", stop.reason, retry_at=stop.until, account=account.name
        )

    # -- steps 3 and 4: attempt, send, record -----------------------------------------

    def _send(self, item: _Claimed) -> PublishResult | _Sent:
        connector: Connector | None = None
        try:
            connector = self.connector_for(item.account)
        except ConnectorError as exc:
            return self._record_error(item, item.attempt_id, exc)
        except Exception as exc:  # a broken account set-up: nothing was sent
            log.exception("cannot build the connector for %s", item.account.name)
            return self._record_error(
                item, item.attempt_id, ConnectorError(f"cannot set up the connector: {exc!r}")
            )
        if item.ambiguous:
            resolved = self._reconcile_claimed(item, connector)
            if resolved is not None:
                return resolved
            with _write(self.store) as session:
                post = session.get(Post, item.post_id)
                assert post is not None
                if post.state != S.PUBLISHING.value or post.lease_owner != self.owner:
                    return self._emit(PublishResult(item.post_id, "skipped", "lease lost"))
                item.attempt_id = _new_attempt(
                    session, item.post_id, item.request.idempotency_key, self.owner, self._now()
                )
                post.attempt_count += 1
                item.attempts_made = post.attempt_count
                session.add(post)
        if self.stopping.is_set():
            return self._hand_back(item, STOPPING)
        try:
            if item.edit_remote_id:
                # A correction: edit the original in place where the platform can.
                try:
                    edited = connector.edit(item.edit_remote_id, item.request)
                except Unsupported:
                    pass
                else:
                    return _Sent(item, item.attempt_id, edited, Outcome.EDITED)
            receipt = connector.publish(item.request)
        except ConnectorError as exc:
            return self._record_error(item, item.attempt_id, exc)
        except Exception as exc:  # a connector bug: treat like a lost answer
            log.exception("connector %s raised an unexpected error", item.account.platform)
            return self._record_error(
                item, item.attempt_id, Transient(f"unexpected connector error: {exc!r}")
            )
        return _Sent(item, item.attempt_id, receipt, Outcome.PUBLISHED)

    def _reconcile_claimed(self, item: _Claimed, connector: Connector) -> PublishResult | None:
        """Ask the platform about a post whose last try has no known outcome.

        Returns a result when the question settled the post (found it, or cannot tell),
        ``None`` when the platform shows it was not published (so it may be sent).
        """
        try:
            receipt = connector.lookup(item.request)
        except ConnectorError as exc:
            return self._cannot_tell(item, exc)
        if receipt is not None:
            return self._record_published(item, None, receipt, Outcome.FOUND)
        now = self._now()
        with _write(self.store) as session:
            _close_open_attempts(
                session, item.post_id, Outcome.NOT_SENT, now, "lookup: not on the platform"
            )
        return None

    def _cannot_tell(self, item: _Claimed, exc: ConnectorError) -> PublishResult:
        """The lookup failed. Transient and time left: try later; otherwise ``unknown``."""
        now = self._now()
        if isinstance(exc, Transient):
            retry_at = self.retry.next_try(item.attempts_made, now, item.deadline, self.rng)
            if retry_at is not None:
                message = f"could not ask the platform whether it went out ({exc}); asking again"
                return self._wait_claimed(item, retry_at, message, bump=True)
        reason = (
            f"the platform could not say whether it went out ({exc}); check "
            f"{item.account.name} and resolve it"
        )
        return self._to_unknown(item, reason)

    def _to_unknown(self, item: _Claimed, reason: str) -> PublishResult:
        now = self._now()
        with _write(self.store) as session:
            post = session.get(Post, item.post_id)
            assert post is not None
            _close_open_attempts(session, item.post_id, Outcome.UNKNOWN, now, reason)
            if post.state != S.PUBLISHING.value or post.lease_owner != self.owner:
                return self._emit(PublishResult(item.post_id, "skipped", "lease lost"))
            _release(post)
            post.last_error = reason
            lifecycle.transition(
                session,
                post,
                S.UNKNOWN,
                action="outcome-unknown",
                actor=DAEMON_ACTOR,
                now=now,
                reason=reason,
            )
        return self._emit(PublishResult(item.post_id, "unknown", reason, account=item.account.name))

    def _record_published(
        self, item: _Claimed, attempt_id: int | None, receipt: Receipt, outcome: str
    ) -> PublishResult:
        return self._record_published_many([_Sent(item, attempt_id, receipt, outcome)])[0]

    def _record_published_many(self, sent: list[_Sent]) -> list[PublishResult]:
        """Record receipts in one transaction: attempt outcome, remote id, ``published``."""
        now = self._now()
        results: list[PublishResult] = []
        with _write(self.store) as session:
            _finish_attempts(
                session,
                [(d.attempt_id, d.outcome, d.receipt) for d in sent if d.attempt_id is not None],
                now,
            )
            for done in sent:
                if done.attempt_id is None:
                    _close_open_attempts(
                        session, done.item.post_id, done.outcome, now, "", receipt=done.receipt
                    )
            # Publishing -> published needs no approval: it was checked at the claim.
            moved = set(
                lifecycle.settle_many(
                    session,
                    [
                        lifecycle.Settle(
                            d.item.post_id,
                            values={
                                "remote_id": d.receipt.remote_id,
                                "remote_url": d.receipt.url,
                                "published_at": d.receipt.published_at.astimezone(UTC),
                                "last_error": "",
                            },
                            detail={
                                "remote_url": d.receipt.url,
                                "daemon": self.owner,
                                "how": d.outcome,
                            },
                        )
                        for d in sent
                    ],
                    S.PUBLISHED,
                    action="published",
                    actor=DAEMON_ACTOR,
                    now=now,
                    lease_owner=self.owner,
                )
            )
            p = posts_table.c
            corrections_of = (
                set(
                    session.execute(
                        sa.select(p.id).where(
                            one_of(p.id, sorted(moved), self.store.dialect),
                            p.corrects_post_id.is_not(None),
                        )
                    ).scalars()
                )
                if moved
                else set()
            )
            for done in sent:
                item, receipt = done.item, done.receipt
                if item.post_id not in moved:
                    # Someone took over after our lease ran out; they settle it by lookup.
                    results.append(
                        PublishResult(item.post_id, "skipped", "lease lost after sending")
                    )
                    continue
                if item.post_id in corrections_of:
                    from scheduler import corrections

                    post = session.get(Post, item.post_id)
                    assert post is not None
                    if done.outcome == Outcome.EDITED:
                        corrections.record_edit_in_place(session, post, now, self.owner)
                    else:
                        corrections.record_replacement_published(session, post)
                message = {
                    Outcome.PUBLISHED: "published",
                    Outcome.EDITED: "published by editing the original in place",
                }.get(done.outcome, "found on the platform after its answer was lost")
                results.append(
                    PublishResult(
                        item.post_id,
                        "published",
                        message,
                        remote_url=receipt.url,
                        account=item.account.name,
                        published_at=receipt.published_at.astimezone(UTC),
                    )
                )
        self._remember_published(r.post_id for r in results if r.kind == "published")
        for result in results:
            self._emit(result)
        return results

    def _record_error(
        self, item: _Claimed, attempt_id: int | None, exc: ConnectorError
    ) -> PublishResult:
        now = self._now()
        account = item.account
        if isinstance(exc, RateLimited):
            retry_at = max(exc.retry_at.astimezone(UTC), now + timedelta(seconds=1))
            self._pause(account.id or 0, retry_at)
            self._finish(attempt_id, Outcome.RATE_LIMITED, now, str(exc))
            message = (
                f"{account.name} is rate limited by the platform until "
                f"{format_local(retry_at, account.timezone)}; waiting"
            )
            return self._wait_claimed(item, retry_at, message)
        if isinstance(exc, Transient):
            self._finish(attempt_id, Outcome.TRANSIENT, now, str(exc))
            next_try = self.retry.next_try(item.attempts_made, now, item.deadline, self.rng)
            if next_try is not None:
                when = format_local(next_try, account.timezone)
                message = f"temporary failure ({exc}); retrying at {when}"
                return self._wait_claimed(item, next_try, message)
            # Out of tries: the last answer was lost, so ask before calling it failed.
            return self._give_up(item, exc)
        if isinstance(exc, AuthExpired):
            self._finish(attempt_id, Outcome.AUTH_EXPIRED, now, str(exc))
            reason = (
                f"reconnect account {account.name}: the platform no longer accepts its credentials"
            )
            result = self._fail(item, reason)
            self.fail_account(account, reason)
            return result
        if isinstance(exc, Permanent):
            self._finish(attempt_id, Outcome.FAILED, now, str(exc))
            return self._fail(item, f"refused by {account.platform}: {exc.reason}")
        # Unsupported, CredentialsError and anything else from a connector: never sent.
        self._finish(attempt_id, Outcome.FAILED, now, str(exc))
        return self._fail(item, f"{exc.title}: {exc}")

    def _give_up(self, item: _Claimed, exc: ConnectorError) -> PublishResult:
        try:
            receipt = self.connector_for(item.account).lookup(item.request)
        except ConnectorError as lookup_error:
            return self._to_unknown(
                item,
                f"gave up after {item.attempts_made} tries ({exc}) and the platform could not "
                f"say whether it went out ({lookup_error}); check {item.account.name} "
                "and resolve it",
            )
        if receipt is not None:
            return self._record_published(item, None, receipt, Outcome.FOUND)
        return self._fail(item, f"gave up after {item.attempts_made} tries: {exc}")

    def _finish(self, attempt_id: int | None, outcome: str, now: datetime, error: str) -> None:
        if attempt_id is None:
            return
        with _write(self.store) as session:
            _finish_attempt(session, attempt_id, outcome, now, error=error)

    def _fail(self, item: _Claimed, reason: str) -> PublishResult:
        now = self._now()
        with _write(self.store) as session:
            post = session.get(Post, item.post_id)
            assert post is not None
            if post.state != S.PUBLISHING.value or post.lease_owner != self.owner:
                return self._emit(PublishResult(item.post_id, "skipped", "lease lost"))
            _release(post)
            post.last_error = reason
            lifecycle.transition(
                session, post, S.FAILED, action="fail", actor=DAEMON_ACTOR, now=now, reason=reason
            )
        return self._emit(PublishResult(item.post_id, "failed", reason, account=item.account.name))

    def _wait_claimed(
        self, item: _Claimed, until: datetime, message: str, *, bump: bool = False
    ) -> PublishResult:
        """Hand a claimed post back to ``scheduled`` with ``not_before = until``."""
        now = self._now()
        with _write(self.store) as session:
            post = session.get(Post, item.post_id)
            assert post is not None
            if post.state != S.PUBLISHING.value or post.lease_owner != self.owner:
                return self._emit(PublishResult(item.post_id, "skipped", "lease lost"))
            _release(post)
            if bump:
                post.attempt_count += 1
            post.last_error = message
            lifecycle.transition(
                session,
                post,
                S.SCHEDULED,
                action="hand-back",
                actor=DAEMON_ACTOR,
                now=now,
                reason=message,
            )
            post.not_before = until
            session.add(post)
        return self._emit(
            PublishResult(
                item.post_id, "waiting", message, retry_at=until, account=item.account.name
            )
        )

    def _hand_back(self, item: _Claimed, message: str) -> PublishResult:
        return self._hand_back_many([item], message)[0]

    def _hand_back_many(self, items: Sequence[_Claimed], message: str) -> list[PublishResult]:
        """Give claimed posts that were not sent back to ``scheduled`` (on shutdown)."""
        now = self._now()
        results: list[PublishResult] = []
        with _write(self.store) as session:
            _prefetch(session, [item.post_id for item in items])
            for item in items:
                if item.attempt_id is not None:
                    _finish_attempt(session, item.attempt_id, Outcome.NOT_SENT, now, error=message)
                post = session.get(Post, item.post_id)
                assert post is not None
                if post.state != S.PUBLISHING.value or post.lease_owner != self.owner:
                    results.append(PublishResult(item.post_id, "skipped", "lease lost"))
                    continue
                _release(post)
                lifecycle.transition(
                    session,
                    post,
                    S.SCHEDULED,
                    action="hand-back",
                    actor=DAEMON_ACTOR,
                    now=now,
                    reason=message,
                )
                results.append(
                    PublishResult(item.post_id, "handed_back", message, account=item.account.name)
                )
        for result in results:
            self._emit(result)
        return results

    # -- whole accounts -----------------------------------------------------------------

    def fail_account(self, account: Account, reason: str) -> list[int]:
        """Fail every scheduled post of ``account`` with ``reason`` (its credentials expired)."""
        now = self._now()
        failed: list[int] = []
        with _write(self.store) as session:
            ids = claim_account_posts(
                session,
                self.store.dialect,
                owner=self.owner,
                account_id=account.id or 0,
                lease_until=now + timedelta(seconds=self.lease_seconds),
            )
            for post_id in ids:
                post = session.get(Post, post_id)
                assert post is not None
                try:
                    lifecycle.transition(
                        session, post, S.PUBLISHING, action="claim", actor=DAEMON_ACTOR, now=now
                    )
                except IllegalTransition:
                    _release(post)
                    session.add(post)
                    continue
                _release(post)
                post.last_error = reason
                lifecycle.transition(
                    session,
                    post,
                    S.FAILED,
                    action="fail",
                    actor=DAEMON_ACTOR,
                    now=now,
                    reason=reason,
                )
                failed.append(post_id)
        for post_id in failed:
            self._emit(PublishResult(post_id, "failed", reason, account=account.name))
        return failed

    # -- taking over posts whose daemon died ---------------------------------------------

    def reconcile_stale(self, *, limit: int = 100) -> list[PublishResult]:
        """Settle posts left in ``publishing`` by a daemon whose lease has run out.

        Each is claimed with a fresh lease, then looked up on the platform: found, it is
        recorded as published; not found, it is published now (or held if it is now too
        late); the platform cannot tell, it goes to ``unknown``.
        """
        if self.stopping.is_set():
            return []
        now = self._now()
        lease_until = now + timedelta(seconds=self.lease_seconds)
        taken: list[_Claimed] = []
        with _write(self.store) as session:
            with self._paused_lock:
                in_hand = set(self._in_hand)
            ids = take_over_stale(
                session,
                self.store.dialect,
                owner=self.owner,
                now=now,
                lease_until=lease_until,
                limit=limit,
                exclude=in_hand,
            )
            for post_id in ids:
                post = session.get(Post, post_id)
                assert post is not None
                account = session.get(Account, post.account_id)
                assert account is not None
                key = idempotency_key(post_id, post.fingerprint)
                request = build_request(session, post, key, now)
                grace = timedelta(minutes=account.grace_minutes)
                taken.append(
                    _Claimed(
                        post_id=post_id,
                        account=account,
                        request=request,
                        attempt_id=None,
                        ambiguous=True,
                        deadline=retry_deadline(post, grace, now),
                        lease_until=lease_until,
                        attempts_made=post.attempt_count,
                        grace=grace,
                    )
                )
        results: list[PublishResult] = []
        for item in taken:
            results.append(self._settle_stale(item))
        return results

    def _settle_stale(self, item: _Claimed) -> PublishResult:
        try:
            connector = self.connector_for(item.account)
        except ConnectorError as exc:
            return self._to_unknown(item, f"cannot ask the platform ({exc}); resolve it by hand")
        settled = self._reconcile_claimed(item, connector)
        if settled is not None:
            return settled
        # The platform shows it never went out (its open attempts are closed as such).
        now = self._now()
        with _write(self.store) as session:
            post = session.get(Post, item.post_id)
            assert post is not None
            if post.state != S.PUBLISHING.value or post.lease_owner != self.owner:
                return self._emit(PublishResult(item.post_id, "skipped", "lease lost"))
            _release(post)
            message = "taken over from a daemon that stopped; it had not gone out"
            lifecycle.transition(
                session,
                post,
                S.SCHEDULED,
                action="hand-back",
                actor=DAEMON_ACTOR,
                now=now,
                reason=message,
            )
        # Publish it now through the ordinary path (misfire, gate and limits apply).
        result = self.publish(item.post_id)
        return result

    # -- sweeping everything due (``--once`` and the safety net) -------------------------

    def due_post_ids(self, *, limit: int = 500) -> list[int]:
        """Ids of scheduled posts due now and not leased, oldest first."""
        now = self._now()
        with self.store.read() as session:
            return due_ids(session, now, limit=limit)


# -- statements shared by the paths above ---------------------------------------------------


def _due_clause(now: datetime) -> sa.ColumnElement[bool]:
    p = posts_table.c
    return sa.and_(
        p.state == S.SCHEDULED.value,
        p.scheduled_at <= now,
        sa.or_(p.not_before.is_(None), p.not_before <= now),
        sa.or_(p.lease_owner.is_(None), p.lease_expires_at.is_(None), p.lease_expires_at < now),
    )


def due_ids(session: Session, now: datetime, *, limit: int) -> list[int]:
    """Ids of scheduled posts due at ``now`` and free to claim, oldest first."""
    p = posts_table.c
    rows = session.execute(
        sa.select(p.id).where(_due_clause(now)).order_by(p.scheduled_at, p.id).limit(limit)
    )
    return [int(r) for r in rows.scalars()]


def last_attempt_outcomes(session: Session, post_ids: Sequence[int]) -> dict[int, str]:
    """The outcome of the latest attempt of each post that has one."""
    if not post_ids:
        return {}
    a = attempts_table.c
    latest = (
        sa.select(sa.func.max(a.id)).where(a.post_id.in_(list(post_ids))).group_by(a.post_id)
    ).scalar_subquery()
    rows = session.execute(sa.select(a.post_id, a.outcome).where(a.id.in_(latest)))
    return {int(post_id): str(outcome) for post_id, outcome in rows}


def claim_due_posts(
    session: Session,
    dialect: str,
    *,
    owner: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    post_ids: Sequence[int] | None = None,
    versions: Mapping[int, int] | None = None,
) -> list[int]:
    """Lease up to ``limit`` due posts to ``owner`` inside the caller's write transaction.

    With ``versions`` (post id -> version), only posts still at that version are taken:
    what the caller read of them still holds.

    PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` picks rows no other daemon is
    claiming, then an ``UPDATE`` leases them. SQLite: the transaction began with
    ``BEGIN IMMEDIATE`` and a conditional ``UPDATE`` (the post is still scheduled, due
    and unleased) leases them; the rows it changed are the ones won. The state change
    to ``publishing`` is left to :func:`scheduler.lifecycle.transition`.
    Returns the ids won, oldest first.
    """
    p = posts_table.c
    where = _due_clause(now)
    if post_ids is not None:
        where = sa.and_(where, one_of(p.id, list(post_ids), dialect))
    if dialect == "postgresql":
        pick = sa.select(p.id, p.version).where(where).order_by(p.scheduled_at, p.id).limit(limit)
        ids = [
            int(row.id)
            for row in session.execute(pick.with_for_update(skip_locked=True))
            if versions is None or versions.get(int(row.id)) == row.version
        ]
        if not ids:
            return []
        session.execute(
            sa.update(posts_table)
            .where(one_of(p.id, ids, dialect))
            .values(lease_owner=owner, lease_expires_at=lease_until)
        )
        return ids
    if versions is not None:
        where = sa.and_(where, sa.tuple_(p.id, p.version).in_(sorted(versions.items())))
    pick = sa.select(p.id).where(where).order_by(p.scheduled_at, p.id).limit(limit)
    candidates = [int(i) for i in session.execute(pick).scalars()]
    if not candidates:
        return []
    token = f"{owner}"
    result = session.execute(
        sa.update(posts_table)
        .where(p.id.in_(candidates), where)
        .values(lease_owner=token, lease_expires_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        return []
    won = session.execute(
        sa.select(p.id)
        .where(
            p.id.in_(candidates),
            p.state == S.SCHEDULED.value,
            p.lease_owner == token,
            p.lease_expires_at == lease_until,
        )
        .order_by(p.scheduled_at, p.id)
    )
    return [int(i) for i in won.scalars()]


def claim_account_posts(
    session: Session, dialect: str, *, owner: str, account_id: int, lease_until: datetime
) -> list[int]:
    """Lease every scheduled, unleased post of one account (to fail them all)."""
    p = posts_table.c
    where = sa.and_(
        p.account_id == account_id,
        p.state == S.SCHEDULED.value,
        sa.or_(
            p.lease_owner.is_(None), p.lease_expires_at.is_(None), p.lease_expires_at < lease_until
        ),
    )
    pick = sa.select(p.id).where(where).order_by(p.id)
    if dialect == "postgresql":
        ids = [int(i) for i in session.execute(pick.with_for_update(skip_locked=True)).scalars()]
    else:
        ids = [int(i) for i in session.execute(pick).scalars()]
    if ids:
        session.execute(
            sa.update(posts_table)
            .where(p.id.in_(ids))
            .values(lease_owner=owner, lease_expires_at=lease_until)
            .execution_options(synchronize_session=False)
        )
    return ids


def take_over_stale(
    session: Session,
    dialect: str,
    *,
    owner: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    exclude: Iterable[int] = (),
) -> list[int]:
    """Lease to ``owner`` up to ``limit`` posts stuck in ``publishing`` with an expired
    lease (leaving out ``exclude``: posts this daemon is still working on)."""
    p = posts_table.c
    stale = sa.and_(
        p.state == S.PUBLISHING.value,
        sa.or_(p.lease_expires_at.is_(None), p.lease_expires_at < now),
    )
    skip = sorted(exclude)
    if skip:
        stale = sa.and_(stale, p.id.not_in(skip))
    pick = sa.select(p.id).where(stale).order_by(p.id).limit(limit)
    if dialect == "postgresql":
        ids = [int(i) for i in session.execute(pick.with_for_update(skip_locked=True)).scalars()]
        if ids:
            session.execute(
                sa.update(posts_table)
                .where(p.id.in_(ids))
                .values(lease_owner=owner, lease_expires_at=lease_until)
            )
        return ids
    candidates = [int(i) for i in session.execute(pick).scalars()]
    if not candidates:
        return []
    result = session.execute(
        sa.update(posts_table)
        .where(p.id.in_(candidates), stale)
        .values(lease_owner=owner, lease_expires_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        return []
    won = session.execute(
        sa.select(p.id).where(
            p.id.in_(candidates), p.lease_owner == owner, p.lease_expires_at == lease_until
        )
    )
    return sorted(int(i) for i in won.scalars())


def next_frequency_slot(
    session: Session,
    dialect: str,
    account: Account,
    rule: FrequencyRule,
    now: datetime,
    *,
    pending: int = 0,
) -> tuple[datetime, str] | None:
    """When the account may post next if it is at a posting limit now, and why.

    Counts posts published in the last hour and day plus those being published, and
    ``pending`` more that this transaction is about to claim. Returns ``None`` when
    the account is under its limits.
    """
    if rule.per_hour is None and rule.per_day is None:
        return None
    p = posts_table.c
    if dialect == "postgresql":
        # Serialise claims for this account across daemons while counting.
        session.execute(
            sa.select(Account.__table__.c.id)  # type: ignore[attr-defined]
            .where(Account.__table__.c.id == account.id)  # type: ignore[attr-defined]
            .with_for_update()
        )
    for limit, span, label in (
        (rule.per_hour, timedelta(hours=1), "hour"),
        (rule.per_day, timedelta(days=1), "day"),
    ):
        if limit is None:
            continue
        since = now - span
        times = [
            t
            for t in session.execute(
                sa.select(p.published_at)
                .where(
                    p.account_id == account.id,
                    sa.or_(
                        sa.and_(
                            p.state.in_([S.PUBLISHED.value, S.RETRACTED.value]),
                            p.published_at > since,
                        ),
                        p.state == S.PUBLISHING.value,
                    ),
                )
                .order_by(p.published_at)
            ).scalars()
        ] + [None] * pending
        if len(times) >= limit:
            published = sorted(t for t in times if t is not None)
            oldest = published[len(published) - limit] if len(published) >= limit else now
            at = max(oldest + span, now + timedelta(seconds=1))
            return at, f"has reached its limit of {limit} posts per {label}"
    return None


def retry_deadline(post: Post | lifecycle.ClaimedPost, grace: timedelta, now: datetime) -> datetime:
    """The last moment a transient failure may be retried: the end of the grace window.

    A post that was told to wait past its window (rate limit, posting limit) gets a new
    window from now, so the wait it was asked to make does not use up its retries.
    """
    deadline = (post.scheduled_at or now) + grace
    return deadline if deadline > now else now + grace


@contextmanager
def _write(store: Store) -> Iterator[Session]:
    """A write transaction without autoflush: each lifecycle transition flushes the post
    once, instead of once more for every query it makes along the way. Its audit events
    are appended last, just before the commit, so the chain's head stays locked only
    briefly (on PostgreSQL every writer of every daemon waits for it).

    On SQLite the daemon's threads queue for the write lock here, in the process:
    SQLite's own busy handler makes a waiting writer sleep and poll (for up to tens of
    milliseconds at a time), which wastes most of the time when many threads write.
    """
    lock = _sqlite_write_lock(store)
    with lock or nullcontext(), store.write() as session:
        session.autoflush = False
        session.info[audit.DEFER] = True
        yield session
        session.flush()
        audit.append_deferred(session)


# One lock per store for as long as it lives. (Keyed by id() they outlived their store,
# and a new store given the same id shared a lock with whatever still held the old one.)
_write_locks: weakref.WeakKeyDictionary[Store, threading.Lock] = weakref.WeakKeyDictionary()
_write_locks_guard = threading.Lock()


def _sqlite_write_lock(store: Store) -> threading.Lock | None:
    if not store.is_sqlite:
        return None
    with _write_locks_guard:
        lock = _write_locks.get(store)
        if lock is None:
            lock = _write_locks[store] = threading.Lock()
        return lock


def _prefetch(session: Session, post_ids: Sequence[int]) -> None:
    """Load the posts, their accounts and their approvals into the session in a query
    each, so the per-post ``session.get`` calls of the lifecycle find them in its
    identity map."""
    if not post_ids:
        return
    from scheduler.models import Approval

    posts = session.exec(select(Post).where(Post.id.in_(list(post_ids)))).all()  # type: ignore[union-attr]
    approval_ids = [p.approval_id for p in posts if p.approval_id is not None]
    approved = (
        session.exec(select(Approval).where(Approval.id.in_(approval_ids))).all()  # type: ignore[union-attr]
        if approval_ids
        else []
    )
    account_ids = sorted({p.account_id for p in posts})
    accounts = session.exec(select(Account).where(Account.id.in_(account_ids))).all()  # type: ignore[union-attr]
    # The identity map holds objects weakly: keep them for the transaction.
    session.info.setdefault("prefetched", []).extend([*posts, *approved, *accounts])


def _back_to_review(
    session: Session, post: Post, account: Account, reason: str, now: datetime
) -> PublishResult:
    """Send a claimed post back to review: the gate, or its approval, says it may not go."""
    _release(post)
    lifecycle.transition(
        session, post, S.IN_REVIEW, action="recheck", actor=DAEMON_ACTOR, now=now, reason=reason
    )
    return PublishResult(post.id or 0, "in_review", reason, account=account.name)


def _release(post: Post) -> None:
    post.lease_owner = None
    post.lease_expires_at = None


def _wait(post: Post, until: datetime, message: str) -> None:
    _release(post)
    post.not_before = until
    post.last_error = message


def _new_attempt(session: Session, post_id: int, key: str, owner: str, now: datetime) -> int:
    result = session.execute(
        sa.insert(attempts_table).values(
            post_id=post_id,
            idempotency_key=key,
            worker=owner[:200],
            started_at=now,
            outcome=Outcome.PENDING,
            error="",
        )
    )
    pk = result.inserted_primary_key  # type: ignore[attr-defined]
    assert pk is not None
    return int(pk[0])


def _new_attempts(
    session: Session, posts: Sequence[tuple[int, str]], owner: str, now: datetime
) -> dict[int, int]:
    """Start an attempt for each (post id, idempotency key), in one statement; returns
    each post's attempt id."""
    if not posts:
        return {}
    a = attempts_table.c
    rows = insert_rows(
        session,
        attempts_table,
        [
            {
                "post_id": post_id,
                "idempotency_key": key,
                "worker": owner[:200],
                "started_at": now,
                "outcome": Outcome.PENDING,
                "error": "",
            }
            for post_id, key in posts
        ],
        returning=[a.id, a.post_id],
    )
    return {int(row.post_id): int(row.id) for row in rows}


def _finish_attempt(
    session: Session,
    attempt_id: int,
    outcome: str,
    now: datetime,
    *,
    receipt: Receipt | None = None,
    error: str = "",
) -> None:
    values: dict[str, Any] = {"outcome": outcome, "finished_at": now, "error": error[:2000]}
    if receipt is not None:
        values["remote_id"] = receipt.remote_id
        values["remote_url"] = receipt.url
    session.execute(
        sa.update(attempts_table).where(attempts_table.c.id == attempt_id).values(**values)
    )


def _finish_attempts(
    session: Session, finished: Sequence[tuple[int, str, Receipt]], now: datetime
) -> None:
    """Record the receipt of each (attempt id, outcome, receipt) in one statement."""
    if not finished:
        return
    a = attempts_table.c
    update_rows(
        session,
        attempts_table,
        [
            {"id": attempt_id, "outcome": outcome, "remote_id": r.remote_id, "remote_url": r.url}
            for attempt_id, outcome, r in finished
        ],
        {"id": a.id, "outcome": a.outcome, "remote_id": a.remote_id, "remote_url": a.remote_url},
        where=lambda r: [a.id == r["id"]],
        values=lambda r: {
            "outcome": r["outcome"],
            "finished_at": now,
            "error": "",
            "remote_id": r["remote_id"],
            "remote_url": r["remote_url"],
        },
    )


def _close_open_attempts(
    session: Session,
    post_id: int,
    outcome: str,
    now: datetime,
    error: str,
    *,
    receipt: Receipt | None = None,
) -> None:
    """Give every attempt of the post without a settled outcome the one now known."""
    values: dict[str, Any] = {"outcome": outcome, "finished_at": now, "error": error[:2000]}
    if receipt is not None:
        values["remote_id"] = receipt.remote_id
        values["remote_url"] = receipt.url
    a = attempts_table.c
    session.execute(
        sa.update(attempts_table)
        .where(a.post_id == post_id, a.outcome.in_(sorted(AMBIGUOUS)))
        .values(**values)
    )


def build_request(
    session: Session,
    post: Post | lifecycle.ClaimedPost,
    key: str,
    now: datetime,
    *,
    first_attempt: bool = False,
    media: tuple[MediaItem, ...] | None = None,
) -> PublishRequest:
    """The connector request for ``post``: its text, images (with alt text) and links.

    ``attempted_at`` is when the first attempt with this key started (``now`` for the
    first attempt), so a lookup by text does not mistake an older identical post for
    this one. ``media`` may be given when already loaded (:func:`load_media`).
    """
    if media is None:
        media = load_media(session, [post.id or 0]).get(post.id or 0, ())
    first = None
    if not first_attempt:
        first = session.execute(
            sa.select(sa.func.min(attempts_table.c.started_at)).where(
                attempts_table.c.idempotency_key == key
            )
        ).scalar()
    attempted_at = as_utc(first) if isinstance(first, datetime) else now
    return PublishRequest(
        text=post.text,
        idempotency_key=key,
        media=media,
        links=tuple(post.links or ()),
        attempted_at=attempted_at,
    )


def load_media(session: Session, post_ids: Sequence[int]) -> dict[int, tuple[MediaItem, ...]]:
    """The images of each post (bytes, alt text, type), in order, in one query."""
    from scheduler.models import Asset, AssetBlob, PostAsset

    if not post_ids:
        return {}
    links: sa.Table = PostAsset.__table__  # type: ignore[attr-defined]
    rows = session.exec(
        select(PostAsset, Asset, AssetBlob)
        .join(Asset, Asset.id == PostAsset.asset_id)  # type: ignore[arg-type]
        .join(AssetBlob, AssetBlob.asset_id == Asset.id)  # type: ignore[arg-type]
        .where(one_of(links.c.post_id, list(post_ids), dialect_of(session)))
        .order_by(PostAsset.post_id, PostAsset.position)  # type: ignore[arg-type]
    ).all()
    found: dict[int, list[MediaItem]] = {}
    for link, asset, blob in rows:
        found.setdefault(link.post_id, []).append(
            MediaItem(
                data=blob.data,
                alt=link.alt_text,
                mime=asset.mime,
                filename=asset.filename or "image",
            )
        )
    return {post_id: tuple(items) for post_id, items in found.items()}


def iter_chunks(items: Iterable[int], size: int) -> Iterable[list[int]]:
    """Split ``items`` into lists of at most ``size``."""
    chunk: list[int] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
