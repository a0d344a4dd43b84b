"""One verification: anneal the base on default data only (baseline) and on the candidate mixture,
over several seeds, evaluate both arms the same way, and decide with a bootstrap interval, overall
and per benchmark."""
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
    min_delta: float = 0.0   # the interval's low end must lie above this margin
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


def verify_pool(name: str, base: TinyLM, default: np.ndarray, candidate: np.ndarray, material: EvalMaterial,
                config: VerifyConfig) -> ExperimentResult:
    start = time.perf_counter()
    arms: dict[str, list[dict[str, float]]] = {"baseline": [], "candidate": []}
    tokens = 0
    for seed in config.seeds:
        for arm, stream in (("baseline", None), ("candidate", candidate)):
            sampler = MixtureSampler(default, stream, config.candidate_share, base.config.context, seed)
            model, stats = anneal(base, sampler, config.anneal_steps, config.batch_size, seed, config.lr, config.device)
            arms[arm].append(score_parts(model, material, config.device))
            tokens = stats.tokens
    baseline = [overall(scores) for scores in arms["baseline"]]
    candidate_scores = [overall(scores) for scores in arms["candidate"]]
    verdict = bootstrap_verdict(candidate_scores, baseline, config.confidence, config.min_delta)
    per_part = {part: bootstrap_verdict([s[part] for s in arms["candidate"]], [s[part] for s in arms["baseline"]],
                                        config.confidence, config.min_delta)
                for part in material.parts}
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
    settings["parts"] = material.parts
    return ExperimentResult(name, baseline, candidate_scores, verdict, time.perf_counter() - start, tokens, settings, per_part)
