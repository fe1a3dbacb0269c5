"""`gatepost check`: findings on stdout, exit status says whether sign-off is needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui.commands.check import check_command

SHIPPED = Path(__file__).parents[2] / "compliance" / "policy.toml"
POLICIES = Path(__file__).parents[1] / "data" / "policies"


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(check_command, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (["Open day this Saturday, all welcome"], 0),  # clean: nothing to sign off
        (["See you there #opendayleeds"], 0),  # an info finding holds nothing back
        (["Embargoed until Monday: results"], 1),  # a review finding
        (["NI QQ 12 34 56 C"], 1),  # a block finding
        (["Loved the lecture", "--account-kind", "personal"], 1),  # no disclaimer
        (["Loved the lecture. Views my own", "--account-kind", "personal"], 0),  # disclaimer
        (["text", "--image", "no-such-file.png"], 2),  # usage error: missing image
        (["text", "--account-kind", "robot"], 2),  # usage error: unknown account kind
        (["text", "--alt", "a logo"], 2),  # usage error: alt text without an image
        ([], 2),  # usage error: no text
    ],
)
def test_exit_status(args: list[str], exit_code: int) -> None:
    assert _run(*args)[0] == exit_code


def test_json_lists_rule_severity_clause_message_and_span() -> None:
    text = "What the f.u.c.k, mail jo@example.ac.uk"
    code, out, _ = _run("--json", text)
    assert code == 1
    findings = json.loads(out)
    assert [(f["rule"], f["severity"]) for f in findings] == [
        ("offensive", "review"),
        ("personal_data", "review"),
    ]
    spans = [text[f["span"][0] : f["span"][1]] for f in findings]
    assert spans == ["f.u.c.k", "jo@example.ac.uk"]
    assert all(f["clause"] and f["message"] for f in findings)


def test_clean_json_is_an_empty_list() -> None:
    code, out, _ = _run("--json", "Graduation is on Friday")
    assert (code, json.loads(out)) == (0, [])


def test_plain_output_names_the_rule_and_quotes_the_policy() -> None:
    code, out, _ = _run("CONFIDENTIAL draft")
    assert code == 1
    assert "REVIEW confidential (characters 0-12)" in out
    assert "policy: Consider confidentiality" in out
    assert "an approver must sign off" in out


def test_text_from_standard_input() -> None:
    code, out, _ = _run("--json", "-", stdin="Call 07700 900123")
    assert code == 1
    assert json.loads(out)[0]["rule"] == "personal_data"


def test_edited_policy_is_used(tmp_path: Path) -> None:
    edited = tmp_path / "policy.toml"
    edited.write_text(
        SHIPPED.read_text(encoding="utf-8").replace(
            "project_names = []", 'project_names = ["project nightjar"]'
        ),
        encoding="utf-8",
    )
    assert _run("Project Nightjar update")[0] == 0
    assert _run("Project Nightjar update", "--policy", str(edited))[0] == 1


def test_broken_policy_is_a_usage_error_that_names_the_key() -> None:
    code, _, err = _run("text", "--policy", str(POLICIES / "bad_severity.toml"))
    assert code == 2
    assert "Broken policy file" in err and "'severity'" in err


def test_gatepost_has_the_check_command() -> None:
    from tui.cli import cli

    result = CliRunner().invoke(cli, ["check", "--json", "Embargoed until Friday"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)[0]["rule"] == "confidential"
