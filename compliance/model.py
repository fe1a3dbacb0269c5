"""The plain data the gate takes and returns.

Everything here is a frozen dataclass so drafts and verdicts can cross into the
scheduler and the UI without dragging the gate's internals along.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Severity(StrEnum):
    """How hard a finding holds a post back.

    ``block``: cannot be signed off, only edited away. ``review``: an approver must sign
    it off with a comment. ``info``: shown, holds nothing back.
    """

    BLOCK = "block"
    REVIEW = "review"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One thing the gate found.

    ``clause`` quotes or names the part of the guidance the rule enforces; ``span`` is
    ``(start, end)`` into the draft's original text (so a UI can highlight it), or
    ``None`` when the finding is about an image (``asset_id``/``image_index``) or the
    post as a whole.
    """

    rule: str
    severity: Severity
    clause: str
    message: str
    span: tuple[int, int] | None = None
    asset_id: str | None = None
    image_index: int | None = None


@dataclass(frozen=True)
class Image:
    """An image attached to a draft: its bytes, alt text and library asset id if any."""

    data: bytes
    alt: str = ""
    asset_id: str | None = None


@dataclass(frozen=True)
class Draft:
    """What the gate checks.

    ``account`` names the account the post goes to (for asset allow-lists);
    ``account_kind`` is ``"official"`` or ``"personal"``; ``at`` is when the post is due
    to go out (validity windows are checked against it; ``None`` means now).
    """

    text: str
    account_kind: str = "official"
    images: tuple[Image, ...] = ()
    account: str = ""
    at: datetime | None = None

    def __post_init__(self) -> None:
        # Accept a list for convenience; keep the dataclass hashable and frozen.
        if not isinstance(self.images, tuple):
            object.__setattr__(self, "images", tuple(self.images))


@dataclass(frozen=True)
class Verdict:
    """The gate's answer for one draft."""

    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def blocked(self) -> bool:
        """A ``block`` finding exists: the post must be edited, it cannot be signed off."""
        return any(f.severity is Severity.BLOCK for f in self.findings)

    @property
    def needs_signoff(self) -> bool:
        """Something holds the post back (a review or block finding)."""
        return any(f.severity in (Severity.BLOCK, Severity.REVIEW) for f in self.findings)
