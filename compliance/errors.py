"""The gate's errors.

    ComplianceError          base: every error the gate raises has a readable title
    ├── PolicyError          a policy file that cannot be read, parsed or understood
    └── UnreadableImageError image bytes the gate cannot decode safely (in
                             compliance.assets; the image rules turn it into a finding)

Findings are data, never exceptions: a draft that breaks a rule gives a ``Verdict``.
"""

from __future__ import annotations


class ComplianceError(Exception):
    """Base error of the compliance gate, with a title a person can read."""

    def __init__(self, message: str, title: str = "Compliance gate error") -> None:
        super().__init__(message)
        self.message = message
        self.title = title

    def __str__(self) -> str:
        return self.message


class PolicyError(ComplianceError):
    """A policy file is missing, not valid TOML, or has a wrong or missing key."""

    def __init__(self, message: str, title: str = "Broken policy file") -> None:
        super().__init__(message, title)
