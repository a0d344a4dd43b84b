"""The loop's metrics on real evaluation items with a tiny model on the CPU: the accuracy metric can
accept a pool (no NaN), gold-continuation bits per byte agree with a byte-by-byte recomputation, and
evaluation text is refused as training data, naming the pool."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip(
    "torch", reason="the verification loop needs torch (scripts/setup.sh dev installs the CPU build)"
)

from tests.helpers import SHARED_DATA, dolma_texts  # noqa: E402
from tiers.eval_overlap import build_index  # noqa: E402
from verification.bases import BaseSpec, train_bases  # noqa: E402
from verification.control import Controls  # noqa: E402
from verification.data import encode  # noqa: E402
from verification.evaluate import gold_continuation_bpb  # noqa: E402
from verification.experiment import VerifyConfig, verify_pool  # noqa: E402
from verification.leakage import EvalLeak  # noqa: E402
from verification.loop import LoopConfig, run_loop  # noqa: E402
from verification.metrics import EvalMaterial, gold_pairs, load_material  # noqa: E402
from verification.model import ModelConfig, TinyLM  # noqa: E402

EVAL = SHARED_DATA / "eval"
SMALL = ModelConfig(2, 64, 4, 96)


@pytest.fixture(scope="module")
def default_texts() -> list[str]:
    return [t for t in dolma_texts() if len(t) > 200][:300]


def test_accuracy_metric_accepts_a_pool_that_holds_the_answers(default_texts):
    """A pool made of the benchmark items with their correct answers must raise accuracy on them."""
    torch.set_num_threads(1)
    material = load_material("benchmarks", EVAL, ["copa", "arc_easy"], 40)
    answer_key = [context + answer for items in material.benchmarks.values() for context, answer in gold_pairs(items)]
    default = encode(default_texts)
    bases = train_bases(default, BaseSpec(SMALL, 150, 16, 3e-3, (0, 1)))
    result = verify_pool(
        "answer_key",
        bases.models,
        default,
        encode(answer_key * 3),
        Controls(default_texts),
        material,
        VerifyConfig(seeds=(0, 1, 2), anneal_steps=80, candidate_share=0.7),
    )
    assert all(math.isfinite(x) for x in [*result.control, *result.candidate])
    assert len(result.candidate) == 6 and result.groups == [0, 0, 0, 1, 1, 1]
    assert result.verdict.accepted and result.verdict.low > 0
    assert set(result.per_part) == {"copa", "arc_easy"}


def test_a_metric_without_items_is_an_error_not_nan():
    with pytest.raises(ValueError, match="at least one benchmark"):
        EvalMaterial("benchmarks", {})
    with pytest.raises(ValueError, match="reference text"):
        EvalMaterial("reference_bpb", {})
    with pytest.raises(ValueError, match="allowed"):
        load_material("benchmark_bpb", EVAL, ["mmlu"], 5)


def test_gold_continuation_bpb_matches_a_byte_by_byte_recomputation():
    torch.manual_seed(0)
    model = TinyLM(ModelConfig(2, 32, 4, 64))
    material = load_material("benchmark_bpb", EVAL, ["copa", "lambada_openai", "hellaswag"], 4)
    pairs = [pair for items in material.benchmarks.values() for pair in gold_pairs(items)]
    batched = gold_continuation_bpb(model, pairs, batch_size=5)  # batches mix lengths, so padding is exercised
    for (context, continuation), bpb in zip(pairs, batched):
        cont = list(continuation.encode())[: model.config.context - 1]
        ctx = list(context.encode())[-(model.config.context - len(cont)) :]
        bits = 0.0
        with torch.no_grad():
            for k, byte in enumerate(cont):
                logits = model(torch.tensor([ctx + cont[:k]]))
                bits -= float(torch.log_softmax(logits[0, -1], dim=-1)[byte]) / math.log(2)
        assert bpb == pytest.approx(bits / len(cont), rel=1e-4)


def test_the_loop_refuses_a_pool_that_quotes_an_evaluation_item(tmp_path, default_texts):
    material = load_material("benchmark_bpb", EVAL, ["arc_easy"], 10)
    context, answer = gold_pairs(material.benchmarks["arc_easy"])[2]  # long enough to hold a 13-gram
    leaky = [*default_texts[:5], f"Study notes. {context}{answer} End of notes."]
    with pytest.raises(EvalLeak, match="pool 'leaky'.*arc_easy"):
        run_loop(
            {"clean": default_texts[5:20], "leaky": leaky},
            default_texts,
            default_texts,
            material,
            tmp_path,
            LoopConfig(SMALL, base_steps=1),
            eval_index=build_index(EVAL),
        )
    assert not any(tmp_path.iterdir())  # refused before anything was trained or written
    with pytest.raises(EvalLeak, match="pool 'default'"):
        run_loop(
            {"clean": default_texts[5:20]},
            leaky,
            default_texts,
            material,
            tmp_path,
            LoopConfig(SMALL, base_steps=1),
            eval_index=build_index(EVAL),
        )


def test_verify_seeds_command_refuses_the_leak_with_exit_2(tmp_path, default_texts):
    import json

    from typer.testing import CliRunner

    from cli.app import app

    material = load_material("benchmark_bpb", EVAL, ["arc_easy"], 10)
    context, answer = gold_pairs(material.benchmarks["arc_easy"])[2]
    (tmp_path / "leaky.jsonl").write_text(json.dumps({"text": f"Notes. {context}{answer}"}) + "\n")
    (tmp_path / "clean.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in default_texts[:50]))
    (tmp_path / "pools.yaml").write_text(
        f"pools:\n  leaky:\n    - jsonl: {{path: {tmp_path / 'leaky.jsonl'}}}\n"
        f"default:\n  - jsonl: {{path: {tmp_path / 'clean.jsonl'}}}\nnegatives:\n  - jsonl: {{path: {tmp_path / 'clean.jsonl'}}}\n"
        f"loop:\n  eval_dir: {EVAL}\n  benchmarks: [arc_easy]\n"
    )
    result = CliRunner().invoke(
        app, ["verify", "seeds", "--root", str(tmp_path / "root"), "--pools", str(tmp_path / "pools.yaml")]
    )
    assert result.exit_code == 2, result.output
    assert "pool 'leaky'" in result.output and "arc_easy" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text((tmp_path / "pools.yaml").read_text().replace("[arc_easy]", "[arc_easy, mmlu]"))
    result = CliRunner().invoke(app, ["verify", "seeds", "--root", str(tmp_path / "root"), "--pools", str(bad)])
    assert result.exit_code == 2 and "loop.benchmarks" in result.output and "arc_challenge" in result.output
