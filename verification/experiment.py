"""One verification: anneal the base on default data only (baseline) and on the candidate mixture,
over several seeds, evaluate both arms the same way, and decide with a bootstrap interval, overall
and per benchmark. Pools verified together share one baseline arm."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from verification.data import MixtureSampler
from verification.decision import Verdict, bootstrap_verdict
from verification.metrics import EvalMaterial, Metric, overall, score_parts
from verification.model import TinyLM
from verification.train import anneal


@dataclass(frozen=True)
class VerifyConfig:
    seeds: tuple[int, ...] = (0, 1, 2)
    candidate_share: float = 0.3
    anneal_steps: int = 60
    batch_size: int = 16
    lr: float = 3e-3
    metric: Metric = "benchmark_bpb"
    confidence: float = 0.95
    min_delta: float = 0.0  # the interval's low end must lie above this margin
    device: str = "cpu"


@dataclass
class ExperimentResult:
    pool: str
    baseline: list[float]
    candidate: list[float]
    verdict: Verdict
    seconds: float
    tokens_per_arm: int
    config: dict = field(default_factory=dict)
    per_part: dict[str, Verdict] = field(default_factory=dict)  # per benchmark (or "reference")

    def parts_summary(self) -> dict[str, dict[str, float]]:
        return {name: {"delta": v.delta, "low": v.low, "high": v.high} for name, v in self.per_part.items()}


@dataclass
class Arm:
    """Per-seed scores of one arm (a dict of part scores per seed), its seconds and tokens per run."""

    scores: list[dict[str, float]]
    seconds: float
    tokens: int


def run_arm(
    base: TinyLM, default: np.ndarray, candidate: np.ndarray | None, material: EvalMaterial, config: VerifyConfig
) -> Arm:
    """Anneal a copy of the base once per seed on the mixture (default only when `candidate` is None) and score it."""
    start, scores, tokens = time.perf_counter(), [], 0
    for seed in config.seeds:
        sampler = MixtureSampler(default, candidate, config.candidate_share, base.config.context, seed)
        model, stats = anneal(base, sampler, config.anneal_steps, config.batch_size, seed, config.lr, config.device)
        scores.append(score_parts(model, material, config.device))
        tokens = stats.tokens
    return Arm(scores, time.perf_counter() - start, tokens)


def compare(
    name: str, candidate: Arm, baseline: Arm, material: EvalMaterial, config: VerifyConfig, baseline_share: float = 1.0
) -> ExperimentResult:
    """The verdict of `candidate` over `baseline`, overall and per part; `seconds` counts the candidate
    arm and `baseline_share` of the baseline arm (shared by several pools, each pays its share)."""
    base_scores = [overall(scores) for scores in baseline.scores]
    cand_scores = [overall(scores) for scores in candidate.scores]
    verdict = bootstrap_verdict(cand_scores, base_scores, config.confidence, config.min_delta, paired=True)
    per_part = {
        part: bootstrap_verdict(
            [s[part] for s in candidate.scores],
            [s[part] for s in baseline.scores],
            config.confidence,
            config.min_delta,
            paired=True,
        )
        for part in material.parts
    }
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
    settings["parts"] = material.parts
    return ExperimentResult(
        name,
        base_scores,
        cand_scores,
        verdict,
        candidate.seconds + baseline_share * baseline.seconds,
        candidate.tokens,
        settings,
        per_part,
    )


def verify_pools(
    pools: dict[str, np.ndarray],
    base: TinyLM,
    default: np.ndarray,
    material: EvalMaterial,
    config: VerifyConfig,
    baseline: Arm | None = None,
) -> list[ExperimentResult]:
    """Every pool against one baseline arm (default data only, same seeds): the baseline is annealed
    once, not once per pool, and every pool's delta is measured against the same runs."""
    share = 0.0 if baseline else 1 / len(pools)  # a baseline passed in was paid for by earlier pools
    baseline = baseline or run_arm(base, default, None, material, config)
    return [
        compare(name, run_arm(base, default, stream, material, config), baseline, material, config, share)
        for name, stream in pools.items()
    ]


def verify_pool(
    name: str,
    base: TinyLM,
    default: np.ndarray,
    candidate: np.ndarray,
    material: EvalMaterial,
    config: VerifyConfig,
    baseline: Arm | None = None,
) -> ExperimentResult:
    return verify_pools({name: candidate}, base, default, material, config, baseline)[0]
