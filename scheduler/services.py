"""The one door: every action on the queue, for the CLI, the TUI and the daemon alike.

Each function takes the :class:`~scheduler.store.Store` and, where a person acts, the
:class:`~scheduler.views.Actor`; it checks the actor's rights, does the work in one
transaction (state changes through :mod:`scheduler.lifecycle`, each audited), and
returns frozen views. Errors are those of :mod:`scheduler.errors`.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from scheduler import fingerprint, gate, lifecycle
from scheduler.audit import append_event, verify_chain
from scheduler.errors import (
    IllegalTransition,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from scheduler.models import (
    Account,
    AccountKind,
    Approval,
    Asset,
    AssetBlob,
    AssetKind,
    AuditEvent,
    Finding,
    Permission,
    Post,
    PostAsset,
    PostState,
    Role,
    Setting,
    User,
)
from scheduler.store import Store
from scheduler.times import DEFAULT_TIMEZONE, check_timezone, resolve_schedule_time
from scheduler.views import (
    AccountView,
    Actor,
    ApprovalView,
    AssetMatchView,
    AssetView,
    Attachment,
    AttachmentView,
    AuditEventView,
    AuditReport,
    FindingView,
    PostView,
    UserView,
)

DEMO_SETTING = "demo"
POST_SORT_KEYS = ("scheduled_at", "created_at", "updated_at", "id", "state", "account")
MAX_PAGE = 1000
MAX_POST_TEXT = 100_000
_LOGIN = re.compile(r"^[A-Za-z0-9._@+-]{1,128}$")


def _fits(what: str, value: str | None, limit: int) -> None:
    """Refuse text the database cannot keep: too long for its column, or with NUL bytes."""
    if value is None:
        return
    if "\x00" in value:
        raise InvalidInput(f"the {what} contains a NUL character")
    if len(value) > limit:
        raise InvalidInput(f"the {what} is too long ({len(value)} characters; at most {limit})")


# -- identity ---------------------------------------------------------------------------


def is_demo(store: Store) -> bool:
    """Whether the database was created by ``gatepost demo`` (``--as`` works only there)."""
    with store.read() as session:
        setting = session.get(Setting, DEMO_SETTING)
        return setting is not None and setting.value == "1"


def resolve_actor(store: Store, as_login: str | None = None) -> Actor:
    """Who is acting: the store's login, or ``as_login`` in a demo database.

    Raises ``PermissionDenied`` when the login is not an active user, or when
    ``as_login`` is given outside a demo database.
    """
    demo = False
    login = store.login()
    if as_login is not None and as_login != login:
        if not is_demo(store):
            raise PermissionDenied(
                f"--as works only in a demo database; here you act as your own login ({login})"
            )
        login, demo = as_login, True
    with store.read() as session:
        user = session.exec(select(User).where(User.login == login)).first()
    if user is None:
        raise PermissionDenied(
            f"{login!r} is not a Gatepost user: an admin can add you with "
            f"`gatepost users add {login} --role author` (or run `gatepost init` on a new "
            "database)"
        )
    if not user.active:
        raise PermissionDenied(f"the user {login!r} is deactivated")
    return Actor(login=user.login, role=Role(user.role), demo=demo)


def init_database(store: Store) -> UserView:
    """Create the schema and make the current login the first admin.

    Running it again as that admin changes nothing. Raises ``PermissionDenied`` when the
    database already has users and the current login is not an admin among them.
    """
    store.ensure_schema()
    login = store.login()
    with store.write() as session:
        existing = session.exec(select(User).where(User.login == login)).first()
        any_user = session.exec(select(User.id).limit(1)).first()
        if any_user is not None:
            if existing is not None and existing.role == Role.ADMIN:
                return _user_view(existing)
            raise PermissionDenied(
                "this database already has users; ask one of its admins to add you"
            )
        now = store.now()
        user = User(login=login, display_name=login, role=Role.ADMIN.value, created_at=now)
        session.add(user)
        session.flush()
        append_event(
            session,
            at=now,
            actor=login,
            action="user.add",
            subject=f"user:{login}",
            after={"role": Role.ADMIN.value, "first_admin": True},
        )
        return _user_view(user)


# -- users ------------------------------------------------------------------------------


def _require(actor: Actor, role: Role, what: str) -> None:
    if not actor.at_least(role):
        raise PermissionDenied(f"only {role.value}s can {what} (you are {actor.role.value})")


def _role(value: str | Role) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise InvalidInput(f"unknown role {value!r} (author, approver or admin)") from exc


def _user_view(user: User) -> UserView:
    assert user.id is not None and user.created_at is not None
    return UserView(
        id=user.id,
        login=user.login,
        display_name=user.display_name,
        role=Role(user.role),
        active=user.active,
        created_at=user.created_at,
    )


def _user(session: Session, login: str) -> User:
    user = session.exec(select(User).where(User.login == login)).first()
    if user is None:
        raise NotFound(f"no user {login!r}")
    return user


def add_user(
    store: Store,
    actor: Actor,
    login: str,
    *,
    role: str | Role = Role.AUTHOR,
    display_name: str = "",
) -> UserView:
    """Add a person (admins only). Raises ``InvalidInput`` for an empty or taken login."""
    _require(actor, Role.ADMIN, "add users")
    login = login.strip()
    if not login:
        raise InvalidInput("a login cannot be empty")
    if not _LOGIN.match(login):
        raise InvalidInput(
            f"{login!r} is not a login: use letters, digits and . _ @ + - (at most 128)"
        )
    _fits("display name", display_name, 200)
    new_role = _role(role)
    with store.write() as session:
        if session.exec(select(User).where(User.login == login)).first() is not None:
            raise InvalidInput(f"a user {login!r} already exists")
        now = store.now()
        user = User(
            login=login, display_name=display_name or login, role=new_role.value, created_at=now
        )
        session.add(user)
        session.flush()
        append_event(
            session,
            at=now,
            actor=actor.login,
            action="user.add",
            subject=f"user:{login}",
            after={"role": new_role.value, "display_name": user.display_name},
        )
        return _user_view(user)


def grant_role(store: Store, actor: Actor, login: str, role: str | Role) -> UserView:
    """Change a person's role (admins only); the last active admin cannot be demoted."""
    _require(actor, Role.ADMIN, "change roles")
    new_role = _role(role)
    with store.write() as session:
        user = _user(session, login)
        old = Role(user.role)
        if old is new_role:
            return _user_view(user)
        if old is Role.ADMIN:
            admins = session.exec(
                select(func.count())
                .select_from(User)
                .where(User.role == Role.ADMIN.value, col(User.active).is_(True))
            ).one()
            if admins <= 1:
                raise InvalidInput(f"{login} is the last admin; make someone else admin first")
        user.role = new_role.value
        session.add(user)
        append_event(
            session,
            at=store.now(),
            actor=actor.login,
            action="user.role",
            subject=f"user:{login}",
            before={"role": old.value},
            after={"role": new_role.value},
        )
        return _user_view(user)


def set_user_active(store: Store, actor: Actor, login: str, active: bool) -> UserView:
    """Deactivate or reactivate a person (admins only; not the last admin)."""
    _require(actor, Role.ADMIN, "deactivate users")
    with store.write() as session:
        user = _user(session, login)
        if user.active == active:
            return _user_view(user)
        if not active and user.role == Role.ADMIN.value:
            admins = session.exec(
                select(func.count())
                .select_from(User)
                .where(User.role == Role.ADMIN.value, col(User.active).is_(True))
            ).one()
            if admins <= 1:
                raise InvalidInput(f"{login} is the last admin and cannot be deactivated")
        user.active = active
        session.add(user)
        append_event(
            session,
            at=store.now(),
            actor=actor.login,
            action="user.activate" if active else "user.deactivate",
            subject=f"user:{login}",
            before={"active": not active},
            after={"active": active},
        )
        return _user_view(user)


def list_users(store: Store) -> list[UserView]:
    """Every user, by login."""
    with store.read() as session:
        return [_user_view(u) for u in session.exec(select(User).order_by(col(User.login))).all()]


def get_user(store: Store, login: str) -> UserView:
    """One user; raises ``NotFound``."""
    with store.read() as session:
        return _user_view(_user(session, login))


# -- accounts ---------------------------------------------------------------------------


def _account_view(account: Account) -> AccountView:
    assert account.id is not None and account.created_at is not None
    return AccountView(
        id=account.id,
        name=account.name,
        platform=account.platform,
        handle=account.handle,
        kind=account.kind,
        timezone=account.timezone,
        api_base=account.api_base,
        options=dict(account.options or {}),
        require_approval=account.require_approval,
        grace_minutes=account.grace_minutes,
        max_per_hour=account.max_per_hour,
        max_per_day=account.max_per_day,
        active=account.active,
        created_at=account.created_at,
    )


def _account(session: Session, name_or_id: str | int) -> Account:
    account: Account | None
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        account = session.get(Account, int(name_or_id))
        if account is None:
            account = session.exec(select(Account).where(Account.name == str(name_or_id))).first()
    else:
        account = session.exec(select(Account).where(Account.name == name_or_id)).first()
    if account is None:
        raise NotFound(f"no account {name_or_id!r}")
    return account


def _check_platform(platform: str) -> str:
    from connectors import PLATFORMS

    if platform not in PLATFORMS:
        known = ", ".join(sorted(PLATFORMS))
        raise InvalidInput(f"unknown platform {platform!r} (known: {known})")
    return platform


def _check_account_settings(changes: Mapping[str, Any]) -> None:
    if "platform" in changes:
        _check_platform(changes["platform"])
    if "timezone" in changes:
        check_timezone(changes["timezone"])
    if "kind" in changes and changes["kind"] not in {k.value for k in AccountKind}:
        raise InvalidInput(f"account kind must be official or personal, not {changes['kind']!r}")
    if "grace_minutes" in changes and int(changes["grace_minutes"]) < 0:
        raise InvalidInput("the grace period cannot be negative")
    for key in ("max_per_hour", "max_per_day"):
        if changes.get(key) is not None and int(changes[key]) < 1:
            raise InvalidInput(f"{key.replace('_', ' ')} must be at least 1 (or unset)")
    if "name" in changes and not str(changes["name"]).strip():
        raise InvalidInput("an account needs a name")
    for key, limit in (("name", 100), ("handle", 200), ("api_base", 500)):
        _fits(f"account {key.replace('_', ' ')}", changes.get(key), limit)


_ACCOUNT_FIELDS = (
    "name",
    "platform",
    "handle",
    "kind",
    "timezone",
    "api_base",
    "options",
    "require_approval",
    "grace_minutes",
    "max_per_hour",
    "max_per_day",
    "active",
)


def add_account(
    store: Store,
    actor: Actor,
    name: str,
    *,
    platform: str,
    handle: str = "",
    kind: str = AccountKind.OFFICIAL.value,
    timezone: str = DEFAULT_TIMEZONE,
    api_base: str | None = None,
    options: Mapping[str, Any] | None = None,
    require_approval: bool = False,
    grace_minutes: int = 15,
    max_per_hour: int | None = None,
    max_per_day: int | None = None,
) -> AccountView:
    """Connect an account (admins only).

    ``platform`` must be one of ``connectors.PLATFORMS``; credentials are kept by the
    connectors in the OS keyring, never here. Raises ``InvalidInput`` for an unknown
    platform, kind or time zone, a taken name or bad limits.
    """
    _require(actor, Role.ADMIN, "connect accounts")
    settings: dict[str, Any] = {
        "name": name.strip(),
        "platform": platform,
        "handle": handle,
        "kind": kind,
        "timezone": timezone,
        "api_base": api_base or None,
        "options": dict(options or {}),
        "require_approval": require_approval,
        "grace_minutes": grace_minutes,
        "max_per_hour": max_per_hour,
        "max_per_day": max_per_day,
    }
    _check_account_settings(settings)
    with store.write() as session:
        if session.exec(select(Account).where(Account.name == settings["name"])).first():
            raise InvalidInput(f"an account named {settings['name']!r} already exists")
        now = store.now()
        account = Account(**settings, created_at=now)
        session.add(account)
        session.flush()
        append_event(
            session,
            at=now,
            actor=actor.login,
            action="account.add",
            subject=f"account:{account.id}",
            after=settings,
        )
        return _account_view(account)


def update_account(
    store: Store, actor: Actor, name_or_id: str | int, **changes: Any
) -> AccountView:
    """Change an account's settings (admins only); keys as in :func:`add_account` plus
    ``active``. Raises ``InvalidInput`` for an unknown setting or a bad value."""
    _require(actor, Role.ADMIN, "change accounts")
    unknown = set(changes) - set(_ACCOUNT_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown account setting(s): {', '.join(sorted(unknown))}")
    _check_account_settings(changes)
    with store.write() as session:
        account = _account(session, name_or_id)
        before = {key: getattr(account, key) for key in changes}
        if "name" in changes and changes["name"] != account.name:
            taken = session.exec(select(Account).where(Account.name == changes["name"])).first()
            if taken is not None:
                raise InvalidInput(f"an account named {changes['name']!r} already exists")
        for key, value in changes.items():
            setattr(account, key, dict(value) if key == "options" else value)
        session.add(account)
        append_event(
            session,
            at=store.now(),
            actor=actor.login,
            action="account.update",
            subject=f"account:{account.id}",
            before=before,
            after=dict(changes),
        )
        return _account_view(account)


def get_account(store: Store, name_or_id: str | int) -> AccountView:
    """One account by name or id; raises ``NotFound``."""
    with store.read() as session:
        return _account_view(_account(session, name_or_id))


def list_accounts(store: Store, *, include_inactive: bool = True) -> list[AccountView]:
    """Every account, by name."""
    with store.read() as session:
        query = select(Account).order_by(col(Account.name))
        if not include_inactive:
            query = query.where(col(Account.active).is_(True))
        return [_account_view(a) for a in session.exec(query).all()]


# -- assets -----------------------------------------------------------------------------


def _asset_view(asset: Asset) -> AssetView:
    assert asset.id is not None and asset.created_at is not None
    return AssetView(
        id=asset.id,
        content_hash=asset.content_hash,
        kind=asset.kind,
        title=asset.title,
        filename=asset.filename,
        mime=asset.mime,
        size=asset.size,
        owner=asset.owner,
        rights=asset.rights,
        licence=asset.licence,
        permission=asset.permission,
        valid_from=asset.valid_from,
        valid_until=asset.valid_until,
        allowed_accounts=tuple(asset.allowed_accounts or ()),
        shows_people=asset.shows_people,
        consent_ref=asset.consent_ref,
        consent_expires=asset.consent_expires,
        phash=asset.phash,
        dhash=asset.dhash,
        created_by=asset.created_by,
        created_at=asset.created_at,
        version=asset.version,
    )


def _asset(session: Session, asset_id: int) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFound(f"no asset {asset_id}")
    return asset


def add_asset(
    store: Store,
    actor: Actor,
    data: bytes,
    *,
    filename: str = "",
    title: str = "",
    kind: str = AssetKind.IMAGE.value,
    owner: str = "",
    rights: str = "",
    licence: str = "",
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    allowed_accounts: Sequence[str] = (),
    shows_people: bool = False,
    consent_ref: str | None = None,
    consent_expires: datetime | None = None,
    hashes: Mapping[str, str | None] | None = None,
) -> AssetView:
    """Add a file to the asset library with permission ``pending``.

    Its bytes are kept in the database (so every machine sharing it sees them).
    Its perceptual hashes are computed here unless the caller passes ``hashes``
    (``phash``, ``dhash`` and the gate's ``image_hashes`` JSON). Raises ``InvalidInput``
    for an empty file, a file that is not a readable image, an unknown kind, a file
    already in the library, or a window that ends before it starts.
    """
    if not data:
        raise InvalidInput("the file is empty")
    for what, value, limit in (
        ("title", title, 300),
        ("file name", filename, 300),
        ("owner", owner, 200),
        ("rights statement", rights, 500),
        ("licence", licence, 200),
        ("consent reference", consent_ref, 300),
    ):
        _fits(what, value, limit)
    if kind not in {k.value for k in AssetKind}:
        raise InvalidInput(f"asset kind must be logo or image, not {kind!r}")
    if valid_from and valid_until and valid_until <= valid_from:
        raise InvalidInput("the validity window ends before it starts")
    digest = hashlib.sha256(data).hexdigest()
    if hashes is None:
        hashes = gate.hash_image(data)
    with store.write() as session:
        taken = session.exec(select(Asset).where(Asset.content_hash == digest)).first()
        if taken is not None:
            raise InvalidInput(
                f"this file is already in the library as asset {taken.id} ({taken.title!r})"
            )
        now = store.now()
        asset = Asset(
            content_hash=digest,
            kind=kind,
            title=title or filename,
            filename=filename,
            mime=mimetypes.guess_type(filename)[0] or "application/octet-stream",
            size=len(data),
            owner=owner,
            rights=rights,
            licence=licence,
            valid_from=valid_from,
            valid_until=valid_until,
            allowed_accounts=list(allowed_accounts),
            shows_people=shows_people,
            consent_ref=consent_ref,
            consent_expires=consent_expires,
            phash=hashes.get("phash"),
            dhash=hashes.get("dhash"),
            image_hashes=hashes.get("image_hashes"),
            created_by=actor.login,
            created_at=now,
        )
        session.add(asset)
        session.flush()
        assert asset.id is not None
        session.add(AssetBlob(asset_id=asset.id, data=data))
        append_event(
            session,
            at=now,
            actor=actor.login,
            action="asset.add",
            subject=f"asset:{asset.id}",
            after={"content_hash": digest, "kind": kind, "title": asset.title, "owner": owner},
        )
        return _asset_view(asset)


def set_asset_permission(
    store: Store, actor: Actor, asset_id: int, permission: str, *, comment: str = ""
) -> AssetView:
    """Approve, reject or revoke an asset, or set it back to pending (admins only).

    Posts that use it are re-checked at publish time. Raises ``InvalidInput`` for an
    unknown permission.
    """
    _require(actor, Role.ADMIN, "change asset permissions")
    if permission not in {p.value for p in Permission}:
        raise InvalidInput(
            f"permission must be pending, approved, rejected or revoked, not {permission!r}"
        )
    with store.write() as session:
        asset = _asset(session, asset_id)
        before = asset.permission
        asset.permission = permission
        asset.version += 1
        session.add(asset)
        append_event(
            session,
            at=store.now(),
            actor=actor.login,
            action="asset.permission",
            subject=f"asset:{asset.id}",
            before={"permission": before},
            after={"permission": permission, "comment": comment},
        )
        return _asset_view(asset)


_ASSET_FIELDS = (
    "title",
    "kind",
    "owner",
    "rights",
    "licence",
    "valid_from",
    "valid_until",
    "allowed_accounts",
    "shows_people",
    "consent_ref",
    "consent_expires",
)


def update_asset(store: Store, actor: Actor, asset_id: int, **changes: Any) -> AssetView:
    """Change an asset's metadata (admins only); keys as in :func:`add_asset`."""
    _require(actor, Role.ADMIN, "change assets")
    unknown = set(changes) - set(_ASSET_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown asset setting(s): {', '.join(sorted(unknown))}")
    if "kind" in changes and changes["kind"] not in {k.value for k in AssetKind}:
        raise InvalidInput(f"asset kind must be logo or image, not {changes['kind']!r}")
    with store.write() as session:
        asset = _asset(session, asset_id)
        before = {key: getattr(asset, key) for key in changes}
        for key, value in changes.items():
            setattr(asset, key, list(value) if key == "allowed_accounts" else value)
        if asset.valid_from and asset.valid_until and asset.valid_until <= asset.valid_from:
            raise InvalidInput("the validity window ends before it starts")
        asset.version += 1
        session.add(asset)
        append_event(
            session,
            at=store.now(),
            actor=actor.login,
            action="asset.update",
            subject=f"asset:{asset.id}",
            before=before,
            after=dict(changes),
        )
        return _asset_view(asset)


def find_matching_asset(store: Store, data: bytes) -> AssetMatchView | None:
    """The library asset a picture looks like (the same file, a resized or re-encoded
    copy, or a registered logo inside it), or ``None``."""
    with store.read() as session:
        found = gate.match_library(session, data)
        if found is None:
            return None
        asset, method, distance = found
        return AssetMatchView(asset=_asset_view(asset), method=method, distance=distance)


def get_asset(store: Store, asset_id: int) -> AssetView:
    """One asset; raises ``NotFound``."""
    with store.read() as session:
        return _asset_view(_asset(session, asset_id))


def asset_data(store: Store, asset_id: int) -> bytes:
    """The bytes of an asset; raises ``NotFound``."""
    with store.read() as session:
        blob = session.get(AssetBlob, asset_id)
        if blob is None:
            raise NotFound(f"no asset {asset_id}")
        return blob.data


def list_assets(
    store: Store, *, kind: str | None = None, permission: str | None = None
) -> list[AssetView]:
    """The asset library, newest first, optionally filtered by kind and permission."""
    with store.read() as session:
        query = select(Asset).order_by(col(Asset.id).desc())
        if kind:
            query = query.where(Asset.kind == kind)
        if permission:
            query = query.where(Asset.permission == permission)
        return [_asset_view(a) for a in session.exec(query).all()]


# -- posts: views -----------------------------------------------------------------------


def _finding_view(row: Finding) -> FindingView:
    assert row.id is not None and row.created_at is not None
    span = (row.span_start, row.span_end) if row.span_start is not None else None
    return FindingView(
        id=row.id,
        post_id=row.post_id,
        rule=row.rule,
        severity=row.severity,
        clause=row.clause,
        message=row.message,
        span=span,  # type: ignore[arg-type]
        asset_id=row.asset_id,
        image_index=row.image_index,
        stage=row.stage,
        created_at=row.created_at,
        signed_off_by=row.signed_off_by,
        signed_off_at=row.signed_off_at,
        sign_off_comment=row.sign_off_comment,
    )


def _approval_view(row: Approval) -> ApprovalView:
    assert row.id is not None and row.at is not None
    return ApprovalView(
        id=row.id,
        approver=row.approver,
        fingerprint=row.fingerprint,
        automatic=row.automatic,
        comment=row.comment,
        at=row.at,
        void_at=row.void_at,
        void_reason=row.void_reason,
    )


def _post_views(session: Session, posts: Sequence[Post], *, with_findings: bool) -> list[PostView]:
    if not posts:
        return []
    ids = [p.id for p in posts]
    accounts = {
        a.id: a
        for a in session.exec(
            select(Account).where(col(Account.id).in_({p.account_id for p in posts}))
        ).all()
    }
    attachments: dict[int, list[AttachmentView]] = {}
    for link, asset in session.exec(
        select(PostAsset, Asset)
        .join(Asset, col(Asset.id) == col(PostAsset.asset_id))
        .where(col(PostAsset.post_id).in_(ids))
        .order_by(col(PostAsset.post_id), col(PostAsset.position))
    ).all():
        attachments.setdefault(link.post_id, []).append(
            AttachmentView(
                position=link.position,
                asset_id=link.asset_id,
                title=asset.title,
                content_hash=asset.content_hash,
                permission=asset.permission,
                alt=link.alt_text,
            )
        )
    latest_approval: dict[int, Approval] = {}
    for approval in session.exec(
        select(Approval).where(col(Approval.post_id).in_(ids)).order_by(col(Approval.id))
    ).all():
        latest_approval[approval.post_id] = approval
    current_findings: dict[int, list[Finding]] = {}
    for row in session.exec(
        select(Finding)
        .where(col(Finding.post_id).in_(ids), col(Finding.superseded_at).is_(None))
        .order_by(col(Finding.id))
    ).all():
        current_findings.setdefault(row.post_id, []).append(row)
    views = []
    for post in posts:
        assert post.id is not None and post.created_at is not None
        assert post.updated_at is not None
        account = accounts[post.account_id]
        latest = latest_approval.get(post.id)
        findings = [_finding_view(f) for f in current_findings.get(post.id, [])]
        # The detailed view recomputes the fingerprint (what the daemon will compare); a
        # page of the queue trusts the stored one.
        current = fingerprint.digest(session, post) if with_findings else post.fingerprint
        valid = (
            latest is not None
            and latest.void_at is None
            and latest.id == post.approval_id
            and latest.fingerprint == current
        )
        views.append(
            PostView(
                id=post.id,
                account=account.name,
                account_id=account.id,  # type: ignore[arg-type]
                platform=account.platform,
                timezone=account.timezone,
                author=post.author,
                edited_by=post.edited_by,
                text=post.text,
                links=tuple(post.links or ()),
                attachments=tuple(attachments.get(post.id, ())),
                scheduled_at=post.scheduled_at,
                state=PostState(post.state),
                state_reason=post.state_reason,
                version=post.version,
                fingerprint=post.fingerprint,
                approval=_approval_view(latest) if latest is not None else None,
                approval_valid=valid,
                open_findings=sum(1 for f in findings if f.holds_post),
                created_at=post.created_at,
                updated_at=post.updated_at,
                not_before=post.not_before,
                lease_owner=post.lease_owner,
                lease_expires_at=post.lease_expires_at,
                attempt_count=post.attempt_count,
                last_error=post.last_error,
                remote_id=post.remote_id,
                remote_url=post.remote_url,
                published_at=post.published_at,
                corrects_post_id=post.corrects_post_id,
                series_id=post.series_id,
                repeat_rule=post.repeat_rule,
                findings=tuple(findings) if with_findings else (),
            )
        )
    return views


def post_views(
    session: Session, posts: Sequence[Post], *, with_findings: bool = False
) -> list[PostView]:
    """Views of several posts inside an open session, in their order (for code in
    ``scheduler/`` that selects posts itself, such as the calendar)."""
    return _post_views(session, posts, with_findings=with_findings)


def post_view(session: Session, post: Post) -> PostView:
    """The view of one post inside an open session (for code in ``scheduler/``)."""
    return _post_views(session, [post], with_findings=True)[0]


def _post(session: Session, post_id: int, *, lock: bool = False) -> Post:
    query = select(Post).where(Post.id == post_id)
    if lock:
        query = query.with_for_update()
    post = session.exec(query).first()
    if post is None:
        raise NotFound(f"no post {post_id}")
    return post


def get_post(store: Store, post_id: int) -> PostView:
    """One post with its attachments, approval and current findings; raises ``NotFound``."""
    with store.read() as session:
        return post_view(session, _post(session, post_id))


def _post_filters(
    store: Store,
    states: Iterable[str | PostState] | None,
    account: str | int | None,
    text: str | None,
    author: str | None,
) -> list[Any]:
    conditions: list[Any] = []
    if states:
        values = []
        for state in states:
            try:
                values.append(PostState(state).value)
            except ValueError as exc:
                known = ", ".join(s.value for s in PostState)
                raise InvalidInput(f"unknown state {state!r} (known: {known})") from exc
        conditions.append(col(Post.state).in_(values))
    if account is not None:
        if isinstance(account, int) or str(account).isdigit():
            conditions.append(Post.account_id == int(account))
        else:
            conditions.append(
                col(Post.account_id).in_(select(Account.id).where(Account.name == account))
            )
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        if store.is_sqlite:
            # SQLite's LIKE already ignores case (for ASCII, as its lower() does), so
            # ILIKE's lower() on every row would only double the cost of the scan.
            conditions.append(col(Post.text).like(pattern, escape="\\"))
        else:
            conditions.append(col(Post.text).ilike(pattern, escape="\\"))
    if author:
        conditions.append(Post.author == author)
    return conditions


def list_posts(
    store: Store,
    *,
    states: Iterable[str | PostState] | None = None,
    account: str | int | None = None,
    text: str | None = None,
    author: str | None = None,
    order_by: str = "scheduled_at",
    descending: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> list[PostView]:
    """One page of the queue, filtered and sorted.

    ``states``: only these states; ``account``: a name or id; ``text``: a substring of
    the text (case-insensitive); ``order_by``: one of ``POST_SORT_KEYS`` (ties broken by
    id; posts with no time sort last). Uses the (state, scheduled_at) and (account,
    scheduled_at) indexes, so a page stays fast at 100,000 posts. Raises ``InvalidInput``
    for an unknown state or sort key, or a page size outside 1..1000.
    """
    if order_by not in POST_SORT_KEYS:
        raise InvalidInput(f"cannot sort by {order_by!r} (use one of {', '.join(POST_SORT_KEYS)})")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE} posts")
    if offset < 0:
        raise InvalidInput("the offset cannot be negative")
    conditions = _post_filters(store, states, account, text, author)
    with store.read() as session:
        # Deferred join: page through narrow (id, key) rows first, then load the page's
        # 100 posts, so a deep offset skips index entries rather than whole posts.
        ids = select(Post.id).where(*conditions)
        if order_by == "account":
            ids = ids.join(Account, col(Account.id) == col(Post.account_id))
            key: Any = col(Account.name)
        else:
            key = col(getattr(Post, order_by))
        primary = key.desc() if descending else key.asc()
        if order_by == "scheduled_at":
            primary = primary.nulls_last()
        tie = col(Post.id).desc() if descending else col(Post.id).asc()
        page = [
            row
            for row in session.exec(ids.order_by(primary, tie).offset(offset).limit(limit)).all()
        ]
        if not page:
            return []
        loaded = {
            post.id: post for post in session.exec(select(Post).where(col(Post.id).in_(page)))
        }
        posts = [loaded[post_id] for post_id in page if post_id in loaded]
        return _post_views(session, posts, with_findings=False)


def count_posts(
    store: Store,
    *,
    states: Iterable[str | PostState] | None = None,
    account: str | int | None = None,
    text: str | None = None,
    author: str | None = None,
) -> int:
    """How many posts :func:`list_posts` would page through with the same filters."""
    conditions = _post_filters(store, states, account, text, author)
    with store.read() as session:
        return int(session.exec(select(func.count()).select_from(Post).where(*conditions)).one())


def count_by_state(store: Store) -> dict[PostState, int]:
    """How many posts are in each state (for the queue's tabs and the demo summary)."""
    with store.read() as session:
        rows = session.exec(select(Post.state, func.count()).group_by(Post.state)).all()
    counts = dict.fromkeys(PostState, 0)
    for state, number in rows:
        counts[PostState(state)] = int(number)
    return counts


def last_change(store: Store) -> int:
    """A number that grows with every change anyone makes (the audit log's last event):
    a view that saw another number than last time has something new to show."""
    with store.read() as session:
        return int(session.exec(select(func.max(AuditEvent.seq))).one() or 0)


def review_inbox(
    store: Store, actor: Actor, *, offset: int = 0, limit: int = 100
) -> list[PostView]:
    """Posts waiting for review that ``actor`` may approve (not their own), oldest first."""
    _require(actor, Role.APPROVER, "review posts")
    with store.read() as session:
        posts = session.exec(
            select(Post)
            .where(
                Post.state == PostState.IN_REVIEW.value,
                Post.author != actor.login,
                Post.edited_by != actor.login,
            )
            .order_by(col(Post.updated_at), col(Post.id))
            .offset(offset)
            .limit(limit)
        ).all()
        return _post_views(session, posts, with_findings=True)


def list_findings(
    store: Store, post_id: int, *, include_superseded: bool = False
) -> list[FindingView]:
    """A post's gate findings (current ones unless ``include_superseded``)."""
    with store.read() as session:
        _post(session, post_id)
        query = select(Finding).where(Finding.post_id == post_id).order_by(col(Finding.id))
        if not include_superseded:
            query = query.where(col(Finding.superseded_at).is_(None))
        return [_finding_view(f) for f in session.exec(query).all()]


# -- posts: changes ---------------------------------------------------------------------


def _is_author(actor: Actor, post: Post) -> bool:
    return actor.login in (post.author, post.edited_by)


def _may_change(actor: Actor, post: Post, what: str) -> None:
    if actor.login == post.author or actor.at_least(Role.APPROVER):
        return
    raise PermissionDenied(f"only the post's author or an approver can {what} post {post.id}")


def _resolve_at(
    store: Store, account: Account, at: datetime | str | None, fold: int | None
) -> datetime | None:
    if at is None:
        return None
    return resolve_schedule_time(at, account.timezone, fold=fold, now=store.now())


def _set_attachments(
    session: Session, post: Post, attachments: Sequence[Attachment | tuple[int, str] | int]
) -> list[dict[str, Any]]:
    normalised: list[Attachment] = []
    for item in attachments:
        if isinstance(item, Attachment):
            normalised.append(item)
        elif isinstance(item, int):
            normalised.append(Attachment(asset_id=item))
        else:
            normalised.append(Attachment(asset_id=int(item[0]), alt=str(item[1])))
    for item in normalised:
        _fits("alt text", item.alt, 2000)
        _asset(session, item.asset_id)
    for link in session.exec(select(PostAsset).where(PostAsset.post_id == post.id)).all():
        session.delete(link)
    session.flush()
    for position, item in enumerate(normalised):
        session.add(
            PostAsset(post_id=post.id, position=position, asset_id=item.asset_id, alt_text=item.alt)  # type: ignore[arg-type]
        )
    session.flush()
    return [{"asset": a.asset_id, "alt": a.alt} for a in normalised]


def _clean_links(links: Sequence[str]) -> list[str]:
    cleaned = [link.strip() for link in links if link.strip()]
    for link in cleaned:
        _fits("link", link, 2000)
        if not link.lower().startswith(("http://", "https://")):
            raise InvalidInput(f"a link must start with http:// or https:// ({link!r})")
    return cleaned


def create_post(
    store: Store,
    actor: Actor,
    *,
    account: str | int,
    text: str = "",
    at: datetime | str | None = None,
    fold: int | None = None,
    links: Sequence[str] = (),
    attachments: Sequence[Attachment | tuple[int, str] | int] = (),
) -> PostView:
    """Write a new post as a draft.

    ``at`` is a wall-clock time in the account's zone (text ``YYYY-MM-DD HH:MM`` or a
    naive datetime) or an aware datetime; ``fold`` picks the first (0) or second (1)
    reading of a time the clock change makes happen twice. Raises ``InvalidInput`` for a
    time in a clock-change gap, an ambiguous time without ``fold``, a time in the past,
    an inactive account or a bad link; ``NotFound`` for an unknown account or asset.
    """
    _fits("post text", text, MAX_POST_TEXT)
    with store.write() as session:
        target = _account(session, account)
        if not target.active:
            raise InvalidInput(f"the account {target.name!r} is not active")
        now = store.now()
        post = Post(
            account_id=target.id,  # type: ignore[arg-type]
            author=actor.login,
            edited_by=actor.login,
            text=text,
            links=_clean_links(links),
            scheduled_at=_resolve_at(store, target, at, fold),
            state=PostState.DRAFT.value,
            created_at=now,
            updated_at=now,
        )
        session.add(post)
        session.flush()
        attached = _set_attachments(session, post, attachments)
        post.fingerprint = fingerprint.digest(session, post)
        session.add(post)
        append_event(
            session,
            at=now,
            actor=actor.login,
            action="post.create",
            subject=f"post:{post.id}",
            after={
                "state": post.state,
                "account": target.name,
                "text": text,
                "scheduled_at": post.scheduled_at,
                "links": post.links,
                "attachments": attached,
                "version": post.version,
                "fingerprint": post.fingerprint,
            },
        )
        return post_view(session, post)


_UNSET: Any = object()


def edit_post(
    store: Store,
    actor: Actor,
    post_id: int,
    *,
    expected_version: int | None = None,
    text: str | None = None,
    at: datetime | str | None = _UNSET,
    fold: int | None = None,
    links: Sequence[str] | None = None,
    attachments: Sequence[Attachment | tuple[int, str] | int] | None = None,
    account: str | int | None = None,
) -> PostView:
    """Change a post's content, account or time. Any change voids its approval: a post in
    review, scheduled, held or failed goes back to ``draft``.

    ``expected_version`` is the version the editor read; if someone saved in between,
    ``StaleEdit`` is raised and nothing is written. ``at=None`` clears the time. Raises
    ``IllegalTransition`` when the post can no longer be edited (publishing, published,
    cancelled...), and the errors of :func:`create_post` for bad values.
    """
    with store.write() as session:
        post = _post(session, post_id, lock=True)
        _may_change(actor, post, "edit")
        lifecycle.check_version(post, expected_version)
        state = PostState(post.state)
        if state not in lifecycle.EDITABLE:
            raise IllegalTransition(f"post {post.id} is {state.value}: it can no longer be edited")
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        target = session.get(Account, post.account_id)
        assert target is not None
        if account is not None:
            new_account = _account(session, account)
            if new_account.id != post.account_id:
                if not new_account.active:
                    raise InvalidInput(f"the account {new_account.name!r} is not active")
                before["account"], after["account"] = target.name, new_account.name
                post.account_id = new_account.id  # type: ignore[assignment]
                target = new_account
        _fits("post text", text, MAX_POST_TEXT)
        if text is not None and text != post.text:
            before["text"], after["text"] = post.text, text
            post.text = text
        if links is not None:
            cleaned = _clean_links(links)
            if cleaned != list(post.links or []):
                before["links"], after["links"] = list(post.links or []), cleaned
                post.links = cleaned
        if at is not _UNSET:
            new_time = _resolve_at(store, target, at, fold)
            if new_time != post.scheduled_at:
                before["scheduled_at"], after["scheduled_at"] = post.scheduled_at, new_time
                post.scheduled_at = new_time
        if attachments is not None:
            old = [
                {"asset": link.asset_id, "alt": link.alt_text}
                for link in session.exec(
                    select(PostAsset)
                    .where(PostAsset.post_id == post.id)
                    .order_by(col(PostAsset.position))
                ).all()
            ]
            new = _set_attachments(session, post, attachments)
            if new != old:
                before["attachments"], after["attachments"] = old, new
        if not after:
            return post_view(session, post)
        now = store.now()
        post.edited_by = actor.login
        if state is PostState.DRAFT:
            lifecycle.record_change(
                session, post, action="edit", actor=actor.login, now=now, before=before, after=after
            )
        else:
            lifecycle.transition(
                session,
                post,
                PostState.DRAFT,
                action="edit",
                actor=actor.login,
                now=now,
                detail={"changes": after, "was": before},
            )
        return post_view(session, post)


def schedule_post(
    store: Store,
    actor: Actor,
    post_id: int,
    at: datetime | str,
    *,
    fold: int | None = None,
    expected_version: int | None = None,
) -> PostView:
    """Set a post's time (an edit of its scheduled window: an approval is voided)."""
    return edit_post(store, actor, post_id, at=at, fold=fold, expected_version=expected_version)


def _check_ready(store: Store, post: Post, account: Account) -> None:
    if not post.text.strip() and not post.links:
        raise InvalidInput(f"post {post.id} has no text: there is nothing to post")
    if not account.active:
        raise InvalidInput(f"the account {account.name!r} is not active")
    if post.scheduled_at is None:
        raise InvalidInput(f"post {post.id} has no time: schedule it first")
    if post.scheduled_at <= store.now():
        raise InvalidInput(
            f"post {post.id} is due at {post.scheduled_at:%Y-%m-%d %H:%M} UTC, which has "
            "passed: give it a new time first"
        )


def _holding(findings: Sequence[Finding]) -> list[Finding]:
    return gate.holding(findings)


def _current_findings(session: Session, post: Post) -> list[Finding]:
    return list(
        session.exec(
            select(Finding)
            .where(Finding.post_id == post.id, col(Finding.superseded_at).is_(None))
            .order_by(col(Finding.id))
        ).all()
    )


def _approve(
    session: Session,
    post: Post,
    *,
    approver: str,
    automatic: bool,
    comment: str,
    now: datetime,
    action: str,
) -> None:
    post.fingerprint = fingerprint.digest(session, post)
    approval = Approval(
        post_id=post.id,  # type: ignore[arg-type]
        approver=approver,
        fingerprint=post.fingerprint,
        automatic=automatic,
        comment=comment,
        at=now,
    )
    session.add(approval)
    session.flush()
    post.approval_id = approval.id
    lifecycle.transition(
        session,
        post,
        PostState.SCHEDULED,
        action=action,
        actor=approver,
        now=now,
        reason=comment,
        detail={"approval": approval.id, "automatic": automatic},
    )


def _gate_and_route(
    session: Session, store: Store, post: Post, actor: Actor, *, stage: str
) -> None:
    """With the post in review: run the gate, then schedule it if nothing holds it back
    and its account does not want every post approved by a person."""
    account = session.get(Account, post.account_id)
    assert account is not None
    now = store.now()
    findings = gate.record_findings(session, post, account, now=now, stage=stage)
    if findings:
        append_event(
            session,
            at=now,
            actor=actor.login,
            action="post.gate",
            subject=f"post:{post.id}",
            after={
                "stage": stage,
                "findings": [
                    {"id": f.id, "rule": f.rule, "severity": f.severity} for f in findings
                ],
            },
        )
    if not _holding(findings) and not account.require_approval:
        _approve(
            session,
            post,
            approver=actor.login,
            automatic=True,
            comment="nothing for the gate to hold back",
            now=now,
            action="auto-approve",
        )


def submit_post(
    store: Store, actor: Actor, post_id: int, *, expected_version: int | None = None
) -> PostView:
    """Send a draft to the gate.

    The post goes to ``in_review``; the gate's findings are kept with it; a post with
    nothing to hold it back, on an account that does not require approval of every post,
    goes straight on to ``scheduled``. Raises ``InvalidInput`` when the post has no
    text, no time or a past time; ``IllegalTransition`` when it is not a draft.
    """
    with store.write() as session:
        post = _post(session, post_id, lock=True)
        _may_change(actor, post, "submit")
        lifecycle.check_version(post, expected_version)
        account = session.get(Account, post.account_id)
        assert account is not None
        if post.state != PostState.DRAFT.value:
            raise IllegalTransition(
                f"post {post.id} is {post.state}: only a draft can be submitted"
            )
        _check_ready(store, post, account)
        lifecycle.transition(
            session, post, PostState.IN_REVIEW, action="submit", actor=actor.login, now=store.now()
        )
        _gate_and_route(session, store, post, actor, stage="submit")
        return post_view(session, post)


def _not_own(actor: Actor, post: Post, what: str) -> None:
    if _is_author(actor, post):
        raise PermissionDenied(
            f"you wrote or last edited post {post.id}: authors cannot {what} their own posts "
            "(separation of duties)"
        )


def approve_post(
    store: Store,
    actor: Actor,
    post_id: int,
    *,
    comment: str = "",
    expected_version: int | None = None,
) -> PostView:
    """Approve a post in review (approvers and admins; never its author or last editor).

    Records an approval bound to the post's fingerprint and schedules it. Raises
    ``PermissionDenied`` for authors and the post's own writer; ``IllegalTransition``
    when it is not in review, a block finding stands, or a review finding is not signed
    off; ``InvalidInput`` when its time has passed.
    """
    _require(actor, Role.APPROVER, "approve posts")
    _fits("comment", comment, 10_000)
    with store.write() as session:
        post = _post(session, post_id, lock=True)
        lifecycle.check_version(post, expected_version)
        if post.state != PostState.IN_REVIEW.value:
            raise IllegalTransition(
                f"post {post.id} is {post.state}: only a post in review can be approved"
            )
        _not_own(actor, post, "approve")
        holding = _holding(_current_findings(session, post))
        blocks = [f for f in holding if f.severity == "block"]
        if blocks:
            names = ", ".join(f"#{f.id} {f.rule}" for f in blocks)
            raise IllegalTransition(
                f"post {post.id} has findings that block it ({names}): only an edit can clear "
                "them; send it back"
            )
        if holding:
            names = ", ".join(f"#{f.id} {f.rule}" for f in holding)
            raise IllegalTransition(
                f"post {post.id} has findings not yet signed off ({names}): sign each off "
                "with a comment first"
            )
        account = session.get(Account, post.account_id)
        assert account is not None
        _check_ready(store, post, account)
        _approve(
            session,
            post,
            approver=actor.login,
            automatic=False,
            comment=comment,
            now=store.now(),
            action="approve",
        )
        return post_view(session, post)


def reject_post(
    store: Store,
    actor: Actor,
    post_id: int,
    *,
    comment: str,
    expected_version: int | None = None,
) -> PostView:
    """Send a post in review back to its author as a draft, with a comment (approvers).

    Raises ``InvalidInput`` without a comment; ``IllegalTransition`` when not in review.
    """
    _require(actor, Role.APPROVER, "send posts back")
    _fits("comment", comment, 10_000)
    if not comment.strip():
        raise InvalidInput("say why the post is sent back (a comment is required)")
    with store.write() as session:
        post = _post(session, post_id, lock=True)
        lifecycle.transition(
            session,
            post,
            PostState.DRAFT,
            action="reject",
            actor=actor.login,
            now=store.now(),
            reason=comment.strip(),
            expected_version=expected_version,
        )
        return post_view(session, post)


def sign_off_finding(
    store: Store, actor: Actor, post_id: int, finding_id: int, *, comment: str
) -> FindingView:
    """Sign off one review finding of a post in review, with a comment (approvers; not
    the post's own writer).

    Raises ``InvalidInput`` without a comment or for an ``info`` finding;
    ``IllegalTransition`` for a block finding (only an edit clears it), a superseded
    finding, or a post not in review; ``NotFound`` for a finding of another post.
    """
    _require(actor, Role.APPROVER, "sign off findings")
    _fits("comment", comment, 10_000)
    if not comment.strip():
        raise InvalidInput("a sign-off needs a comment saying why the finding is acceptable")
    with store.write() as session:
        post = _post(session, post_id, lock=True)
        finding = session.get(Finding, finding_id)
        if finding is None or finding.post_id != post.id:
            raise NotFound(f"post {post_id} has no finding {finding_id}")
        if post.state != PostState.IN_REVIEW.value:
            raise IllegalTransition(
                f"post {post.id} is {post.state}: findings are signed off while it is in review"
            )
        _not_own(actor, post, "sign off findings on")
        if finding.superseded_at is not None:
            raise IllegalTransition(
                f"finding {finding.id} is out of date: the post was checked again"
            )
        if finding.severity == "block":
            raise IllegalTransition(
                f"finding {finding.id} ({finding.rule}) blocks the post: it cannot be signed "
                "off, only edited away"
            )
        if finding.severity != "review":
            raise InvalidInput(f"finding {finding.id} is for information: it needs no sign-off")
        if finding.signed_off_by is not None:
            raise InvalidInput(
                f"finding {finding.id} was already signed off by {finding.signed_off_by}"
            )
        now = store.now()
        finding.signed_off_by = actor.login
        finding.signed_off_at = now
        finding.sign_off_comment = comment.strip()
        session.add(finding)
        append_event(
            session,
            at=now,
            actor=actor.login,
            action="finding.sign-off",
            subject=f"post:{post.id}",
            after={"finding": finding.id, "rule": finding.rule, "comment": comment.strip()},
        )
        return _finding_view(finding)


def cancel_post(
    store: Store,
    actor: Actor,
    post_id: int,
    *,
    reason: str = "",
    expected_version: int | None = None,
) -> PostView:
    """Cancel a post that has not gone out (its author or an approver).

    Raises ``IllegalTransition`` for a post publishing, published or already final.
    """
    _fits("reason", reason, 10_000)
    with store.write() as session:
        post = _post(session, post_id, lock=True)
        _may_change(actor, post, "cancel")
        lifecycle.transition(
            session,
            post,
            PostState.CANCELLED,
            action="cancel",
            actor=actor.login,
            now=store.now(),
            reason=reason,
            expected_version=expected_version,
        )
        return post_view(session, post)


def _reschedule(
    session: Session,
    store: Store,
    post: Post,
    actor: Actor,
    *,
    action: str,
    at: datetime | str | None,
    fold: int | None,
) -> None:
    """Give a held, failed or unknown post a new time and route it: a person who may
    approve it approves the new window; a post the gate passed on its own is checked
    again; otherwise it goes to review."""
    account = session.get(Account, post.account_id)
    assert account is not None
    now = store.now()
    new_time = _resolve_at(store, account, at, fold) if at is not None else now
    old_time = post.scheduled_at
    previous = session.get(Approval, post.approval_id) if post.approval_id else None
    post.scheduled_at = new_time
    post.not_before = None
    post.fingerprint = fingerprint.digest(session, post)
    detail = {"scheduled_at": new_time, "was": old_time}
    if actor.can_approve and not _is_author(actor, post):
        approval = Approval(
            post_id=post.id,  # type: ignore[arg-type]
            approver=actor.login,
            fingerprint=post.fingerprint,
            automatic=False,
            comment=f"{action} at a new time",
            at=now,
        )
        session.add(approval)
        session.flush()
        if previous is not None and previous.void_at is None:
            previous.void_at = now
            previous.void_reason = f"{action} by {actor.login} at a new time"
            session.add(previous)
        post.approval_id = approval.id
        lifecycle.transition(
            session,
            post,
            PostState.SCHEDULED,
            action=action,
            actor=actor.login,
            now=now,
            detail={**detail, "approval": approval.id},
        )
        return
    lifecycle.transition(
        session, post, PostState.IN_REVIEW, action=action, actor=actor.login, now=now, detail=detail
    )
    if previous is not None and previous.automatic:
        _gate_and_route(session, store, post, actor, stage=action)


def retry_post(
    store: Store,
    actor: Actor,
    post_id: int,
    *,
    at: datetime | str | None = None,
    fold: int | None = None,
    expected_version: int | None = None,
) -> PostView:
    """Try a failed post again at ``at`` (default now): scheduled when the actor may
    approve the new window or the gate passes it unaided, otherwise back to review."""
    with store.write() as session:
        post = _post(session, post_id, lock=True)
        _may_change(actor, post, "retry")
        lifecycle.check_version(post, expected_version)
        if post.state != PostState.FAILED.value:
            raise IllegalTransition(
                f"post {post.id} is {post.state}: only a failed post is retried"
            )
        _reschedule(session, store, post, actor, action="retry", at=at, fold=fold)
        return post_view(session, post)


def confirm_held(
    store: Store,
    actor: Actor,
    post_id: int,
    *,
    at: datetime | str | None = None,
    fold: int | None = None,
    expected_version: int | None = None,
) -> PostView:
    """Confirm a post held because it missed its time: send it at ``at`` (default now)."""
    with store.write() as session:
        post = _post(session, post_id, lock=True)
        _may_change(actor, post, "confirm")
        lifecycle.check_version(post, expected_version)
        if post.state != PostState.HELD.value:
            raise IllegalTransition(
                f"post {post.id} is {post.state}: only a held post is confirmed"
            )
        _reschedule(session, store, post, actor, action="confirm", at=at, fold=fold)
        return post_view(session, post)


def resolve_unknown(
    store: Store,
    actor: Actor,
    post_id: int,
    *,
    went_out: bool,
    remote_url: str | None = None,
    remote_id: str | None = None,
    at: datetime | str | None = None,
    fold: int | None = None,
) -> PostView:
    """Settle a post whose outcome was lost: it went out (give its link), or it did not
    and should be sent (at ``at``, default now). Approvers and the post's author."""
    with store.write() as session:
        post = _post(session, post_id, lock=True)
        _may_change(actor, post, "resolve")
        if post.state != PostState.UNKNOWN.value:
            raise IllegalTransition(
                f"post {post.id} is {post.state}: only a post whose outcome is unknown is resolved"
            )
        now = store.now()
        if went_out:
            if not remote_url:
                raise InvalidInput("give the link of the published post")
            post.remote_url = remote_url
            post.remote_id = remote_id or post.remote_id
            post.published_at = post.published_at or now
            lifecycle.transition(
                session,
                post,
                PostState.PUBLISHED,
                action="resolve",
                actor=actor.login,
                now=now,
                detail={"remote_url": remote_url, "remote_id": remote_id},
            )
        else:
            _reschedule(session, store, post, actor, action="resend", at=at, fold=fold)
        return post_view(session, post)


# -- audit ------------------------------------------------------------------------------


def verify_audit(store: Store) -> AuditReport:
    """Check the whole audit chain; the report names the first event that does not fit."""
    with store.read() as session:
        report = verify_chain(session)
    return AuditReport(
        ok=report.ok, events=report.events, bad_seq=report.bad_seq, problem=report.problem
    )


def list_audit(
    store: Store,
    *,
    subject: str | None = None,
    actor: str | None = None,
    offset: int = 0,
    limit: int = 100,
    descending: bool = True,
) -> list[AuditEventView]:
    """Audit events, newest first unless ``descending`` is false; ``subject`` like
    ``post:12`` or ``user:bob``."""
    with store.read() as session:
        query = select(AuditEvent)
        if subject:
            query = query.where(AuditEvent.subject == subject)
        if actor:
            query = query.where(AuditEvent.actor == actor)
        order = col(AuditEvent.seq).desc() if descending else col(AuditEvent.seq).asc()
        rows = session.exec(query.order_by(order).offset(offset).limit(limit)).all()
        return [
            AuditEventView(
                seq=row.seq,
                at=row.at,  # type: ignore[arg-type]
                actor=row.actor,
                action=row.action,
                subject=row.subject,
                before=_loads(row.before),
                after=_loads(row.after),
                hash=row.hash,
            )
            for row in rows
        ]


def _loads(text: str) -> Mapping[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"unreadable": text}
    return value if isinstance(value, dict) else {"value": value}


def get_policy_path(store: Store) -> str:
    """The policy file in force ("" for the shipped default)."""
    with store.read() as session:
        setting = session.get(Setting, gate.POLICY_PATH_SETTING)
        return setting.value if setting is not None else ""


def set_policy_path(store: Store, actor: Actor, path: str | None) -> str:
    """Use the policy file at ``path`` for every check from now on (admins only);
    ``None`` goes back to the shipped default. Returns the path in force ("" for the
    default). Raises ``InvalidInput`` when the file cannot be read as a policy."""
    _require(actor, Role.ADMIN, "change the policy")
    if path:
        from compliance import ComplianceError, Policy

        try:
            Policy.load(path)
        except (ComplianceError, OSError) as exc:
            raise InvalidInput(f"cannot use {path} as the policy: {exc}") from exc
    with store.write() as session:
        setting = session.get(Setting, gate.POLICY_PATH_SETTING)
        before = setting.value if setting is not None else ""
        setting = setting or Setting(key=gate.POLICY_PATH_SETTING)
        setting.value = path or ""
        session.add(setting)
        append_event(
            session,
            at=store.now(),
            actor=actor.login,
            action="policy.use",
            subject="policy",
            before={"path": before},
            after={"path": setting.value},
        )
        return setting.value


def mark_demo(store: Store) -> None:
    """Mark the database as a demo, where ``--as LOGIN`` may switch identity."""
    with store.write() as session:
        setting = session.get(Setting, DEMO_SETTING) or Setting(key=DEMO_SETTING)
        setting.value = "1"
        session.add(setting)
