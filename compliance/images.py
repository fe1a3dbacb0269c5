"""The image rules of the gate: assets and logos, unreadable files, GPS, alt text, consent.

:func:`check_images` is called by :func:`compliance.check` for every draft with images.
Each image is decoded once, defensively (:func:`compliance.assets.decode_image`), and
looked up in the asset library:

- ``asset_permission``: the image must be a library asset that is approved, inside its
  validity window when the post goes out, and allowed for the post's account;
- ``logo_match``: an image that is not a library file but looks like a registered logo
  (resized, re-encoded, greyscale, cropped, or placed inside a larger picture) is
  reported as that logo, and that logo's permission applies;
- ``image_unreadable``: decompression bombs, truncated files and formats the gate
  cannot read give a finding, never an exception;
- ``image_gps``: GPS coordinates in the image's metadata disclose where it was taken;
- ``alt_text``: an image without a text alternative;
- ``photo_consent``: an asset showing identifiable people needs a consent record
  (reference and expiry) that is still valid when the post goes out.

Every rule reads its clause, severity and settings from the policy
(``compliance/policy.toml``); a rule the policy lacks or switches off does not run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from PIL import ExifTags

from compliance.assets import (
    ACCEPTED_FORMATS,
    DEFAULT_MAX_PIXELS,
    AssetIndex,
    AssetMatch,
    AssetRecord,
    DecodedImage,
    UnreadableImageError,
    content_hash,
    decode_image,
)
from compliance.errors import PolicyError
from compliance.model import Draft, Finding, Image, Severity

if TYPE_CHECKING:
    from compliance.policy import Policy, RuleConfig

__all__ = ["IMAGE_RULES", "check_images"]

#: The rule ids this module enforces (each a ``[rules.<id>]`` table in the policy).
IMAGE_RULES = (
    "asset_permission",
    "logo_match",
    "image_unreadable",
    "image_gps",
    "alt_text",
    "photo_consent",
)

# asset_permission settings and their defaults: the severity of each situation.
# Rejected and revoked assets always take the rule's own severity (block by default).
_PERMISSION_DEFAULTS = {
    "unregistered": "review",
    "unknown_asset": "block",
    "altered": "review",
    "pending": "review",
    "not_yet_valid": "review",
    "expired": "block",
    "account_not_allowed": "block",
}

# Shorter alt texts ("x", "ok") describe nothing.
_MIN_ALT_LENGTH = 3
_DEFAULT_ALT_PLACEHOLDERS = (
    "image",
    "photo",
    "picture",
    "img",
    "pic",
    "logo",
    "graphic",
    "untitled",
    "alt",
    "alt text",
    "screenshot",
)


def check_images(
    draft: Draft,
    policy: Policy,
    assets: AssetIndex | None = None,
    now: datetime | None = None,
) -> list[Finding]:
    """Run the image rules of ``policy`` on every image of ``draft``.

    Args:
        draft: the post; its ``at`` (else ``now``, else the current time) is the moment
            validity windows and consent expiry are checked against, and its
            ``account`` is checked against each asset's allowed accounts.
        policy: the rules; those of :data:`IMAGE_RULES` that are present and enabled
            run.
        assets: the asset library; ``None`` means there is none, so no image can be
            shown to be an approved asset.
        now: the current time when ``draft.at`` is unset (naive datetimes are UTC).

    Returns:
        The findings, each with ``image_index`` set (and ``asset_id`` when the image is,
        or looks like, a library asset). Unreadable images are findings, not errors.

    Raises:
        PolicyError: an image rule's setting has the wrong type or an unknown severity.
    """
    rules = _ImageRules.from_policy(policy)
    if not rules.any_enabled:
        return []
    moment = _aware(draft.at) or _aware(now) or datetime.now(UTC)
    findings: list[Finding] = []
    for index, image in enumerate(draft.images):
        check = _ImageCheck(rules, draft, assets, moment, index, image)
        findings.extend(check.run())
    return findings


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


# --- the policy's image rules, read and checked once per call ----------------------------


@dataclass(frozen=True)
class _ImageRules:
    asset_permission: RuleConfig | None
    logo_match: RuleConfig | None
    image_unreadable: RuleConfig | None
    image_gps: RuleConfig | None
    alt_text: RuleConfig | None
    photo_consent: RuleConfig | None
    permission_severities: dict[str, Severity]
    max_pixels: int
    formats: tuple[str, ...]
    alt_placeholders: frozenset[str]

    @classmethod
    def from_policy(cls, policy: Policy) -> _ImageRules:
        enabled = {rule_id: policy.enabled(rule_id) for rule_id in IMAGE_RULES}
        permission = enabled["asset_permission"]
        severities = {
            key: _severity_setting(permission, key, default)
            for key, default in _PERMISSION_DEFAULTS.items()
        }
        unreadable = enabled["image_unreadable"]
        max_pixels = _setting(unreadable, "max_pixels", DEFAULT_MAX_PIXELS, int)
        if max_pixels < 1:
            raise PolicyError(_where(unreadable, "max_pixels") + " must be a positive integer")
        formats = tuple(
            str(f).upper() for f in _setting(unreadable, "formats", list(ACCEPTED_FORMATS), list)
        )
        placeholders = _setting(
            enabled["alt_text"], "placeholders", list(_DEFAULT_ALT_PLACEHOLDERS), list
        )
        return cls(
            asset_permission=permission,
            logo_match=enabled["logo_match"],
            image_unreadable=unreadable,
            image_gps=enabled["image_gps"],
            alt_text=enabled["alt_text"],
            photo_consent=enabled["photo_consent"],
            permission_severities=severities,
            max_pixels=max_pixels,
            formats=formats,
            alt_placeholders=frozenset(_plain(str(p)) for p in placeholders),
        )

    @property
    def any_enabled(self) -> bool:
        return any(
            rule is not None
            for rule in (
                self.asset_permission,
                self.logo_match,
                self.image_unreadable,
                self.image_gps,
                self.alt_text,
                self.photo_consent,
            )
        )


def _where(rule: RuleConfig | None, key: str) -> str:
    name = rule.id if rule is not None else "?"
    return f"policy: [rules.{name}] key {key!r}"


def _setting(rule: RuleConfig | None, key: str, default: Any, kind: type) -> Any:
    if rule is None or key not in rule.settings:
        return default
    value = rule.settings[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise PolicyError(f"{_where(rule, key)} must be a {kind.__name__}, not {value!r}")
    return value


def _severity_setting(rule: RuleConfig | None, key: str, default: str) -> Severity:
    value = _setting(rule, key, default, str)
    try:
        return Severity(value)
    except ValueError:
        allowed = ", ".join(s.value for s in Severity)
        raise PolicyError(
            f"{_where(rule, key)} is {value!r}; it must be one of {allowed}"
        ) from None


def _plain(text: str) -> str:
    return " ".join(text.casefold().replace("_", " ").replace("-", " ").split())


# --- one image --------------------------------------------------------------------------


class _ImageCheck:
    """The rules applied to one image of a draft."""

    def __init__(
        self,
        rules: _ImageRules,
        draft: Draft,
        assets: AssetIndex | None,
        moment: datetime,
        index: int,
        image: Image,
    ) -> None:
        self.rules = rules
        self.draft = draft
        self.assets = assets
        self.moment = moment
        self.index = index
        self.image = image
        self.name = f"Image {index + 1}"
        self.findings: list[Finding] = []

    def run(self) -> list[Finding]:
        self._alt_text()
        decoded = self._decode()
        if decoded is not None:
            self._gps(decoded)
        if self.rules.asset_permission is not None or self.rules.logo_match is not None:
            self._library(decoded)
        return self.findings

    def _add(
        self,
        rule: RuleConfig,
        message: str,
        severity: Severity | None = None,
        asset_id: str | None = None,
    ) -> None:
        self.findings.append(
            Finding(
                rule=rule.id,
                severity=severity if severity is not None else rule.severity,
                clause=rule.clause,
                message=message,
                span=None,
                asset_id=asset_id,
                image_index=self.index,
            )
        )

    # alt text ---------------------------------------------------------------------------

    def _alt_text(self) -> None:
        rule = self.rules.alt_text
        if rule is None:
            return
        alt = self.image.alt.strip()
        if not alt:
            self._add(
                rule,
                f"{self.name} has no alt text: people using a screen reader will not know "
                "what it shows. Describe what the image shows in a sentence.",
            )
        elif (
            len(alt) < _MIN_ALT_LENGTH
            or _plain(alt) in self.rules.alt_placeholders
            or _looks_like_file_name(alt)
        ):
            self._add(
                rule,
                f"{self.name}'s alt text {alt!r} does not describe the image. "
                "Describe what the image shows in a sentence.",
            )

    # decoding ---------------------------------------------------------------------------

    def _decode(self) -> DecodedImage | None:
        try:
            return decode_image(
                self.image.data, max_pixels=self.rules.max_pixels, formats=self.rules.formats
            )
        except UnreadableImageError as exc:
            rule = self.rules.image_unreadable
            if rule is not None:
                self._add(
                    rule,
                    f"{self.name} cannot be checked. {exc} Attach it again as a "
                    + ", ".join(self.rules.formats)
                    + " file.",
                    asset_id=self.image.asset_id,
                )
            return None

    # GPS --------------------------------------------------------------------------------

    def _gps(self, decoded: DecodedImage) -> None:
        rule = self.rules.image_gps
        if rule is None:
            return
        where = _gps_position(decoded)
        if where is None and not decoded.xmp_location:
            return
        position = f" ({where})" if where else ""
        self._add(
            rule,
            f"{self.name} carries GPS coordinates{position} in its metadata, which tell "
            "anyone where it was taken. Remove the location data before posting.",
            asset_id=self.image.asset_id,
        )

    # the asset library -------------------------------------------------------------------

    def _library(self, decoded: DecodedImage | None) -> None:
        digest = content_hash(self.image.data)
        if self.image.asset_id:
            self._named_asset(self.image.asset_id, digest, decoded)
            return
        record = self.assets.by_content_hash(digest) if self.assets is not None else None
        if record is not None:
            self._permission(record)
            return
        match = self._look_up(decoded)
        if match is not None and match.record.kind == "logo":
            self._logo(match)
            self._permission(match.record)
        elif match is not None:
            self._permission_finding(
                "unregistered",
                f"{self.name} is not a file from the asset library, but it looks like the "
                f"library image {_title(match.record)}. Attach the library's copy instead.",
                match.record.asset_id,
            )
            self._permission(match.record)
        elif decoded is not None or self.rules.image_unreadable is None:
            # (An unreadable image already has a blocking finding that says more.)
            library = "the asset library" if self.assets is not None else "an asset library"
            self._permission_finding(
                "unregistered",
                f"{self.name} is not in {library}: University images and visuals need "
                "permission before they are used. Add it to the library and have it "
                "approved, or attach an approved asset.",
            )

    def _named_asset(self, asset_id: str, digest: str, decoded: DecodedImage | None) -> None:
        record = self.assets.get(asset_id) if self.assets is not None else None
        if record is None:
            self._permission_finding(
                "unknown_asset",
                f"{self.name} names asset {asset_id!r}, which is not in the asset library.",
                asset_id,
            )
            return
        if record.content_hash != digest:
            self._permission_finding(
                "altered",
                f"{self.name} is not the file stored for asset {_title(record)}: it was "
                "changed after it was added to the library. Attach the library's copy.",
                asset_id,
            )
            match = self._look_up(decoded)
            if (
                match is not None
                and match.record.kind == "logo"
                and match.record.asset_id != record.asset_id
            ):
                self._logo(match)
                self._permission(match.record)
        self._permission(record)

    def _look_up(self, decoded: DecodedImage | None) -> AssetMatch | None:
        if self.assets is None or decoded is None:
            return None
        return self.assets.match_decoded(decoded)

    def _logo(self, match: AssetMatch) -> None:
        rule = self.rules.logo_match
        if rule is None:
            return
        how = (
            f"shows the registered logo {_title(match.record)} inside a larger picture"
            if match.method == "features"
            else f"is a copy (resized, re-encoded, cropped or greyscale) of the registered "
            f"logo {_title(match.record)}"
        )
        self._add(
            rule,
            f"{self.name} {how}. It is treated as that logo, which is used only with "
            "permission; attach the logo from the asset library instead.",
            asset_id=match.record.asset_id,
        )

    def _permission_finding(
        self, situation: str, message: str, asset_id: str | None = None
    ) -> None:
        rule = self.rules.asset_permission
        if rule is None:
            return
        severity = self.rules.permission_severities[situation]
        self._add(rule, message, severity=severity, asset_id=asset_id)

    def _permission(self, record: AssetRecord) -> None:
        """Permission, validity window, allowed accounts and consent of one asset."""
        name = _title(record)
        rule = self.rules.asset_permission
        if record.permission in ("rejected", "revoked") and rule is not None:
            self._add(
                rule,
                f"{self.name} is asset {name}, whose permission was {record.permission}: "
                "it must not be used. Remove it from the post.",
                asset_id=record.asset_id,
            )
        elif record.permission == "pending":
            self._permission_finding(
                "pending",
                f"{self.name} is asset {name}, whose permission is still pending: an admin "
                "has not approved it yet.",
                record.asset_id,
            )
        for situation, message in self._window(record):
            self._permission_finding(
                situation, f"{self.name} is asset {name}, {message}", record.asset_id
            )
        if record.allowed_accounts and self.draft.account not in record.allowed_accounts:
            account = repr(self.draft.account) if self.draft.account else "an unnamed account"
            self._permission_finding(
                "account_not_allowed",
                f"{self.name} is asset {name}, which is allowed only on "
                + ", ".join(record.allowed_accounts)
                + f", not on {account}.",
                record.asset_id,
            )
        self._consent(record)

    def _window(self, record: AssetRecord) -> Iterator[tuple[str, str]]:
        when = _when(self.moment)
        if record.valid_from is not None and self.moment < record.valid_from:
            yield (
                "not_yet_valid",
                f"which may be used only from {_when(record.valid_from)}; "
                f"the post goes out {when}.",
            )
        if record.valid_until is not None and self.moment >= record.valid_until:
            yield (
                "expired",
                f"whose permission ended {_when(record.valid_until)}; the post goes out {when}.",
            )

    def _consent(self, record: AssetRecord) -> None:
        rule = self.rules.photo_consent
        if rule is None or not record.shows_people:
            return
        name = _title(record)
        if not record.consent_ref or record.consent_expires is None:
            missing = "consent reference" if not record.consent_ref else "consent expiry date"
            self._add(
                rule,
                f"{self.name} is asset {name}, which shows identifiable people but has no "
                f"{missing} on record: it does not count as approved until consent is "
                "recorded in the asset library.",
                asset_id=record.asset_id,
            )
        elif self.moment >= record.consent_expires:
            self._add(
                rule,
                f"{self.name} is asset {name}, which shows identifiable people; their "
                f"consent ({record.consent_ref}) expired {_when(record.consent_expires)}, "
                f"before the post goes out {_when(self.moment)}.",
                asset_id=record.asset_id,
            )


def _title(record: AssetRecord) -> str:
    return f"“{record.title}” ({record.asset_id})" if record.title else repr(record.asset_id)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _looks_like_file_name(alt: str) -> bool:
    """``IMG_1234.jpg``, ``DSC00042``, ``photo.png``: a file name, not a description."""
    plain = alt.strip().casefold()
    if " " in plain:
        return False
    if plain.rsplit(".", 1)[-1] in ("jpg", "jpeg", "png", "gif", "webp", "heic", "tif", "tiff"):
        return True
    stem = plain.replace("_", "").replace("-", "")
    letters = stem.rstrip("0123456789")
    return stem != letters and len(letters) <= 4 and len(stem) - len(letters) >= 3


# --- GPS metadata ------------------------------------------------------------------------

_GPS_LATITUDE_REF = 1
_GPS_LATITUDE = 2
_GPS_LONGITUDE_REF = 3
_GPS_LONGITUDE = 4


def _gps_position(decoded: DecodedImage) -> str | None:
    """``"51.50740° N, 0.12780° W"`` when the EXIF GPS block holds a position.

    Returns ``""`` when the GPS block has coordinates that cannot be read as numbers
    (still a location disclosure), and ``None`` when it holds no position at all.
    """
    try:
        gps = decoded.exif.get_ifd(ExifTags.IFD.GPSInfo)
    except (KeyError, ValueError, TypeError, SyntaxError, OSError):
        return None
    if not gps or (_GPS_LATITUDE not in gps and _GPS_LONGITUDE not in gps):
        return None
    try:
        latitude = _degrees(gps[_GPS_LATITUDE])
        longitude = _degrees(gps[_GPS_LONGITUDE])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return ""
    north = str(gps.get(_GPS_LATITUDE_REF, "N")).strip("\x00 ").upper() or "N"
    east = str(gps.get(_GPS_LONGITUDE_REF, "E")).strip("\x00 ").upper() or "E"
    return f"{latitude:.5f}° {north}, {longitude:.5f}° {east}"


def _degrees(value: Any) -> float:
    parts = [float(Fraction(str(part))) if isinstance(part, str) else float(part) for part in value]
    degrees, minutes, seconds = ([*parts, 0.0, 0.0])[:3]
    return degrees + minutes / 60 + seconds / 3600
