"""Groundwork of the verification loop: every benchmark loader on its real file, and the decision rule."""
from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA
from verification.benchmarks import BENCHMARKS, ChoiceItem, TargetItem, load_benchmark
from verification.decision import bootstrap_verdict

EVAL = SHARED_DATA / "eval"


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_loader_reads_the_whole_split(name):
    items = load_benchmark(name, EVAL)
    assert len(items) == BENCHMARKS[name].size
    if name == "lambada_openai":
        assert all(isinstance(i, TargetItem) and i.context and i.target and " " not in i.target.strip() for i in items)
        return
    assert all(isinstance(i, ChoiceItem) and 0 <= i.gold < len(i.pairs) and len(i.pairs) >= 2 for i in items)
    assert all(context and continuation.startswith(" ") for i in items for context, continuation in i.pairs)


def test_loaders_keep_the_gold_answers():
    copa = load_benchmark("copa", EVAL, limit=1)[0]
    assert copa.pairs[copa.gold][1] == " water flowed from the spout."
    hella = load_benchmark("hellaswag", EVAL, limit=1)[0]
    assert hella.pairs[0][0].startswith("Roof shingle removal") and hella.gold == 3
    csqa = load_benchmark("commonsense_qa", EVAL, limit=1)[0]
    assert csqa.pairs[csqa.gold][1] == " bank"
    with pytest.raises(ValueError, match="allowed"):
        load_benchmark("mmlu", EVAL)


def test_bootstrap_verdict():
    better = bootstrap_verdict([0.52, 0.53, 0.54, 0.53], [0.48, 0.49, 0.47, 0.48])
    assert better.accepted and better.low > 0 and better.delta == pytest.approx(0.05)
    same = bootstrap_verdict([0.50, 0.52, 0.48, 0.51], [0.51, 0.49, 0.50, 0.50])
    assert not same.accepted and same.low < 0 < same.high
    assert bootstrap_verdict([0.5, 0.6], [0.4, 0.45], seed=3) == bootstrap_verdict([0.5, 0.6], [0.4, 0.45], seed=3)
    with pytest.raises(ValueError):
        bootstrap_verdict([0.5], [0.4, 0.45])
