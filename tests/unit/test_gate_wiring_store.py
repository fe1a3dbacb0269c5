"""The gate inside the lifecycle: findings kept per post, sign-off, block findings, the
asset library, and an organisation's own policy file. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from scheduler import services
from scheduler.errors import IllegalTransition, InvalidInput, NotFound, PermissionDenied
from scheduler.models import PostState
from scheduler.store import Store
from tests.conftest import Team, make_png

LATER = "2026-12-01 09:00"
EMAIL_TEXT = "Questions? Email admissions.help@example.ac.uk"


def _flagged(store: Store, team: Team, text: str = EMAIL_TEXT) -> int:
    post = services.create_post(store, team.alice, account="uni-news", text=text, at=LATER)
    post = services.submit_post(store, team.alice, post.id)
    assert post.state is PostState.IN_REVIEW
    return post.id


def test_review_finding_is_kept_with_its_span(store: Store, team: Team) -> None:
    post = services.get_post(store, _flagged(store, team))
    assert post.open_findings == 1
    (finding,) = post.findings
    assert finding.rule == "personal_data"
    assert finding.severity == "review"
    assert finding.clause
    assert finding.span is not None
    start, end = finding.span
    assert post.text[start:end] == "admissions.help@example.ac.uk"


def test_each_review_finding_needs_an_approvers_signed_comment(store: Store, team: Team) -> None:
    post_id = _flagged(store, team)
    (finding,) = services.list_findings(store, post_id)
    with pytest.raises(IllegalTransition, match="not yet signed off"):
        services.approve_post(store, team.bob, post_id)
    with pytest.raises(InvalidInput, match="comment"):
        services.sign_off_finding(store, team.bob, post_id, finding.id, comment=" ")
    with pytest.raises(PermissionDenied, match="only approvers"):
        services.sign_off_finding(store, team.alice, post_id, finding.id, comment="mine is fine")
    signed = services.sign_off_finding(
        store, team.bob, post_id, finding.id, comment="the admissions address is public"
    )
    assert signed.signed_off_by == "bob"
    with pytest.raises(InvalidInput, match="already signed off"):
        services.sign_off_finding(store, team.carol, post_id, finding.id, comment="again")
    post = services.approve_post(store, team.carol, post_id)
    assert post.state is PostState.SCHEDULED
    events = [e.action for e in services.list_audit(store, subject=f"post:{post_id}")]
    assert "finding.sign-off" in events


def test_author_who_is_an_approver_cannot_sign_off_own_findings(store: Store, team: Team) -> None:
    post = services.create_post(store, team.bob, account="uni-news", text=EMAIL_TEXT, at=LATER)
    services.submit_post(store, team.bob, post.id)
    (finding,) = services.list_findings(store, post.id)
    with pytest.raises(PermissionDenied, match="separation of duties"):
        services.sign_off_finding(store, team.bob, post.id, finding.id, comment="fine")


def test_finding_of_another_post_is_not_found(store: Store, team: Team) -> None:
    first = _flagged(store, team)
    second = _flagged(store, team, "Or call admissions.help@example.ac.uk")
    (finding,) = services.list_findings(store, first)
    with pytest.raises(NotFound):
        services.sign_off_finding(store, team.bob, second, finding.id, comment="x")


def test_resubmitting_unchanged_content_keeps_sign_offs(store: Store, team: Team) -> None:
    post_id = _flagged(store, team)
    (finding,) = services.list_findings(store, post_id)
    services.sign_off_finding(store, team.bob, post_id, finding.id, comment="public address")
    services.reject_post(store, team.bob, post_id, comment="change the time please")
    # Back as a draft with the same words: the signed-off finding stays signed off...
    post = services.submit_post(store, team.alice, post_id)
    assert post.open_findings == 0
    # ...but a change of wording starts afresh.
    services.edit_post(store, team.alice, post_id, text=EMAIL_TEXT + " today")
    post = services.submit_post(store, team.alice, post_id)
    assert post.open_findings == 1
    history = services.list_findings(store, post_id, include_superseded=True)
    assert len(history) == 3


def _blocking_policy(tmp_path: Path) -> Path:
    shipped = (Path(__file__).parents[2] / "compliance" / "policy.toml").read_text()
    # The organisation's copy makes confidentiality markers block outright.
    edited = re.sub(
        r'(\[rules\.confidential\][^\[]*?severity = )"review"', r'\1"block"', shipped, count=1
    )
    assert edited != shipped
    path = tmp_path / "our-policy.toml"
    path.write_text(edited)
    return path


def test_block_finding_can_only_be_edited_away(store: Store, team: Team, tmp_path: Path) -> None:
    services.set_policy_path(store, team.admin, str(_blocking_policy(tmp_path)))
    post_id = _flagged(store, team, "Embargoed until Friday: our new chancellor")
    (finding,) = services.list_findings(store, post_id)
    assert (finding.rule, finding.severity) == ("confidential", "block")
    with pytest.raises(IllegalTransition, match="cannot be signed off, only edited away"):
        services.sign_off_finding(store, team.bob, post_id, finding.id, comment="fine")
    with pytest.raises(IllegalTransition, match="only an edit can clear"):
        services.approve_post(store, team.bob, post_id)
    services.edit_post(store, team.alice, post_id, text="Meet our new chancellor on Friday")
    post = services.submit_post(store, team.alice, post_id)
    assert post.state is PostState.SCHEDULED


def test_policy_path_must_be_a_readable_policy(store: Store, team: Team, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot use"):
        services.set_policy_path(store, team.admin, str(tmp_path / "missing.toml"))
    with pytest.raises(PermissionDenied):
        services.set_policy_path(store, team.bob, str(_blocking_policy(tmp_path)))


# -- the asset library --------------------------------------------------------------------


def test_assets_are_kept_with_their_bytes_and_hashes(store: Store, team: Team) -> None:
    data = make_png(7)
    asset = services.add_asset(
        store,
        team.alice,
        data,
        filename="lawn.png",
        title="Campus lawn",
        owner="Comms",
        allowed_accounts=["uni-news"],
    )
    assert asset.permission == "pending"
    assert asset.mime == "image/png"
    assert asset.phash and asset.dhash
    assert services.asset_data(store, asset.id) == data
    with pytest.raises(InvalidInput, match="already in the library as asset"):
        services.add_asset(store, team.alice, data, filename="copy.png")


def test_a_file_that_is_not_an_image_is_refused(store: Store, team: Team) -> None:
    with pytest.raises(InvalidInput, match="not an image"):
        services.add_asset(store, team.alice, b"%PDF-1.4 not a picture", filename="x.pdf")
    with pytest.raises(InvalidInput, match="empty"):
        services.add_asset(store, team.alice, b"", filename="x.png")


def test_only_admins_change_asset_permission_and_it_is_audited(store: Store, team: Team) -> None:
    asset = services.add_asset(store, team.alice, make_png(8), filename="a.png")
    with pytest.raises(PermissionDenied, match="only admins"):
        services.set_asset_permission(store, team.bob, asset.id, "approved")
    with pytest.raises(InvalidInput, match="permission must be"):
        services.set_asset_permission(store, team.admin, asset.id, "maybe")
    approved = services.set_asset_permission(store, team.admin, asset.id, "approved", comment="ok")
    assert approved.permission == "approved"
    revoked = services.set_asset_permission(store, team.admin, asset.id, "revoked")
    assert revoked.version == approved.version + 1
    changes = services.list_audit(store, subject=f"asset:{asset.id}")
    assert [e.after.get("permission") for e in changes[:2]] == ["revoked", "approved"]


def test_a_resized_copy_of_a_logo_is_recognised(store: Store, team: Team) -> None:
    from PIL import Image

    logo = services.add_asset(
        store, team.admin, make_png(11, (256, 256)), filename="crest.png", kind="logo"
    )
    image = Image.open(io.BytesIO(make_png(11, (256, 256)))).resize((180, 180))
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=60)
    found = services.find_matching_asset(store, out.getvalue())
    assert found is not None
    assert found.asset.id == logo.id
    assert services.find_matching_asset(store, make_png(99, (256, 256))) is None


def test_a_picture_waiting_for_permission_holds_the_post_until_approved(
    store: Store, team: Team
) -> None:
    asset = services.add_asset(store, team.alice, make_png(41), filename="lawn.png")
    alt = "Students sitting on the campus lawn in the sunshine"
    post = services.create_post(
        store,
        team.alice,
        account="uni-news",
        text="Spring!",
        at=LATER,
        attachments=[(asset.id, alt)],
    )
    post = services.submit_post(store, team.alice, post.id)
    assert post.state is PostState.IN_REVIEW
    held = [f for f in post.findings if f.asset_id == asset.id]
    assert held and held[0].rule == "asset_permission"
    services.reject_post(store, team.bob, post.id, comment="waiting for the photo's permission")
    # Once an admin approves the picture, the same post passes (the gate sees the change).
    services.set_asset_permission(store, team.admin, asset.id, "approved")
    post = services.submit_post(store, team.alice, post.id)
    assert post.state is PostState.SCHEDULED, post.findings


def test_asset_details_are_changed_by_admins_and_audited(store: Store, team: Team) -> None:
    from datetime import UTC, datetime

    asset = services.add_asset(store, team.alice, make_png(51), filename="team.png")
    with pytest.raises(PermissionDenied):
        services.update_asset(store, team.bob, asset.id, title="Mine now")
    with pytest.raises(InvalidInput, match="unknown asset setting"):
        services.update_asset(store, team.admin, asset.id, colour="red")
    with pytest.raises(InvalidInput, match="ends before it starts"):
        services.update_asset(
            store,
            team.admin,
            asset.id,
            valid_from=datetime(2027, 1, 2, tzinfo=UTC),
            valid_until=datetime(2027, 1, 1, tzinfo=UTC),
        )
    changed = services.update_asset(
        store,
        team.admin,
        asset.id,
        shows_people=True,
        consent_ref="forms/2026/114",
        consent_expires=datetime(2028, 1, 1, tzinfo=UTC),
        allowed_accounts=["uni-news"],
    )
    assert changed.version == asset.version + 1
    assert changed.allowed_accounts == ("uni-news",)
    assert changed.consent_ref == "forms/2026/114"
    (event,) = services.list_audit(store, subject=f"asset:{asset.id}", limit=1)
    assert event.action == "asset.update"
    assert event.before["shows_people"] is False
