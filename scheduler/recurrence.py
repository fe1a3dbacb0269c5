"""Recurring posts: repeat rules as wall-clock times in the account's IANA time zone.

A rule is kept as a five-field cron expression (``minute hour day month weekday``) and
always read in the account's zone, never as a fixed UTC offset, so "every Monday at
09:00" stays at 09:00 in London in both summer and winter. People may also write the
friendlier forms below, which are turned into cron:

    daily 09:00                 ->  0 9 * * *
    weekdays 08:30              ->  30 8 * * mon-fri
    weekly mon 09:00            ->  0 9 * * mon       ("every monday 09:00" too)
    weekly mon,thu 12:15        ->  15 12 * * mon,thu
    monthly 1 10:00             ->  0 10 1 * *

Around the clock changes: a wall time that happens twice (the clocks go back) fires once,
at its first occurrence; one that does not exist (the clocks go forward) fires at the
same instant the cron library gives, which is the wall time read with the winter offset
(01:30 on the spring-forward night in London goes out at 02:30 BST).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from scheduler.errors import InvalidInput

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    **{d: d for d in _DAYS},
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
    "tues": "tue",
    "thur": "thu",
    "thurs": "thu",
}
_TIME = r"(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)"
_FRIENDLY = [
    (re.compile(rf"^(?:daily|every day)\s+(?:at\s+)?{_TIME}$"), "daily"),
    (re.compile(rf"^(?:weekdays|every weekday)\s+(?:at\s+)?{_TIME}$"), "weekdays"),
    (
        re.compile(rf"^(?:weekly|every)\s+(?P<days>[a-z]+(?:\s*,\s*[a-z]+)*)\s+(?:at\s+)?{_TIME}$"),
        "weekly",
    ),
    (
        re.compile(
            rf"^monthly\s+(?:on\s+)?(?:day\s+)?(?P<day>[1-9]|[12]\d|3[01])\s+(?:at\s+)?{_TIME}$"
        ),
        "monthly",
    ),
]


@dataclass(frozen=True)
class RepeatRule:
    """A parsed repeat rule: its cron expression and how to say it to a person."""

    cron: str
    description: str


def parse_repeat(text: str) -> RepeatRule:
    """Read a repeat rule: a five-field cron expression or one of the friendly forms.

    Raises ``InvalidInput`` naming the accepted forms when ``text`` is neither.
    """
    cleaned = " ".join(text.strip().lower().split())
    for pattern, kind in _FRIENDLY:
        m = pattern.match(cleaned)
        if not m:
            continue
        hour, minute = int(m["hour"]), int(m["minute"])
        at = f"{hour:02d}:{minute:02d}"
        if kind == "daily":
            return RepeatRule(f"{minute} {hour} * * *", f"every day at {at}")
        if kind == "weekdays":
            return RepeatRule(f"{minute} {hour} * * mon-fri", f"every weekday at {at}")
        if kind == "monthly":
            return RepeatRule(
                f"{minute} {hour} {int(m['day'])} * *", f"monthly on day {m['day']} at {at}"
            )
        days = []
        for raw in re.split(r"\s*,\s*", m["days"]):
            day = _DAY_NAMES.get(raw)
            if day is None:
                raise InvalidInput(f"unknown day {raw!r} in repeat rule {text!r} (use mon..sun)")
            days.append(day)
        return RepeatRule(
            f"{minute} {hour} * * {','.join(days)}", f"every {', '.join(days)} at {at}"
        )
    fields = cleaned.split(" ")
    if len(fields) == 5:
        try:
            CronTrigger.from_crontab(cleaned, timezone=UTC)
        except ValueError as exc:
            raise InvalidInput(f"cannot read repeat rule {text!r}: {exc}") from None
        return RepeatRule(cleaned, f"cron {cleaned}")
    raise InvalidInput(
        f"cannot read repeat rule {text!r}: use a cron expression such as '0 9 * * mon', "
        "or 'daily 09:00', 'weekdays 08:30', 'weekly mon 09:00', 'monthly 1 10:00'"
    )


def cron_trigger(cron: str, tz_name: str) -> CronTrigger:
    """The APScheduler trigger for ``cron`` read in the IANA zone ``tz_name``."""
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"unknown time zone {tz_name!r}") from exc
    try:
        return CronTrigger.from_crontab(cron, timezone=tz)
    except ValueError as exc:
        raise InvalidInput(f"cannot read repeat rule {cron!r}: {exc}") from None


def _is_second_of_repeated_hour(moment: datetime) -> bool:
    """True for the second reading of a wall time that happens twice (clocks went back)."""
    if not moment.fold:
        return False
    first = moment.replace(fold=0)
    return first.utcoffset() != moment.utcoffset()


def next_occurrence(cron: str, tz_name: str, after: datetime) -> datetime | None:
    """The first occurrence of ``cron`` (wall-clock in ``tz_name``) strictly after ``after``.

    Returns an aware UTC datetime, or ``None`` when the rule never fires again.
    A wall time repeated when the clocks go back counts once.
    """
    trigger = cron_trigger(cron, tz_name)
    tz = ZoneInfo(tz_name)
    # Step in UTC: arithmetic on a local time drops ``fold`` and can step backwards.
    start = (after.astimezone(UTC) + timedelta(seconds=1)).astimezone(tz)
    for _ in range(4):
        candidate = trigger.get_next_fire_time(None, start)
        if candidate is None:
            return None
        if not _is_second_of_repeated_hour(candidate):
            found: datetime = candidate.astimezone(UTC)
            return found
        start = (candidate.astimezone(UTC) + timedelta(seconds=1)).astimezone(tz)
    return None  # pragma: no cover - a rule cannot land in a repeated hour four times running


def occurrences(cron: str, tz_name: str, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` occurrences after ``after`` (UTC), for previews and tests."""
    found: list[datetime] = []
    moment = after
    while len(found) < count:
        nxt = next_occurrence(cron, tz_name, moment)
        if nxt is None:
            break
        found.append(nxt)
        moment = nxt
    return found


# -- series in the database: what the daemon and the command line call --------------------


def set_repeat(store: Any, actor: Any, post_id: int, rule_text: str) -> RepeatRule:
    """Make post ``post_id`` the first occurrence of a series repeating by ``rule_text``.

    Each later occurrence is created by the daemon as a post of its own (same account,
    text, links and images) and sent through the gate like any other: it is scheduled
    when nothing holds it back, or waits in review. The series stops when its latest
    occurrence is cancelled. Raises ``InvalidInput`` for a bad rule, ``NotFound`` and
    ``PermissionDenied`` as the services do.
    """
    from sqlmodel import select

    from scheduler.audit import append_event
    from scheduler.errors import NotFound, PermissionDenied
    from scheduler.models import Account, Post, Role

    rule = parse_repeat(rule_text)
    with store.write() as session:
        post = session.get(Post, post_id)
        if post is None:
            raise NotFound(f"there is no post {post_id}")
        if actor.login != post.author and not actor.at_least(Role.APPROVER):
            raise PermissionDenied(
                f"only the post's author or an approver can repeat post {post_id}"
            )
        account = session.get(Account, post.account_id)
        assert account is not None
        cron_trigger(rule.cron, account.timezone)  # the zone must be readable
        if post.series_id:
            others = session.exec(
                select(Post).where(Post.series_id == post.series_id, Post.id != post.id)
            ).all()
            for other in others:
                other.repeat_rule = None
                session.add(other)
        post.series_id = post.series_id or uuid.uuid4().hex[:16]
        post.repeat_rule = rule.cron
        session.add(post)
        append_event(
            session,
            at=store.now(),
            actor=actor.login,
            action="post.repeat",
            subject=f"post:{post.id}",
            after={"series": post.series_id, "rule": rule.cron, "described": rule.description},
        )
    return rule


def _series_author(session: Any, login: str) -> Any:
    from sqlmodel import select

    from scheduler.models import Role, User
    from scheduler.views import Actor

    user = session.exec(select(User).where(User.login == login)).first()
    if user is None or not user.active:
        return None
    return Actor(user.login, Role(user.role))


def top_up_series(daemon: Any, series_id: str) -> int | None:
    """Create the next occurrence of ``series_id`` once its latest one is due.

    The repeat rule is passed from the latest occurrence to the new one with a
    conditional update, so when several daemons do this at once only one occurrence is
    made. Returns the new post's id, or ``None`` when nothing was needed.
    """
    import sqlalchemy as sa
    from sqlmodel import select

    from scheduler import services
    from scheduler.errors import GatepostError
    from scheduler.models import Account, Post, PostAsset, PostState

    store = daemon.store
    now = store.now()
    with store.read() as session:
        latest = session.exec(
            select(Post)
            .where(Post.series_id == series_id, Post.repeat_rule.is_not(None))  # type: ignore[union-attr]
            .order_by(Post.scheduled_at.desc())  # type: ignore[union-attr]
        ).first()
        if latest is None or latest.state == PostState.CANCELLED.value:
            return None
        if latest.scheduled_at is None or latest.scheduled_at > now:
            return None
        account = session.get(Account, latest.account_id)
        assert account is not None
        author = _series_author(session, latest.author)
        attachments = [
            (link.asset_id, link.alt_text)
            for link in session.exec(
                select(PostAsset).where(PostAsset.post_id == latest.id).order_by(PostAsset.position)  # type: ignore[arg-type]
            ).all()
        ]
        source = (latest.id, latest.text, list(latest.links or []), latest.repeat_rule)
        last_time = latest.scheduled_at
        account_id, account_name, tz_name = account.id, account.name, account.timezone
    latest_id, text, links, cron = source
    assert cron is not None
    if author is None:
        daemon.emit(
            _event("error", f"series {series_id}: its author can no longer post", latest_id)
        )
        return None
    at = next_occurrence(cron, tz_name, max(last_time, now))
    if at is None:
        return None
    try:
        created = services.create_post(
            store,
            author,
            account=account_id,
            text=text,
            at=at,
            links=links,
            attachments=attachments,
        )
    except GatepostError as exc:
        daemon.emit(
            _event("error", f"series {series_id}: next occurrence not created ({exc})", latest_id)
        )
        return None
    posts = Post.__table__.c  # type: ignore[attr-defined]
    with store.write() as session:
        moved = session.execute(
            sa.update(Post.__table__)  # type: ignore[attr-defined]
            .where(posts.id == latest_id, posts.repeat_rule == cron)
            .values(repeat_rule=None)
        )
        if moved.rowcount == 1:
            session.execute(
                sa.update(Post.__table__)  # type: ignore[attr-defined]
                .where(posts.id == created.id)
                .values(series_id=series_id, repeat_rule=cron)
            )
    if moved.rowcount != 1:
        services.cancel_post(
            store, author, created.id, reason="another daemon made this occurrence"
        )
        return None
    try:
        view = services.submit_post(store, author, created.id)
        state = view.state.value
    except GatepostError as exc:
        state = f"draft ({exc})"
    local = at.astimezone(ZoneInfo(tz_name))
    daemon.emit(
        _event(
            "occurrence",
            f"next occurrence of series {series_id} created as post {created.id} for "
            f"{local:%Y-%m-%d %H:%M %Z}: {state}",
            created.id,
            account_name,
        )
    )
    return created.id


def sync_series(daemon: Any) -> None:
    """Keep one cron job per live series and top up any whose latest occurrence is due."""
    import sqlalchemy as sa

    from scheduler.models import Account, Post, PostState

    p = Post.__table__.c  # type: ignore[attr-defined]
    a = Account.__table__.c  # type: ignore[attr-defined]
    with daemon.store.read() as session:
        rows = session.execute(
            sa.select(p.series_id, p.repeat_rule, a.timezone)
            .join(Account.__table__, a.id == p.account_id)  # type: ignore[attr-defined]
            .where(p.repeat_rule.is_not(None), p.state != PostState.CANCELLED.value)
        ).all()
    live = {str(series): (str(cron), str(tz)) for series, cron, tz in rows if series}
    from scheduler.daemon import series_job

    for series_id in daemon.clock.series_ids() - set(live):
        daemon.clock.forget_series(series_id)
    for series_id, (cron, tz) in live.items():
        if series_id not in daemon.clock.series_ids():
            daemon.clock.schedule_series(series_job, [daemon.id, series_id], series_id, cron, tz)
        top_up_series(daemon, series_id)


def _event(kind: str, message: str, post_id: int | None, account: str = "") -> Any:
    from scheduler.daemon import DaemonEvent

    return DaemonEvent(kind, message, post_id=post_id, account=account)


__all__ = [
    "RepeatRule",
    "cron_trigger",
    "next_occurrence",
    "occurrences",
    "parse_repeat",
    "set_repeat",
    "sync_series",
    "top_up_series",
]
