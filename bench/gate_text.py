"""Throughput of the text gate against its baselines, measured in one process.

Posts are 280 characters, built from the labelled corpus (ordinary posts; one post in
ten also holds a flagged, often obfuscated one; a quarter from personal accounts).
The offensive-word list is cut or padded to 100, 5,000 and 10,000 terms
(better-profanity's list first, then made-up words), with every text rule on.

For each size it prints posts per second on one core for:

- the gate: ``compliance.check`` with every text rule;
- the floor any text gate pays: one NFKC + case-fold pass and one Aho-Corasick pass
  over the same posts with the same terms;
- one compiled regular expression per term (``\\bterm\\b``, case-insensitive);
- better-profanity's ``contains_profanity`` (its own word list and leetspeak table);

and the gate's throughput as a ratio of each. Targets at 5,000 terms: at least 50,000
posts/s, at least a quarter of the floor, at least 1,000 times the per-term regex.
Times are CPU time of this process (one core), alternating between subject and
baseline and keeping the best of several rounds, so a busy machine skews them less.

    python bench/gate_text.py [--quick]
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

import ahocorasick

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from compliance import Draft, Policy, check  # noqa: E402
from compliance.text_rules import better_profanity_words, fold_term  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "gate_corpus.jsonl"
SHIPPED_POLICY = ROOT / "compliance" / "policy.toml"
POST_LENGTH = 280
SIZES = (100, 5_000, 10_000)
TARGET_POSTS_PER_SECOND = 50_000
TARGET_FLOOR_SHARE = 0.25
TARGET_REGEX_RATIO = 1_000


def make_posts(count: int, seed: int = 7) -> list[Draft]:
    """``count`` drafts of 280 characters built from the corpus posts.

    Each post joins corpus posts until it is long enough; one in ten starts with a
    flagged (often obfuscated) post, the rest are made of clean ones.
    """
    with CORPUS.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    clean = [r["text"] for r in records if not r["labels"]]
    flagged = [r["text"] for r in records if r["labels"]]
    rng = random.Random(seed)
    drafts = []
    for index in range(count):
        parts = [rng.choice(flagged)] if index % 10 == 0 else []
        while sum(len(p) + 1 for p in parts) < POST_LENGTH:
            parts.append(rng.choice(clean))
        text = " ".join(parts)[:POST_LENGTH]
        kind = "personal" if index % 4 == 3 else "official"
        drafts.append(Draft(text=text, account_kind=kind))
    return drafts


def make_terms(size: int, seed: int = 11) -> list[str]:
    """``size`` offensive terms: the real list first, then made-up words."""
    real = list(dict.fromkeys(better_profanity_words()))
    terms = real[:size]
    rng = random.Random(seed)
    consonants, vowels = "bcdfghjklmnprstvwz", "aeiou"
    seen = set(terms)
    while len(terms) < size:
        length = rng.randint(4, 9)
        word = "".join(
            rng.choice(consonants) if i % 2 == 0 else rng.choice(vowels) for i in range(length)
        )
        if word not in seen:
            seen.add(word)
            terms.append(word)
    return terms


def policy_with_terms(terms: Sequence[str]) -> Policy:
    """The shipped policy with its offensive list replaced by ``terms``."""
    text = SHIPPED_POLICY.read_text(encoding="utf-8")
    section = text.index("[rules.offensive]")
    text = text[:section] + text[section:].replace(
        'source = "better-profanity"', 'source = "none"', 1
    )
    add_start = text.index("add = [", section)
    add_end = text.index("]\n", add_start) + 1
    text = text[:add_start] + "add = " + json.dumps(list(terms)) + text[add_end:]
    return Policy.from_bytes(text.encode("utf-8"), source=f"benchmark ({len(terms)} terms)")


def best_rate(runs: dict[str, tuple[Callable[[], None], int]], rounds: int) -> dict[str, float]:
    """Posts per second of each run, best of ``rounds``, the runs interleaved."""
    best = dict.fromkeys(runs, 0.0)
    for _ in range(rounds):
        for name, (run, posts) in runs.items():
            started = time.process_time()
            run()
            elapsed = time.process_time() - started
            best[name] = max(best[name], posts / elapsed)
    return best


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    drafts = make_posts(1_000 if quick else 4_000)
    texts = [d.text for d in drafts]
    slow_texts = texts[: 10 if quick else 40]
    from better_profanity import profanity  # builds its own table on import

    print(
        f"{len(drafts)} posts of {POST_LENGTH} characters; per-term regex and "
        f"better-profanity on the first {len(slow_texts)} of them"
    )
    print(
        f"{'terms':>6} {'gate/s':>9} {'floor/s':>9} {'gate:floor':>10} "
        f"{'regex/s':>8} {'gate:regex':>10} {'b-prof/s':>9} {'gate:b-prof':>11}"
    )
    ok = True
    for size in SIZES:
        terms = make_terms(size)
        policy = policy_with_terms(terms)
        check(drafts[0], policy)  # compile the policy once, outside the timing

        floor_automaton = ahocorasick.Automaton()
        for term in terms:
            floor_automaton.add_word(fold_term(term), term)
        floor_automaton.make_automaton()
        regexes = [re.compile(rf"\b{re.escape(t)}\b", re.IGNORECASE) for t in terms]

        def gate(policy: Policy = policy) -> None:
            for draft in drafts:
                check(draft, policy)

        def floor(automaton: ahocorasick.Automaton = floor_automaton) -> None:
            for text in texts:
                for _ in automaton.iter(unicodedata.normalize("NFKC", text).casefold()):
                    pass

        def per_term_regex(regexes: list[re.Pattern[str]] = regexes) -> None:
            for text in slow_texts:
                for pattern in regexes:
                    pattern.search(text)

        def better_profanity() -> None:
            for text in slow_texts:
                profanity.contains_profanity(text)

        fast = best_rate(
            {"gate": (gate, len(drafts)), "floor": (floor, len(texts))}, 3 if quick else 7
        )
        slow = best_rate(
            {
                "regex": (per_term_regex, len(slow_texts)),
                "bprof": (better_profanity, len(slow_texts)),
            },
            1 if quick else 2,
        )
        gate_rate = fast["gate"]
        print(
            f"{size:>6} {gate_rate:>9,.0f} {fast['floor']:>9,.0f} "
            f"{gate_rate / fast['floor']:>10.2f} {slow['regex']:>8,.0f} "
            f"{gate_rate / slow['regex']:>9,.0f}x {slow['bprof']:>9,.0f} "
            f"{gate_rate / slow['bprof']:>10,.0f}x"
        )
        if size == 5_000:
            ok &= gate_rate >= TARGET_POSTS_PER_SECOND
            ok &= gate_rate / fast["floor"] >= TARGET_FLOOR_SHARE
            ok &= gate_rate / slow["regex"] >= TARGET_REGEX_RATIO
    print(
        f"targets at 5,000 terms (>= {TARGET_POSTS_PER_SECOND:,} posts/s, >= "
        f"{TARGET_FLOOR_SHARE:.2f} of the floor, >= {TARGET_REGEX_RATIO:,}x per-term "
        f"regex): {'met' if ok else 'NOT MET'}"
    )
    print("better-profanity uses its own word list at every size")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
