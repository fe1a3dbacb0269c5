"""Posts by when they go out: the calendar's window onto the queue.

A week of one account is a range query on the (account, scheduled_at) index, however
many posts the queue holds.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from scheduler import services
from scheduler.errors import InvalidInput, NotFound
from scheduler.models import Account, Post
from scheduler.store import Store
from scheduler.views import PostView

#: More posts than this in one window is not a calendar any more.
MAX_WINDOW_POSTS = 2000


def posts_between(
    store: Store,
    *,
    start: datetime,
    end: datetime,
    account: str | int | None = None,
    limit: int = MAX_WINDOW_POSTS,
) -> list[PostView]:
    """Posts scheduled in ``[start, end)`` (aware datetimes), earliest first.

    ``account`` is a name or id (``None``: every account). Raises ``InvalidInput`` for
    naive times or an empty window, ``NotFound`` for an unknown account.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("a calendar window needs times with a zone")
    if end <= start:
        raise InvalidInput("the window ends before it starts")
    with store.read() as session:
        query = select(Post).where(col(Post.scheduled_at) >= start, col(Post.scheduled_at) < end)
        if account is not None:
            if isinstance(account, int) or str(account).isdigit():
                target = session.get(Account, int(account))
            else:
                target = session.exec(select(Account).where(Account.name == account)).first()
            if target is None:
                raise NotFound(f"no account {account!r}")
            query = query.where(Post.account_id == target.id)
        posts = session.exec(
            query.order_by(col(Post.scheduled_at), col(Post.id)).limit(limit)
        ).all()
        return services._post_views(session, posts, with_findings=False)
