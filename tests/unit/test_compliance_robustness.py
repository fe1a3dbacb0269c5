"""Any text at all: the gate never raises and every span points inside the text."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance import Draft, Policy, check
from compliance.normalise import normalise

# Letters, digits, punctuation, and the characters obfuscation uses: zero-width and
# bidi controls, combining accents, ligatures, full-width and look-alike letters, emoji.
_ALPHABET = st.sampled_from(
    [
        *"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?*@$#|+-_'\n",
        "\u200b", "\u200d", "\u202e", "\u2066", "\u00ad", "\ufeff", "\u0301", "\u0308",
        "ﬁ", "ß", "ｆ", "ｕ", "а", "о", "ο", "ı", "İ", "😀", "👩‍🎓", "’", "—", "\u3164",
    ]
)  # fmt: skip
_TEXT = st.lists(_ALPHABET, max_size=300).map("".join)


@settings(max_examples=300, deadline=None)
@given(_TEXT, st.sampled_from(["official", "personal"]))
def test_spans_always_lie_inside_the_original_text(text: str, kind: str) -> None:
    for finding in check(Draft(text=text, account_kind=kind), Policy.default()).findings:
        if finding.span is not None:
            start, end = finding.span
            assert 0 <= start < end <= len(text), (finding, text)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_every_folded_character_maps_back_to_an_original_one(text: str) -> None:
    folded = normalise(text)
    if folded.offsets is None:
        assert len(folded.text) == len(text)
    else:
        assert len(folded.offsets) == len(folded.text)
        assert folded.offsets == sorted(folded.offsets)
        assert all(0 <= index < len(text) for index in folded.offsets)


def test_a_huge_post_is_checked_quickly() -> None:
    # 200,000 characters of mixed text with obfuscation throughout
    text = ("Open day 🎓 f\u200bu\u200bc\u200bk ｓｈｉｔ call 07700 900123 " * 4000)[:200_000]
    started = time.process_time()
    verdict = check(Draft(text=text), Policy.default())
    assert time.process_time() - started < 5
    assert len(verdict.findings) > 1000


def test_empty_and_whitespace_posts_are_clean() -> None:
    for text in ("", " ", "\n\n", "\u200b\u200b", "😀"):
        assert check(Draft(text=text), Policy.default()).findings == ()
