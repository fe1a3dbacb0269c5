"""The domain model: SQLModel tables on SQLAlchemy 2.

Nothing here leaves ``scheduler/``: services turn rows into the frozen views of
:mod:`scheduler.views`. Every change to these tables needs an Alembic migration in
``scheduler/migrations/versions``.

Times are stored in UTC (``UTCDateTime`` hands back aware UTC datetimes on SQLite and
PostgreSQL alike).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime in the database; naive values are refused on the way in."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(nullable: bool = True) -> Any:
    if nullable:
        return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))
    return Field(default_factory=_now, sa_column=sa.Column(UTCDateTime(), nullable=False))


def _json(default: Any) -> Any:
    return Field(
        default_factory=lambda: type(default)(default),
        sa_column=sa.Column(sa.JSON(), nullable=False),
    )


class Role(StrEnum):
    """What a person may do. Each role includes the rights of the ones before it."""

    AUTHOR = "author"
    APPROVER = "approver"
    ADMIN = "admin"


class PostState(StrEnum):
    """The states of a post; legal moves between them live in :mod:`scheduler.lifecycle`."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    UNKNOWN = "unknown"
    HELD = "held"
    CANCELLED = "cancelled"
    RETRACTED = "retracted"


class AccountKind(StrEnum):
    OFFICIAL = "official"
    PERSONAL = "personal"


class AssetKind(StrEnum):
    LOGO = "logo"
    IMAGE = "image"


class Permission(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=128, unique=True, index=True)
    display_name: str = Field(default="", max_length=200)
    role: str = Field(default=Role.AUTHOR.value, max_length=16)
    active: bool = Field(default=True)
    created_at: datetime | None = _utc(nullable=False)


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)
    platform: str = Field(max_length=32)
    handle: str = Field(default="", max_length=200)
    kind: str = Field(default=AccountKind.OFFICIAL.value, max_length=16)
    timezone: str = Field(default="Europe/London", max_length=64)
    api_base: str | None = Field(default=None, max_length=500)
    options: dict[str, Any] = _json({})
    require_approval: bool = Field(default=False)
    grace_minutes: int = Field(default=15)
    max_per_hour: int | None = Field(default=None)
    max_per_day: int | None = Field(default=None)
    active: bool = Field(default=True)
    created_at: datetime | None = _utc(nullable=False)


class Asset(SQLModel, table=True):
    __tablename__ = "assets"

    id: int | None = Field(default=None, primary_key=True)
    content_hash: str = Field(max_length=64, unique=True, index=True)
    kind: str = Field(default=AssetKind.IMAGE.value, max_length=16)
    title: str = Field(default="", max_length=300)
    filename: str = Field(default="", max_length=300)
    mime: str = Field(default="application/octet-stream", max_length=100)
    size: int = Field(default=0)
    owner: str = Field(default="", max_length=200)
    rights: str = Field(default="", max_length=500)
    licence: str = Field(default="", max_length=200)
    permission: str = Field(default=Permission.PENDING.value, max_length=16)
    valid_from: datetime | None = _utc()
    valid_until: datetime | None = _utc()
    allowed_accounts: list[str] = _json([])
    shows_people: bool = Field(default=False)
    consent_ref: str | None = Field(default=None, max_length=300)
    consent_expires: datetime | None = _utc()
    phash: str | None = Field(default=None, max_length=64)
    dhash: str | None = Field(default=None, max_length=64)
    image_hashes: str | None = Field(default=None, sa_type=sa.Text)
    created_by: str = Field(default="", max_length=128)
    created_at: datetime | None = _utc(nullable=False)
    version: int = Field(default=1)


class AssetBlob(SQLModel, table=True):
    """An asset's bytes, apart from its metadata so listing assets stays cheap."""

    __tablename__ = "asset_blobs"

    asset_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
        )
    )
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary(), nullable=False))


class Post(SQLModel, table=True):
    __tablename__ = "posts"
    __table_args__ = (
        sa.Index("ix_posts_state_scheduled_at", "state", "scheduled_at"),
        sa.Index("ix_posts_account_scheduled_at", "account_id", "scheduled_at"),
        sa.Index("ix_posts_scheduled_at_id", "scheduled_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="accounts.id")
    author: str = Field(max_length=128)
    edited_by: str = Field(default="", max_length=128)
    text: str = Field(default="", sa_type=sa.Text)
    links: list[str] = _json([])
    scheduled_at: datetime | None = _utc()
    state: str = Field(default=PostState.DRAFT.value, max_length=16)
    state_reason: str = Field(default="", sa_type=sa.Text)
    fingerprint: str = Field(default="", max_length=64)
    approval_id: int | None = Field(default=None)
    version: int = Field(default=1)
    created_at: datetime | None = _utc(nullable=False)
    updated_at: datetime | None = _utc(nullable=False)
    # What the publishing daemon needs.
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_expires_at: datetime | None = _utc()
    not_before: datetime | None = _utc()
    attempt_count: int = Field(default=0)
    last_error: str = Field(default="", sa_type=sa.Text)
    remote_id: str | None = Field(default=None, max_length=300)
    remote_url: str | None = Field(default=None, max_length=1000)
    published_at: datetime | None = _utc()
    corrects_post_id: int | None = Field(default=None, foreign_key="posts.id")
    series_id: str | None = Field(default=None, max_length=64, index=True)
    repeat_rule: str | None = Field(default=None, max_length=200)


class PostAsset(SQLModel, table=True):
    """An image attached to a post, in order, with its alt text for this post."""

    __tablename__ = "post_assets"

    post_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
        )
    )
    position: int = Field(primary_key=True)
    asset_id: int = Field(foreign_key="assets.id", index=True)
    alt_text: str = Field(default="", sa_type=sa.Text)


class Finding(SQLModel, table=True):
    """A gate result kept for a post, with its sign-off."""

    __tablename__ = "findings"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id", index=True)
    fingerprint: str = Field(default="", max_length=64)
    rule: str = Field(max_length=100)
    severity: str = Field(max_length=16)
    clause: str = Field(default="", sa_type=sa.Text)
    message: str = Field(default="", sa_type=sa.Text)
    span_start: int | None = Field(default=None)
    span_end: int | None = Field(default=None)
    asset_id: int | None = Field(default=None)
    image_index: int | None = Field(default=None)
    stage: str = Field(default="submit", max_length=16)
    created_at: datetime | None = _utc(nullable=False)
    superseded_at: datetime | None = _utc()
    signed_off_by: str | None = Field(default=None, max_length=128)
    signed_off_at: datetime | None = _utc()
    sign_off_comment: str | None = Field(default=None, sa_type=sa.Text)


class Approval(SQLModel, table=True):
    """An approver's (or, for a clean post on a relaxed account, the gate's) yes to exactly
    the content whose fingerprint it records."""

    __tablename__ = "approvals"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id", index=True)
    approver: str = Field(max_length=128)
    fingerprint: str = Field(max_length=64)
    automatic: bool = Field(default=False)
    comment: str = Field(default="", sa_type=sa.Text)
    at: datetime | None = _utc(nullable=False)
    void_at: datetime | None = _utc()
    void_reason: str | None = Field(default=None, sa_type=sa.Text)


class PublishAttempt(SQLModel, table=True):
    """One try at publishing a post; outcome ``pending`` until the result is recorded."""

    __tablename__ = "publish_attempts"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id", index=True)
    idempotency_key: str = Field(max_length=200, index=True)
    worker: str = Field(default="", max_length=200)
    started_at: datetime | None = _utc(nullable=False)
    finished_at: datetime | None = _utc()
    outcome: str = Field(default="pending", max_length=32)
    remote_id: str | None = Field(default=None, max_length=300)
    remote_url: str | None = Field(default=None, max_length=1000)
    error: str = Field(default="", sa_type=sa.Text)


class DaemonHeartbeat(SQLModel, table=True):
    """A publishing daemon alive (or last seen): who, where, and when it last beat."""

    __tablename__ = "daemon_heartbeats"

    daemon_id: str = Field(primary_key=True, max_length=200)
    host: str = Field(default="", max_length=255)
    pid: int = Field(default=0)
    started_at: datetime | None = _utc(nullable=False)
    last_beat: datetime | None = _utc(nullable=False)
    stopped_at: datetime | None = _utc()
    published: int = Field(default=0)


class PostCorrection(SQLModel, table=True):
    """A retraction or correction of a published post, carried out by the daemon.

    ``kind``: ``retract`` (delete it), ``correct`` (edit it in place where the platform
    allows, else delete it once ``replacement_post_id`` -- which went through the gate and
    approval -- is published). ``state``: ``requested`` -> ``done`` | ``failed``.
    """

    __tablename__ = "post_corrections"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id", index=True)
    kind: str = Field(max_length=16)
    replacement_post_id: int | None = Field(default=None, foreign_key="posts.id")
    reason: str = Field(default="", sa_type=sa.Text)
    requested_by: str = Field(max_length=128)
    requested_at: datetime | None = _utc(nullable=False)
    state: str = Field(default="requested", max_length=16, index=True)
    method: str = Field(default="", max_length=16)
    lease_owner: str | None = Field(default=None, max_length=200)
    lease_expires_at: datetime | None = _utc()
    attempted_at: datetime | None = _utc()
    finished_at: datetime | None = _utc()
    error: str = Field(default="", sa_type=sa.Text)


class AuditEvent(SQLModel, table=True):
    """One entry of the append-only, hash-chained audit log."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True, index=True)
    at: datetime | None = _utc(nullable=False)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64)
    subject: str = Field(max_length=100, index=True)
    before: str = Field(default="{}", sa_type=sa.Text)
    after: str = Field(default="{}", sa_type=sa.Text)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The last event of the chain (one row): appends lock it, verify checks against it."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0)
    hash: str = Field(default="", max_length=64)


class Setting(SQLModel, table=True):
    """Database-wide settings, such as the mark of a demo database."""

    __tablename__ = "settings"

    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(default="", sa_type=sa.Text)


metadata = SQLModel.metadata
