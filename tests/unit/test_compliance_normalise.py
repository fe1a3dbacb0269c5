"""Normalisation folds obfuscation and still points back at the original text."""

from __future__ import annotations

import pytest

from compliance.normalise import normalise


@pytest.mark.parametrize(
    ("original", "folded"),
    [
        ("Open Day!", "open day "),  # case folded, punctuation becomes a space
        ("ＯＰＥＮ ＤＡＹ", "open day"),  # full-width letters (NFKC)
        ("𝐨𝐩𝐞𝐧", "open"),  # mathematical bold letters (NFKC)
        ("café naïve", "cafe naive"),  # accents removed
        ("ореn", "open"),  # Cyrillic о, р, е look-alikes
        ("οpen", "open"),  # Greek omicron
        ("o\u200bpen", "open"),  # zero-width space removed
        ("o\u202epen", "open"),  # bidi override removed
        ("o\u00adpen", "open"),  # soft hyphen removed
        ("0p3n", "open"),  # leetspeak digits
        ("sh!t", "sh1t"),  # "!" inside a word reads as i/l, kept as the ambiguous 1
        ("hello!", "hello "),  # "!" at the end of a word stays punctuation
        ("f*ck", "f*ck"),  # a masking star inside a word is kept for the term variants
        ("*bold*", " bold "),  # stars around a word are punctuation
        ("o.p.e.n", "o p e n"),  # spelt-out letters: the term lists carry "o p e n"
        ("o-p-e-n", "o p e n"),  # hyphens are separators like dots
        ("o🔥p🔥e🔥n", "o p e n"),  # so are emoji
        ("o. p. e. n.", "o  p  e  n "),  # two separators give two spaces
        ("I’m here", "i m here"),  # curly apostrophe is a separator like "'"
        ("go 🎓 team", "go   team"),  # emoji become separators
    ],
)
def test_normalise_folds_text(original: str, folded: str) -> None:
    assert normalise(original).text == folded


@pytest.mark.parametrize(
    ("original", "start", "end", "expected"),
    [
        ("say f.u.c.k now", 4, 11, "f.u.c.k"),  # spelt-out letters map back as written
        ("ı̇ f́uck", 2, 6, "f́uck"),  # combining accents removed before
        ("🎉🎉 f\u200buck!", 3, 7, "f\u200buck"),  # emoji and a zero-width char before
        ("ﬁne day", 0, 4, "ﬁne"),  # one ligature becomes two letters
        ("plain text", 6, 10, "text"),  # ASCII text lines up one to one
    ],
)
def test_original_span_points_at_what_the_author_wrote(
    original: str, start: int, end: int, expected: str
) -> None:
    folded = normalise(original)
    word = folded.text[start:end]
    assert word.strip() == word and word  # the span covers a folded word
    a, b = folded.original_span(start, end)
    assert original[a:b] == expected
