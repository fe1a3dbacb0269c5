"""The asset library index: recognising logos by looks, safe decoding, records."""

from __future__ import annotations

import random
import struct
import time
import zlib
from datetime import UTC, datetime
from io import BytesIO

import pytest
from PIL import Image, ImageChops

from bench.logo_match import (
    VARIANTS,
    encode,
    filler_records,
    logo_record,
    make_logo,
    make_photo,
)
from compliance.assets import (
    AssetIndex,
    AssetRecord,
    ImageHashes,
    UnreadableImageError,
    content_hash,
    decode_image,
    image_hashes,
)

REGISTERED = range(8)  # seeds of the logos in the library


@pytest.fixture(scope="module")
def logos() -> dict[int, Image.Image]:
    return {seed: make_logo(seed) for seed in REGISTERED}


@pytest.fixture(scope="module")
def index(logos: dict[int, Image.Image]) -> AssetIndex:
    return AssetIndex(logo_record(seed, encode(image)) for seed, image in logos.items())


# --- recognising a registered logo ---------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "seed"),
    [
        ("resized", 0),  # scaled down or up, saved as PNG
        ("resized", 5),
        ("jpeg_q30", 1),  # re-encoded as a heavily compressed JPEG
        ("jpeg_q30", 6),
        ("greyscale", 2),  # colour removed
        ("greyscale", 7),
        ("cropped_10pct", 3),  # 10 % of width and height cut away
        ("cropped_10pct", 4),
        ("inset_quarter", 0),  # placed in a larger picture at a quarter of its width or more
        ("inset_quarter", 5),
    ],
)
def test_variant_of_a_registered_logo_is_recognised_as_that_logo(
    index: AssetIndex, logos: dict[int, Image.Image], variant: str, seed: int
) -> None:
    data = VARIANTS[variant](logos[seed], random.Random(seed))
    found = index.match(data)
    assert found is not None, f"{variant} copy of logo {seed} not recognised"
    assert found.record.asset_id == f"logo-{seed}"
    # Whole copies are found by the global hashes; crops and insets by features.
    assert found.method == ("features" if variant in ("cropped_10pct", "inset_quarter") else "hash")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: encode(make_photo(50_000), "JPEG"), id="smooth-noise"),
        pytest.param(lambda: encode(make_photo(50_001), "JPEG"), id="gradient"),
        pytest.param(lambda: encode(make_photo(50_002), "JPEG"), id="scene-of-shapes"),
        pytest.param(lambda: encode(make_photo(50_005, (300, 300))), id="small-scene-png"),
        pytest.param(lambda: encode(make_logo(100_000)), id="logo-never-registered"),
        pytest.param(
            lambda: encode(make_logo(100_001), "JPEG", quality=30), id="unregistered-logo-q30"
        ),
        pytest.param(lambda: encode(Image.new("RGB", (400, 300), "white")), id="blank"),
    ],
)
def test_unrelated_picture_matches_nothing(index: AssetIndex, make) -> None:  # type: ignore[no-untyped-def]
    assert index.match(make()) is None


def test_the_exact_file_is_found_by_its_bytes(index: AssetIndex, logos) -> None:  # type: ignore[no-untyped-def]
    found = index.match(encode(logos[2]))
    assert found is not None
    assert (found.method, found.record.asset_id, found.distance) == ("exact", "logo-2", 0)


def test_lookup_among_10000_assets_finds_the_logo_in_under_a_millisecond(
    logos: dict[int, Image.Image],
) -> None:
    records = [logo_record(seed, encode(image)) for seed, image in logos.items()]
    big = AssetIndex(records + filler_records(10_000 - len(records), seed=1))
    probe = image_hashes(VARIANTS["jpeg_q30"](logos[3], random.Random(0)), with_features=False)
    found = big.match_hashes(probe.phash, probe.dhash)
    assert found is not None and found.record.asset_id == "logo-3"
    timings = []
    for _ in range(30):
        start = time.perf_counter()
        big.match_hashes(probe.phash, probe.dhash)
        timings.append(time.perf_counter() - start)
    # The best of several runs: the cost of the lookup itself, not of a busy machine.
    assert min(timings) < 0.001


def test_a_photo_in_the_library_is_found_after_re_encoding() -> None:
    photo = make_photo(8)  # a scene of shapes
    data = encode(photo)
    library = AssetIndex(
        [
            AssetRecord(
                "campus",
                content_hash(data),
                "image",
                hashes=image_hashes(data, with_features=False),
            )
        ]
    )
    found = library.match(encode(photo.resize((320, 240)), "JPEG", quality=40))
    assert found is not None and found.record.asset_id == "campus"


# --- records and hashes ----------------------------------------------------------------


def test_hashes_survive_a_json_round_trip(logos: dict[int, Image.Image]) -> None:
    hashes = image_hashes(encode(logos[1]))
    assert ImageHashes.from_json(hashes.to_json()) == hashes
    assert hashes.features and hashes.thumbnail
    assert len(hashes.phash) == len(hashes.dhash) == 64  # 256-bit hashes


@pytest.mark.parametrize(
    "text",
    [
        "not json",  # garbage
        "[]",  # JSON of the wrong shape
        '{"dhash": "00"}',  # a hash missing
        '{"phash": "xyz", "dhash": "00"}',  # not hex
    ],
)
def test_broken_serialised_hashes_are_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        ImageHashes.from_json(text)


def test_records_without_usable_hashes_are_found_by_id_and_bytes_only(
    logos: dict[int, Image.Image],
) -> None:
    data = encode(logos[0])
    current = image_hashes(data)
    records = [
        AssetRecord("no-hashes", content_hash(data), "logo"),
        AssetRecord(
            "old-hashes",
            "0" * 64,
            "logo",
            hashes=ImageHashes(current.phash, current.dhash, version=0),
        ),
    ]
    library = AssetIndex(records)
    assert library.get("old-hashes") is records[1]
    assert library.by_content_hash(content_hash(data)) is records[0]
    assert library.match(encode(logos[0], "JPEG", quality=30)) is None
    assert library.searchable_logos == 0


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"kind": "banner"}, "kind"),  # not logo or image
        ({"permission": "maybe"}, "permission"),  # not a permission state
        ({"valid_until": datetime(2026, 1, 1)}, "timezone"),  # naive datetime
        ({"consent_expires": datetime(2026, 1, 1)}, "timezone"),
    ],
)
def test_invalid_record_is_refused(fields: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        AssetRecord("a", "0" * 64, **fields)  # type: ignore[arg-type]


def test_allowed_accounts_given_as_a_list_become_a_tuple() -> None:
    record = AssetRecord("a", "0" * 64, allowed_accounts=["uni_news"])  # type: ignore[arg-type]
    assert record.allowed_accounts == ("uni_news",)
    assert record.valid_from is None and datetime.now(UTC)


# --- safe decoding -----------------------------------------------------------------------


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    data = bytearray(encode(Image.new("L", (1, 1))))
    # IHDR starts at byte 8: length (4), type (4), width (4), height (4) ... crc.
    struct.pack_into(">II", data, 16, width, height)
    crc = zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF
    struct.pack_into(">I", data, 29, crc)
    return bytes(data)


def jpeg_bytes() -> bytes:
    return encode(make_photo(3, (320, 240)), "JPEG", quality=90)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (png_declaring(100_000, 100_000), "too_large"),  # Pillow's own bomb limit trips
        (png_declaring(8_000, 8_000), "too_large"),  # above the gate's 50 MP, below Pillow's
        (jpeg_bytes()[:1500], "truncated"),  # an upload cut short
        (b"this is not an image at all", "unknown_format"),  # garbage
        (b"", "unknown_format"),  # nothing
        (encode(Image.new("RGB", (8, 8)), "BMP"), "unknown_format"),  # readable, not accepted
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "unknown_format"),  # a PNG signature, no image
    ],
)
def test_unsafe_or_broken_bytes_raise_a_clear_error(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableImageError) as caught:
        decode_image(data)
    assert caught.value.reason == reason
    assert str(caught.value)


def test_match_refuses_unreadable_bytes(index: AssetIndex) -> None:
    with pytest.raises(UnreadableImageError):
        index.match(b"garbage")


def test_a_lower_pixel_limit_refuses_an_ordinary_picture() -> None:
    with pytest.raises(UnreadableImageError, match="decompression bomb") as caught:
        decode_image(jpeg_bytes(), max_pixels=10_000)
    assert caught.value.reason == "too_large"


def test_transparent_logo_is_flattened_on_white() -> None:
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    decoded = decode_image(encode(image))
    assert decoded.working.mode == "RGB"
    assert decoded.working.getpixel((5, 5)) == (255, 255, 255)
    assert (decoded.width, decoded.height, decoded.format) == (40, 20, "PNG")


def test_big_picture_is_reduced_to_a_small_working_copy() -> None:
    decoded = decode_image(encode(Image.new("RGB", (3000, 1500), "navy"), "JPEG"))
    assert max(decoded.working.size) < 2048
    assert (decoded.width, decoded.height) == (3000, 1500)


def test_hashing_a_picture_uses_the_same_decoder() -> None:
    with pytest.raises(UnreadableImageError):
        image_hashes(BytesIO(b"junk").getvalue())


# --- transparent logos ---------------------------------------------------------------------


def transparent_logo(seed: int) -> Image.Image:
    """A generated logo whose background colour is made transparent."""
    rgba = make_logo(seed).convert("RGBA")
    alpha = Image.eval(
        ImageChops.difference(
            rgba.convert("RGB"), Image.new("RGB", rgba.size, rgba.getpixel((2, 2)))
        ).convert("L"),
        lambda value: 0 if value == 0 else 255,
    )
    rgba.putalpha(alpha)
    return rgba


def test_transparent_logo_on_another_background_is_recognised() -> None:
    logo = transparent_logo(0)
    library = AssetIndex([logo_record(0, encode(logo))])
    banner = Image.new("RGBA", logo.size, (30, 60, 200, 255))
    banner.alpha_composite(logo)
    found = library.match(encode(banner.convert("RGB"), "JPEG", quality=85))
    assert found is not None and found.record.asset_id == "logo-0"
    # Unrelated pictures still match nothing.
    for seed in (60_000, 60_001, 60_002):
        assert library.match(encode(make_photo(seed), "JPEG")) is None
