"""`gatepost check TEXT`: run the compliance gate on a text (and images) and say why.

For authors and scripts: it needs no database and changes nothing. Images are checked
as files that are not (yet) in the asset library, so each gets the library's finding
until an admin adds and approves it. Exit status: 0 when nothing needs sign-off, 1 when
something does (review or block), 2 for a usage error (a missing image file, a broken
policy file).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from compliance import ComplianceError, Draft, Finding, Image, Policy, Verdict, check

_SEVERITY_LABELS = {"block": "BLOCK", "review": "REVIEW", "info": "info"}


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    """A finding as the JSON object `gatepost check --json` prints."""
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "clause": finding.clause,
        "message": finding.message,
        "span": list(finding.span) if finding.span is not None else None,
        "asset_id": finding.asset_id,
        "image_index": finding.image_index,
    }


def _where(finding: Finding) -> str:
    if finding.span is not None:
        return f"characters {finding.span[0]}-{finding.span[1]}"
    if finding.image_index is not None:
        return f"image {finding.image_index + 1}"
    if finding.asset_id is not None:
        return f"asset {finding.asset_id}"
    return "whole post"


def _summary(verdict: Verdict) -> str:
    count = len(verdict.findings)
    if verdict.blocked:
        return f"{count} finding(s): blocked, edit the post (a block finding cannot be signed off)"
    if verdict.needs_signoff:
        return f"{count} finding(s): an approver must sign off before it can be scheduled"
    if count:
        return f"{count} finding(s) for information: nothing needs sign-off"
    return "no findings: nothing needs sign-off"


@click.command("check")
@click.argument("text")
@click.option(
    "--image",
    "images",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="An image file to attach (repeat for several).",
)
@click.option(
    "--alt",
    "alts",
    multiple=True,
    help="Alt text for the images, in the order of --image (repeat for several).",
)
@click.option(
    "--account-kind",
    type=click.Choice(["official", "personal"]),
    default="official",
    show_default=True,
    help="The kind of account the post is for.",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An edited copy of the policy (default: the shipped policy).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list.")
def check_command(
    text: str,
    images: tuple[Path, ...],
    alts: tuple[str, ...],
    account_kind: str,
    policy_path: Path | None,
    as_json: bool,
) -> None:
    """Check TEXT against the social-media policy and list what needs sign-off.

    TEXT "-" reads the text from standard input.
    """
    if text == "-":
        text = sys.stdin.read()
    if len(alts) > len(images):
        raise click.UsageError("more --alt values than --image files")
    try:
        policy = Policy.load(policy_path) if policy_path is not None else Policy.default()
    except ComplianceError as exc:
        click.echo(f"error: {exc.title}: {exc.message}", err=True)
        raise click.exceptions.Exit(2) from exc
    attached = []
    for index, path in enumerate(images):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise click.BadParameter(
                f"cannot read {path}: {exc.strerror}", param_hint="--image"
            ) from exc
        attached.append(Image(data=data, alt=alts[index] if index < len(alts) else ""))
    verdict = check(Draft(text=text, account_kind=account_kind, images=tuple(attached)), policy)
    if as_json:
        click.echo(
            json.dumps([finding_to_dict(f) for f in verdict.findings], indent=2, ensure_ascii=False)
        )
    else:
        for finding in verdict.findings:
            label = _SEVERITY_LABELS.get(finding.severity.value, finding.severity.value)
            click.echo(f"{label:<7}{finding.rule} ({_where(finding)}): {finding.message}")
            click.echo(f"       policy: {finding.clause}")
        click.echo(_summary(verdict))
    if verdict.needs_signoff:
        raise click.exceptions.Exit(1)
