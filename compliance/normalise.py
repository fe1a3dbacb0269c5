"""Fold text so obfuscated words match plain term lists, keeping a map back.

The gate matches term lists against a *normalised* copy of a post:

- Unicode NFKC (full-width and mathematical letters become plain ones), case folding,
  accents removed;
- look-alike letters from other scripts (Cyrillic ``а``, Greek ``ο``) folded to the
  Latin letter they imitate, from Unicode's confusables data (the
  ``confusable-homoglyphs`` package);
- zero-width, bidirectional and other invisible format characters removed;
- leetspeak digits and symbols read as letters (``0``→o, ``3``→e, ``@``→a, ``$``→s,
  ``sh!t``, ``f*ck``); ``1`` stays ``1`` because it may stand for *i* or *l*, so the
  term lists carry that variant instead;
- every other character that is not a letter or digit becomes one space, so a term
  written as `` word `` between spaces matches whole words only (no Scunthorpe
  problem) in one Aho-Corasick pass; letters spelt out one by one (``f.u.c.k``,
  ``f u c k``) become ``f u c k``, which the term lists carry as a variant.

Everything here is a table lookup at C speed (``bytes.translate`` for ASCII, a cached
fold per non-ASCII character); only text holding characters that vanish or expand
(zero-width, combining accents, ligatures) pays for a per-character loop that records
where each folded character came from.

:func:`normalise` returns the folded text and, when its length or alignment differs
from the original, the original offset of each folded character, so findings can
point at the text the author wrote.
"""

from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# Leetspeak read as letters everywhere; "1" is left alone (see the module docstring).
_LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"}

# Symbols read as letters only between two letters or digits, because at the edge of a
# word they are punctuation ("hell!" must still end in a word boundary).
_INNER_SYMBOLS = {"!": "1", "|": "1", "+": "t", "*": "\x1a"}
_MASK = "\x1a"  # stands for "*" inside a word until the final pass


def _ascii_table() -> dict[int, str]:
    """Lower case, leetspeak, and a space for every other ASCII character."""
    table: dict[int, str] = {}
    for code in range(128):
        ch = chr(code)
        if ch.isalnum():
            table[code] = ch.lower()
        else:
            table[code] = " "
    for key, value in _LEET.items():
        table[ord(key)] = value
    table[ord(_MASK)] = "*"
    return table


_ASCII_TABLE = _ascii_table()
_BYTES_TABLE = bytes(ord(_ASCII_TABLE[code]) for code in range(128)) + bytes(range(128, 256))
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")

# Invisible letters (category Lo) used to hide characters; the rest of the invisible
# characters are format controls (category Cf) or combining marks, removed by category.
_INVISIBLE_LETTERS = {"\u3164", "\u115f", "\u1160", "\uffa0", "\u2800"}

# Greek and Cyrillic letters whose look-alike Latin letter the confusables data does
# not give as a lower-case letter (it maps some to symbols or capitals).
_EXTRA_HOMOGLYPHS = {
    "α": "a",
    "β": "b",
    "γ": "y",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "μ": "u",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "σ": "o",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "а": "a",
    "в": "b",
    "г": "r",
    "д": "d",
    "е": "e",
    "ё": "e",
    "з": "3",
    "и": "u",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "п": "n",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ь": "b",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "ѕ": "s",
    "ԁ": "d",
    "ӏ": "l",
    "һ": "h",
    "ԛ": "q",
    "ԝ": "w",
    "ɑ": "a",
    "ı": "i",
    "ȷ": "j",
    "ℓ": "l",
}


def _load_homoglyphs() -> dict[str, str]:
    """Non-Latin characters that imitate a Latin letter or digit, from Unicode's data."""
    folded: dict[str, str] = {}
    spec = importlib.util.find_spec("confusable_homoglyphs")
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "confusables.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        for char, homoglyphs in data.items():
            if len(char) != 1 or char.isascii():
                continue
            for glyph in homoglyphs:
                latin = glyph.get("c", "")
                if len(latin) == 1 and latin.isascii() and latin.isalnum():
                    folded.setdefault(char.casefold(), latin.lower())
                    break
    folded.update(_EXTRA_HOMOGLYPHS)
    return folded


_HOMOGLYPHS = _load_homoglyphs()


def _fold_char(char: str) -> str:
    """What one non-ASCII character becomes in the normalised text."""
    if char in _INVISIBLE_LETTERS or unicodedata.category(char) in ("Cf", "Mn", "Me", "Cc"):
        return ""
    text = unicodedata.normalize("NFKC", char).casefold()
    out = []
    for piece in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(piece) or unicodedata.category(piece) == "Cf":
            continue
        if not piece.isascii():
            piece = _HOMOGLYPHS.get(piece, piece)
        if piece.isascii():
            out.append(_ASCII_TABLE[ord(piece)])
        elif piece.isalnum():
            out.append(piece)
        else:
            out.append(" ")  # emoji, curly quotes, dashes: separators
    return "".join(out)


class _FoldTable(dict[int, str]):
    """Code point -> folded text; a non-ASCII entry is computed the first time its
    character is seen (the table only grows, bounded by the characters in use)."""

    def __init__(self) -> None:
        super().__init__(_ASCII_TABLE)

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        self[code] = folded
        return folded


_FOLD = _FoldTable()


@dataclass(slots=True)
class Normalised:
    """Folded text and, unless it lines up with the original, each char's origin.

    ``offsets[i]`` is the index in the original text of folded character ``i``;
    ``None`` means folded and original line up one to one.
    """

    text: str
    offsets: list[int] | None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of the folded text to the span of the original it came from."""
        if self.offsets is None:
            return start, end
        return self.offsets[start], self.offsets[end - 1] + 1


def normalise(text: str) -> Normalised:
    """Fold ``text`` for term matching (see the module docstring).

    The folded text has one character per original character unless ``offsets`` says
    otherwise; use :meth:`Normalised.original_span` to map spans back.
    """
    if "!" in text or "|" in text or "+" in text or "*" in text:
        text = _read_inner_symbols(text)
    if text.isascii():
        return Normalised(_fold_ascii(text), None)
    irregular: list[bool] = []

    def fold_run(run: re.Match[str]) -> str:
        original = run.group()
        folded = "".join([_FOLD[ord(char)] for char in original])
        if len(folded) != len(original):
            irregular.append(True)
        return folded

    folded = _NON_ASCII.sub(fold_run, text)
    if irregular:
        return _fold_with_offsets(text)
    if folded.isascii():
        return Normalised(_fold_ascii(folded), None)
    return Normalised(folded.translate(_ASCII_TABLE), None)


def _fold_ascii(text: str) -> str:
    # bytes.translate is a plain table lookup, several times faster than str.translate.
    return text.encode("ascii").translate(_BYTES_TABLE).decode("ascii")


def _read_inner_symbols(text: str) -> str:
    """Replace ``!|+*`` between two letters or digits by what they stand for."""
    chars: list[str] | None = None
    for symbol in _INNER_SYMBOLS:
        if symbol not in text:
            continue
        index = text.find(symbol, 1)
        while index != -1:
            end = index
            while end < len(text) and text[end] in _INNER_SYMBOLS:
                end += 1
            if (
                end < len(text)
                and text[index - 1].isalnum()
                and text[end].isalnum()
                and not _between_single_letters(text, index, end)
            ):
                if chars is None:
                    chars = list(text)
                for inner in range(index, end):
                    chars[inner] = _INNER_SYMBOLS[text[inner]]
            index = text.find(symbol, end + 1)
    return text if chars is None else "".join(chars)


def _between_single_letters(text: str, start: int, end: int) -> bool:
    """True for the separators of spelt-out letters ("f*u*c*k"), not a mask ("f*ck")."""
    before = text[start - 2] if start >= 2 else " "
    after = text[end + 1] if end + 1 < len(text) else " "
    if before.isalnum() or after.isalnum():
        return False
    # Two lone letters around a mask ("f**k") are a masked word; a third letter with
    # the same separator on either side makes it spelt out.
    return before in _INNER_SYMBOLS or after in _INNER_SYMBOLS


def collapse_repeats(folded: Normalised, ends: list[int]) -> Normalised:
    """Letters repeated three or more times written once ("fuuuuck" -> "fuck").

    ``ends`` are the (exclusive) ends of tripled letters in ``folded.text``, as the
    gate's automaton reports them; each is widened to its whole run.
    """
    text = folded.text
    runs: list[tuple[int, int]] = []
    for end in sorted(ends):
        if runs and end <= runs[-1][1]:
            continue
        letter = text[end - 1]
        start = end - 3
        while start > 0 and text[start - 1] == letter:
            start -= 1
        stop = end
        while stop < len(text) and text[stop] == letter:
            stop += 1
        runs.append((start, stop))
    if not runs:
        return folded
    offsets = folded.offsets if folded.offsets is not None else list(range(len(text)))
    pieces: list[str] = []
    new_offsets: list[int] = []
    position = 0
    for start, stop in runs:
        pieces.append(text[position : start + 1])
        new_offsets.extend(offsets[position : start + 1])
        position = stop
    pieces.append(text[position:])
    new_offsets.extend(offsets[position:])
    return Normalised("".join(pieces), new_offsets)


def _fold_with_offsets(text: str) -> Normalised:
    pieces: list[str] = []
    offsets: list[int] = []
    position = 0
    for run in _NON_ASCII.finditer(text):
        start, end = run.span()
        if start > position:
            pieces.append(text[position:start])
            offsets.extend(range(position, start))
        for index in range(start, end):
            folded = _FOLD[ord(text[index])]
            if folded:
                pieces.append(folded)
                offsets.extend([index] * len(folded))
        position = end
    pieces.append(text[position:])
    offsets.extend(range(position, len(text)))
    folded_text = "".join(pieces)
    if folded_text.isascii():
        return Normalised(_fold_ascii(folded_text), offsets)
    return Normalised(folded_text.translate(_ASCII_TABLE), offsets)
