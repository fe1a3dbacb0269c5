"""The asset library as the gate sees it: records, perceptual hashes and fast lookup.

An :class:`AssetRecord` is one library entry (a logo or an image) with its permission
state, validity window, allowed accounts and consent record. An :class:`AssetIndex` is
built from records and answers three questions in well under a millisecond:
which record has this id, which has exactly these bytes, and which looks like this
picture (:meth:`AssetIndex.match`).

Looking alike is decided in two steps:

1. Global perceptual hashes: imagehash pHash and dHash of the luminance (so a greyscale
   copy hashes like the colour original), 256 bits each, compared with one vectorised
   Hamming distance over packed 64-bit words. This covers resized, re-encoded and
   greyscale copies. 256-bit hashes, not the usual 64: generated and real logos share a
   layout (a mark, lettering, a flat background), and 64-bit hashes of different logos
   fall within the distance a cropped copy needs, while 256-bit ones keep them apart.
2. Only when that finds nothing and the library holds logos: ORB features of the
   candidate matched against every logo's stored features (locality-sensitive buckets
   rank the logos in one pass, then a ratio test and a RANSAC similarity transform for
   the best few). The region found is warped back into the logo's frame and compared
   with the logo's stored thumbnail (normalised cross-correlation over the part that is
   visible; for a transparent logo, over its ink only), so a cropped logo or a logo
   placed inside a larger picture is recognised and chance feature matches between
   different logos that share a letter or a shape are not. The candidate is looked at
   in two passes of bounded size (mostly-the-logo, then logo-inside-a-picture) and the
   search stops at the first verified logo, so the cost is bounded (a few tens of
   milliseconds for a hundred logos; see the benchmark).

:func:`image_hashes` computes everything the index needs from the bytes once, as a plain
:class:`ImageHashes` that the scheduler stores with the asset row (``to_json`` /
``from_json``), so the index is built without decoding any image again.

Errors: :class:`UnreadableImageError` (a ``ComplianceError``) when bytes are not an image the
gate can safely decode: decompression bombs, truncated files, unknown formats.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any, Literal

import cv2
import imagehash
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from compliance.errors import ComplianceError

__all__ = [
    "ACCEPTED_FORMATS",
    "DEFAULT_MAX_PIXELS",
    "AssetIndex",
    "AssetMatch",
    "AssetRecord",
    "DecodedImage",
    "ImageHashes",
    "UnreadableImageError",
    "content_hash",
    "decode_image",
    "image_hashes",
]

#: Bumped whenever the hashing changes, so stored hashes can be recomputed.
HASH_VERSION = 1
#: Images above this many pixels are refused before decoding (decompression bombs).
DEFAULT_MAX_PIXELS = 50_000_000
#: Formats the platforms accept; anything else is refused without trying other decoders.
ACCEPTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "WEBP")
#: An image is reduced after decoding to a working copy of less than twice this side.
WORKING_SIDE = 1024
#: The feature search looks at a candidate twice, at two sizes: first about the size of
#: a registered logo's features (the picture is mostly the logo: a crop or a copy), then
#: larger (the logo is a quarter or more of a larger picture). (long side, ORB features)
_CANDIDATE_PASSES = ((400, 1000), (960, 3000))
#: Long side a registered logo is scaled to before its features are taken.
FEATURE_SIDE = 400

#: Side of the square hashes: 16 gives 256-bit pHash and dHash.
HASH_SIZE = 16
#: Long side of the grey thumbnail stored for verifying feature matches.
THUMBNAIL_SIDE = 96

# Global hash acceptance, in bits of 256. Resized, JPEG q30 and greyscale copies of a
# logo measured at most 6 (pHash) and 9 (dHash) bits away; different logos at least 44
# and 20, and usually more than 55 and 25 (bench/logo_match.py).
_MAX_PHASH_DISTANCE = 30
_MAX_DHASH_DISTANCE = 30
_MAX_COMBINED_DISTANCE = 44

# Feature search settings.
_LOGO_FEATURES = 400
_PRESELECT_DISTANCE = 64  # of 256 bits, for the one-pass preselection over all logos
_RATIO = 0.8
_MIN_INLIERS = 12
_MAX_LOGOS_VERIFIED = 6
_MIN_VOTES = 8
# Verification of a feature match against the stored thumbnail.
_MIN_VISIBLE = 0.6  # at least this share of the logo must be inside the candidate
_MIN_CORRELATION = 0.8
# Fewest fully opaque thumbnail pixels for comparing a transparent logo's shades: two
# small flat patches correlate with almost anything flat.
_MIN_SOLID = 150


class UnreadableImageError(ComplianceError, ValueError):
    """The bytes are not an image the gate can decode safely.

    ``reason`` is one of ``"too_large"`` (more pixels than allowed: a decompression
    bomb), ``"truncated"``, ``"unknown_format"`` or ``"corrupt"``; the message says it in
    words a person can act on. (A ``ValueError`` too: the bytes are a bad value.)
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, title="Unreadable image")
        self.reason = reason


@dataclass(frozen=True)
class DecodedImage:
    """An image decoded once: a small RGB working copy plus what the header said."""

    working: Image.Image
    format: str
    width: int
    height: int
    exif: Image.Exif
    #: XMP metadata in the file names a GPS position (``exif:GPSLatitude``).
    xmp_location: bool = False
    #: The alpha channel (mode ``L``, the working copy's size) when the image has
    #: transparent parts; ``working`` is then flattened on white.
    alpha: Image.Image | None = None


def content_hash(data: bytes) -> str:
    """Return the SHA-256 hex digest of ``data`` (the asset's exact-bytes identity)."""
    return hashlib.sha256(data).hexdigest()


def decode_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    formats: Iterable[str] = ACCEPTED_FORMATS,
) -> DecodedImage:
    """Decode ``data`` defensively; return a working copy under twice ``WORKING_SIDE`` a side.

    Transparency is flattened onto white. The pixel count is checked from the header
    before any decoding, and Pillow's own decompression-bomb warning is treated as an
    error, so a small file that unpacks to gigabytes is refused cheaply.

    Raises:
        UnreadableImageError: too many pixels, truncated data, a format outside
            ``formats``, or bytes Pillow cannot decode.
    """
    allowed = tuple(f.upper() for f in formats)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data), formats=allowed)
            width, height = image.size
            if width * height > max_pixels:
                raise UnreadableImageError(
                    f"The image is {width}×{height} pixels, more than the "
                    f"{max_pixels:,} allowed; it may be a decompression bomb.",
                    "too_large",
                )
            exif = image.getexif()
            xmp_location = _xmp_names_location(image.info)
            fmt = image.format or ""
            if fmt == "JPEG":
                # Let libjpeg decode at a reduced scale: much faster for big photos.
                image.draft("RGB", (WORKING_SIDE, WORKING_SIDE))
            image.load()
            working, alpha = _flatten(image)
    except UnreadableImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnreadableImageError(
            f"The image declares too many pixels to decode safely ({exc}).", "too_large"
        ) from exc
    except UnidentifiedImageError as exc:
        raise UnreadableImageError(
            "The file is not an image in an accepted format (" + ", ".join(allowed) + ").",
            "unknown_format",
        ) from exc
    except OSError as exc:
        if "truncated" in str(exc).lower():
            raise UnreadableImageError(
                "The image file is truncated (incomplete upload or damaged file).",
                "truncated",
            ) from exc
        raise UnreadableImageError(f"The image cannot be decoded: {exc}.", "corrupt") from exc
    except (ValueError, SyntaxError, EOFError, struct.error, MemoryError) as exc:
        # Pillow's plugins signal malformed headers with any of these.
        raise UnreadableImageError(f"The image cannot be decoded: {exc}.", "corrupt") from exc
    return DecodedImage(
        working=working,
        format=fmt,
        width=width,
        height=height,
        exif=exif,
        xmp_location=xmp_location,
        alpha=alpha,
    )


def _xmp_names_location(info: Mapping[Any, Any]) -> bool:
    """XMP packets (JPEG ``xmp``, PNG ``XML:com.adobe.xmp``) holding a GPS latitude."""
    for key, value in info.items():
        if "xmp" not in str(key).lower():
            continue
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if "GPSLatitude" in text or "GPSLongitude" in text:
            return True
    return False


def _flatten(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """RGB copy with alpha composited on white, less than twice ``WORKING_SIDE`` a side.

    Also returns the alpha channel at the same size when some of it is transparent.
    """
    image = ImageOps.exif_transpose(image) or image
    alpha = None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        if alpha.getextrema()[0] == 255:
            alpha = None  # an alpha channel that hides nothing
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    rgb = image.convert("RGB")
    # Every later step resizes again, so a cheap integer box reduction is enough here;
    # a Lanczos thumbnail cost more than all the hashing together.
    factor = max(rgb.size) // WORKING_SIDE
    if factor >= 2:
        rgb = rgb.reduce(factor)
        alpha = alpha.reduce(factor) if alpha is not None else None
    return rgb, alpha


@dataclass(frozen=True)
class ImageHashes:
    """Everything the index needs about one picture, as plain strings.

    ``phash``/``dhash``: 256-bit perceptual hashes (64 hex digits) of the luminance, so
    they do not change when colour is removed. ``thumbnail``: a small grey copy (base64)
    for verifying a match found by features. ``features``: ORB keypoints and
    descriptors for finding the picture inside a larger one (base64; empty when not
    computed). ``version`` is ``HASH_VERSION`` at the time they were computed; an index
    ignores hashes of another version (recompute them with :func:`image_hashes`).
    """

    phash: str
    dhash: str
    thumbnail: str = ""
    features: str = ""
    version: int = HASH_VERSION

    def to_json(self) -> str:
        """Serialise to a JSON string (for a database column)."""
        return json.dumps(
            {
                "version": self.version,
                "phash": self.phash,
                "dhash": self.dhash,
                "thumbnail": self.thumbnail,
                "features": self.features,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> ImageHashes:
        """Rebuild from :meth:`to_json` output.

        Raises:
            ValueError: the text is not JSON of the expected shape.
        """
        try:
            raw: dict[str, Any] = json.loads(text)
            hashes = cls(
                phash=str(raw["phash"]),
                dhash=str(raw["dhash"]),
                thumbnail=str(raw.get("thumbnail", "")),
                features=str(raw.get("features", "")),
                version=int(raw.get("version", HASH_VERSION)),
            )
            int(hashes.phash, 16)
            int(hashes.dhash, 16)
        except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not serialised image hashes: {exc}") from exc
        return hashes


def image_hashes(data: bytes, *, with_features: bool = True) -> ImageHashes:
    """Compute the perceptual hashes, thumbnail and ORB features of an image's bytes.

    Pass ``with_features=False`` for pictures that are not logos: only logos are looked
    for inside larger pictures, and the features take a few kilobytes.

    Raises:
        UnreadableImageError: the bytes cannot be decoded safely (see :func:`decode_image`).
    """
    return hashes_of_decoded(decode_image(data), with_features=with_features)


def hashes_of_decoded(decoded: DecodedImage, *, with_features: bool = True) -> ImageHashes:
    """:func:`image_hashes` for an image already decoded with :func:`decode_image`."""
    grey = decoded.working.convert("L")
    phash, dhash = _global_hashes(grey)
    if not with_features:
        return ImageHashes(phash=phash, dhash=dhash)
    array = _scaled_grey_array(grey, FEATURE_SIDE)
    alpha = _scaled_grey_array(decoded.alpha, FEATURE_SIDE) if decoded.alpha else None
    views = [array]
    if alpha is not None:
        # A transparent logo may be placed on any background. Its features near the
        # edge of the ink depend on that background, so take them on black as well.
        views.append((array.astype(np.int16) - (255 - alpha)).clip(0, 255).astype(np.uint8))
    return ImageHashes(
        phash=phash,
        dhash=dhash,
        thumbnail=_encode_thumbnail(array, alpha),
        features=_encode_features(views),
    )


def _global_hashes(grey: Image.Image) -> tuple[str, str]:
    return (
        str(imagehash.phash(grey, hash_size=HASH_SIZE)),
        str(imagehash.dhash(grey, hash_size=HASH_SIZE)),
    )


def _hash_words(value: str) -> list[int]:
    """A hex hash as 64-bit words (the index packs hashes this way)."""
    digits = value.rjust(HASH_SIZE * HASH_SIZE // 4, "0")
    return [int(digits[i : i + 16], 16) for i in range(0, len(digits), 16)]


# --- features and thumbnails --------------------------------------------------------


def _scaled_grey_array(grey: Image.Image, side: int) -> np.ndarray:
    """Grey image as a uint8 array scaled (up or down) so its long side is ``side``."""
    w, h = grey.size
    scale = side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size != grey.size:
        grey = grey.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(grey, dtype=np.uint8)


def _thumbnail_size(width: int, height: int) -> tuple[int, int]:
    scale = THUMBNAIL_SIDE / max(width, height)
    return max(8, round(width * scale)), max(8, round(height * scale))


def _encode_thumbnail(array: np.ndarray, alpha: np.ndarray | None = None) -> str:
    """Grey thumbnail bytes, followed by its alpha plane for a transparent picture."""
    size = _thumbnail_size(array.shape[1], array.shape[0])
    small = cv2.resize(array, size, interpolation=cv2.INTER_AREA)
    blob = struct.pack("<HH", small.shape[1], small.shape[0]) + small.tobytes()
    if alpha is not None:
        blob += cv2.resize(alpha, size, interpolation=cv2.INTER_AREA).tobytes()
    return base64.b64encode(blob).decode("ascii")


def _decode_thumbnail(text: str) -> tuple[np.ndarray, np.ndarray | None] | None:
    try:
        blob = base64.b64decode(text, validate=True)
        width, height = struct.unpack_from("<HH", blob, 0)
        count = width * height
        grey = np.frombuffer(blob, dtype=np.uint8, count=count, offset=4).reshape(height, width)
        alpha = None
        if len(blob) >= 4 + 2 * count:
            alpha = np.frombuffer(blob, np.uint8, count=count, offset=4 + count)
            alpha = alpha.reshape(height, width)
    except (ValueError, struct.error):
        return None
    return grey, alpha


def _orb(n_features: int) -> cv2.ORB:
    return cv2.ORB.create(nfeatures=n_features, scaleFactor=1.2, nlevels=8, fastThreshold=12)


@dataclass(frozen=True)
class _Logo:
    """A registered logo's decoded features, ready for matching."""

    position: int  # index into the records
    width: int  # the frame the points are in (long side FEATURE_SIDE)
    height: int
    points: np.ndarray  # (n, 2) float32
    descriptors: np.ndarray  # (n, 32) uint8
    thumbnail: np.ndarray  # grey, long side THUMBNAIL_SIDE
    ink: np.ndarray | None  # a transparent logo's alpha (thumbnail size), or None


def _encode_features(views: list[np.ndarray]) -> str:
    """ORB keypoints and descriptors of one or more same-sized views of a picture."""
    points: list[Sequence[float]] = []
    descriptors: list[np.ndarray] = []
    for view in views:
        found, described = _orb(_LOGO_FEATURES).detectAndCompute(view, None)
        if described is not None and found:
            points += [kp.pt for kp in found]
            descriptors.append(described)
    if not points:
        return ""
    height, width = views[0].shape
    header = struct.pack("<HHH", width, height, len(points))
    blob = (
        header
        + np.array(points, dtype="<f4").tobytes()
        + np.ascontiguousarray(np.vstack(descriptors), dtype=np.uint8).tobytes()
    )
    return base64.b64encode(blob).decode("ascii")


def _decode_logo(position: int, hashes: ImageHashes) -> _Logo | None:
    if not hashes.features or not hashes.thumbnail:
        return None
    thumbnail = _decode_thumbnail(hashes.thumbnail)
    try:
        blob = base64.b64decode(hashes.features, validate=True)
        width, height, n = struct.unpack_from("<HHH", blob, 0)
        offset = 6
        points = np.frombuffer(blob, dtype="<f4", count=2 * n, offset=offset).reshape(n, 2)
        offset += 8 * n
        descriptors = np.frombuffer(blob, dtype=np.uint8, count=32 * n, offset=offset)
    except (ValueError, struct.error):
        return None
    if thumbnail is None or n < _MIN_INLIERS:
        return None
    grey, alpha = thumbnail
    ink = alpha if alpha is not None and 0.02 < (alpha >= 128).mean() < 0.98 else None
    # (None when all or nothing is opaque: the whole picture is compared.)
    return _Logo(position, width, height, points, descriptors.reshape(n, 32), grey, ink)


# --- records and the index -------------------------------------------------------------

AssetKind = Literal["logo", "image"]
Permission = Literal["pending", "approved", "rejected", "revoked"]
_KINDS = ("logo", "image")
_PERMISSIONS = ("pending", "approved", "rejected", "revoked")


@dataclass(frozen=True)
class AssetRecord:
    """One library entry as the gate needs it.

    Datetimes are timezone-aware (UTC). ``allowed_accounts`` empty means every account.
    ``shows_people`` marks a picture of identifiable people: it needs ``consent_ref``
    and an unexpired ``consent_expires`` before it counts as approved. ``hashes`` is
    ``None`` when the picture was never hashed (it can then be found by id and content
    hash, not by looks).

    Raises:
        ValueError: unknown kind or permission, or a naive datetime.
    """

    asset_id: str
    content_hash: str
    kind: AssetKind = "image"
    title: str = ""
    permission: Permission = "pending"
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    allowed_accounts: tuple[str, ...] = ()
    shows_people: bool = False
    consent_ref: str | None = None
    consent_expires: datetime | None = None
    hashes: ImageHashes | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"asset kind must be one of {_KINDS}, not {self.kind!r}")
        if self.permission not in _PERMISSIONS:
            raise ValueError(
                f"asset permission must be one of {_PERMISSIONS}, not {self.permission!r}"
            )
        for name in ("valid_from", "valid_until", "consent_expires"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware")
        if not isinstance(self.allowed_accounts, tuple):
            object.__setattr__(self, "allowed_accounts", tuple(self.allowed_accounts))


@dataclass(frozen=True)
class AssetMatch:
    """A library record a picture was recognised as.

    ``method``: ``"exact"`` (same bytes), ``"hash"`` (global perceptual hashes;
    ``distance`` is the pHash + dHash Hamming distance in bits, 0-128) or ``"features"``
    (found inside a larger picture; ``inliers`` is the number of geometrically
    consistent feature matches and ``distance`` the pHash distance of the found region).
    """

    record: AssetRecord
    method: Literal["exact", "hash", "features"]
    distance: int = 0
    inliers: int = 0


class AssetIndex:
    """Lookup over the asset library: by id, by exact bytes, and by looks.

    Build it from records (each with stored :class:`ImageHashes`); it is immutable, so
    build a new one when the library changes. The hash lookup is one XOR and popcount
    over every registered hash, vectorised with numpy (tens of microseconds for 10,000
    assets; see ``bench/logo_match.py``). Records without hashes, or with hashes of
    another ``HASH_VERSION``, are found by id and content hash only.
    """

    def __init__(self, records: Iterable[AssetRecord] = ()) -> None:
        self._records: tuple[AssetRecord, ...] = tuple(records)
        self._by_id = {r.asset_id: r for r in self._records}
        self._by_hash = {r.content_hash: r for r in self._records}
        words = HASH_SIZE * HASH_SIZE // 64
        phashes: list[list[int]] = []
        dhashes: list[list[int]] = []
        owners: list[int] = []
        logos: list[_Logo] = []
        for position, record in enumerate(self._records):
            hashes = record.hashes
            if hashes is None or hashes.version != HASH_VERSION:
                continue
            try:
                p, d = _hash_words(hashes.phash), _hash_words(hashes.dhash)
            except ValueError:
                continue
            if len(p) != words or len(d) != words:
                continue
            phashes.append(p)
            dhashes.append(d)
            owners.append(position)
            if record.kind == "logo":
                logo = _decode_logo(position, hashes)
                if logo is not None:
                    logos.append(logo)
        # One row per 64-bit word, one column per record: the XOR and popcount then run
        # over long contiguous rows, about four times faster than a (records, words) array.
        self._words = np.ascontiguousarray(
            np.array([p + d for p, d in zip(phashes, dhashes, strict=True)], dtype=np.uint64)
            .reshape(-1, 2 * words)
            .T
        )
        self._owner = np.array(owners, dtype=np.int64)
        self._logos = logos
        self._features = _LogoFeatures(logos)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[AssetRecord]:
        return iter(self._records)

    @property
    def records(self) -> tuple[AssetRecord, ...]:
        """Every record, in the order given."""
        return self._records

    @property
    def searchable_logos(self) -> int:
        """How many logos can be found inside larger pictures (they have features)."""
        return len(self._logos)

    def get(self, asset_id: str) -> AssetRecord | None:
        """Return the record with this asset id, or ``None``."""
        return self._by_id.get(asset_id)

    def by_content_hash(self, digest: str) -> AssetRecord | None:
        """Return the record whose file has this SHA-256 hex digest, or ``None``."""
        return self._by_hash.get(digest)

    def match(self, image_bytes: bytes) -> AssetMatch | None:
        """Find the library record this picture is, or looks like, or ``None``.

        Tries exact bytes, then global perceptual hashes, then (for logos) features.

        Raises:
            UnreadableImageError: the bytes are not a picture that can be decoded safely.
        """
        record = self.by_content_hash(content_hash(image_bytes))
        if record is not None:
            return AssetMatch(record, "exact")
        return self.match_decoded(decode_image(image_bytes))

    def match_decoded(self, decoded: DecodedImage) -> AssetMatch | None:
        """:meth:`match` for a picture already decoded (exact bytes are not compared)."""
        grey = decoded.working.convert("L")
        phash, dhash = _global_hashes(grey)
        found = self.match_hashes(phash, dhash)
        if found is not None:
            return found
        return self._match_features(grey)

    def match_hashes(self, phash: str, dhash: str) -> AssetMatch | None:
        """The nearest record by global hashes, if close enough to be the same picture.

        Raises:
            ValueError: the hashes are not hex strings of the current size.
        """
        if len(self._owner) == 0:
            return None
        query = np.array(_hash_words(phash) + _hash_words(dhash), dtype=np.uint64)
        if query.shape[0] != self._words.shape[0]:
            raise ValueError("hashes of the wrong size")
        half = len(query) // 2
        # The first two pHash words alone rule out almost every record (their distance
        # can only grow with the other words), so the full distance is computed for few.
        p_dist = np.bitwise_count(self._words[0] ^ query[0]).astype(np.int32)
        p_dist += np.bitwise_count(self._words[1] ^ query[1])
        candidates = np.flatnonzero(p_dist <= _MAX_PHASH_DISTANCE)
        if candidates.size == 0:
            return None
        bits = np.bitwise_count(self._words[:, candidates] ^ query[:, None])
        p_dist = p_dist[candidates]
        for row in range(2, half):
            p_dist += bits[row]
        d_dist = bits[half].astype(np.int32)
        for row in range(half + 1, len(query)):
            d_dist += bits[row]
        combined = p_dist + d_dist
        best = int(np.argmin(combined))
        if (
            combined[best] <= _MAX_COMBINED_DISTANCE
            and p_dist[best] <= _MAX_PHASH_DISTANCE
            and d_dist[best] <= _MAX_DHASH_DISTANCE
        ):
            record = self._records[int(self._owner[candidates[best]])]
            return AssetMatch(record, "hash", distance=int(combined[best]))
        return None

    def _match_features(self, grey: Image.Image) -> AssetMatch | None:
        if not self._logos:
            return None
        for side, n_features in _CANDIDATE_PASSES:
            found = self._match_features_at(grey, side, n_features)
            if found is not None:
                return found
        return None

    def _match_features_at(
        self, grey: Image.Image, side: int, n_features: int
    ) -> AssetMatch | None:
        array = _scaled_grey_array(grey, side)
        keypoints, descriptors = _orb(n_features).detectAndCompute(array, None)
        if descriptors is None or len(keypoints) < _MIN_INLIERS:
            return None
        pairs = self._features.pairs(descriptors)
        points = np.array([kp.pt for kp in keypoints], dtype=np.float32)
        votes = pairs.votes
        for logo in np.argsort(-votes, kind="stable")[:_MAX_LOGOS_VERIFIED]:
            if votes[logo] < _MIN_VOTES:
                break
            found = self._verify_logo(int(logo), pairs, points, array)
            if found is not None:
                return found
        return None

    def _verify_logo(
        self, number: int, pairs: _DescriptorPairs, points: np.ndarray, array: np.ndarray
    ) -> AssetMatch | None:
        logo = self._logos[number]
        logo_points, candidate_points = self._features.matches(number, pairs)
        if len(logo_points) < _MIN_INLIERS:
            return None
        # Copies are resized, cropped or placed: a similarity transform (scale, rotation,
        # shift) explains them, and chance matches fit it far less often than they fit
        # a full homography.
        affine, mask = cv2.estimateAffinePartial2D(
            logo_points.reshape(-1, 1, 2),
            points[candidate_points].reshape(-1, 1, 2),
            method=cv2.RANSAC,
            ransacReprojThreshold=4.0,
        )
        if affine is None or mask is None:
            return None
        transform = np.vstack([affine, [0.0, 0.0, 1.0]])
        inliers = int(mask.sum())
        if inliers < _MIN_INLIERS or not _plausible(transform, logo, array.shape):
            return None
        correlation = _visible_correlation(transform, logo, array)
        if correlation < _MIN_CORRELATION:
            return None
        return AssetMatch(
            self._records[logo.position],
            "features",
            distance=round((1 - correlation) * 100),
            inliers=inliers,
        )


@dataclass(frozen=True)
class _DescriptorPairs:
    """Candidate/logo descriptor pairs that share a bucket and are close enough."""

    query: np.ndarray  # candidate descriptor index
    hit: np.ndarray  # logo descriptor index (over all logos)
    distance: np.ndarray  # Hamming distance, bits of 256
    votes: np.ndarray  # per logo


class _LogoFeatures:
    """Every logo's ORB descriptors, bucketed for fast approximate matching.

    Brute-force matching against every logo's descriptors costs too much once a library
    holds dozens of logos (a hundred logos took hundreds of milliseconds per picture
    here). Instead each 256-bit descriptor is bucketed by fixed samples of its bits
    (locality-sensitive hashing, several tables); a candidate descriptor is compared
    only with the logo descriptors sharing one of its buckets. Logos are ranked by how
    many candidate descriptors have their nearest neighbour in them: generic corners
    are near-duplicates in every logo, so counting every close bucket-mate would drown
    the true logo, while counting nearest neighbours keeps it near the top.
    """

    _TABLES = 8
    _BITS = 26
    _MAX_DISTANCE = 64  # of 256 bits, for a pair to count at all
    _VOTE_DISTANCE = 50  # of 256 bits, for a nearest neighbour to vote

    def __init__(self, logos: list[_Logo]) -> None:
        self._logo_count = len(logos)
        picker = np.random.default_rng(20260101)  # fixed: keys must not vary between runs
        self._positions = np.stack(
            [picker.choice(256, size=self._BITS, replace=False) for _ in range(self._TABLES)]
        )
        self._weights = np.left_shift(np.int64(1), np.arange(self._BITS, dtype=np.int64))
        sizes = [len(logo.descriptors) for logo in logos]
        self._starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        if logos:
            descriptors = np.vstack([logo.descriptors for logo in logos])
            self._points = np.vstack([logo.points for logo in logos]).astype(np.float32)
        else:
            descriptors = np.zeros((0, 32), np.uint8)
            self._points = np.zeros((0, 2), np.float32)
        self._owners = np.repeat(np.arange(len(logos), dtype=np.int64), sizes)
        self._words = np.ascontiguousarray(descriptors).view(np.uint64)  # (k, 4)
        keys = self._keys(descriptors)
        self._order = np.argsort(keys, axis=0, kind="stable")
        self._sorted_keys = np.take_along_axis(keys, self._order, axis=0)

    def _keys(self, descriptors: np.ndarray) -> np.ndarray:
        bits = np.unpackbits(descriptors, axis=1)  # (n, 256)
        return np.stack(
            [bits[:, cols].astype(np.int64) @ self._weights for cols in self._positions], axis=1
        )

    def pairs(self, descriptors: np.ndarray) -> _DescriptorPairs:
        """Close pairs between the candidate's descriptors and the logos', with votes."""
        empty = np.zeros(0, np.int64)
        total = len(self._owners)
        keys = self._keys(descriptors)
        found = []
        for table in range(self._TABLES):
            column = self._sorted_keys[:, table]
            lo = np.searchsorted(column, keys[:, table], side="left")
            lengths = np.searchsorted(column, keys[:, table], side="right") - lo
            if not lengths.any():
                continue
            query = np.repeat(np.arange(len(keys), dtype=np.int64), lengths)
            starts = np.repeat(lo - np.cumsum(lengths) + lengths, lengths)
            hits = self._order[starts + np.arange(lengths.sum()), table]
            found.append(query * total + hits)
        if not found:
            return _DescriptorPairs(empty, empty, empty, np.zeros(self._logo_count, np.int64))
        unique = np.unique(np.concatenate(found))
        query, hit = unique // total, unique % total
        candidate_words = np.ascontiguousarray(descriptors).view(np.uint64)
        distance = np.bitwise_count(candidate_words[query] ^ self._words[hit]).sum(axis=1)
        close = distance <= self._MAX_DISTANCE
        query, hit, distance = query[close], hit[close], distance[close].astype(np.int64)
        nearest = np.full(len(descriptors), 257, dtype=np.int64)
        np.minimum.at(nearest, query, distance)
        keep = (distance == nearest[query]) & (distance <= self._VOTE_DISTANCE)
        # One vote per candidate descriptor and logo, even when several tie.
        voted = np.unique(query[keep] * self._logo_count + self._owners[hit[keep]])
        votes = np.bincount(voted % self._logo_count, minlength=self._logo_count)
        return _DescriptorPairs(query, hit, distance, votes)

    def matches(self, logo: int, pairs: _DescriptorPairs) -> tuple[np.ndarray, np.ndarray]:
        """One-to-one matches with one logo: its points and the candidate's indices.

        Each candidate descriptor keeps its nearest descriptor in the logo, and only if
        it is clearly nearer than the second nearest (Lowe's ratio test); each logo
        descriptor is then used once.
        """
        lo, hi = self._starts[logo], self._starts[logo + 1]
        inside = (pairs.hit >= lo) & (pairs.hit < hi)
        query, hit, distance = pairs.query[inside], pairs.hit[inside], pairs.distance[inside]
        order = np.lexsort((distance, query))
        query, hit, distance = query[order], hit[order], distance[order]
        first = np.ones(len(query), dtype=bool)
        first[1:] = query[1:] != query[:-1]
        # The second nearest of the same query, where there is one.
        has_second = np.zeros(len(query), dtype=bool)
        has_second[:-1] = first[:-1] & ~first[1:]
        second = np.full(len(query), 1 << 30, dtype=np.int64)
        second[:-1] = np.where(has_second[:-1], distance[1:], second[:-1])
        good = first & (distance < _RATIO * second)
        query, hit, distance = query[good], hit[good], distance[good]
        order = np.lexsort((distance, hit))
        query, hit = query[order], hit[order]
        once = np.ones(len(hit), dtype=bool)
        once[1:] = hit[1:] != hit[:-1]
        return self._points[hit[once]], query[once]


def _plausible(homography: np.ndarray, logo: _Logo, shape: tuple[int, ...]) -> bool:
    """The logo's outline maps to a convex, unmirrored quad of a sensible size."""
    w, h = logo.width, logo.height
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32).reshape(-1, 1, 2)
    quad = cv2.perspectiveTransform(corners, homography).reshape(-1, 2).astype(np.float32)
    if not np.all(np.isfinite(quad)) or not cv2.isContourConvex(quad):
        return False
    area = abs(cv2.contourArea(quad))
    # The logo covers at least a fifth of the picture's width (squared, for its aspect)
    # and at most a few times the picture (a cropped logo overflows it).
    min_side = 0.2 * max(shape[0], shape[1])
    if area < min_side * min_side * (min(w, h) / max(w, h)) or area > 4 * shape[0] * shape[1]:
        return False
    return float(np.linalg.det(homography[:2, :2])) > 0


def _visible_correlation(homography: np.ndarray, logo: _Logo, array: np.ndarray) -> float:
    """Correlation of the found region with the logo's thumbnail, where it is visible.

    The candidate is warped into the logo's frame and shrunk to the thumbnail's size;
    pixels that fall outside the candidate (a cropped copy) are left out. Returns 0
    when too little of the logo is visible or either side is flat.
    """
    inverse = np.linalg.inv(homography)
    frame = (logo.width, logo.height)
    warped = cv2.warpPerspective(array, inverse, frame, flags=cv2.INTER_LINEAR)
    coverage = cv2.warpPerspective(
        np.full(array.shape, 255, np.uint8), inverse, frame, flags=cv2.INTER_NEAREST
    )
    size = (logo.thumbnail.shape[1], logo.thumbnail.shape[0])
    warped_small = cv2.resize(warped, size, interpolation=cv2.INTER_AREA).astype(np.float64)
    visible = cv2.resize(coverage, size, interpolation=cv2.INTER_AREA) == 255
    if logo.ink is None:
        if visible.mean() < _MIN_VISIBLE:
            return 0.0
        return _correlation(warped_small[visible], logo.thumbnail[visible])
    # A transparent logo: what lies around its ink is the candidate's own background.
    # Compare the ink's shades where it has several, and the ink's shape (ink against
    # whatever surrounds it, lighter or darker) just around it.
    opaque = logo.ink >= 128
    if (opaque & visible).sum() < _MIN_VISIBLE * opaque.sum():
        return 0.0
    around = cv2.dilate(opaque.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2)
    near = (around > 0) & visible
    shape = abs(_correlation(warped_small[near], logo.ink[near]))
    solid = (logo.ink >= 250) & visible  # no background mixed in at the ink's edges
    shades = (
        _correlation(warped_small[solid], logo.thumbnail[solid])
        if solid.sum() >= _MIN_SOLID
        else 0.0
    )
    return max(shape, shades)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equally long arrays; 0 when either is flat."""
    x = a.astype(np.float64) - a.mean()
    y = b.astype(np.float64) - b.mean()
    norm = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / norm) if norm > 1e-6 else 0.0
