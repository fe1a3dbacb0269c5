"""``connectors.measure_text`` counts as each platform's connector does, with no account."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from connectors import AccountConfig, ConnectorError, TextMeasure, make_connector, measure_text

# Loopback and never contacted: building a connector makes no request.
UNUSED_API_BASE = "http://127.0.0.1:9"

#: Valid dummy credentials and the options each connector needs besides its limits.
CONNECT: Mapping[str, tuple[dict[str, str], dict[str, str]]] = {
    "x": ({"bearer_token": "dummy-bearer"}, {}),
    "bluesky": ({"identifier": "uni.example.com", "app_password": "abcd-efgh-ijkl-mnop"}, {}),
    "mastodon": ({"access_token": "dummy-token"}, {}),
    "linkedin": ({"access_token": "dummy-token"}, {"organization_id": "12345"}),
    "facebook": ({"page_token": "dummy-page-token"}, {"page_id": "67890"}),
    "outbox": ({}, {"dir": "outbox-never-written"}),
}


def connector_measure(platform: str, text: str, options: Mapping[str, str]) -> TextMeasure:
    credentials, required = CONNECT[platform]
    config = AccountConfig(
        name=f"uni-{platform}",
        platform=platform,
        api_base=UNUSED_API_BASE,
        credentials=credentials,
        options={**required, **options},
    )
    return make_connector(config).measure(text)


FAMILY = "\U0001f9d1\u200d\U0001f9d1\u200d\U0001f9d2"  # one grapheme, five code points
E_ACUTE_DECOMPOSED = "e\u0301"  # two code points, one character after NFC

COUNTS = [
    # X at its limit of 280 weighted characters, then one past it.
    ("x", "a" * 280, 280, 280, False),
    ("x", "a" * 281, 281, 280, True),
    # X weighs CJK as 2: 140 of them fill the limit, 141 break it.
    ("x", "日" * 140, 280, 280, False),
    ("x", "日" * 141, 282, 280, True),
    # X counts a URL as 23 whatever its length, and an emoji sequence as 2.
    ("x", "see https://example.com/" + "p" * 60 + " " + FAMILY, 4 + 23 + 1 + 2, 280, False),
    # Bluesky at 300 graphemes and one past; a family emoji is one grapheme.
    ("bluesky", FAMILY * 300, 300, 300, False),
    ("bluesky", FAMILY * 301, 301, 300, True),
    # Mastodon at 500 and one past; a URL counts 23, a remote mention its local part.
    ("mastodon", "a" * 500, 500, 500, False),
    ("mastodon", "a" * 501, 501, 500, True),
    ("mastodon", "@ana@social.example https://example.com/" + "p" * 60, 4 + 1 + 23, 500, False),
    # LinkedIn counts NFC characters: 3000 decomposed é fit, 3001 do not.
    ("linkedin", E_ACUTE_DECOMPOSED * 3000, 3000, 3000, False),
    ("linkedin", E_ACUTE_DECOMPOSED * 3001, 3001, 3000, True),
    # Facebook counts NFC characters against 63,206.
    ("facebook", E_ACUTE_DECOMPOSED * 63206, 63206, 63206, False),
    ("facebook", "a" * 63207, 63207, 63206, True),
    # The outbox counts code points against 5000: a decomposed é is two.
    ("outbox", "a" * 5000, 5000, 5000, False),
    ("outbox", E_ACUTE_DECOMPOSED * 2500 + "a", 5001, 5000, True),
    # An empty text is 0 everywhere.
    ("bluesky", "", 0, 300, False),
]


@pytest.mark.parametrize(("platform", "text", "used", "limit", "over"), COUNTS)
def test_counts_as_the_connector_does(
    platform: str, text: str, used: int, limit: int, over: bool
) -> None:
    counted = measure_text(platform, text)
    assert (counted.used, counted.limit, counted.over) == (used, limit, over)
    assert counted == connector_measure(platform, text, {})


LIMIT_OPTIONS = [
    # Each platform's own limit option, set to 10: ten units fit, eleven do not.
    ("x", {"text_limit": "10"}, 10),
    ("bluesky", {"max_graphemes": "10"}, 10),
    ("mastodon", {"max_chars": "10"}, 10),
    ("linkedin", {"text_limit": "10"}, 10),
    ("facebook", {"text_limit": "10"}, 10),
    ("outbox", {"max_chars": "10"}, 10),
    # Another platform's option name does not change the limit (the connector ignores it).
    ("linkedin", {"max_chars": "10"}, 3000),
    ("x", {"max_chars": "10"}, 280),
    ("bluesky", {"max_chars": "10"}, 300),
    # An empty option means the default, as for the connector.
    ("mastodon", {"max_chars": ""}, 500),
]


@pytest.mark.parametrize(("platform", "options", "limit"), LIMIT_OPTIONS)
def test_limit_options_are_honoured(platform: str, options: dict[str, str], limit: int) -> None:
    for text in ("a" * 10, "a" * 11):
        counted = measure_text(platform, text, options)
        assert counted.limit == limit
        assert counted.over == (len(text) > limit)
        assert counted == connector_measure(platform, text, options)


@pytest.mark.parametrize(
    ("platform", "options"),
    [
        # A limit that is not a number is refused, as the connector refuses it.
        ("x", {"text_limit": "ten"}),
        # A limit of zero is refused too.
        ("mastodon", {"max_chars": "0"}),
    ],
)
def test_a_bad_limit_option_is_refused(platform: str, options: dict[str, str]) -> None:
    with pytest.raises(ConnectorError, match="positive whole number"):
        measure_text(platform, "hello", options)
    with pytest.raises(ConnectorError, match="positive whole number"):
        connector_measure(platform, "hello", options)


@pytest.mark.parametrize(
    "platform",
    [
        # A platform no connector serves.
        "myspace",
        # Names are exact: no case folding.
        "X",
        # Empty.
        "",
    ],
)
def test_an_unknown_platform_is_refused(platform: str) -> None:
    with pytest.raises(ConnectorError, match="unknown platform"):
        measure_text(platform, "hello")


def test_counting_for_x_does_not_import_tweepy() -> None:
    # The command line counts texts; it should not pay for tweepy's import to do so.
    code = (
        "import sys, connectors; "
        "print(connectors.measure_text('x', 'hello').used, 'tweepy' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.split() == ["5", "False"]
