"""check(): text and image findings in one verdict, in reading order."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image as PILImage

from compliance import Draft, Image, Policy, Severity, check
from tui.commands.check import check_command


def _png() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (40, 30), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def test_text_findings_come_first_then_each_image_in_order() -> None:
    draft = Draft(
        text="Embargoed until Monday, what the fuck",
        images=[Image(data=_png()), Image(data=b"not an image", alt="A red square")],
    )
    findings = check(draft, Policy.default()).findings
    text_part = [(f.rule, f.span) for f in findings if f.span is not None]
    assert text_part == [("confidential", (0, 15)), ("offensive", (33, 37))]
    image_indexes = [f.image_index for f in findings if f.span is None]
    assert image_indexes == sorted(image_indexes) and set(image_indexes) == {0, 1}
    assert findings[: len(text_part)] == tuple(f for f in findings if f.span is not None)


def test_an_unreadable_image_blocks_and_does_not_raise() -> None:
    verdict = check(Draft(text="ok", images=[Image(data=b"\x89PNG broken", alt="Logo")]))
    assert verdict.blocked
    assert any(
        f.rule == "image_unreadable" and f.severity is Severity.BLOCK for f in verdict.findings
    )


@pytest.mark.parametrize(
    ("alt", "rules"),
    [
        ([], {"alt_text", "asset_permission"}),  # no alt text, and not in the library
        (["--alt", "A red square on white"], {"asset_permission"}),  # alt text given
    ],
)
def test_check_command_with_an_image_file(tmp_path: Path, alt: list[str], rules: set[str]) -> None:
    path = tmp_path / "square.png"
    path.write_bytes(_png())
    result = CliRunner().invoke(check_command, ["--json", "Open day", "--image", str(path), *alt])
    assert result.exit_code == 1
    assert {f["rule"] for f in json.loads(result.stdout)} == rules


def test_text_only_check_does_not_load_the_image_libraries() -> None:
    code = (
        "import sys\n"
        "from compliance import Draft, check\n"
        "check(Draft(text='Open day on Saturday'))\n"
        "print(','.join(m for m in ('cv2', 'numpy', 'PIL') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
