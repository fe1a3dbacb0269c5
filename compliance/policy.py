"""Policy as data: the rules the gate enforces, read from a TOML file.

The shipped default is ``compliance/policy.toml``; an organisation may keep an edited
copy and load it with :meth:`Policy.load`. Each ``[rules.<id>]`` table names the
clause of the guidance it enforces, its severity, whether it is on, and its settings.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from compliance.errors import PolicyError
from compliance.model import Severity

# Keys every rule table has; everything else in the table is the rule's settings.
_COMMON_KEYS = ("clause", "severity", "enabled")

# Settings of the text rules and the type each must have, so a typo in an edited
# policy fails when it is loaded, naming the key, not later in the middle of a check.
_LIST_OF_STR = "list of strings"
_TEXT_RULE_SETTINGS: dict[str, dict[str, str]] = {
    "confidential": {
        "markers": _LIST_OF_STR,
        "project_names": _LIST_OF_STR,
        "exceptions": _LIST_OF_STR,
    },
    "personal_data": {
        "kinds": _LIST_OF_STR,
        "block_kinds": _LIST_OF_STR,
        "student_id_patterns": _LIST_OF_STR,
        "public_values": _LIST_OF_STR,
        "role_mailboxes": _LIST_OF_STR,
    },
    "offensive": {"source": "string", "add": _LIST_OF_STR, "exceptions": _LIST_OF_STR},
    "whereabouts": {
        "phrases": _LIST_OF_STR,
        "place_phrases": _LIST_OF_STR,
        "time_phrases": _LIST_OF_STR,
        "window": "integer",
        "exceptions": _LIST_OF_STR,
    },
    "personal_account": {"disclaimers": _LIST_OF_STR, "official_voice": _LIST_OF_STR},
    "hashtag_case": {"min_words": "integer", "min_length": "integer"},
    "frequency": {"limits": "table"},
}


class FrequencyLimits(NamedTuple):
    """Posting limits for one kind of account; ``None`` means no limit."""

    per_hour: int | None
    per_day: int | None


@dataclass(frozen=True)
class RuleConfig:
    """One rule of the policy: which clause it enforces, how hard, and its settings."""

    id: str
    clause: str
    severity: Severity
    enabled: bool
    settings: Mapping[str, Any]


class Policy:
    """The rules the gate enforces, read from TOML. Immutable once loaded."""

    def __init__(self, rules: Mapping[str, RuleConfig], source: str, digest: str) -> None:
        self._rules = dict(rules)
        self.source = source
        #: sha256 of the policy file's bytes: a recheck can tell whether the policy
        #: changed since a post was approved.
        self.digest = digest

    def __repr__(self) -> str:
        return f"Policy(source={self.source!r}, rules={len(self._rules)})"

    @classmethod
    def default(cls) -> Policy:
        """The policy shipped with the gate (``compliance/policy.toml``).

        Raises:
            PolicyError: the shipped file is broken (a packaging fault).
        """
        return _default_policy()

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read a policy from a TOML file (an organisation's edited copy).

        Raises:
            PolicyError: the file is missing or unreadable, is not valid TOML, or a rule
                table has a missing or wrongly typed key; the message names the file and
                the key.
        """
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PolicyError(f"cannot read policy file {path}: {exc.strerror or exc}") from exc
        return cls.from_bytes(data, source=str(path))

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<policy>") -> Policy:
        """Parse a policy from the bytes of a TOML document.

        Raises:
            PolicyError: as :meth:`load`.
        """
        try:
            document = tomllib.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise PolicyError(f"{source}: the policy file is not UTF-8 text ({exc})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
        rules_table = document.get("rules")
        if not isinstance(rules_table, dict) or not rules_table:
            raise PolicyError(f"{source}: no [rules.<id>] tables; the policy lists no rules")
        rules = {
            rule_id: _parse_rule(source, rule_id, table) for rule_id, table in rules_table.items()
        }
        return cls(rules, source, hashlib.sha256(data).hexdigest())

    @property
    def rules(self) -> tuple[RuleConfig, ...]:
        """Every rule in the policy, in file order (enabled or not)."""
        return tuple(self._rules.values())

    def rule(self, rule_id: str) -> RuleConfig:
        """The rule with this id.

        Raises:
            PolicyError: the policy has no such rule.
        """
        try:
            return self._rules[rule_id]
        except KeyError:
            raise PolicyError(
                f"{self.source}: the policy has no rule {rule_id!r} "
                f"(it has: {', '.join(self._rules)})",
                title="Unknown rule",
            ) from None

    def enabled(self, rule_id: str) -> RuleConfig | None:
        """The rule if the policy has it and it is switched on, else ``None``."""
        rule = self._rules.get(rule_id)
        return rule if rule is not None and rule.enabled else None

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __iter__(self) -> Iterator[RuleConfig]:
        return iter(self._rules.values())

    def frequency_limits(self, account_kind: str) -> FrequencyLimits:
        """Posting limits for an account kind (``official``/``personal``), per hour and day.

        The scheduler enforces them; a missing or disabled ``frequency`` rule, or a kind
        the policy does not list, means no limit.
        """
        rule = self.enabled("frequency")
        if rule is None:
            return FrequencyLimits(None, None)
        limits = rule.settings.get("limits", {}).get(account_kind, {})
        return FrequencyLimits(limits.get("per_hour"), limits.get("per_day"))


def _parse_rule(source: str, rule_id: str, table: object) -> RuleConfig:
    where = f"{source}: [rules.{rule_id}]"
    if not isinstance(table, dict):
        raise PolicyError(f"{where} must be a table")
    clause = table.get("clause")
    if not isinstance(clause, str) or not clause.strip():
        raise PolicyError(f"{where}: key 'clause' is missing or empty (quote the guidance)")
    severity_text = table.get("severity")
    try:
        severity = Severity(str(severity_text))
    except ValueError:
        allowed = ", ".join(s.value for s in Severity)
        raise PolicyError(
            f"{where}: key 'severity' is {severity_text!r}; it must be one of {allowed}"
        ) from None
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise PolicyError(f"{where}: key 'enabled' must be true or false, not {enabled!r}")
    settings = {k: v for k, v in table.items() if k not in _COMMON_KEYS}
    schema = _TEXT_RULE_SETTINGS.get(rule_id)
    if schema is not None:
        unknown = sorted(set(settings) - set(schema))
        if unknown:
            raise PolicyError(
                f"{where}: unknown key {unknown[0]!r} (this rule's settings are: "
                f"{', '.join(schema)})"
            )
    for key, expected in (schema or {}).items():
        if key in settings and not _has_type(settings[key], expected):
            raise PolicyError(f"{where}: key {key!r} must be a {expected}, not {settings[key]!r}")
    if rule_id == "frequency":
        _check_frequency_limits(where, settings.get("limits", {}))
    if rule_id == "personal_data":
        _check_patterns(where, settings.get("student_id_patterns", []))
    return RuleConfig(rule_id, clause.strip(), severity, enabled, MappingProxyType(settings))


def _has_type(value: object, expected: str) -> bool:
    if expected == _LIST_OF_STR:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if expected == "string":
        return isinstance(value, str)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, dict)


def _check_frequency_limits(where: str, limits: object) -> None:
    if not isinstance(limits, dict):
        raise PolicyError(f"{where}: key 'limits' must be a table of account kinds")
    for kind, pair in limits.items():
        if not isinstance(pair, dict):
            raise PolicyError(f"{where}: key 'limits.{kind}' must be a table")
        for key in ("per_hour", "per_day"):
            value = pair.get(key)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise PolicyError(
                    f"{where}: key 'limits.{kind}.{key}' must be a positive integer, not {value!r}"
                )


def _check_patterns(where: str, patterns: list[str]) -> None:
    import re

    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise PolicyError(
                f"{where}: key 'student_id_patterns' has a broken pattern {pattern!r}: {exc}"
            ) from exc


@cache
def _default_policy() -> Policy:
    data = resources.files("compliance").joinpath("policy.toml").read_bytes()
    return Policy.from_bytes(data, source="compliance/policy.toml")
