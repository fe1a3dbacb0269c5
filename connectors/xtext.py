"""X's weighted text length (twitter-text v3 rules).

X counts most Latin text as 1 per character, CJK and other wide characters as 2,
every URL as 23 whatever its length, and every emoji as 2. The ``twitter-text-parser``
package implements these rules, but its emoji table predates the newer multi-codepoint
sequences (``🧑‍🧑‍🧒`` counts 8 there, ``🐦‍🔥`` 5), which X itself counts as 2 like any
other emoji. So each emoji grapheme cluster is counted here as 2 and the rest of the
text is left to the package.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

import regex
from twitter_text import parse_tweet
from twitter_text.has_invalid_characters import (
    has_invalid_characters as _has_invalid_characters,
)

from connectors.base import TextMeasure
from connectors.limits import int_option

#: X's limit for a post from a standard account, in weighted characters.
X_TEXT_LIMIT = 280

#: The weight X gives every emoji, however many code points it is made of.
EMOJI_WEIGHT = 2

# A grapheme cluster is an emoji when it holds a pictographic code point, a regional
# indicator (flags are pairs of them) or the combining keycap (``1️⃣``).
_EMOJI_CHAR = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3]")
_GRAPHEME = regex.compile(r"\X")

# Stands in for each emoji sequence while the package measures the rest: a single
# code point emoji the package counts right (2), with the same effect on URL
# detection around it as any other emoji.
_PLACEHOLDER = "\U0001f600"


def emoji_sequences(text: str) -> list[str]:
    """Return every emoji grapheme cluster in ``text``, in order."""
    normalized = unicodedata.normalize("NFC", text)
    return [g for g in _GRAPHEME.findall(normalized) if _EMOJI_CHAR.search(g)]


def _with_placeholders(text: str) -> str:
    normalized = unicodedata.normalize("NFC", text)
    return "".join(
        _PLACEHOLDER if _EMOJI_CHAR.search(g) else g for g in _GRAPHEME.findall(normalized)
    )


def weighted_length(text: str) -> int:
    """Return the length X gives ``text``: URLs 23, emoji and CJK 2, Latin 1.

    Each emoji grapheme cluster (ZWJ families, flags, skin tones, keycaps) counts as
    one emoji of weight 2.
    """
    if not text:
        return 0
    return int(parse_tweet(_with_placeholders(text)).weightedLength)


def text_limit(options: Mapping[str, str]) -> int:
    """The account's limit in weighted characters: its ``text_limit`` option, else 280.

    Raises ``ConnectorError`` when the option is not a positive whole number.
    """
    return int_option(options, "text_limit", X_TEXT_LIMIT)


def count_text(text: str, limit: int) -> TextMeasure:
    """Weighted length by twitter-text v3 rules against ``limit``.

    The X connector's ``measure`` and ``connectors.measure_text`` both count with this.
    """
    return TextMeasure(weighted_length(text), limit, "weighted characters")


def has_invalid_characters(text: str) -> bool:
    """Return True when ``text`` holds characters X refuses (byte-order marks, non-characters)."""
    return bool(text) and bool(_has_invalid_characters(text))
