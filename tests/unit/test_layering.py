"""The layout is the architecture: the leaf libraries load without the heavy layers."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "package",
    [
        "compliance",  # the gate is a pure library
        "connectors",  # connectors take and return plain data
    ],
)
def test_leaf_package_does_not_load_ui_orm_or_scheduler(package: str) -> None:
    code = (
        f"import sys, {package}\n"
        "heavy = ('textual', 'sqlmodel', 'sqlalchemy', 'apscheduler')\n"
        "bad = [m for m in heavy if m in sys.modules]\n"
        "other = [m for m in ('scheduler', 'tui') if m in sys.modules]\n"
        "print(','.join(bad + other))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"{package} pulled in {out}"
