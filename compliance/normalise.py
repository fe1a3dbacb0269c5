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
- letters spelt out one by one (``f.u.c.k``, ``f u c k``) joined into a word;
- every other character that is not a letter or digit becomes one space, so a term
  written as `` word `` between spaces matches whole words only (no Scunthorpe
  problem) in one Aho-Corasick pass.

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
_INNER_SYMBOLS = re.compile(r"(?<=[^\W_])[!|+*]+(?=[^\W_])")
_MASK = "\x1a"  # stands for "*" inside a word until the final pass
_INNER_TABLE = str.maketrans({"!": "1", "|": "1", "+": "t", "*": _MASK})

# Three or more single letters or digits separated by one to three spaces or
# punctuation marks: "f.u.c.k", "f u c k", "f-u-c-k", "f_u_c_k".
_SPLIT_RUN = re.compile(r"(?<![^\W_])[^\W_](?:[\W_]{1,3}[^\W_]){2,}(?![^\W_])")
_SPLIT_SEPARATORS = re.compile(r"[\s.\-_*,/~+|!:;'\"`^·•]{1,3}")


def _final_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(128):
        ch = chr(code)
        if ch.isalnum():
            continue
        table[code] = " "
    for key, value in _LEET.items():
        table[ord(key)] = value
    table[ord(_MASK)] = "*"
    return table


_FINAL_TABLE = _final_table()
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
            out.append(piece.lower())
        elif piece.isalnum():
            out.append(piece)
        else:
            out.append(" ")  # emoji, curly quotes, dashes: separators
    return "".join(out)


class _FoldCache(dict[str, str]):
    """Character -> folded text, computed once per character ever seen."""

    def __missing__(self, char: str) -> str:
        folded = _fold_char(char)
        self[char] = folded
        return folded


_FOLD = _FoldCache()


@dataclass(frozen=True, slots=True)
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
    """Fold ``text`` for term matching (see the module docstring); O(len(text))."""
    offsets: list[int] | None = None
    if text.isascii():
        folded = text.lower()
    else:
        folded, offsets = _fold_mixed(text)
    if _SPLIT_RUN.search(folded) is not None:
        folded, offsets = _join_split_letters(folded, offsets)
    if "!" in folded or "|" in folded or "+" in folded or "*" in folded:
        folded = _INNER_SYMBOLS.sub(_read_inner_symbols, folded)
    return Normalised(folded.translate(_FINAL_TABLE), offsets)


def _read_inner_symbols(match: re.Match[str]) -> str:
    return match.group().translate(_INNER_TABLE)


def _fold_mixed(text: str) -> tuple[str, list[int] | None]:
    pieces: list[str] = []
    offsets: list[int] = []
    aligned = True
    position = 0
    for run in _NON_ASCII.finditer(text):
        start, end = run.span()
        if start > position:
            pieces.append(text[position:start].lower())
            offsets.extend(range(position, start))
        for index in range(start, end):
            folded = _FOLD[text[index]]
            if len(folded) != 1:
                aligned = False
                if not folded:
                    continue
            pieces.append(folded)
            offsets.extend([index] * len(folded))
        position = end
    if position < len(text):
        pieces.append(text[position:].lower())
        offsets.extend(range(position, len(text)))
    return "".join(pieces), (None if aligned else offsets)


def _join_split_letters(folded: str, offsets: list[int] | None) -> tuple[str, list[int] | None]:
    source_offsets = offsets if offsets is not None else list(range(len(folded)))
    joined = False
    pieces: list[str] = []
    new_offsets: list[int] = []
    position = 0
    for run in _SPLIT_RUN.finditer(folded):
        start, end = run.span()
        # Only ordinary separators join letters; "a+b+c" or "x/y/z" keep their meaning.
        gaps = _SPLIT_RUN_GAPS.findall(run.group())
        if not all(_SPLIT_SEPARATORS.fullmatch(gap) for gap in gaps) or len(set(gaps)) > 1:
            continue
        joined = True
        pieces.append(folded[position:start])
        new_offsets.extend(source_offsets[position:start])
        for index in range(start, end):
            if folded[index].isalnum():
                pieces.append(folded[index])
                new_offsets.append(source_offsets[index])
        position = end
    if not joined:
        return folded, offsets
    pieces.append(folded[position:])
    new_offsets.extend(source_offsets[position:])
    return "".join(pieces), new_offsets


_SPLIT_RUN_GAPS = re.compile(r"[\W_]+")
