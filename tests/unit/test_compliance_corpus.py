"""The labelled corpus keeps the gate honest: recall and false flags stay on target."""

from __future__ import annotations

import json

from bench.gate_accuracy import CORPUS, FALSE_FLAG_TARGET, RECALL_TARGET, load_corpus, score
from compliance import Policy
from tests.data.make_gate_corpus import build


def test_committed_corpus_is_what_the_generator_writes() -> None:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == build()


def test_corpus_is_big_enough_and_has_both_kinds() -> None:
    records = load_corpus()
    assert len(records) >= 300
    clean = [r for r in records if not r["labels"]]
    assert len(clean) >= 150 and len(records) - len(clean) >= 100


def test_every_rule_keeps_its_recall_and_clean_posts_stay_clean() -> None:
    result = score(load_corpus(), Policy.default())
    for rule in set(result["tp"]) | set(result["fn"]):
        found, missed = result["tp"][rule], result["fn"][rule]
        assert found / (found + missed) >= RECALL_TARGET, (rule, result["misses"])
    assert len(result["false_flags"]) / result["clean"] <= FALSE_FLAG_TARGET, result["false_flags"]
