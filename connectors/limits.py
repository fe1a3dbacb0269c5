"""Checks every connector's ``validate`` shares: text length, media count, format, size."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from connectors.base import MediaItem, Problem, TextMeasure
from connectors.errors import ConnectorError, Permanent

#: Image types every connector here accepts unless a platform narrows them.
IMAGE_TYPES: frozenset[str] = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def text_problems(text: str, measure: TextMeasure, *, has_media: bool) -> list[Problem]:
    """Problems with the text alone: empty without media, or over the platform's limit."""
    problems: list[Problem] = []
    if not text.strip() and not has_media:
        problems.append(Problem("empty", "The post has no text and no image."))
    if measure.over:
        problems.append(
            Problem(
                "too_long",
                f"The text is {measure.used} {measure.unit}; the limit is {measure.limit}.",
            )
        )
    return problems


def media_problems(
    media: Sequence[MediaItem],
    *,
    max_count: int,
    max_bytes: int,
    formats: Iterable[str] = IMAGE_TYPES,
) -> list[Problem]:
    """Problems with the attached images: too many, an unaccepted type, too large."""
    problems: list[Problem] = []
    allowed = frozenset(formats)
    if len(media) > max_count:
        problems.append(
            Problem(
                "too_many_media",
                f"{len(media)} images attached; at most {max_count} are allowed.",
            )
        )
    for number, item in enumerate(media, start=1):
        if item.mime not in allowed:
            kinds = ", ".join(sorted(allowed))
            problems.append(
                Problem(
                    "media_format",
                    f"Image {number} ({item.filename}) is {item.mime}; accepted: {kinds}.",
                )
            )
        if len(item.data) > max_bytes:
            problems.append(
                Problem(
                    "media_too_large",
                    f"Image {number} ({item.filename}) is {len(item.data):,} bytes; "
                    f"the limit is {max_bytes:,}.",
                )
            )
    return problems


def raise_if_invalid(problems: Sequence[Problem], *, platform: str) -> None:
    """Raise ``Permanent`` naming every problem, so nothing invalid is ever sent."""
    if problems:
        reason = " ".join(p.message for p in problems)
        raise Permanent(f"{platform}: {reason}", reason=reason, platform=platform)


def int_option(options: Mapping[str, str], name: str, default: int) -> int:
    """Read a positive integer from an account's ``options`` (strings), else ``default``.

    Raises ``ConnectorError`` when the option is set but is not a positive integer, so a
    typo in an account's settings is reported rather than silently ignored.
    """
    raw = options.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = 0
    if value <= 0:
        raise ConnectorError(f"account option {name!r} must be a positive whole number")
    return value


def count_characters(text: str, limit: int) -> TextMeasure:
    """Count the characters of ``text`` as readers see it (NFC-normalised) against
    ``limit`` (LinkedIn and Facebook count this way)."""
    return TextMeasure(len(unicodedata.normalize("NFC", text)), limit)


def comparable_text(text: str) -> str:
    """``text`` NFC-normalised with its white space collapsed: how a lookup compares a
    post's text with what a platform gives back."""
    return " ".join(unicodedata.normalize("NFC", text).split())
