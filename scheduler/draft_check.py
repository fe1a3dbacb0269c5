"""The gate on content that is not saved yet: what the compose screen checks as you type.

Submitting a post runs the gate through :mod:`scheduler.gate` and keeps the findings;
this runs the same gate, with the same policy and asset library, on text and images an
author is still writing, and keeps nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import select

from scheduler import gate
from scheduler.errors import GatepostError, NotFound
from scheduler.models import Account, AssetBlob
from scheduler.store import Store
from scheduler.views import Attachment


def check_draft(
    store: Store,
    *,
    account: str | int,
    text: str,
    attachments: Sequence[Attachment | int] = (),
    at: datetime | None = None,
) -> tuple[Any, ...]:
    """Run the gate on unsaved content and return its findings (``compliance.Finding``).

    ``account`` is the account's name or id (its kind and name matter to the rules);
    ``attachments`` are library assets with their alt text; ``at`` is when the post
    would go out (validity windows are checked against it; ``None`` means now). Raises
    ``NotFound`` for an unknown account or asset, ``GatepostError`` when the gate cannot
    run (a broken policy file).
    """
    from compliance import ComplianceError, Draft, Image, check

    items = [a if isinstance(a, Attachment) else Attachment(asset_id=a) for a in attachments]
    with store.read() as session:
        if isinstance(account, int) or str(account).isdigit():
            target = session.get(Account, int(account))
        else:
            target = session.exec(select(Account).where(Account.name == account)).first()
        if target is None:
            raise NotFound(f"no account {account!r}")
        images = []
        for item in items:
            blob = session.get(AssetBlob, item.asset_id)
            if blob is None:
                raise NotFound(f"no asset {item.asset_id}")
            images.append(Image(data=blob.data, alt=item.alt, asset_id=str(item.asset_id)))
        draft = Draft(
            text=text,
            account_kind=target.kind,
            images=tuple(images),
            account=target.name,
            at=at,
        )
        try:
            policy = gate.policy(session)
            assets = gate.asset_index(session) if images else None
            verdict = check(draft, policy, assets=assets, now=store.now())
        except (ComplianceError, OSError) as exc:
            raise GatepostError(
                f"the compliance gate cannot run: {exc}", "Compliance gate"
            ) from exc
    return tuple(verdict.findings)
