"""Precision and recall of the text gate, per rule, on the labelled corpus.

The corpus is ``tests/data/gate_corpus.jsonl`` (written by
``tests/data/make_gate_corpus.py``): ordinary posts of a university's accounts and
flagged ones, many in obfuscated spellings. A post counts as flagged by a rule when
the rule gives it a finding that needs sign-off (review or block). Targets: recall of
at least 95 % for every rule, and false flags on at most 2 % of the clean posts.

    python bench/gate_accuracy.py [--verbose]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from compliance import Draft, Policy, check  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "gate_corpus.jsonl"
RECALL_TARGET = 0.95
FALSE_FLAG_TARGET = 0.02


def load_corpus(path: Path = CORPUS) -> list[dict]:
    """The labelled posts, one dict per post (text, account_kind, labels, note)."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def score(records: list[dict], policy: Policy) -> dict:
    """Per-rule true/false positives and false negatives, and the clean posts flagged."""
    true_pos: Counter[str] = Counter()
    false_pos: Counter[str] = Counter()
    false_neg: Counter[str] = Counter()
    misses: list[tuple[str, str, str]] = []
    false_flags: list[tuple[str, str]] = []
    clean = 0
    for record in records:
        verdict = check(Draft(text=record["text"], account_kind=record["account_kind"]), policy)
        flagged = {f.rule for f in verdict.findings if f.severity.value != "info"}
        expected = set(record["labels"])
        for rule in flagged & expected:
            true_pos[rule] += 1
        for rule in flagged - expected:
            false_pos[rule] += 1
        for rule in expected - flagged:
            false_neg[rule] += 1
            misses.append((rule, record["note"], record["text"]))
        if not expected:
            clean += 1
            if flagged:
                false_flags.append((",".join(sorted(flagged)), record["text"]))
    return {
        "tp": true_pos,
        "fp": false_pos,
        "fn": false_neg,
        "misses": misses,
        "false_flags": false_flags,
        "clean": clean,
        "posts": len(records),
    }


def main(argv: list[str]) -> int:
    records = load_corpus()
    result = score(records, Policy.default())
    rules = sorted(set(result["tp"]) | set(result["fn"]) | set(result["fp"]))
    print(f"corpus: {result['posts']} posts, {result['clean']} clean ({CORPUS.name})")
    print(
        f"{'rule':<18}{'labelled':>9}{'found':>7}{'missed':>8}{'wrong':>7}"
        f"{'precision':>11}{'recall':>8}"
    )
    ok = True
    for rule in rules:
        tp, fp, fn = result["tp"][rule], result["fp"][rule], result["fn"][rule]
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        ok &= recall >= RECALL_TARGET
        print(f"{rule:<18}{tp + fn:>9}{tp:>7}{fn:>8}{fp:>7}{precision:>10.1%}{recall:>8.1%}")
    false_flag_rate = len(result["false_flags"]) / max(result["clean"], 1)
    ok &= false_flag_rate <= FALSE_FLAG_TARGET
    print(
        f"false flags: {len(result['false_flags'])} of {result['clean']} clean posts "
        f"({false_flag_rate:.1%}; target at most {FALSE_FLAG_TARGET:.0%})"
    )
    print(
        f"targets (recall >= {RECALL_TARGET:.0%} per rule, false flags <= "
        f"{FALSE_FLAG_TARGET:.0%}): {'met' if ok else 'NOT MET'}"
    )
    if "--verbose" in argv or not ok:
        for rule, note, text in result["misses"]:
            print(f"  missed {rule} ({note}): {text!r}")
        for rules_hit, text in result["false_flags"]:
            print(f"  false flag {rules_hit}: {text!r}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
