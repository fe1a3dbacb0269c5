"""The fingerprint of a post: exactly what an approval says yes to.

It covers the account (its id and platform: where the post goes, not what the account is
called), the text, each attached asset's content hash (in order, with its alt text),
every link target (those given and those in the text), and the scheduled time to the
minute. Any change to any of these gives a different fingerprint. The account's grace
period is not part of it: it is the account's rule for lateness, which the daemon
applies, and changing it must not send every scheduled post back to review.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session, select

from scheduler.audit import canonical_json
from scheduler.bulk import dialect_of, one_of
from scheduler.models import Account, Asset, Post, PostAsset

_LINKS: sa.Table = PostAsset.__table__  # type: ignore[attr-defined]

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def link_targets(text: str, links: Sequence[str]) -> list[str]:
    """Every link the post points at: the given ones and those written in the text."""
    found = [m.group(0).rstrip(".,;:!?)") for m in _URL.finditer(text)]
    return sorted(set(found) | {link.strip() for link in links if link.strip()})


@dataclass(frozen=True)
class PostFingerprint:
    """What the fingerprint is computed from (kept so a person can see what changed)."""

    account: str
    text: str
    assets: tuple[tuple[str, str], ...]
    links: tuple[str, ...]
    window_start: str

    @property
    def digest(self) -> str:
        body = canonical_json(
            {
                "account": self.account,
                "text": self.text,
                "assets": [list(pair) for pair in self.assets],
                "links": list(self.links),
                "window": self.window_start,
            }
        )
        return hashlib.sha256(body.encode("utf-8")).hexdigest()


def compute(session: Session, post: Post) -> PostFingerprint:
    """The fingerprint of ``post`` as it stands in ``session``."""
    return compute_many(session, [post])[0]


class PostContent(Protocol):
    """What a fingerprint is made from: a ``Post``, or a row of the posts table."""

    @property
    def id(self) -> int | None: ...
    @property
    def account_id(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def links(self) -> list[str]: ...
    @property
    def scheduled_at(self) -> datetime | None: ...


class AccountKey(Protocol):
    """The account's part of a fingerprint: an ``Account``, or a row of the accounts table."""

    @property
    def id(self) -> int | None: ...
    @property
    def platform(self) -> str: ...


def compute_many(
    session: Session,
    posts: Sequence[PostContent],
    *,
    accounts: Mapping[int, AccountKey] | None = None,
) -> list[PostFingerprint]:
    """The fingerprints of ``posts`` (in order), their assets read in one query.

    ``accounts`` (by id) may be given when already read; otherwise each is looked up.
    """
    post_ids = [post.id for post in posts if post.id is not None]
    assets: dict[int, list[tuple[str, str]]] = {}
    if post_ids:
        rows = session.exec(
            select(PostAsset.post_id, Asset.content_hash, PostAsset.alt_text)
            .join(Asset, Asset.id == PostAsset.asset_id)  # type: ignore[arg-type]
            .where(one_of(_LINKS.c.post_id, post_ids, dialect_of(session)))
            .order_by(PostAsset.post_id, PostAsset.position)  # type: ignore[arg-type]
        ).all()
        for post_id, content_hash, alt_text in rows:
            assets.setdefault(post_id, []).append((content_hash, alt_text))
    found = []
    known: dict[int, AccountKey] = dict(accounts or {})
    for post in posts:
        account = known.get(post.account_id) or session.get(Account, post.account_id)
        assert account is not None
        known[post.account_id] = account
        window = ""
        if post.scheduled_at is not None:
            window = post.scheduled_at.astimezone(UTC).replace(second=0, microsecond=0).isoformat()
        found.append(
            PostFingerprint(
                account=f"{account.id}:{account.platform}",
                text=post.text,
                assets=tuple(assets.get(post.id or 0, ())),
                links=tuple(link_targets(post.text, post.links)),
                window_start=window,
            )
        )
    return found


def digest(session: Session, post: Post) -> str:
    """The hex digest of :func:`compute`."""
    return compute(session, post).digest
