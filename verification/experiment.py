"""One verification: anneal the base on default data only (baseline) and on the candidate mixture,
over several seeds, evaluate both arms the same way, and decide with a bootstrap interval."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from verification.benchmarks import ChoiceItem
from verification.data import MixtureSampler
from verification.decision import Verdict, bootstrap_verdict
from verification.evaluate import bits_per_byte, choice_accuracy
from verification.model import TinyLM
from verification.train import anneal


@dataclass(frozen=True)
class VerifyConfig:
    seeds: tuple[int, ...] = (0, 1, 2)
    candidate_share: float = 0.3
    anneal_steps: int = 60
    batch_size: int = 16
    lr: float = 3e-3
    metric: str = "reference_bpb"   # reference_bpb (lower is better) or benchmarks (mean acc_norm)
    confidence: float = 0.95
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


def _score(model: TinyLM, reference: np.ndarray, benchmarks: dict[str, list[ChoiceItem]], config: VerifyConfig) -> float:
    """Higher is better: minus bits per byte on the reference, or mean acc_norm over the benchmarks."""
    if config.metric == "reference_bpb":
        return -bits_per_byte(model, reference, device=config.device)
    accs = [choice_accuracy(model, items, config.device)["acc_norm"] for items in benchmarks.values()]
    return float(np.mean(accs))


def verify_pool(name: str, base: TinyLM, default: np.ndarray, candidate: np.ndarray, reference: np.ndarray,
                benchmarks: dict[str, list[ChoiceItem]], config: VerifyConfig) -> ExperimentResult:
    start = time.perf_counter()
    arms: dict[str, list[float]] = {"baseline": [], "candidate": []}
    tokens = 0
    for seed in config.seeds:
        for arm, stream in (("baseline", None), ("candidate", candidate)):
            sampler = MixtureSampler(default, stream, config.candidate_share, base.config.context, seed)
            model, stats = anneal(base, sampler, config.anneal_steps, config.batch_size, seed, config.lr, config.device)
            arms[arm].append(_score(model, reference, benchmarks, config))
            tokens = stats.tokens
    verdict = bootstrap_verdict(arms["candidate"], arms["baseline"], config.confidence)
    return ExperimentResult(name, arms["baseline"], arms["candidate"], verdict, time.perf_counter() - start, tokens,
                            {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()})
