"""The policy is data: loading, validation, and edits that change what the gate does."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance import ComplianceError, Draft, Policy, PolicyError, RuleConfig, Severity, check

POLICIES = Path(__file__).parents[1] / "data" / "policies"
SHIPPED = Path(__file__).parents[2] / "compliance" / "policy.toml"


def test_default_policy_has_every_text_rule_with_a_clause() -> None:
    policy = Policy.default()
    for rule_id in (
        "confidential",
        "personal_data",
        "offensive",
        "whereabouts",
        "personal_account",
        "hashtag_case",
        "frequency",
    ):
        rule = policy.rule(rule_id)
        assert isinstance(rule, RuleConfig)
        assert rule.clause and rule.enabled
        assert isinstance(rule.severity, Severity)
    assert [r.id for r in policy.rules][:2] == ["confidential", "personal_data"]


def test_unknown_rule_id_is_a_policy_error_naming_it() -> None:
    with pytest.raises(PolicyError, match="no rule 'nonsense'"):
        Policy.default().rule("nonsense")


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("bad_severity.toml", r"\[rules.confidential\]: key 'severity' is 'urgent'"),
        ("missing_clause.toml", r"\[rules.offensive\]: key 'clause' is missing"),
        ("not_toml.toml", "not valid TOML"),
        ("markers_not_a_list.toml", r"key 'markers' must be a list of strings"),
        ("misspelt_setting.toml", r"\[rules.confidential\]: unknown key 'marker'"),
        ("no_rules.toml", r"no \[rules.<id>\] tables"),
        ("bad_frequency_limit.toml", r"key 'limits.official.per_hour' must be a positive"),
        ("broken_student_id_pattern.toml", r"key 'student_id_patterns' has a broken pattern"),
        ("does_not_exist.toml", "cannot read policy file"),
    ],
)
def test_broken_policy_file_gives_a_clear_policy_error(fixture: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message) as caught:
        Policy.load(POLICIES / fixture)
    assert isinstance(caught.value, ComplianceError)
    assert caught.value.title  # a person can read what went wrong
    assert fixture in str(caught.value)  # and in which file


def test_frequency_limits_per_account_kind() -> None:
    policy = Policy.default()
    official = policy.frequency_limits("official")
    per_hour, per_day = official
    assert per_hour is not None and per_day is not None and per_hour <= per_day
    # a kind the policy does not list is not limited
    assert policy.frequency_limits("robot") == (None, None)


def _edited(tmp_path: Path, old: str, new: str) -> Policy:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return Policy.load(path)


def test_edited_copy_adds_a_project_code_name(tmp_path: Path) -> None:
    draft = Draft(text="Great progress on Project Nightjar this week!")
    assert check(draft, Policy.default()).findings == ()
    policy = _edited(tmp_path, "project_names = []", 'project_names = ["project nightjar"]')
    (finding,) = check(draft, policy).findings
    assert finding.rule == "confidential"
    assert draft.text[finding.span[0] : finding.span[1]] == "Project Nightjar"


def test_edited_copy_can_switch_a_rule_off(tmp_path: Path) -> None:
    draft = Draft(text="Embargoed until 9am: new telescope results")
    assert check(draft, Policy.default()).needs_signoff
    policy = _edited(
        tmp_path,
        'severity = "review"\nenabled = true\nmarkers',
        'severity = "review"\nenabled = false\nmarkers',
    )
    assert check(draft, policy).findings == ()


def test_edited_copy_can_make_a_rule_block(tmp_path: Path) -> None:
    draft = Draft(text="Embargoed until 9am: new telescope results")
    assert not check(draft, Policy.default()).blocked
    policy = _edited(
        tmp_path,
        'severity = "review"\nenabled = true\nmarkers',
        'severity = "block"\nenabled = true\nmarkers',
    )
    assert check(draft, policy).blocked


def test_policy_digest_changes_with_the_file(tmp_path: Path) -> None:
    edited = _edited(tmp_path, "window = 80", "window = 40")
    assert edited.digest != Policy.default().digest


@pytest.mark.parametrize(
    "text",
    [
        "Call our switchboard on 0113 243 1751",  # the number as published
        "Call our switchboard on +44 (0)113 2431751",  # the same number written another way
        "Write to any of us at jo.bloggs@example.ac.uk",  # an address in a public domain
        "Visit us at Woodhouse Lane, LS2 9JT",  # the campus postcode
    ],
)
def test_edited_copy_lists_the_universitys_own_contact_details(tmp_path: Path, text: str) -> None:
    assert check(Draft(text=text), Policy.default()).needs_signoff
    policy = _edited(
        tmp_path,
        "public_values = []",
        'public_values = ["0113 243 1751", "@example.ac.uk", "LS2 9JT"]',
    )
    assert check(Draft(text=text), policy).findings == ()
