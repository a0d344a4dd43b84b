"""The pieces that make the loop's verdicts hold up: the same-size control sample, base training that
reads each window once, the interval over base models x anneal seeds, pairwise results, the saved
base models and the choice of the default mixture."""

from __future__ import annotations

import logging

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the verification loop needs torch")

from verification.checkpoint import load_bases, save_bases  # noqa: E402
from verification.control import Controls, sample_bytes  # noqa: E402
from verification.data import EpochSampler, encode  # noqa: E402
from verification.decision import bootstrap_verdict  # noqa: E402
from verification.experiment import Arm  # noqa: E402
from verification.model import ModelConfig, TinyLM  # noqa: E402
from verification.pairwise import beats, pairwise, supported_order  # noqa: E402
from verification.pools import default_mixture  # noqa: E402

TEXTS = [f"document {i} " + "word " * (i % 17 + 3) + "é" * (i % 3) for i in range(200)]


def test_the_control_sample_has_the_candidates_size_in_bytes():
    for size in (1, 500, 4096, 12_000):
        sample = sample_bytes(TEXTS, size, seed=7)
        assert size - 1 <= len(b"\x00".join(t.encode() for t in sample)) <= size  # a cut 2-byte character may go
        full = set(TEXTS)
        assert all(t in full for t in sample[:-1]) and any(t.startswith(sample[-1]) for t in TEXTS)
    assert sample_bytes(TEXTS, 8_000, 1) != sample_bytes(TEXTS, 8_000, 2)
    everything = sum(len(t.encode()) + 1 for t in TEXTS)
    assert sorted(sample_bytes(TEXTS, 10 * everything, 0)) == sorted(TEXTS)


def test_pools_of_one_size_share_a_control_stream():
    controls = Controls(TEXTS, seed=3)
    assert controls.stream(3000) is controls.stream(3000)
    assert len(controls.stream(3000)) == 3000 and len(controls.stream(1000)) == 1000


def test_base_training_reads_every_window_once_before_repeating(caplog):
    stream = np.arange(10 * 8 + 1, dtype=np.int64).astype(np.uint8)
    sampler = EpochSampler(stream, 8, seed=0)
    first = sampler.batch(6).numpy().tolist() + sampler.batch(4).numpy().tolist()
    expected = [stream[i * 8 : i * 8 + 9].tolist() for i in range(10)]
    assert sorted(first) == sorted(expected) and sampler.epochs == 1
    with caplog.at_level(logging.WARNING, logger="verification.data"):
        sampler.batch(1)
    assert sampler.epochs == 2 and "pass 2" in caplog.text


def test_the_interval_carries_the_spread_between_base_models():
    # two bases whose runs disagree: every run of base 0 gains about 0.02, every run of base 1 loses 0.01
    cand = [0.020, 0.021, 0.019, -0.010, -0.011, -0.009]
    zero = [0.0] * 6
    seeds_only = bootstrap_verdict(cand, zero, paired=True)
    over_bases = bootstrap_verdict(cand, zero, paired=True, groups=[0, 0, 0, 1, 1, 1])
    assert over_bases.delta == pytest.approx(np.mean(cand))
    assert over_bases.low == pytest.approx(-0.010, abs=0.0015) and over_bases.high == pytest.approx(0.020, abs=0.0015)
    assert over_bases.high - over_bases.low > seeds_only.high - seeds_only.low
    with pytest.raises(ValueError, match="same number"):
        bootstrap_verdict(cand[:5], zero[:5], paired=True, groups=[0, 0, 0, 1, 1])


def arm(values: list[float]) -> Arm:
    return Arm([{"part": v} for v in values], 1.0, 10, [0, 0, 0, 1, 1, 1])


def test_pairwise_orients_each_pair_and_supports_an_order():
    arms = {
        "gold": arm([0.30, 0.31, 0.32, 0.20, 0.21, 0.22]),
        "bad": arm([0.10, 0.11, 0.12, 0.00, 0.01, 0.02]),
        "near_bad": arm([0.105, 0.105, 0.125, 0.005, 0.005, 0.025]),
    }
    pairs = {(p.better, p.worse): p for p in pairwise(arms)}
    assert set(pairs) == {("gold", "bad"), ("gold", "near_bad"), ("near_bad", "bad")}
    assert pairs[("gold", "bad")].delta == pytest.approx(0.2) and pairs[("gold", "bad")].resolved
    assert pairs[("near_bad", "bad")].low <= 0.0 or not pairs[("near_bad", "bad")].resolved
    effects = {"gold": 0.05, "near_bad": 0.001, "bad": 0.0}
    assert supported_order(effects, list(pairs.values())) == "gold > near_bad ~ bad"
    assert beats(list(pairs.values()))["gold"] == ["bad", "near_bad"]


def test_saved_bases_load_as_they_were_and_old_files_load_as_one_base(tmp_path):
    config = ModelConfig(1, 16, 2, 32)
    torch.manual_seed(0)
    bases = [TinyLM(config), TinyLM(config)]
    save_bases(tmp_path / "b.pt", bases, [5, 6])
    loaded, seeds = load_bases(tmp_path / "b.pt")
    tokens = torch.randint(0, 256, (2, 20))
    assert seeds == [5, 6]
    for before, after in zip(bases, loaded):
        assert torch.equal(before(tokens), after(tokens))
    import dataclasses

    torch.save({"config": dataclasses.asdict(config), "state": bases[1].state_dict()}, tmp_path / "old.pt")
    old, old_seeds = load_bases(tmp_path / "old.pt")
    assert len(old) == 1 and torch.equal(old[0](tokens), bases[1](tokens)) and old_seeds == [0]


def test_the_default_mixture_comes_from_l1_when_it_holds_the_budget(caplog):
    l1, configured = ["x" * 999] * 10, ["y" * 99] * 10
    assert default_mixture(l1, configured, 10_000) == (l1, "root L1")
    with caplog.at_level(logging.WARNING, logger="verification.pools"):
        texts, source = default_mixture(l1, configured, 20_000)
    assert (texts, source) == (configured, "pools file default")
    assert "repeat it 20.0 times" in caplog.text
    assert len(encode(texts)) == 999  # what the warning counted, independently: ten texts and nine separators


def test_pools_within_the_tolerance_share_the_control_of_the_largest():
    from verification.experiment import control_sizes

    sizes = control_sizes({"a": 800_000, "b": 799_432, "c": 53_281, "d": 790_000, "e": 700_000}, set(), 0.02)
    assert sizes == {"a": 800_000, "b": 800_000, "c": 53_281, "d": 800_000, "e": 700_000}
    assert control_sizes({"f": 54_000}, {53_281}, 0.02) == {"f": 53_281}


def test_attention_weights_saved_by_multihead_attention_compute_the_same():
    """Files of format 1 hold nn.MultiheadAttention weights; renamed, today's attention computes what it did."""
    from verification.checkpoint import renamed
    from verification.model import CausalSelfAttention

    config = ModelConfig(1, 32, 4, 16)
    torch.manual_seed(1)
    reference = torch.nn.MultiheadAttention(32, 4, batch_first=True)
    attention = CausalSelfAttention(config)
    state = {f"attn.{k}": v for k, v in reference.state_dict().items()}
    attention.load_state_dict({k.removeprefix("attn."): v for k, v in renamed(state).items()})
    x = torch.randn(2, 10, 32)
    mask = torch.triu(torch.ones(10, 10, dtype=torch.bool), diagonal=1)
    expected = reference(x, x, x, attn_mask=mask, need_weights=False)[0]
    assert torch.allclose(attention(x), expected, atol=1e-5)
