"""The text rules: every term list in one Aho-Corasick automaton, one pass per post.

A policy is compiled once (:func:`compile_text_rules`, cached per policy) into:

- one automaton over the normalised form of every term of every text rule
  (confidential markers and project names, offensive words, whereabouts phrases,
  disclaimers and official-voice phrases, and each rule's exceptions), each key
  written as `` term `` so it can only match whole words of the normalised text;
- one regular expression for personal data (a handful of shapes, not one per term),
  run on the original text when it holds a digit or an ``@``;
- a hashtag check for several-word hashtags not written in CamelCase.

Scanning a post normalises it once, walks the automaton once, and maps every hit back
to the span of the original text.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick

from compliance.model import Draft, Finding, Severity
from compliance.normalise import Normalised, normalise
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
_TIME = "time"
_DISCLAIMER = "disclaimer"
_OFFICIAL_VOICE = "official_voice"


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


def _one_variants(word: str, limit: int = 4) -> Iterator[str]:
    """``word`` with any of its first ``limit`` i/l letters written as ``1``."""
    places = [i for i, ch in enumerate(word) if ch in "il"][:limit]
    for chosen in itertools.product((False, True), repeat=len(places)):
        chars = list(word)
        for place, use in zip(places, chosen, strict=True):
            if use:
                chars[place] = "1"
        yield "".join(chars)


def _masked_variants(word: str) -> Iterator[str]:
    """``word`` with one or two inner letters masked by ``*`` (``f*ck``, ``f**k``)."""
    if " " in word or not 3 <= len(word) <= 10:
        return
    for width in (1, 2):
        for start in range(1, len(word) - width):
            yield word[:start] + "*" * width + word[start + width :]


def offensive_variants(folded: str) -> set[str]:
    """Spellings of one folded offensive term the automaton should also know."""
    forms = {folded}
    if not folded.endswith("s") and " " not in folded:
        forms.add(folded + "s")
    variants: set[str] = set()
    for form in forms:
        variants.update(_one_variants(form))
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
        self._build_terms()
        for key, entries in self._keys.items():
            self._automaton.add_word(key, (len(key), tuple(entries)))
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
        if all(e.rule != rule or e.kind != kind for e in entries):
            entries.append(entry)

    def _add_all(self, rule: str, kind: str, terms: Iterable[str]) -> None:
        for term in terms:
            self._add(rule, kind, term)

    def _build_terms(self) -> None:
        rules = self._rules
        if (rule := rules.get("confidential")) is not None:
            self._add_all(rule.id, _TERM, rule.settings.get("markers", []))
            self._add_all(rule.id, _TERM, rule.settings.get("project_names", []))
            self._add_all(rule.id, _EXCEPTION, rule.settings.get("exceptions", []))
        if (rule := rules.get("offensive")) is not None:
            self._build_offensive(rule)
        if (rule := rules.get("whereabouts")) is not None:
            self._add_all(rule.id, _TERM, rule.settings.get("phrases", []))
            self._add_all(rule.id, _PLACE, rule.settings.get("place_phrases", []))
            self._add_all(rule.id, _TIME, rule.settings.get("time_phrases", []))
            self._add_all(rule.id, _EXCEPTION, rule.settings.get("exceptions", []))
        if (rule := rules.get("personal_account")) is not None:
            self._add_all(rule.id, _DISCLAIMER, rule.settings.get("disclaimers", []))
            self._add_all(rule.id, _OFFICIAL_VOICE, rule.settings.get("official_voice", []))

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
        for term in exceptions:
            self._add(rule.id, _EXCEPTION, term)

    # -- scanning ---------------------------------------------------------------

    def scan(self, draft: Draft) -> list[Finding]:
        """Every text finding for ``draft``, spans into ``draft.text``."""
        text = draft.text
        findings: list[Finding] = []
        hits: dict[str, list[_Hit]] = {}
        folded = normalise(text)
        if self._has_terms:
            padded = f" {folded.text} "
            for end, (length, entries) in self._automaton.iter(padded):
                start = end - length + 1
                for entry in entries:
                    hits.setdefault(entry.rule, []).append(_Hit(start, end - 1, entry))
        if hits:
            self._term_findings(text, folded, hits, draft, findings)
        if (
            "personal_account" in self._rules
            and draft.account_kind == "personal"
            and "personal_account" not in hits
        ):
            findings.append(self._missing_disclaimer())
        if self._personal.enabled:
            findings.extend(self._personal.scan(text))
        if self._hashtags.enabled and "#" in text:
            findings.extend(self._hashtags.scan(text))
        return findings

    def _term_findings(
        self,
        text: str,
        folded: Normalised,
        hits: dict[str, list[_Hit]],
        draft: Draft,
        findings: list[Finding],
    ) -> None:
        for rule_id, rule_hits in hits.items():
            rule = self._rules[rule_id]
            exceptions = [(h.start, h.end) for h in rule_hits if h.entry.kind == _EXCEPTION]
            kept = [
                h
                for h in rule_hits
                if h.entry.kind != _EXCEPTION
                and not any(s <= h.start and h.end <= e for s, e in exceptions)
            ]
            if rule_id == "personal_account":
                self._personal_account(rule, folded, kept, draft, findings)
            elif rule_id == "whereabouts":
                self._whereabouts(rule, text, folded, kept, findings)
            else:
                for hit in _longest(h for h in kept if h.entry.kind == _TERM):
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
        if not any(h.entry.kind == _DISCLAIMER for h in hits):
            findings.append(self._missing_disclaimer())
        for hit in _longest(h for h in hits if h.entry.kind == _OFFICIAL_VOICE):
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
        window = int(rule.settings.get("window", 80))
        found = [h for h in hits if h.entry.kind == _TERM]
        times = [h for h in hits if h.entry.kind == _TIME]
        for place in (h for h in hits if h.entry.kind == _PLACE):
            near = [t for t in times if place.end <= t.start <= place.end + window]
            if near:
                found.append(_Hit(place.start, near[0].end, place.entry))
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
    "card_number": r"(?<![\d\w])\d(?:[ \-]?\d){12,18}(?![\d\w])",
    "uk_phone": r"(?<![\w+])(?:\+44\s?(?:\(0\)\s?)?|\(?0)\d(?:[\s\-)]{0,2}\d){8,9}(?!\d)",
    "ni_number": (
        r"\b(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-TW-Z][A-CEGHJ-NPQR-TW-Z]"
        r"\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b"
    ),
    "uk_postcode": (
        r"\b(?:GIR\s?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-HJKPSTUW\d]?\s?\d[ABD-HJLNP-UW-Z]{2})\b"
    ),
    "date_of_birth": (
        r"(?i:\b(?:d\.?o\.?b\.?|date\s+of\s+birth|born(?:\s+on)?|birthday(?:\s+is)?"
        rf"|birth\s+date)\s*(?:[:\-–]|is|was)?\s*(?:on\s+|the\s+)?{_DATE})"
    ),
}

_PERSONAL_DATA_LABELS = {
    "email": "an email address",
    "uk_phone": "a phone number",
    "uk_postcode": "a postcode",
    "ni_number": "a National Insurance number",
    "card_number": "a payment card number",
    "date_of_birth": "a date of birth",
    "student_id": "a student ID",
}
_HAS_DIGIT_OR_AT = re.compile(r"[\d@]")


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
    def __init__(self, rule: RuleConfig | None) -> None:
        self.rule = rule
        self.enabled = rule is not None
        if rule is None:
            return
        kinds = list(rule.settings.get("kinds", list(_PERSONAL_DATA_LABELS)))
        self.block_kinds = set(rule.settings.get("block_kinds", []))
        parts = [
            f"(?P<{kind}>{PERSONAL_DATA_PATTERNS[kind]})"
            for kind in PERSONAL_DATA_PATTERNS
            if kind in kinds
        ]
        if "student_id" in kinds:
            for index, pattern in enumerate(rule.settings.get("student_id_patterns", [])):
                parts.append(f"(?P<student_id_{index}>{_scoped(pattern)})")
        self.enabled = bool(parts)
        self._pattern = re.compile("|".join(parts)) if parts else None

    def scan(self, text: str) -> list[Finding]:
        if self._pattern is None or self.rule is None or _HAS_DIGIT_OR_AT.search(text) is None:
            return []
        rule = self.rule
        findings = []
        for match in self._pattern.finditer(text):
            kind = match.lastgroup or ""
            if kind.startswith("student_id"):
                kind = "student_id"
            found = match.group()
            if kind == "card_number":
                digits = re.sub(r"\D", "", found)
                if not luhn_valid(digits):
                    continue
            if kind == "uk_phone" and not _plausible_phone(found):
                continue
            severity = Severity.BLOCK if kind in self.block_kinds else rule.severity
            findings.append(
                Finding(
                    rule.id,
                    severity,
                    rule.clause,
                    f"“{found}” looks like {_PERSONAL_DATA_LABELS[kind]} ({kind}).",
                    span=match.span(),
                )
            )
        return findings


def _scoped(pattern: str) -> str:
    """Turn a leading ``(?i)`` into a scoped group so patterns can be joined."""
    match = re.match(r"\(\?([aiLmsux]+)\)", pattern)
    if match:
        return f"(?{match.group(1)}:{pattern[match.end() :]})"
    return f"(?:{pattern})"


def _plausible_phone(found: str) -> bool:
    digits = re.sub(r"\D", "", found)
    if digits.startswith("44"):
        digits = digits[2:]
        if digits.startswith("0"):
            digits = digits[1:]
        return len(digits) in (9, 10)
    return len(digits) in (10, 11) and digits[1] in "12378"


# -- hashtags -------------------------------------------------------------------

_HASHTAG = re.compile(r"(?<![\w&])#([^\W\d_][^\W_]*)")


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
        for match in _HASHTAG.finditer(text):
            body = match.group(1)
            if len(body) < self.min_length or not (body.islower() or body.isupper()):
                continue
            words = _hashtag_words(body.lower())
            if len(words) < self.min_words:
                continue
            camel = "".join(w.capitalize() for w in words)
            findings.append(
                Finding(
                    rule.id,
                    rule.severity,
                    rule.clause,
                    f"“{match.group()}” reads as several words; write it #{camel} so "
                    "screen readers say the words.",
                    span=match.span(),
                )
            )
        return findings


@lru_cache(maxsize=16)
def compile_text_rules(policy: Policy) -> TextRules:
    """The compiled text rules of ``policy`` (built once per policy object)."""
    return TextRules(policy)
