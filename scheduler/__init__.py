"""The queue: domain model, store, post lifecycle, services and the publishing daemon.

Callers outside ``scheduler/`` use the store, the services and the frozen views:

    from scheduler import Store, services, Actor
    store = Store()                       # GATEPOST_DATABASE_URL or the SQLite file
    actor = services.resolve_actor(store)
    page = services.list_posts(store, states=["scheduled"], limit=100)

Names load on first use, so importing one submodule does not pull in the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scheduler import corrections, recurrence, services
    from scheduler.daemon import (
        Daemon,
        DaemonEvent,
        DaemonSettings,
        DaemonStatus,
        daemon_statuses,
    )
    from scheduler.errors import (
        GatepostError,
        IllegalTransition,
        InvalidInput,
        NotFound,
        PermissionDenied,
        StaleEdit,
        StoreError,
    )
    from scheduler.models import PostState, Role
    from scheduler.store import Store
    from scheduler.views import (
        AccountView,
        Actor,
        ApprovalView,
        AssetView,
        Attachment,
        AttachmentView,
        AuditEventView,
        AuditReport,
        FindingView,
        PostView,
        UserView,
    )

_NAMES = {
    "services": "scheduler.services",
    "corrections": "scheduler.corrections",
    "recurrence": "scheduler.recurrence",
    **dict.fromkeys(
        ("Daemon", "DaemonEvent", "DaemonSettings", "DaemonStatus", "daemon_statuses"),
        "scheduler.daemon",
    ),
    "Store": "scheduler.store",
    "PostState": "scheduler.models",
    "Role": "scheduler.models",
    **dict.fromkeys(
        (
            "GatepostError",
            "IllegalTransition",
            "InvalidInput",
            "NotFound",
            "PermissionDenied",
            "StaleEdit",
            "StoreError",
        ),
        "scheduler.errors",
    ),
    **dict.fromkeys(
        (
            "AccountView",
            "Actor",
            "ApprovalView",
            "AssetView",
            "Attachment",
            "AttachmentView",
            "AuditEventView",
            "AuditReport",
            "FindingView",
            "PostView",
            "UserView",
        ),
        "scheduler.views",
    ),
}

__all__ = [
    "AccountView",
    "Actor",
    "ApprovalView",
    "AssetView",
    "Attachment",
    "AttachmentView",
    "AuditEventView",
    "AuditReport",
    "Daemon",
    "DaemonEvent",
    "DaemonSettings",
    "DaemonStatus",
    "FindingView",
    "GatepostError",
    "IllegalTransition",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "PostState",
    "PostView",
    "Role",
    "StaleEdit",
    "Store",
    "StoreError",
    "UserView",
    "corrections",
    "daemon_statuses",
    "recurrence",
    "services",
]


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'scheduler' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    return loaded if module.endswith(f".{name}") else getattr(loaded, name)
