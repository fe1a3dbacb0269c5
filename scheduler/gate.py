"""The adapter between the store and the compliance gate.

It builds the gate's plain ``Draft`` and ``AssetIndex`` from a post and the asset
library, runs ``compliance.check``, and keeps the findings with the post. Sign-offs
carry over to an identical finding on identical content (a re-check of an unchanged post
does not make the approver sign the same thing twice); anything else starts afresh.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from scheduler.bulk import dialect_of, one_of
from scheduler.errors import GatepostError, InvalidInput
from scheduler.models import Account, Asset, AssetBlob, Finding, Post, PostAsset, Setting

_LINKS: sa.Table = PostAsset.__table__  # type: ignore[attr-defined]

POLICY_PATH_SETTING = "policy_path"


def policy(session: Session) -> Any:
    """The policy in force: the file named by the ``policy_path`` setting, else the
    shipped default."""
    from compliance import Policy

    configured = session.get(Setting, POLICY_PATH_SETTING)
    if configured is not None and configured.value:
        return Policy.load(configured.value)
    return Policy.default()


# Older name, kept for callers written against it.
_policy = policy


def hash_image(data: bytes) -> dict[str, str]:
    """The perceptual hashes of an image for the library: ``phash``, ``dhash`` and the
    gate's full ``image_hashes`` JSON. Raises ``InvalidInput`` when the bytes are not an
    image the gate can read safely (unknown format, truncated, a decompression bomb)."""
    from compliance.assets import UnreadableImageError, image_hashes

    try:
        hashes = image_hashes(data)
    except UnreadableImageError as exc:
        raise InvalidInput(f"not an image the gate can read: {exc}") from exc
    return {"phash": hashes.phash, "dhash": hashes.dhash, "image_hashes": hashes.to_json()}


def match_library(session: Session, data: bytes) -> tuple[Asset, str, int] | None:
    """The library asset ``data`` looks like (same bytes, similar picture, or a logo found
    inside it), with how it matched and the distance; ``None`` when nothing matches."""
    index = asset_index(session)
    if index is None:
        return None
    try:
        found = index.match(data)
    except ValueError:
        return None
    if found is None:
        return None
    asset = session.get(Asset, int(found.record.asset_id))
    if asset is None:
        return None
    return asset, str(found.method), int(found.distance)


def asset_record(asset: Asset) -> Any:
    """The gate's ``AssetRecord`` for a library asset."""
    from compliance import AssetRecord
    from compliance.assets import ImageHashes

    hashes = None
    if asset.image_hashes:
        try:
            hashes = ImageHashes.from_json(asset.image_hashes)
        except ValueError:
            hashes = None
    return AssetRecord(
        asset_id=str(asset.id),
        content_hash=asset.content_hash,
        kind=asset.kind,  # type: ignore[arg-type]
        title=asset.title,
        permission=asset.permission,  # type: ignore[arg-type]
        valid_from=asset.valid_from,
        valid_until=asset.valid_until,
        allowed_accounts=tuple(asset.allowed_accounts),
        shows_people=asset.shows_people,
        consent_ref=asset.consent_ref,
        consent_expires=asset.consent_expires,
        hashes=hashes,
    )


# One AssetIndex per process, rebuilt only when the library changes: building it parses
# every asset's stored hashes, which is too slow to repeat on every submit.
_INDEX_CACHE: dict[str, Any] = {}
_INDEX_LOCK = threading.Lock()


def _library_stamp(session: Session) -> tuple[Any, ...]:
    """Changes whenever an asset is added, or its metadata or permission changes."""
    row = session.exec(
        select(func.count(), func.max(Asset.id), func.sum(Asset.version)).select_from(Asset)
    ).one()
    return (str(session.get_bind().engine.url), *row)


def asset_index(session: Session) -> Any:
    """An ``AssetIndex`` of the whole library (``None`` while the library is empty)."""
    stamp = _library_stamp(session)
    if stamp[1] == 0:
        return None
    with _INDEX_LOCK:
        if _INDEX_CACHE.get("stamp") == stamp:
            return _INDEX_CACHE["index"]
    from compliance import AssetIndex

    index = AssetIndex(asset_record(asset) for asset in session.exec(select(Asset)).all())
    with _INDEX_LOCK:
        _INDEX_CACHE.update(stamp=stamp, index=index)
    return index


def draft_for(session: Session, post: Post, account: Account) -> Any:
    """The gate's ``Draft`` of ``post`` (text, account kind, images with alt text)."""
    return drafts_for(session, [(post, account)])[0]


def drafts_for(session: Session, items: Sequence[tuple[Post, Account]]) -> list[Any]:
    """The gate's ``Draft`` of each (post, account), their images read in one query."""
    from compliance import Draft, Image

    post_ids = [post.id for post, _ in items if post.id is not None]
    images: dict[int, list[Image]] = {}
    if post_ids:
        rows = session.exec(
            select(PostAsset, AssetBlob)
            .join(AssetBlob, col(AssetBlob.asset_id) == col(PostAsset.asset_id))
            .where(one_of(_LINKS.c.post_id, post_ids, dialect_of(session)))
            .order_by(col(PostAsset.post_id), col(PostAsset.position))
        ).all()
        for link, blob in rows:
            images.setdefault(link.post_id, []).append(
                Image(data=blob.data, alt=link.alt_text, asset_id=str(link.asset_id))
            )
    return [
        Draft(
            text=post.text,
            account_kind=account.kind,
            images=tuple(images.get(post.id or 0, ())),
            account=account.name,
            at=post.scheduled_at,
        )
        for post, account in items
    ]


def check_post(session: Session, post: Post, account: Account, *, now: datetime) -> Sequence[Any]:
    """Run the gate on ``post`` as of ``now`` and return its findings (``compliance.Finding``)."""
    from compliance import ComplianceError, check

    draft = draft_for(session, post, account)
    try:
        verdict = check(
            draft,
            policy(session),
            # The library matters only for pictures; a text-only post does not need it.
            assets=asset_index(session) if draft.images else None,
            now=now,
        )
    except (ComplianceError, OSError) as exc:
        raise GatepostError(f"the compliance gate cannot run: {exc}", "Compliance gate") from exc
    return tuple(verdict.findings)


def _key(
    rule: str, severity: str, span: tuple[int, int] | None, asset: int | None, msg: str
) -> str:
    return json.dumps([rule, severity, list(span) if span else None, asset, msg])


def record_findings(
    session: Session,
    post: Post,
    account: Account,
    *,
    now: datetime,
    stage: str,
) -> list[Finding]:
    """Run the gate and keep its findings as the post's current ones.

    The previous findings are marked superseded. A review finding identical to one
    already signed off for the same content keeps that sign-off.
    """
    found = check_post(session, post, account, now=now)
    previous = session.exec(
        select(Finding).where(Finding.post_id == post.id, col(Finding.superseded_at).is_(None))
    ).all()
    signed: dict[str, Finding] = {}
    for old in previous:
        if old.signed_off_by and old.fingerprint == post.fingerprint:
            span = (old.span_start, old.span_end) if old.span_start is not None else None
            signed[_key(old.rule, old.severity, span, old.asset_id, old.message)] = old  # type: ignore[arg-type]
        old.superseded_at = now
        session.add(old)
    rows: list[Finding] = []
    for finding in found:
        asset_id = int(finding.asset_id) if finding.asset_id not in (None, "") else None
        span = tuple(finding.span) if finding.span is not None else None
        severity = str(getattr(finding.severity, "value", finding.severity))
        row = Finding(
            post_id=post.id,  # type: ignore[arg-type]
            fingerprint=post.fingerprint,
            rule=finding.rule,
            severity=severity,
            clause=finding.clause,
            message=finding.message,
            span_start=span[0] if span else None,
            span_end=span[1] if span else None,
            asset_id=asset_id,
            image_index=finding.image_index,
            stage=stage,
            created_at=now,
        )
        earlier = signed.get(_key(row.rule, severity, span, asset_id, row.message))  # type: ignore[arg-type]
        if earlier is not None and severity == "review":
            row.signed_off_by = earlier.signed_off_by
            row.signed_off_at = earlier.signed_off_at
            row.sign_off_comment = earlier.sign_off_comment
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def holding(findings: Sequence[Finding]) -> list[Finding]:
    """The kept findings that hold a post back: every block, and each review finding that
    no approver has signed off."""
    return [
        f
        for f in findings
        if f.severity == "block" or (f.severity == "review" and f.signed_off_by is None)
    ]
