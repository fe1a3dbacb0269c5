"""`gatepost assets`: adding files, the look-alike warning, permissions, listing."""

from __future__ import annotations

import io
import json
from pathlib import Path

from tests.conftest import make_png


def test_add_approve_list_show(gatepost, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    picture = tmp_path / "lawn.png"
    picture.write_bytes(make_png(21))
    gatepost("ada", "users", "add", "alice")
    added = gatepost(
        "alice", "assets", "add", str(picture), "--title", "Campus lawn", "--owner", "Comms",
        "--valid-until", "2027-06-30", "--allow", "news", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    asset = json.loads(added.stdout)["asset"]
    assert asset["permission"] == "pending"
    assert asset["allowed_accounts"] == ["news"]
    assert asset["valid_until"].startswith("2027-06-29T23:00")  # midnight BST in UTC

    denied = gatepost("alice", "assets", "approve", str(asset["id"]))
    assert denied.exit_code == 1
    assert "only admins" in denied.stderr
    assert gatepost("ada", "assets", "approve", str(asset["id"])).exit_code == 0
    needs_reason = gatepost("ada", "assets", "revoke", str(asset["id"]))
    assert needs_reason.exit_code == 2  # --comment is required to revoke
    listed = gatepost("alice", "assets", "list", "--permission", "approved")
    assert "Campus lawn" in listed.stdout
    shown = gatepost("alice", "assets", "show", str(asset["id"]))
    assert "allowed on: news" in shown.stdout
    assert gatepost("alice", "assets", "show", "999").stderr == "error: no asset 999\n"


def test_a_copy_of_a_registered_logo_is_named(gatepost, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    crest = tmp_path / "crest.png"
    crest.write_bytes(make_png(31, (256, 256)))
    assert gatepost("ada", "assets", "add", str(crest), "--kind", "logo").exit_code == 0
    smaller = io.BytesIO()
    Image.open(crest).resize((160, 160)).convert("RGB").save(smaller, format="JPEG", quality=50)
    renamed = tmp_path / "not-a-logo.jpg"
    renamed.write_bytes(smaller.getvalue())
    added = gatepost("ada", "assets", "add", str(renamed))
    assert added.exit_code == 0, added.output
    assert "It looks like asset 1 'crest' (logo" in added.stdout


def test_files_that_are_not_images_are_refused(gatepost, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    result = gatepost("ada", "assets", "add", str(text))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: not an image the gate can read")
    missing = gatepost("ada", "assets", "add", str(tmp_path / "nowhere.png"))
    assert missing.exit_code == 2
