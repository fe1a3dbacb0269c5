"""The text rules: every term list in one Aho-Corasick automaton, one pass per post.

A policy is compiled once per content (:func:`compile_text_rules`) into:

- one automaton over the normalised form of every term of every text rule
  (confidential markers and project names, offensive words and their spellings,
  whereabouts and date-of-birth cue phrases, disclaimers and official-voice phrases,
  and each rule's exceptions), each key written as `` term `` so it can only match
  whole words of the normalised text;
- a table of masked spellings (``f*ck``) looked up for the few words holding a ``*``;
- personal-data patterns (emails from each ``@``, digit-shaped kinds from one scan for
  digit runs, dates of birth from the cue words), never one pattern per term;
- a hashtag check for several-word hashtags not written in CamelCase.

Scanning a post normalises it once, walks the automaton once (again only when it saw
a tripled letter, with the repeats collapsed), and maps every hit back to the span of
the original text.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick

from compliance.model import Draft, Finding, Severity
from compliance.normalise import Normalised, collapse_repeats, normalise
from compliance.policy import Policy, RuleConfig

TEXT_RULE_IDS = (
    "confidential",
    "personal_data",
    "offensive",
    "whereabouts",
    "personal_account",
    "hashtag_case",
)

# Kinds of automaton hit.
_TERM = "term"
_EXCEPTION = "exception"
_PLACE = "place"
_DISCLAIMER = "disclaimer"
_OFFICIAL_VOICE = "official_voice"
_DATE_OF_BIRTH = "date_of_birth"
_REPEAT_ENTRY = (0, ())  # a tripled letter: the post is scanned again with it collapsed
_MASKED_WORD = re.compile(r"[^ ]*\*[^ ]*")

# Words that introduce a date of birth; the date itself is read by a pattern from there.
DATE_OF_BIRTH_CUES = ("dob", "date of birth", "born", "born on", "birthday", "birth date")


@dataclass(frozen=True, slots=True)
class _Entry:
    rule: str
    kind: str
    label: str  # the term as the list writes it, for the message


@dataclass(slots=True)
class _Hit:
    start: int  # into the normalised text
    end: int
    entry: _Entry


def better_profanity_words() -> list[str]:
    """The word list shipped in the better-profanity package (MIT licence), as data.

    Read from the installed package's data file without importing the package (its
    import builds a large censor table this gate does not use).
    """
    spec = importlib.util.find_spec("better_profanity")
    if spec is None or not spec.submodule_search_locations:
        return []
    path = Path(next(iter(spec.submodule_search_locations))) / "profanity_wordlist.txt"
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def fold_term(term: str) -> str:
    """A list term as the automaton sees it: normalised, single-spaced, stripped."""
    return " ".join(normalise(term).text.split())


def _one_variants(word: str) -> set[str]:
    """``word`` with i or l written as ``1``: each one alone, every i, every l, both."""
    places = [i for i, ch in enumerate(word) if ch in "il"]
    variants = {word}
    for place in places:
        variants.add(word[:place] + "1" + word[place + 1 :])
    if places:
        variants.add(word.replace("i", "1"))
        variants.add(word.replace("l", "1"))
        variants.add(word.replace("i", "1").replace("l", "1"))
    return variants


def _masked_variants(word: str) -> Iterator[str]:
    """``word`` with one or two inner letters masked by ``*`` (``f*ck``, ``f**k``)."""
    if " " in word or not 3 <= len(word) <= 16:
        return
    for width in (1, 2):
        for start in range(1, len(word) - width):
            yield word[:start] + "*" * width + word[start + width :]


def spelt_out(word: str) -> Iterator[str]:
    """``word`` with its letters spelt out one by one (``f u c k``, ``f  u  c  k``).

    Normalisation turns the dots, dashes, emoji or spaces between spelt-out letters
    into one or two spaces, so the automaton knows these two forms.
    """
    if " " not in word and len(word) >= 3:
        yield " ".join(word)
        yield "  ".join(word)


def _spaced_phrases(phrase: str, limit: int = 4) -> Iterator[str]:
    """A phrase with one or two spaces in each gap: punctuation and a space between
    two words ("draft, do not publish") normalise to two spaces."""
    words = phrase.split(" ")
    gaps = len(words) - 1
    if gaps == 0:
        yield phrase
        return
    if gaps > limit:
        yield phrase
        yield "  ".join(words)
        return
    for widths in itertools.product((" ", "  "), repeat=gaps):
        yield words[0] + "".join(w + word for w, word in zip(widths, words[1:], strict=True))


def term_variants(folded: str) -> set[str]:
    """Spellings of one folded list term: itself, spelt out, punctuation in gaps."""
    variants = set(_spaced_phrases(folded))
    variants.update(spelt_out(folded))
    return variants


def _undouble(word: str) -> str:
    return "".join(ch for i, ch in enumerate(word) if i == 0 or ch != word[i - 1])


def _offensive_forms(folded: str) -> set[str]:
    forms = {folded}
    if not folded.endswith("s") and " " not in folded:
        forms.add(folded + "s")
    forms.update([form.replace("u", "v") for form in forms if "u" in form])
    # "asssshole" reaches the automaton as "ashole" once repeats are collapsed.
    forms.update([single for form in list(forms) if len(single := _undouble(form)) >= 5])
    return forms


def offensive_variants(folded: str) -> set[str]:
    """Spellings of one folded offensive term the automaton should know:
    plural, ``1`` for i or l, ``v`` for u, spelt out, punctuation in gaps."""
    variants: set[str] = set(spelt_out(folded))
    if " " not in folded and not folded.endswith("s"):
        variants.add(" ".join(folded + "s"))
    for form in _offensive_forms(folded):
        for one in _one_variants(form):
            variants.update(_spaced_phrases(one))
    return variants


def masked_variants(folded: str) -> set[str]:
    """Masked spellings of one folded offensive term (``f*ck``, ``f**k``).

    Kept out of the automaton (they would more than double it and slow every post);
    the few words of a post that hold a ``*`` are looked up in a table instead.
    """
    variants: set[str] = set()
    for form in _offensive_forms(folded):
        variants.update(_masked_variants(form))
    return variants


class TextRules:
    """A policy's text rules, compiled for fast scanning. Build with
    :func:`compile_text_rules`."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._rules: dict[str, RuleConfig] = {}
        for rule_id in TEXT_RULE_IDS:
            rule = policy.enabled(rule_id)
            if rule is not None:
                self._rules[rule_id] = rule
        self._automaton = ahocorasick.Automaton()
        self._keys: dict[str, list[_Entry]] = {}
        self._masked: dict[str, _Entry] = {}
        self._time_words: re.Pattern[str] | None = None
        self._build_terms()
        for key, entries in self._keys.items():
            self._automaton.add_word(key, (len(key), tuple(entries)))
        if "offensive" in self._rules:
            for letter in "abcdefghijklmnopqrstuvwxyz":
                self._automaton.add_word(letter * 3, _REPEAT_ENTRY)
        self._has_terms = bool(self._keys)
        if self._has_terms:
            self._automaton.make_automaton()
        self._personal = _PersonalDataScanner(self._rules.get("personal_data"))
        self._hashtags = _HashtagScanner(self._rules.get("hashtag_case"))
        self.term_count = len(self._keys)

    # -- building ---------------------------------------------------------------

    def _add(self, rule: str, kind: str, term: str, folded: str | None = None) -> None:
        folded = fold_term(term) if folded is None else folded
        if not folded:
            return
        key = f" {folded} "
        entry = _Entry(rule, kind, term)
        entries = self._keys.setdefault(key, [])
        for index, known in enumerate(entries):
            if known.rule == rule and known.kind == kind:
                # One entry per rule and kind; name it after the plainest term
                # ("fuck", not the list's "f_u_c_k").
                if known.label.count(" ") > term.count(" "):
                    entries[index] = entry
                return
        entries.append(entry)

    def _add_all(self, rule: str, kind: str, terms: Iterable[str]) -> None:
        for term in terms:
            folded = fold_term(term)
            for variant in term_variants(folded):
                self._add(rule, kind, term, variant)

    def _build_terms(self) -> None:
        rules = self._rules
        if (rule := rules.get("confidential")) is not None:
            self._add_all(rule.id, _TERM, rule.settings.get("markers", []))
            self._add_all(rule.id, _TERM, rule.settings.get("project_names", []))
            self._add_all(rule.id, _EXCEPTION, rule.settings.get("exceptions", []))
        if (rule := rules.get("personal_data")) is not None and self._wants_dates(rule):
            self._add_all(rule.id, _DATE_OF_BIRTH, DATE_OF_BIRTH_CUES)
        if (rule := rules.get("offensive")) is not None:
            self._build_offensive(rule)
        if (rule := rules.get("whereabouts")) is not None:
            self._add_all(rule.id, _TERM, rule.settings.get("phrases", []))
            self._add_all(rule.id, _PLACE, rule.settings.get("place_phrases", []))
            # Time phrases ("now", "today") are common and matter only near a place
            # phrase, so they are looked for there, not in the automaton.
            times = sorted({fold_term(t) for t in rule.settings.get("time_phrases", [])}, key=len)
            self._time_words = (
                re.compile(" (?:" + "|".join(re.escape(t) for t in reversed(times)) + ") ")
                if times
                else None
            )
            self._add_all(rule.id, _EXCEPTION, rule.settings.get("exceptions", []))
        if (rule := rules.get("personal_account")) is not None:
            self._add_all(rule.id, _DISCLAIMER, rule.settings.get("disclaimers", []))
            self._add_all(rule.id, _OFFICIAL_VOICE, rule.settings.get("official_voice", []))

    @staticmethod
    def _wants_dates(rule: RuleConfig) -> bool:
        return "date_of_birth" in rule.settings.get("kinds", ["date_of_birth"])

    def _build_offensive(self, rule: RuleConfig) -> None:
        source = rule.settings.get("source", "better-profanity")
        terms: list[str] = better_profanity_words() if source == "better-profanity" else []
        terms += list(rule.settings.get("add", []))
        exceptions = list(rule.settings.get("exceptions", []))
        excluded = {fold_term(term) for term in exceptions}
        for term in terms:
            folded = fold_term(term)
            if not folded or folded in excluded:
                continue
            for variant in offensive_variants(folded):
                if variant not in excluded:
                    self._add(rule.id, _TERM, folded, variant)
            for variant in masked_variants(folded):
                self._masked.setdefault(variant, _Entry(rule.id, _TERM, folded))
        self._add_all(rule.id, _EXCEPTION, exceptions)

    # -- scanning ---------------------------------------------------------------

    def scan(self, draft: Draft) -> list[Finding]:
        """Every text finding for ``draft``, spans into ``draft.text``."""
        text = draft.text
        findings: list[Finding] = []
        folded = normalise(text)
        hits: dict[str, list[_Hit]] = {}
        if self._has_terms:
            repeats: list[int] = []
            hits = self._collect(folded, repeats)
            if repeats:
                # A tripled letter: read "fuuuck" as "fuck" (but "1,000" is no word).
                repeats = [end for end in repeats if _letters_in(text, folded, end - 3, end)]
                if repeats:
                    folded = collapse_repeats(folded, repeats)
                    hits = self._collect(folded, [])
            if self._masked and "*" in folded.text:
                self._collect_masked(folded, hits)
            if hits:
                self._term_findings(text, folded, hits, draft, findings)
        if (
            draft.account_kind == "personal"
            and "personal_account" not in hits
            and "personal_account" in self._rules
        ):
            findings.append(self._missing_disclaimer())
        if self._personal.enabled:
            findings.extend(self._personal.scan(text))
        if "#" in text and self._hashtags.enabled:
            findings.extend(self._hashtags.scan(text))
        return findings

    def _collect(self, folded: Normalised, repeats: list[int]) -> dict[str, list[_Hit]]:
        """Walk the automaton once over ``folded``: every hit, by rule; the ends of
        tripled letters go to ``repeats``."""
        hits: dict[str, list[_Hit]] = {}
        for end, (length, entries) in self._automaton.iter(f" {folded.text} "):
            if not length:
                repeats.append(end)  # padded inclusive end == folded exclusive end
                continue
            start = end - length + 1
            for entry in entries:
                if entry.rule in hits:
                    hits[entry.rule].append(_Hit(start, end - 1, entry))
                else:
                    hits[entry.rule] = [_Hit(start, end - 1, entry)]
        return hits

    def _collect_masked(self, folded: Normalised, hits: dict[str, list[_Hit]]) -> None:
        for word in _MASKED_WORD.finditer(folded.text):
            entry = self._masked.get(word.group())
            if entry is not None:
                hits.setdefault(entry.rule, []).append(_Hit(word.start(), word.end(), entry))

    def _term_findings(
        self,
        text: str,
        folded: Normalised,
        hits: dict[str, list[_Hit]],
        draft: Draft,
        findings: list[Finding],
    ) -> None:
        for rule_id, rule_hits in hits.items():
            if rule_id == "personal_account" and draft.account_kind != "personal":
                continue
            exceptions = [(h.start, h.end) for h in rule_hits if h.entry.kind is _EXCEPTION]
            if exceptions:
                kept = [
                    h
                    for h in rule_hits
                    if h.entry.kind is not _EXCEPTION
                    and not any(s <= h.start and h.end <= e for s, e in exceptions)
                ]
                if not kept:
                    continue
            else:
                kept = rule_hits
            rule = self._rules[rule_id]
            if rule_id == "whereabouts":
                self._whereabouts(rule, text, folded, kept, findings)
            elif rule_id == "personal_account":
                self._personal_account(rule, folded, kept, draft, findings)
            elif rule_id == "personal_data":
                starts = [folded.original_span(h.start, h.end)[0] for h in kept]
                findings.extend(self._personal.dates_of_birth(text, starts))
            else:
                for hit in _longest(kept) if len(kept) > 1 else kept:
                    span = folded.original_span(hit.start, hit.end)
                    if rule_id == "offensive" and not _reads_as_word(text[span[0] : span[1]]):
                        continue
                    findings.append(_term_finding(rule, hit, text, span))

    def _personal_account(
        self,
        rule: RuleConfig,
        folded: Normalised,
        hits: list[_Hit],
        draft: Draft,
        findings: list[Finding],
    ) -> None:
        if draft.account_kind != "personal":
            return
        if not any(h.entry.kind is _DISCLAIMER for h in hits):
            findings.append(self._missing_disclaimer())
        for hit in _longest(h for h in hits if h.entry.kind is _OFFICIAL_VOICE):
            span = folded.original_span(hit.start, hit.end)
            findings.append(
                Finding(
                    rule.id,
                    rule.severity,
                    rule.clause,
                    f"“{draft.text[span[0] : span[1]]}” presents a personal account as "
                    "speaking for the University.",
                    span=span,
                )
            )

    def _missing_disclaimer(self) -> Finding:
        rule = self._rules["personal_account"]
        return Finding(
            rule.id,
            rule.severity,
            rule.clause,
            "A post from a personal account should say the views are the author's own "
            "(for example “views are my own”).",
        )

    def _whereabouts(
        self,
        rule: RuleConfig,
        text: str,
        folded: Normalised,
        hits: list[_Hit],
        findings: list[Finding],
    ) -> None:
        found = [h for h in hits if h.entry.kind is _TERM]
        places = [h for h in hits if h.entry.kind is _PLACE]
        if places and self._time_words is not None:
            window = int(rule.settings.get("window", 80))
            padded = f" {folded.text} "
            for place in places:
                # padded index i+1 is folded index i; a time phrase must start within
                # the window after the place phrase
                near = self._time_words.search(padded, place.end, place.end + window + 2)
                if near is not None:
                    found.append(_Hit(place.start, near.end() - 2, place.entry))
        for hit in _longest(found):
            span = folded.original_span(hit.start, hit.end)
            findings.append(
                Finding(
                    rule.id,
                    rule.severity,
                    rule.clause,
                    f"“{text[span[0] : span[1]]}” tells readers where someone is right now.",
                    span=span,
                )
            )


_TERM_MESSAGES = {
    "confidential": "“{found}” marks the post as confidential or sensitive ({label}).",
    "offensive": "“{found}” reads as offensive or inappropriate language ({label}).",
}


def _term_finding(rule: RuleConfig, hit: _Hit, text: str, span: tuple[int, int]) -> Finding:
    found = text[span[0] : span[1]]
    message = _TERM_MESSAGES.get(rule.id, "“{found}” matches “{label}”.").format(
        found=found, label=hit.entry.label
    )
    return Finding(rule.id, rule.severity, rule.clause, message, span=span)


def _longest(hits: Iterable[_Hit]) -> list[_Hit]:
    """Hits not inside a longer hit, in text order (``fucking`` over ``fuck``)."""
    ordered = sorted(hits, key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[_Hit] = []
    for hit in ordered:
        if kept and hit.end <= kept[-1].end:
            continue
        if kept and hit.start < kept[-1].end:
            continue  # overlapping a kept hit: one finding is enough
        kept.append(hit)
    return kept


def _letters_in(text: str, folded: Normalised, start: int, end: int) -> bool:
    """Whether a span of the folded text came from letters (not leetspeak digits)."""
    first, last = folded.original_span(start, end)
    return not any(ch.isdigit() for ch in text[first:last])


def _reads_as_word(found: str) -> bool:
    """False for codes such as road numbers ("A55") that leetspeak would read as words.

    A real obfuscated word keeps at least as many letters as digits ("sh1t", "he11").
    """
    letters = sum(ch.isalpha() for ch in found)
    digits = sum(ch.isdigit() for ch in found)
    return letters > 0 and letters >= digits


# -- personal data --------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = (
    r"(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?:19|20)?\d{2}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?(?:,?\s+(?:19|20)\d{{2}})?"
    rf"|{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+(?:19|20)\d{{2}})?)"
)

PERSONAL_DATA_PATTERNS: dict[str, str] = {
    "email": r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
    "card_number": r"\d(?:[ \-]?\d){12,18}(?![\d\w])",
    "uk_phone": r"(?:\+44\s?(?:\(0\)\s?)?|\(?0)\d(?:[\s\-)]{0,2}\d){8,9}(?!\d)",
    "ni_number": (
        r"(?i:\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-TW-Z][A-CEGHJ-NPQR-TW-Z]"
        r"\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b)"
    ),
    "uk_postcode": (
        r"\b(?:GIR\s?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-HJKPSTUW\d]?\s?\d[ABD-HJLNP-UW-Z]{2})\b"
    ),
    "date_of_birth": (
        r"(?i:(?:d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|born(?:\s+on)?|birthday(?:\s+is)?"
        rf"|birth\s+date)\s*(?:[:\-–]|is|was)?\s*(?:on\s+|the\s+)?{_DATE})"
    ),
}
_COMPILED = {kind: re.compile(pattern) for kind, pattern in PERSONAL_DATA_PATTERNS.items()}
# "jo[at]example[dot]ac[dot]uk", "jo (at) example (dot) com"
_SPELT_EMAIL = re.compile(
    r"(?i)[a-z0-9._%+\-]+\s?[\[(]\s?at\s?[\])]\s?[a-z0-9\-]+"
    r"(?:\s?(?:[\[(]\s?dot\s?[\])]|\.)\s?[a-z0-9\-]+)+"
)

_PERSONAL_DATA_LABELS = {
    "email": "an email address",
    "uk_phone": "a phone number",
    "uk_postcode": "a postcode",
    "ni_number": "a National Insurance number",
    "card_number": "a payment card number",
    "date_of_birth": "a date of birth",
    "student_id": "a student ID",
}

# Where digit-shaped personal data can start: a run of six or more digits (cards,
# phones, NI and student numbers), or the inward half of a postcode ("2 9JT").
# One scan that skips to the next digit, instead of one scan per kind.
_DIGIT_RUN = re.compile(
    r"[0-9](?:(?:[ \-()]{0,2}[0-9]){5,18}|[A-Z0-9]?\s?[0-9][ABD-HJLNP-UW-Z]{2}\b)"
)


def _shape_table() -> bytes:
    table = bytearray(b"x" * 256)
    for char in b" -()":
        table[char] = ord("0")
    for char in b"0123456789":
        table[char] = ord("9")
    for char in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[char] = ord("A")
    return bytes(table)


# digit -> 9, separator -> 0, capital -> A, anything else -> x
_SHAPE = _shape_table()
_SEPARATOR_AS_DIGIT = bytes.maketrans(b"0", b"9")
_NOT_DIGITS = str.maketrans("", "", "0123456789")
_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum payment card numbers carry."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


class _PersonalDataScanner:
    """Email addresses, phone numbers, postcodes, NI, card and student numbers, dates
    of birth. Each kind is a pattern, but none scans the whole post: emails start from
    each ``@``, dates of birth from a cue word the automaton found, and the rest from
    the digit runs one scan finds."""

    def __init__(self, rule: RuleConfig | None) -> None:
        self.rule = rule
        self.enabled = rule is not None
        if rule is None:
            return
        self.kinds = set(rule.settings.get("kinds", list(_PERSONAL_DATA_LABELS)))
        self.block_kinds = set(rule.settings.get("block_kinds", []))
        self.student_ids = (
            [re.compile(p) for p in rule.settings.get("student_id_patterns", [])]
            if "student_id" in self.kinds
            else []
        )
        self.public = {_comparable(v) for v in rule.settings.get("public_values", [])}
        self.role_mailboxes = {m.lower() for m in rule.settings.get("role_mailboxes", [])}

    def _is_public(self, kind: str, found: str) -> bool:
        """The University's own published contact details are not personal data."""
        if _comparable(found) in self.public:
            return True
        if kind == "email":
            local, _, domain = found.lower().partition("@")
            return local in self.role_mailboxes or f"@{domain}" in self.public
        return False

    def _finding(self, kind: str, text: str, start: int, end: int) -> Finding | None:
        assert self.rule is not None
        rule = self.rule
        found = text[start:end]
        if (self.public or self.role_mailboxes) and self._is_public(kind, found):
            return None
        severity = Severity.BLOCK if kind in self.block_kinds else rule.severity
        return Finding(
            rule.id,
            severity,
            rule.clause,
            f"“{found}” looks like {_PERSONAL_DATA_LABELS[kind]} ({kind}).",
            span=(start, end),
        )

    def _report(self, findings: list[Finding], kind: str, text: str, start: int, end: int) -> None:
        finding = self._finding(kind, text, start, end)
        if finding is not None:
            findings.append(finding)

    def scan(self, text: str) -> list[Finding]:
        if self.rule is None:
            return []
        findings: list[Finding] = []
        if "email" in self.kinds:
            if "@" in text:
                self._emails(text, findings)
            if ("[" in text or "(" in text) and (
                "at]" in (lowered := text.lower()) or "at)" in lowered
            ):
                for spelt in _SPELT_EMAIL.finditer(text):
                    self._report(findings, "email", text, *spelt.span())
        if text.isascii():
            # A table lookup says whether the post has a run of six digits (or
            # separators) or the inward half of a postcode ("9JT"); most have neither,
            # and skip the scan below.
            shape = text.encode("ascii").translate(_SHAPE)
            if b"9AA" not in shape and b"999999" not in shape.translate(_SEPARATOR_AS_DIGIT):
                return findings
        for run in _DIGIT_RUN.finditer(text):
            self._digits(text, run.start(), run.end(), findings)
        return findings

    def _emails(self, text: str, findings: list[Finding]) -> None:
        at = text.find("@")
        while at != -1:
            start = at
            while start > 0 and text[start - 1] in _EMAIL_LOCAL:
                start -= 1
            domain = _EMAIL_DOMAIN.match(text, at + 1)
            if start < at and domain is not None:
                self._report(findings, "email", text, start, domain.end())
            at = text.find("@", at + 1)

    def _digits(self, text: str, start: int, end: int, findings: list[Finding]) -> None:
        kinds = self.kinds
        run = text[start:end]
        digits = len(run) - len(run.translate(_NOT_DIGITS))
        if digits < 6:  # the inward half of a postcode
            if "uk_postcode" in kinds:
                self._search("uk_postcode", text, max(0, start - 4), end, findings)
            return
        before = text[start - 1] if start else ""
        if "uk_phone" in kinds and (before in ("+", "(") or text[start] == "0"):
            match = _COMPILED["uk_phone"].match(text, start - 1 if before in "+(" else start)
            if match and _plausible_phone(match.group()):
                self._report(findings, "uk_phone", text, *match.span())
                return
        if "card_number" in kinds and 13 <= digits <= 19:
            match = _COMPILED["card_number"].match(text, start)
            if match and luhn_valid(re.sub(r"\D", "", match.group())):
                self._report(findings, "card_number", text, *match.span())
                return
        if (
            "ni_number" in kinds
            and digits == 6
            and self._search(
                "ni_number", text, max(0, start - 4), min(len(text), end + 3), findings
            )
        ):
            return
        for pattern in self.student_ids:
            match = pattern.search(text, max(0, start - 48), min(len(text), end + 4))
            if match and match.end() > start:
                self._report(findings, "student_id", text, *match.span())
                return

    def _search(self, kind: str, text: str, start: int, end: int, findings: list[Finding]) -> bool:
        match = _COMPILED[kind].search(text, start, end)
        if match is None:
            return False
        self._report(findings, kind, text, *match.span())
        return True

    def dates_of_birth(self, text: str, cue_starts: Iterable[int]) -> list[Finding]:
        """Dates of birth introduced by the cue words found at ``cue_starts``."""
        found: list[Finding] = []
        taken = -1
        for start in sorted(cue_starts):
            if start < taken:
                continue
            match = _COMPILED["date_of_birth"].match(text, start)
            if match is not None:
                self._report(found, "date_of_birth", text, *match.span())
                taken = match.end()
        return found


def _comparable(value: str) -> str:
    """A contact detail in one spelling: lower case, no spaces, hyphens or brackets,
    and a UK phone number in its national form ("+44 (0)113" -> "0113")."""
    compact = re.sub(r"[\s\-().]", "", value.lower()) if "@" not in value else value.lower()
    if compact.startswith("+44"):
        compact = "0" + compact[3:].removeprefix("0")
    return compact


def _plausible_phone(found: str) -> bool:
    digits = re.sub(r"\D", "", found)
    if digits.startswith("44"):
        digits = digits[2:]
        if digits.startswith("0"):
            digits = digits[1:]
        return len(digits) in (9, 10)
    return len(digits) in (10, 11) and digits[1] in "12378"


# -- hashtags -------------------------------------------------------------------

_HASHTAG_BODY = re.compile(r"[^\W\d_][^\W_]*")


@lru_cache(maxsize=4096)
def _hashtag_words(body: str) -> tuple[str, ...]:
    """English words a run-together hashtag splits into (wordsegment's unigrams)."""
    import wordsegment

    if not wordsegment.UNIGRAMS:
        wordsegment.load()
    if body in wordsegment.UNIGRAMS:
        return (body,)
    return tuple(wordsegment.segment(body))


class _HashtagScanner:
    def __init__(self, rule: RuleConfig | None) -> None:
        self.rule = rule
        self.enabled = rule is not None
        settings: Any = rule.settings if rule is not None else {}
        self.min_words = int(settings.get("min_words", 2))
        self.min_length = int(settings.get("min_length", 6))

    def scan(self, text: str) -> list[Finding]:
        rule = self.rule
        if rule is None:
            return []
        findings = []
        mark = text.find("#")
        while mark != -1:
            if mark == 0 or not (text[mark - 1].isalnum() or text[mark - 1] in "&#_"):
                match = _HASHTAG_BODY.match(text, mark + 1)
                if match is not None:
                    finding = self._check(rule, text, mark, match.group())
                    if finding is not None:
                        findings.append(finding)
            mark = text.find("#", mark + 1)
        return findings

    def _check(self, rule: RuleConfig, text: str, mark: int, body: str) -> Finding | None:
        if len(body) < self.min_length or not (body.islower() or body.isupper()):
            return None
        words = _hashtag_words(body.lower())
        # One-letter pieces mean the split is a guess ("lgbtqia" -> "lgbtq i a").
        if len(words) < self.min_words or any(len(w) < 2 for w in words):
            return None
        if sum(w.isalpha() for w in words) < self.min_words:
            return None  # "graduation2026" is one word and a year
        camel = "".join(w.capitalize() for w in words)
        return Finding(
            rule.id,
            rule.severity,
            rule.clause,
            f"“#{body}” reads as several words; write it #{camel} so screen readers say the words.",
            span=(mark, mark + 1 + len(body)),
        )


_COMPILED_RULES: dict[str, TextRules] = {}
_COMPILED_RULES_KEEP = 8
_COMPILING = threading.Lock()


def compile_text_rules(policy: Policy) -> TextRules:
    """The compiled text rules of ``policy``.

    Built once per policy *content* (its digest), so a caller that loads the policy
    file again for every check still pays the build (a few hundred milliseconds for
    the shipped policy) once.
    """
    rules = _COMPILED_RULES.get(policy.digest)
    if rules is None:
        with _COMPILING:  # checks run in worker threads; build each policy once
            rules = _COMPILED_RULES.get(policy.digest)
            if rules is None:
                rules = TextRules(policy)
                if len(_COMPILED_RULES) >= _COMPILED_RULES_KEEP:
                    _COMPILED_RULES.pop(next(iter(_COMPILED_RULES)))
                _COMPILED_RULES[policy.digest] = rules
    return rules
