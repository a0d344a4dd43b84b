"""One verification: anneal every base model on the candidate mixture and on a control mixture (a random
sample of ordinary text of the candidate's size), over several anneal seeds, evaluate both arms the same
way, and decide with a bootstrap interval over base models x anneal seeds, overall and per benchmark.
Pools of the same size share one control arm; every arm runs the same (base, seed) pairs with the same
default windows (common random numbers), so any two arms compare run by run."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from verification.control import Controls
from verification.data import MixtureSampler
from verification.decision import Verdict, bootstrap_verdict
from verification.metrics import EvalMaterial, Metric, overall, score_parts
from verification.model import TinyLM
from verification.train import anneal


@dataclass(frozen=True)
class VerifyConfig:
    seeds: tuple[int, ...] = (0, 1, 2)  # anneal seeds, run on every base model
    candidate_share: float = 0.3
    anneal_steps: int = 60
    batch_size: int = 16
    lr: float = 3e-3
    metric: Metric = "benchmark_bpb"
    confidence: float = 0.95
    min_delta: float = 0.0  # the interval's low end must lie above this margin
    control_seed: int = 0  # which documents the control samples draw
    size_tolerance: float = 0.02  # pools within this share of a control's size share its arm
    device: str = "cpu"


@dataclass
class Arm:
    """Scores of one arm: a dict of part scores per run (base-major, then anneal seed), its seconds
    and tokens per run, and the base model of each run."""

    scores: list[dict[str, float]]
    seconds: float
    tokens: int
    groups: list[int]
    eval_seconds: float = 0.0  # the part of `seconds` spent scoring

    @property
    def overall(self) -> list[float]:
        return [overall(s) for s in self.scores]


@dataclass
class ExperimentResult:
    pool: str
    control: list[float]  # per run, the control arm's score
    candidate: list[float]
    verdict: Verdict  # candidate minus control
    seconds: float
    tokens_per_arm: int
    config: dict = field(default_factory=dict)
    per_part: dict[str, Verdict] = field(default_factory=dict)  # per benchmark (or "reference")
    pool_bytes: int = 0
    groups: list[int] = field(default_factory=list)

    def parts_summary(self) -> dict[str, dict[str, float]]:
        return {name: {"delta": v.delta, "low": v.low, "high": v.high} for name, v in self.per_part.items()}


@dataclass
class Verification:
    """The experiments of pools verified together and the arms behind them (for pairwise comparisons)."""

    experiments: list[ExperimentResult]
    arms: dict[str, Arm]


def run_arm(
    bases: list[TinyLM], default: np.ndarray, candidate: np.ndarray | None, material: EvalMaterial, config: VerifyConfig
) -> Arm:
    """Anneal a copy of every base once per seed on the mixture (default only when `candidate` is None), score it."""
    start, scores, tokens, groups, scoring = time.perf_counter(), [], 0, [], 0.0
    for index, base in enumerate(bases):
        for seed in config.seeds:
            sampler = MixtureSampler(default, candidate, config.candidate_share, base.config.context, seed)
            model, stats = anneal(base, sampler, config.anneal_steps, config.batch_size, seed, config.lr, config.device)
            scored = time.perf_counter()
            scores.append(score_parts(model, material, config.device))
            scoring += time.perf_counter() - scored
            tokens = stats.tokens
            groups.append(index)
    return Arm(scores, time.perf_counter() - start, tokens, groups, scoring)


def compare(
    name: str, candidate: Arm, control: Arm, material: EvalMaterial, config: VerifyConfig, control_share: float = 1.0
) -> ExperimentResult:
    """The verdict of `candidate` over `control`, overall and per part, runs paired and bases resampled;
    `seconds` counts the candidate arm and `control_share` of the control arm (shared by pools of one size)."""

    def verdict(cand: list[float], ctrl: list[float]) -> Verdict:
        return bootstrap_verdict(
            cand, ctrl, config.confidence, config.min_delta, paired=True, groups=groups if multiple else None
        )

    groups = candidate.groups
    multiple = len(set(groups)) > 1
    per_part = {
        part: verdict([s[part] for s in candidate.scores], [s[part] for s in control.scores]) for part in material.parts
    }
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
    settings["parts"] = material.parts
    settings["bases"] = len(set(groups))
    return ExperimentResult(
        name,
        control.overall,
        candidate.overall,
        verdict(candidate.overall, control.overall),
        candidate.seconds + control_share * control.seconds,
        candidate.tokens,
        settings,
        per_part,
        groups=groups,
    )


def control_sizes(pool_sizes: dict[str, int], known: set[int], tolerance: float) -> dict[str, int]:
    """The control size of each pool: a known or already chosen size within `tolerance` of the pool's
    (the nearest), else the pool's own. Largest pools first, so a group's control is its largest member."""
    chosen, sizes = set(known), {}
    for name, size in sorted(pool_sizes.items(), key=lambda item: -item[1]):
        near = [c for c in chosen if abs(size - c) <= tolerance * c]
        sizes[name] = min(near, key=lambda c: abs(size - c)) if near else size
        chosen.add(sizes[name])
    return sizes


def verify_pools(
    pools: dict[str, np.ndarray],
    bases: list[TinyLM],
    default: np.ndarray,
    controls: Controls,
    material: EvalMaterial,
    config: VerifyConfig,
    control_arms: dict[int, Arm] | None = None,
) -> Verification:
    """Every pool against the control of its size. `control_arms` (by size) is a cache kept across calls:
    a control arm already there was paid for by earlier pools."""
    control_arms = {} if control_arms is None else control_arms
    sizes = control_sizes({n: len(s) for n, s in pools.items()}, set(control_arms), config.size_tolerance)
    new_sizes = {size for size in sizes.values() if size not in control_arms}
    for size in sorted(new_sizes):
        control_arms[size] = run_arm(bases, default, controls.stream(size), material, config)
    arms = {name: run_arm(bases, default, stream, material, config) for name, stream in pools.items()}
    experiments = []
    for name, arm in arms.items():
        size = sizes[name]
        share = 1 / sum(1 for s in sizes.values() if s == size) if size in new_sizes else 0.0
        result = compare(name, arm, control_arms[size], material, config, share)
        result.pool_bytes = len(pools[name])
        experiments.append(result)
    return Verification(experiments, arms)


def verify_pool(
    name: str,
    bases: list[TinyLM],
    default: np.ndarray,
    candidate: np.ndarray,
    controls: Controls,
    material: EvalMaterial,
    config: VerifyConfig,
    control_arms: dict[int, Arm] | None = None,
) -> ExperimentResult:
    return verify_pools({name: candidate}, bases, default, controls, material, config, control_arms).experiments[0]
