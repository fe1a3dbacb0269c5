"""The compliance gate: policy as data, rules, findings. Pure functions, no database.

    from compliance import Policy, Draft, Image, check
    verdict = check(Draft(text="..."), Policy.default())
    verdict.findings, verdict.blocked, verdict.needs_signoff

The asset library names (``AssetIndex``, ``AssetRecord``, ...) load on first use, so a
text-only check does not pay for the image libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from compliance.check import check
from compliance.errors import ComplianceError, PolicyError
from compliance.model import Draft, Finding, Image, Severity, Verdict
from compliance.policy import FrequencyLimits, Policy, RuleConfig

if TYPE_CHECKING:
    from compliance.assets import (
        AssetIndex,
        AssetMatch,
        AssetRecord,
        ImageHashes,
        UnreadableImageError,
        content_hash,
        image_hashes,
    )

# Public names that live in the image half of the gate: name -> module.
_IMAGE_NAMES = {
    "AssetIndex": "compliance.assets",
    "AssetMatch": "compliance.assets",
    "AssetRecord": "compliance.assets",
    "ImageHashes": "compliance.assets",
    "UnreadableImageError": "compliance.assets",
    "content_hash": "compliance.assets",
    "image_hashes": "compliance.assets",
}

__all__ = [
    "AssetIndex",
    "AssetMatch",
    "AssetRecord",
    "ComplianceError",
    "Draft",
    "Finding",
    "FrequencyLimits",
    "Image",
    "ImageHashes",
    "Policy",
    "PolicyError",
    "RuleConfig",
    "Severity",
    "UnreadableImageError",
    "Verdict",
    "check",
    "content_hash",
    "image_hashes",
]


def __getattr__(name: str) -> Any:
    module = _IMAGE_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'compliance' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
