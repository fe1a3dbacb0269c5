"""X's weighted length: twitter-text v3 rules, with every emoji sequence counted as 2."""

from __future__ import annotations

import pytest
from twitter_text import parse_tweet

from connectors.xtext import X_TEXT_LIMIT, emoji_sequences, has_invalid_characters, weighted_length


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),  # nothing
        ("Hello", 5),  # Latin: 1 each
        ("café", 4),  # accented Latin is still 1
        ("日本語", 6),  # CJK: 2 each
        ("https://example.ac.uk/a/very/long/path?with=query", 23),  # any URL is 23
        ("see example.ac.uk", 4 + 23),  # a bare domain is a URL too
        ("😀", 2),  # single code point emoji
        ("👨‍👩‍👧‍👦", 2),  # family: four people joined by ZWJ
        ("🧑‍🧑‍🧒", 2),  # newer family sequence (the parser package alone says 8)
        ("🐦‍🔥", 2),  # phoenix, a newer ZWJ sequence (package alone: 5)
        ("🙂‍↕️", 2),  # head shaking vertically, ZWJ + variation selector
        ("🏳️‍🌈", 2),  # rainbow flag
        ("🇬🇧🇫🇷", 4),  # two flags, each a pair of regional indicators
        ("👍🏽", 2),  # skin tone modifier
        ("👩🏾‍💻", 2),  # skin tone inside a ZWJ sequence
        ("1️⃣#️⃣", 4),  # keycaps
        ("❤️", 2),  # emoji presentation selector
        ("a😀example.ac.uk", 1 + 2 + 23),  # an emoji before a domain does not hide the URL
        ("Offer holders 🎓 https://example.ac.uk", 14 + 2 + 1 + 23),
        ("line\r\nbreak", 10),  # CRLF counts once, as X normalises it
    ],
)
def test_weighted_length(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Plain text with a link https://example.ac.uk and 中文",
        "emoji the package knows 😀 ❤️ 🇬🇧 👍🏽 👨‍👩‍👧‍👦",
    ],
)
def test_agrees_with_the_parser_package_where_it_is_right(text: str) -> None:
    assert weighted_length(text) == parse_tweet(text).weightedLength


@pytest.mark.parametrize(
    ("text", "within"),
    [
        ("a" * X_TEXT_LIMIT, True),  # exactly at the limit
        ("a" * (X_TEXT_LIMIT + 1), False),  # one past
        ("🧑‍🧑‍🧒" * 140, True),  # 140 newer ZWJ emoji = 280
        ("🧑‍🧑‍🧒" * 140 + ".", False),  # 281
        ("1️⃣" * 139 + "ab", True),  # keycaps: 278 + 2
        ("1️⃣" * 139 + "abc", False),  # 281
    ],
)
def test_limit_boundaries(text: str, within: bool) -> None:
    assert (weighted_length(text) <= X_TEXT_LIMIT) is within


def test_emoji_sequences_are_whole_grapheme_clusters() -> None:
    assert emoji_sequences("a👨‍👩‍👧‍👦b🇬🇧c1️⃣") == ["👨‍👩‍👧‍👦", "🇬🇧", "1️⃣"]


@pytest.mark.parametrize(
    ("text", "invalid"),
    [
        ("ordinary text 😀", False),  # fine
        ("zero\ufeffwidth no-break space", True),  # byte-order mark
        ("non\uffffcharacter", True),  # a Unicode non-character
        ("", False),  # empty is not invalid (it is empty)
    ],
)
def test_invalid_characters(text: str, invalid: bool) -> None:
    assert has_invalid_characters(text) is invalid
