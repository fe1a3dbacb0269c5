"""The plain, frozen data the scheduler's services hand out.

No ORM object leaves ``scheduler/``: the TUI, the CLI and the daemon read these. Each
has ``to_dict()`` for ``--json`` output (times as ISO 8601 in UTC).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from scheduler.models import PostState, Role
from scheduler.times import format_local

_ROLE_RANK = {Role.AUTHOR: 1, Role.APPROVER: 2, Role.ADMIN: 3}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, _View):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _View:
    def to_dict(self) -> dict[str, Any]:
        """The view as JSON-ready data."""
        assert dataclasses.is_dataclass(self)
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class Actor(_View):
    """Who is acting: a login and a role. ``demo`` marks an identity switched with ``--as``."""

    login: str
    role: Role
    demo: bool = False

    def at_least(self, role: Role) -> bool:
        """Whether this actor has ``role`` or a stronger one."""
        return _ROLE_RANK[self.role] >= _ROLE_RANK[role]

    @property
    def can_approve(self) -> bool:
        return self.at_least(Role.APPROVER)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True)
class UserView(_View):
    id: int
    login: str
    display_name: str
    role: Role
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class AccountView(_View):
    id: int
    name: str
    platform: str
    handle: str
    kind: str
    timezone: str
    api_base: str | None
    options: Mapping[str, Any]
    require_approval: bool
    grace_minutes: int
    max_per_hour: int | None
    max_per_day: int | None
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Attachment:
    """An image to attach to a post: a library asset and its alt text for this post."""

    asset_id: int
    alt: str = ""


@dataclass(frozen=True)
class AttachmentView(_View):
    position: int
    asset_id: int
    title: str
    content_hash: str
    permission: str
    alt: str


@dataclass(frozen=True)
class FindingView(_View):
    """A gate finding on a post. ``span`` indexes the post's text; sign-off fields are
    ``None`` until an approver signs it off."""

    id: int
    post_id: int
    rule: str
    severity: str
    clause: str
    message: str
    span: tuple[int, int] | None
    asset_id: int | None
    image_index: int | None
    stage: str
    created_at: datetime
    signed_off_by: str | None
    signed_off_at: datetime | None
    sign_off_comment: str | None

    @property
    def signed_off(self) -> bool:
        return self.signed_off_by is not None

    @property
    def holds_post(self) -> bool:
        """Whether this finding still keeps the post from being approved."""
        return self.severity == "block" or (self.severity == "review" and not self.signed_off)


@dataclass(frozen=True)
class ApprovalView(_View):
    """The latest approval of a post. ``void_at`` set: an edit or a send-back voided it."""

    id: int
    approver: str
    fingerprint: str
    automatic: bool
    comment: str
    at: datetime
    void_at: datetime | None
    void_reason: str | None

    @property
    def void(self) -> bool:
        return self.void_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "void": self.void}


def due_time(scheduled_at: datetime | None, not_before: datetime | None) -> datetime | None:
    """When a post may go: ``scheduled_at``, or ``not_before`` when that is later."""
    if not_before is not None and (scheduled_at is None or not_before > scheduled_at):
        return not_before
    return scheduled_at


@dataclass(frozen=True)
class PostView(_View):
    """A post as a person or the daemon sees it.

    ``approval`` is the latest approval (live or void); ``approval_valid`` says whether it
    is live and matches the post's current fingerprint. ``findings`` is filled by
    ``get_post`` and left empty by ``list_posts`` (which gives ``open_findings`` instead).
    """

    id: int
    account: str
    account_id: int
    platform: str
    timezone: str
    author: str
    edited_by: str
    text: str
    links: tuple[str, ...]
    attachments: tuple[AttachmentView, ...]
    scheduled_at: datetime | None
    state: PostState
    state_reason: str
    version: int
    fingerprint: str
    approval: ApprovalView | None
    approval_valid: bool
    open_findings: int
    created_at: datetime
    updated_at: datetime
    not_before: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    attempt_count: int = 0
    last_error: str = ""
    remote_id: str | None = None
    remote_url: str | None = None
    published_at: datetime | None = None
    corrects_post_id: int | None = None
    series_id: str | None = None
    repeat_rule: str | None = None
    findings: tuple[FindingView, ...] = field(default=())

    @property
    def scheduled_local(self) -> str:
        """The scheduled time in the account's zone, e.g. ``2026-12-01 09:00 GMT``."""
        return format_local(self.scheduled_at, self.timezone)

    @property
    def due_at(self) -> datetime | None:
        """When the post may go: its time, or later if it was told to wait (rate limit,
        backoff, posting limit)."""
        return due_time(self.scheduled_at, self.not_before)

    @property
    def approval_status(self) -> str:
        """``none``, ``valid``, ``void`` or ``stale`` (live but for other content)."""
        if self.approval is None:
            return "none"
        if self.approval.void:
            return "void"
        return "valid" if self.approval_valid else "stale"

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["scheduled_local"] = self.scheduled_local
        data["approval_status"] = self.approval_status
        return data


@dataclass(frozen=True)
class AssetView(_View):
    id: int
    content_hash: str
    kind: str
    title: str
    filename: str
    mime: str
    size: int
    owner: str
    rights: str
    licence: str
    permission: str
    valid_from: datetime | None
    valid_until: datetime | None
    allowed_accounts: tuple[str, ...]
    shows_people: bool
    consent_ref: str | None
    consent_expires: datetime | None
    phash: str | None
    dhash: str | None
    created_by: str
    created_at: datetime
    version: int


@dataclass(frozen=True)
class AssetMatchView(_View):
    """A library asset that a picture looks like: ``method`` is ``exact``, ``hash`` or
    ``features`` (a logo found inside a larger picture)."""

    asset: AssetView
    method: str
    distance: int


@dataclass(frozen=True)
class AuditEventView(_View):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    hash: str


@dataclass(frozen=True)
class AuditReport(_View):
    """The result of ``verify_audit``: ``ok``, how many events were checked, the first bad
    event's sequence number and what is wrong with it."""

    ok: bool
    events: int
    bad_seq: int | None
    problem: str
