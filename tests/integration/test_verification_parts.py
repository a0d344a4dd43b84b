"""Groundwork of the verification loop: every benchmark loader on its real file, and the decision rule."""

from __future__ import annotations

import pytest

from tests.helpers import SHARED_DATA
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


def test_evaluation_scores_real_items_the_same_way_twice():
    torch = pytest.importorskip("torch", reason="evaluation runs a torch model")
    from verification.data import encode
    from verification.evaluate import bits_per_byte, choice_accuracy, continuation_logprob, lambada_accuracy
    from verification.model import ModelConfig, TinyLM

    torch.manual_seed(0)
    model = TinyLM(ModelConfig(2, 32, 4, 64))
    copa = load_benchmark("copa", EVAL, limit=20)
    first, second = choice_accuracy(model, copa), choice_accuracy(model, copa)
    assert first == second
    expected = {"acc": 0.0, "acc_norm": 0.0}
    for item in copa:  # recomputed here token by token, independently of continuation_logprob
        sums = [_sum_logprob(torch, model, ctx, cont) for ctx, cont in item.pairs]
        expected["acc"] += int(max(range(len(sums)), key=lambda k: sums[k][0]) == item.gold) / len(copa)
        expected["acc_norm"] += int(max(range(len(sums)), key=lambda k: sums[k][0] / sums[k][1]) == item.gold) / len(
            copa
        )
    assert first == pytest.approx(expected)
    logprob, length = continuation_logprob(model, copa[0].pairs[0][0], copa[0].pairs[0][1])
    assert logprob == pytest.approx(_sum_logprob(torch, model, *copa[0].pairs[0])[0], abs=1e-3)
    assert length == len(copa[0].pairs[0][1].encode())
    lambada = load_benchmark("lambada_openai", EVAL, limit=5)
    greedy_hits = sum(_greedy_continues(torch, model, item.context, " " + item.target) for item in lambada)
    assert lambada_accuracy(model, lambada)["acc"] == greedy_hits / len(lambada)
    stream = encode([i.pairs[0][0] for i in load_benchmark("arc_easy", EVAL, limit=50)])
    loss = bits_per_byte(model, stream, windows=8)
    assert loss > 0 and loss == bits_per_byte(model, stream, windows=8)


def _sum_logprob(torch, model, context: str, continuation: str) -> tuple[float, int]:
    """log p(continuation | context) summed one byte at a time, each from its own forward pass over the
    prefix (the context cut on the left so that context and continuation fit one window, as scored)."""
    cont = list(continuation.encode())[: model.config.context - 1]
    ctx = list(context.encode())[-(model.config.context - len(cont)) :] or [0]
    total = 0.0
    with torch.no_grad():
        for k, byte in enumerate(cont):
            window = ctx + cont[:k]
            total += float(torch.log_softmax(model(torch.tensor([window]))[0, -1], dim=-1)[byte])
    return total, len(cont)


def _greedy_continues(torch, model, context: str, target: str) -> bool:
    tokens = list(context.encode())
    with torch.no_grad():
        for byte in target.encode():
            if int(model(torch.tensor([tokens[-model.config.context :]]))[0, -1].argmax()) != byte:
                return False
            tokens.append(byte)
    return True
