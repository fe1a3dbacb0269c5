"""Seeding a real database with accounts and approved, scheduled posts for daemon tests.

Posts reach ``scheduled`` through the lifecycle's own transitions with a real approval
bound to their fingerprint, so the daemon meets them exactly as it would after an
approver signed them off. Times may be in the past (the services refuse that for people,
but a daemon that was down must cope with it).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from scheduler import fingerprint, lifecycle
from scheduler.models import Account, Approval, Post, PostState, PublishAttempt
from scheduler.store import Store, sqlite_url

AUTHOR = "ada"
APPROVER = "grace"


def sqlite_store(tmp_path: Path, name: str = "gatepost.sqlite3") -> Store:
    return Store(sqlite_url(tmp_path / name))


def pg_url() -> str | None:
    return os.environ.get("GATEPOST_TEST_PG_URL") or None


def add_account(
    store: Store,
    name: str,
    *,
    platform: str = "ledger",
    api_base: str | None = None,
    timezone: str = "Europe/London",
    **fields: Any,
) -> int:
    now = datetime.now(UTC)
    with store.write() as session:
        account = Account(
            name=name,
            platform=platform,
            handle=f"@{name}",
            timezone=timezone,
            api_base=api_base,
            created_at=now,
            **fields,
        )
        session.add(account)
        session.flush()
        assert account.id is not None
        return account.id


def add_scheduled_post(
    store: Store,
    account_id: int,
    text: str,
    at: datetime,
    *,
    series_id: str | None = None,
    repeat_rule: str | None = None,
) -> int:
    """An approved post scheduled at ``at`` (aware), through the real transitions."""
    now = datetime.now(UTC)
    with store.write() as session:
        post = Post(
            account_id=account_id,
            author=AUTHOR,
            text=text,
            scheduled_at=at,
            state=PostState.DRAFT.value,
            created_at=now,
            updated_at=now,
            series_id=series_id,
            repeat_rule=repeat_rule,
        )
        session.add(post)
        session.flush()
        lifecycle.transition(
            session, post, PostState.IN_REVIEW, action="submit", actor=AUTHOR, now=now
        )
        approval = Approval(
            post_id=post.id,
            approver=APPROVER,
            fingerprint=fingerprint.digest(session, post),
            at=now,
        )
        session.add(approval)
        session.flush()
        post.approval_id = approval.id
        lifecycle.transition(
            session, post, PostState.SCHEDULED, action="approve", actor=APPROVER, now=now
        )
        assert post.id is not None
        return post.id


def add_many_scheduled_posts(
    store: Store, account_ids: list[int], count: int, at: datetime, *, prefix: str = "post"
) -> list[int]:
    """``count`` approved posts spread over the accounts, all due at ``at``."""
    return [
        add_scheduled_post(store, account_ids[i % len(account_ids)], f"{prefix} {i}", at)
        for i in range(count)
    ]


def post_row(store: Store, post_id: int) -> Post:
    with store.read() as session:
        post = session.get(Post, post_id)
        assert post is not None
        session.expunge(post)
        return post


def attempts(store: Store, post_id: int) -> list[PublishAttempt]:
    from sqlmodel import select

    with store.read() as session:
        rows = session.exec(
            select(PublishAttempt)
            .where(PublishAttempt.post_id == post_id)
            .order_by(PublishAttempt.id)  # type: ignore[arg-type]
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def states(store: Store) -> dict[int, str]:
    from sqlmodel import select

    with store.read() as session:
        return {p.id: p.state for p in session.exec(select(Post)).all() if p.id is not None}


class SettableClock:
    """A clock the test moves by hand (aware UTC)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        from datetime import timedelta

        self.moment += timedelta(**delta)
        return self.moment


def pg_store(schema: str) -> Store:
    """A store on the PostgreSQL test database, in a fresh schema of its own."""
    import sqlalchemy as sa

    url = pg_url()
    assert url, "GATEPOST_TEST_PG_URL is not set"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    return Store(url, engine_options={"connect_args": {"options": f"-csearch_path={schema}"}})


def drop_pg_schema(store: Store, schema: str) -> None:
    import sqlalchemy as sa

    store.dispose()
    url = pg_url()
    assert url
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    admin.dispose()


def seed_posts(
    store: Store, base_url: str, times: list[datetime], *, accounts: int = 50, tag: str
) -> list[int]:
    """Approved, scheduled posts at ``times`` over ``accounts`` new ledger accounts, in bulk.

    Rows are written directly (thousands a second): each post with an approval bound to
    its fingerprint, as the services make them, but without their audit events. Returns
    the post ids.
    """
    all_ids: list[int] = []
    now = datetime.now(UTC)
    a_tab = Account.__table__  # type: ignore[attr-defined]
    p_tab = Post.__table__  # type: ignore[attr-defined]
    ap_tab = Approval.__table__  # type: ignore[attr-defined]
    with store.write() as session:
        rows = []
        for i in range(accounts):
            result = session.execute(
                sa.insert(a_tab).values(
                    name=f"{tag}-{i}",
                    platform="ledger",
                    handle=f"@{tag}{i}",
                    kind="official",
                    timezone="Europe/London",
                    api_base=base_url,
                    options={},
                    require_approval=False,
                    grace_minutes=15,
                    active=True,
                    created_at=now,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            rows.append((int(key[0]), f"{tag}-{i}"))
    chunk = 2000
    for start in range(0, len(times), chunk):
        with store.write() as session:
            posts = []
            for offset, at in enumerate(times[start : start + chunk]):
                n = start + offset
                account_id, _name = rows[n % accounts]
                text = f"{tag} post {n}: what's on today"
                # The real fingerprint of the post as it will stand (no images yet).
                digest = fingerprint.digest(
                    session,
                    Post(account_id=account_id, text=text, links=[], scheduled_at=at),
                )
                posts.append(
                    {
                        "account_id": account_id,
                        "author": "bench",
                        "edited_by": "bench",
                        "text": text,
                        "links": [],
                        "scheduled_at": at,
                        "state": "scheduled",
                        "state_reason": "",
                        "fingerprint": digest,
                        "version": 3,
                        "created_at": now,
                        "updated_at": now,
                        "attempt_count": 0,
                        "last_error": "",
                    }
                )
            first = session.execute(
                sa.select(sa.func.coalesce(sa.func.max(p_tab.c.id), 0))
            ).scalar()
            session.execute(sa.insert(p_tab), posts)
            ids = [
                int(i)
                for i in session.execute(
                    sa.select(p_tab.c.id).where(p_tab.c.id > first).order_by(p_tab.c.id)
                ).scalars()
            ]
            session.execute(
                sa.insert(ap_tab),
                [
                    {
                        "post_id": post_id,
                        "approver": "bench-approver",
                        "fingerprint": post["fingerprint"],
                        "automatic": False,
                        "comment": "",
                        "at": now,
                    }
                    for post_id, post in zip(ids, posts, strict=True)
                ],
            )
            all_ids += ids
            approvals = dict(
                session.execute(
                    sa.select(ap_tab.c.post_id, ap_tab.c.id).where(ap_tab.c.post_id.in_(ids))
                ).all()
            )
            session.execute(
                sa.update(p_tab)
                .where(p_tab.c.id == sa.bindparam("pid"))
                .values(approval_id=sa.bindparam("aid")),
                [{"pid": pid, "aid": approvals[pid]} for pid in ids],
            )
    return all_ids
