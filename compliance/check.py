"""The gate's one entry point: :func:`check` a draft against a policy."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from compliance.model import Draft, Finding, Verdict
from compliance.policy import Policy
from compliance.text_rules import compile_text_rules

if TYPE_CHECKING:
    from compliance.assets import AssetIndex


def check(
    draft: Draft,
    policy: Policy | None = None,
    assets: AssetIndex | None = None,
    now: datetime | None = None,
) -> Verdict:
    """Run every enabled rule of ``policy`` on ``draft`` and return the verdict.

    Args:
        draft: the text, account kind and images to check.
        policy: the rules; ``None`` means the shipped default policy.
        assets: the asset library images are looked up in (``None``: no library, so
            every image is unknown to it).
        now: the time validity windows are checked against when ``draft.at`` is unset.

    Returns:
        A :class:`Verdict` whose findings are sorted by where they are in the text
        (text findings first, by span), then image findings by image.
    """
    if policy is None:
        policy = Policy.default()
    findings: list[Finding] = compile_text_rules(policy).scan(draft)
    if draft.images:
        findings.extend(_check_images(draft, policy, assets, now))
    if len(findings) > 1:
        findings.sort(key=_position)
    return Verdict(tuple(findings))


def _position(finding: Finding) -> tuple[Any, ...]:
    if finding.span is not None:
        return (0, finding.span[0], finding.span[1], finding.rule)
    if finding.image_index is not None or finding.asset_id is not None:
        return (2, finding.image_index if finding.image_index is not None else -1, 0, finding.rule)
    return (1, 0, 0, finding.rule)


def _check_images(
    draft: Draft, policy: Policy, assets: AssetIndex | None, now: datetime | None
) -> list[Finding]:
    # Imported here, not at the top: the image rules pull in Pillow, OpenCV and numpy
    # (about half a second), which a text-only check (as you type) never needs.
    from compliance.images import check_images

    return list(check_images(draft, policy, assets, now))
