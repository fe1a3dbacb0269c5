"""The image rules: permission, logos, unreadable files, GPS, alt text, photo consent."""

from __future__ import annotations

import io
import random
import re
import struct
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import pytest
from PIL import ExifTags
from PIL import Image as PILImage

from bench.logo_match import encode, make_logo, make_photo, variant_inset, variant_jpeg30
from compliance import Draft, Image, Policy, PolicyError, Severity, check
from compliance.assets import AssetIndex, AssetRecord, content_hash, image_hashes
from compliance.images import check_images
from compliance.model import Finding

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ALT = "Students on the lawn at the open day"


@cache
def photo_bytes() -> bytes:
    return encode(make_photo(11, (320, 240)), "JPEG", quality=85)


@cache
def logo_bytes() -> bytes:
    return encode(make_logo(42))


def photo_asset(**fields: Any) -> AssetRecord:
    """The library photo, approved, with overrides."""
    data = photo_bytes()
    base = AssetRecord(
        asset_id="quad",
        content_hash=content_hash(data),
        kind="image",
        title="The quad in spring",
        permission="approved",
        hashes=image_hashes(data, with_features=False),
    )
    return replace(base, **fields)


@cache
def logo_asset(permission: str = "approved") -> AssetRecord:
    data = logo_bytes()
    return AssetRecord(
        asset_id="crest",
        content_hash=content_hash(data),
        kind="logo",
        title="University crest",
        permission=permission,  # type: ignore[arg-type]
        hashes=image_hashes(data),
    )


def run(
    images: list[Image],
    records: list[AssetRecord] | None = None,
    *,
    account: str = "uni_news",
    at: datetime | None = None,
    policy: Policy | None = None,
) -> list[Finding]:
    assets = AssetIndex(records) if records is not None else None
    draft = Draft(text="Open day on Saturday", images=images, account=account, at=at)
    return check_images(draft, policy or Policy.default(), assets, NOW)


def summary(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.rule, f.severity.value) for f in findings)


# --- asset permission ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "account", "expected"),
    [
        # approved, no window, every account: nothing to report
        ({}, "uni_news", []),
        # approved and inside its window
        ({"valid_from": NOW - DAY, "valid_until": NOW + DAY}, "uni_news", []),
        # the window ends exactly when the post goes out: expired (the end is exclusive)
        ({"valid_until": NOW}, "uni_news", [("asset_permission", "block")]),
        # the window ended yesterday
        ({"valid_until": NOW - DAY}, "uni_news", [("asset_permission", "block")]),
        # the window has not opened yet
        ({"valid_from": NOW + DAY}, "uni_news", [("asset_permission", "review")]),
        # nobody has approved it yet
        ({"permission": "pending"}, "uni_news", [("asset_permission", "review")]),
        # refused, or withdrawn after approval: cannot be signed off
        ({"permission": "rejected"}, "uni_news", [("asset_permission", "block")]),
        ({"permission": "revoked"}, "uni_news", [("asset_permission", "block")]),
        # limited to other accounts
        ({"allowed_accounts": ("uni_sport",)}, "uni_news", [("asset_permission", "block")]),
        # limited to accounts including this one
        ({"allowed_accounts": ("uni_sport", "uni_news")}, "uni_news", []),
        # limited, and the post names no account
        ({"allowed_accounts": ("uni_sport",)}, "", [("asset_permission", "block")]),
        # pending and expired: both are reported
        (
            {"permission": "pending", "valid_until": NOW - DAY},
            "uni_news",
            [("asset_permission", "block"), ("asset_permission", "review")],
        ),
    ],
)
def test_library_asset_permission(
    fields: dict[str, Any], account: str, expected: list[tuple[str, str]]
) -> None:
    image = Image(data=photo_bytes(), alt=ALT, asset_id="quad")
    findings = run([image], [photo_asset(**fields)], account=account)
    assert summary(findings) == expected
    assert all(f.asset_id == "quad" and f.image_index == 0 for f in findings)


def test_window_is_checked_at_the_posts_time_not_now() -> None:
    record = photo_asset(valid_until=NOW + DAY)
    image = Image(data=photo_bytes(), alt=ALT, asset_id="quad")
    assert run([image], [record]) == []
    late = run([image], [record], at=NOW + 2 * DAY)
    assert summary(late) == [("asset_permission", "block")]
    assert "2026-11-27 12:00 UTC" in late[0].message  # when the permission ended


@pytest.mark.parametrize(
    ("image", "records", "expected", "words"),
    [
        # a picture that is not in the library
        (Image(data=photo_bytes(), alt=ALT), [], [("asset_permission", "review")], "not in"),
        # no library at all: nothing can be shown to be approved
        (Image(data=photo_bytes(), alt=ALT), None, [("asset_permission", "review")], "not in"),
        # the post names an asset the library does not have
        (
            Image(data=photo_bytes(), alt=ALT, asset_id="ghost"),
            [],
            [("asset_permission", "block")],
            "ghost",
        ),
        # the named asset's file was swapped for other bytes
        (
            Image(data=encode(make_photo(12, (320, 240)), "JPEG"), alt=ALT, asset_id="quad"),
            "photo",
            [("asset_permission", "review")],
            "changed",
        ),
        # the library's file attached without naming it: recognised by its bytes
        (Image(data=photo_bytes(), alt=ALT), "photo", [], ""),
        # a re-encoded copy of a library photo: not the library file, says which it looks like
        (
            Image(data=encode(make_photo(11, (320, 240)), "JPEG", quality=30), alt=ALT),
            "photo",
            [("asset_permission", "review")],
            "The quad in spring",
        ),
    ],
)
def test_images_outside_the_library(
    image: Image, records: Any, expected: list[tuple[str, str]], words: str
) -> None:
    if records == "photo":
        records = [photo_asset()]
    findings = run([image], records)
    assert summary(findings) == expected
    assert all(words in f.message for f in findings)


# --- logos -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("permission", "expected"),
    [
        # an approved logo, copied: the copy itself needs a look
        ("approved", [("logo_match", "review")]),
        # a revoked logo, copied: treated as that logo, so blocked
        ("revoked", [("asset_permission", "block"), ("logo_match", "review")]),
        # a pending logo, copied
        ("pending", [("asset_permission", "review"), ("logo_match", "review")]),
    ],
)
def test_copy_of_a_registered_logo_is_reported_as_that_logo(
    permission: str, expected: list[tuple[str, str]]
) -> None:
    copy = variant_jpeg30(make_logo(42), random.Random(0))
    findings = run([Image(data=copy, alt="University crest")], [logo_asset(permission)])
    assert summary(findings) == expected
    assert all(f.asset_id == "crest" for f in findings)
    logo = next(f for f in findings if f.rule == "logo_match")
    assert "University crest" in logo.message and "copy" in logo.message


def test_logo_inside_a_larger_picture_is_reported_as_that_logo() -> None:
    poster = variant_inset(make_logo(42), random.Random(4))
    findings = run([Image(data=poster, alt="Poster for the open day")], [logo_asset()])
    assert summary(findings) == [("logo_match", "review")]
    assert "inside a larger picture" in findings[0].message


def test_library_photo_swapped_for_a_logo_reports_the_logo_too() -> None:
    swapped = Image(data=variant_jpeg30(make_logo(42), random.Random(0)), alt=ALT, asset_id="quad")
    findings = run([swapped], [photo_asset(), logo_asset("rejected")])
    assert summary(findings) == [
        ("asset_permission", "block"),  # the rejected logo
        ("asset_permission", "review"),  # not the quad's file
        ("logo_match", "review"),
    ]


# --- unreadable images -------------------------------------------------------------------


def png_declaring(width: int, height: int) -> bytes:
    data = bytearray(encode(PILImage.new("L", (1, 1))))
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (png_declaring(100_000, 100_000), "decompression bomb"),  # past Pillow's own limit
        (png_declaring(9_000, 9_000), "decompression bomb"),  # past the policy's 50 MP
        (photo_bytes()[:2000], "truncated"),  # an upload cut short
        (b"<html>not a picture</html>", "not an image"),  # garbage
        (b"", "not an image"),  # empty
        (encode(PILImage.new("RGB", (8, 8)), "TIFF"), "not an image"),  # not a web format
    ],
)
def test_unreadable_image_is_a_blocking_finding_not_a_crash(data: bytes, words: str) -> None:
    findings = run([Image(data=data, alt=ALT)], [])
    assert summary(findings) == [("image_unreadable", "block")]
    assert words in findings[0].message


def test_unreadable_library_asset_still_has_its_permission_checked() -> None:
    data = photo_bytes()[:2000]
    record = photo_asset(content_hash=content_hash(data), permission="revoked")
    findings = run([Image(data=data, alt=ALT, asset_id="quad")], [record])
    assert summary(findings) == [("asset_permission", "block"), ("image_unreadable", "block")]


def test_the_public_check_blocks_an_unreadable_image() -> None:
    draft = Draft(text="Look at this", images=[Image(data=b"\x00" * 64, alt=ALT)])
    verdict = check(draft, Policy.default(), AssetIndex([]), now=NOW)
    assert verdict.blocked
    assert [f.rule for f in verdict.findings] == ["image_unreadable"]


# --- GPS ---------------------------------------------------------------------------------


def with_exif(gps: dict[int, Any] | None, fmt: str = "JPEG") -> bytes:
    exif = PILImage.Exif()
    exif[ExifTags.Base.Make] = "Camera"
    if gps is not None:
        exif[ExifTags.IFD.GPSInfo] = gps
    buffer = io.BytesIO()
    make_photo(13, (160, 120)).save(buffer, fmt, exif=exif)
    return buffer.getvalue()


LONDON = {1: "N", 2: (51.0, 30.0, 27.0), 3: "W", 4: (0.0, 7.0, 39.0)}


@pytest.mark.parametrize(
    ("data", "expected", "words"),
    [
        # a phone photo with its position: whereabouts
        (with_exif(LONDON), [("image_gps", "review")], "51.50750° N, 0.12750° W"),
        # the same in a PNG's EXIF chunk
        (with_exif(LONDON, "PNG"), [("image_gps", "review")], "51.50750° N"),
        # EXIF without a GPS block
        (with_exif(None), [], ""),
        # a GPS block with no position in it (only the version)
        (with_exif({0: b"\x02\x02\x00\x00"}), [], ""),
    ],
)
def test_gps_position_in_metadata_is_a_whereabouts_finding(
    data: bytes, expected: list[tuple[str, str]], words: str
) -> None:
    record = AssetRecord("trip", content_hash(data), permission="approved")
    findings = run([Image(data=data, alt=ALT, asset_id="trip")], [record])
    assert summary(findings) == expected
    assert all(words in f.message for f in findings)


def test_gps_position_in_xmp_is_a_whereabouts_finding() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", '<x:xmpmeta><rdf:Description exif:GPSLatitude="51,30.4N"/>')
    buffer = io.BytesIO()
    make_photo(14, (80, 60)).save(buffer, "PNG", pnginfo=info)
    findings = run([Image(data=buffer.getvalue(), alt=ALT)], None)
    assert ("image_gps", "review") in summary(findings)


# --- alt text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alt", "flagged"),
    [
        ("", True),  # no alt text
        ("   ", True),  # only spaces
        ("Image", True),  # a placeholder
        ("photo", True),
        ("IMG_1234.jpg", True),  # a file name
        ("DSC00042", True),  # a camera's file name
        ("ok", True),  # too short to describe anything
        (ALT, False),  # a description
        ("Team photo 2026", False),  # a description with a number in it
    ],
)
def test_image_without_a_useful_alt_text(alt: str, flagged: bool) -> None:
    record = photo_asset()
    findings = run([Image(data=photo_bytes(), alt=alt, asset_id="quad")], [record])
    assert summary(findings) == ([("alt_text", "review")] if flagged else [])


# --- photo consent -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("consent", "at", "expected", "words"),
    [
        # consent on record until next year
        ({"consent_ref": "CF-2026-118", "consent_expires": NOW + 300 * DAY}, None, [], ""),
        # no consent reference at all
        ({}, None, [("photo_consent", "block")], "no consent reference"),
        # a reference without an expiry date
        ({"consent_ref": "CF-2026-118"}, None, [("photo_consent", "block")], "expiry"),
        # consent that has expired
        (
            {"consent_ref": "CF-2024-007", "consent_expires": NOW - DAY},
            None,
            [("photo_consent", "block")],
            "CF-2024-007",
        ),
        # valid now, expired by the time the post goes out
        (
            {"consent_ref": "CF-2026-118", "consent_expires": NOW + DAY},
            NOW + 3 * DAY,
            [("photo_consent", "block")],
            "expired",
        ),
    ],
)
def test_photo_of_people_needs_recorded_consent(
    consent: dict[str, Any], at: datetime | None, expected: list[tuple[str, str]], words: str
) -> None:
    record = photo_asset(shows_people=True, **consent)
    findings = run([Image(data=photo_bytes(), alt=ALT, asset_id="quad")], [record], at=at)
    assert summary(findings) == expected
    assert all(words in f.message for f in findings)


def test_photo_without_people_needs_no_consent() -> None:
    findings = run([Image(data=photo_bytes(), alt=ALT, asset_id="quad")], [photo_asset()])
    assert findings == []


# --- the policy decides --------------------------------------------------------------------


def policy_with(rule: str, **changes: str) -> Policy:
    """The shipped policy with keys of ``[rules.<rule>]`` set to TOML values."""
    text = resources.files("compliance").joinpath("policy.toml").read_text("utf-8")
    start = text.index(f"[rules.{rule}]\n")
    end = text.find("\n[rules.", start + 1)
    end = len(text) if end < 0 else end
    table = text[start:end]
    for key, value in changes.items():
        table, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", table)
        if not count:
            table = table.replace("\n", f"\n{key} = {value}\n", 1)
    return Policy.from_bytes((text[:start] + table + text[end:]).encode(), source="edited.toml")


def test_pending_can_be_made_blocking_by_the_policy() -> None:
    policy = policy_with("asset_permission", pending='"block"')
    findings = run(
        [Image(data=photo_bytes(), alt=ALT, asset_id="quad")],
        [photo_asset(permission="pending")],
        policy=policy,
    )
    assert summary(findings) == [("asset_permission", "block")]


@pytest.mark.parametrize(
    ("rule", "image"),
    [
        # a photo that is not in the library
        ("asset_permission", Image(data=photo_bytes(), alt=ALT)),
        # an image without alt text
        ("alt_text", Image(data=photo_bytes(), alt="")),
        # garbage bytes
        ("image_unreadable", Image(data=b"junk", alt=ALT)),
        # a photo with its GPS position
        ("image_gps", Image(data=with_exif(LONDON), alt=ALT)),
    ],
)
def test_a_disabled_rule_reports_nothing(rule: str, image: Image) -> None:
    assert rule in {f.rule for f in run([image], [])}
    findings = run([image], [], policy=policy_with(rule, enabled="false"))
    assert rule not in {f.rule for f in findings}


def test_a_policy_without_image_rules_reports_nothing_about_images() -> None:
    text = resources.files("compliance").joinpath("policy.toml").read_text("utf-8")
    text_only = text[: text.index("[rules.asset_permission]")]
    policy = Policy.from_bytes(text_only.encode(), source="text-only.toml")
    assert run([Image(data=b"junk", alt="")], None, policy=policy) == []


@pytest.mark.parametrize(
    ("rule", "line", "words"),
    [
        ("asset_permission", 'pending = "later"', "pending"),  # not a severity
        ("image_unreadable", 'max_pixels = "lots"', "max_pixels"),  # not a number
        ("image_unreadable", "max_pixels = 0", "max_pixels"),  # not positive
        ("alt_text", 'placeholders = "image"', "placeholders"),  # not a list
    ],
)
def test_broken_image_rule_settings_are_a_policy_error(rule: str, line: str, words: str) -> None:
    key, value = line.split(" = ")
    policy = policy_with(rule, **{key: value})
    with pytest.raises(PolicyError, match=words):
        run([Image(data=photo_bytes(), alt=ALT)], [], policy=policy)


def test_findings_cite_the_guidance_and_name_the_image() -> None:
    images = [Image(data=photo_bytes(), alt=ALT, asset_id="quad"), Image(data=b"", alt="")]
    findings = run(images, [photo_asset()])
    assert {(f.rule, f.image_index) for f in findings} == {
        ("alt_text", 1),
        ("image_unreadable", 1),
    }
    for finding in findings:
        assert finding.clause and finding.span is None
        assert finding.message.startswith("Image 2")
        assert isinstance(finding.severity, Severity)


def test_naive_times_are_taken_as_utc() -> None:
    record = photo_asset(valid_until=NOW + DAY)
    draft = Draft(
        text="", images=[Image(data=photo_bytes(), alt=ALT, asset_id="quad")], account="x"
    )
    naive_now = (NOW + 2 * DAY).replace(tzinfo=None)
    findings = check_images(draft, Policy.default(), AssetIndex([record]), naive_now)
    assert summary(findings) == [("asset_permission", "block")]
