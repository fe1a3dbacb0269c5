"""The compose screen's counters count an unconnected account as its connector will."""

from __future__ import annotations

import pytest

from connectors import ConnectorError, measure_text
from tui.widgets.counter import measure_for_account

E_ACUTE_DECOMPOSED = "e\u0301"  # two code points, one character after NFC


@pytest.mark.parametrize(
    ("platform", "options", "text", "used", "limit"),
    [
        # LinkedIn counts NFC characters even before the account is connected.
        ("linkedin", {}, E_ACUTE_DECOMPOSED * 3001, 3001, 3000),
        # Facebook too, against its own default.
        ("facebook", {}, E_ACUTE_DECOMPOSED * 10, 10, 63206),
        # LinkedIn's limit option is text_limit, as the connector reads it.
        ("linkedin", {"text_limit": 700}, "a" * 701, 701, 700),
        # max_chars is not LinkedIn's option, so the limit stays LinkedIn's own.
        ("linkedin", {"max_chars": "10"}, "a" * 11, 11, 3000),
        # Bluesky's option is max_graphemes.
        ("bluesky", {"max_graphemes": "5"}, "abcdef", 6, 5),
        # X weighs CJK as 2 and reads text_limit.
        ("x", {"text_limit": "4"}, "日本語", 6, 4),
    ],
)
def test_an_unconnected_account_is_counted_by_its_platform_rule(
    platform: str, options: dict[str, object], text: str, used: int, limit: int
) -> None:
    measure = measure_for_account(name="uni", platform=platform, options=options)
    counted = measure(text)
    assert (counted.used, counted.limit) == (used, limit)
    assert counted == measure_text(platform, text, {k: str(v) for k, v in options.items()})


def test_a_bad_limit_option_falls_back_to_the_platform_default() -> None:
    # The connector refuses the account until the option is fixed; the author still
    # sees the platform's count against its usual limit rather than a crash.
    measure = measure_for_account(name="uni", platform="mastodon", options={"max_chars": "lots"})
    assert measure("a" * 501).limit == 500
    assert measure("a" * 501).over


def test_an_unknown_platform_is_refused() -> None:
    with pytest.raises(ConnectorError, match="unknown platform"):
        measure_for_account(name="uni", platform="myspace")
