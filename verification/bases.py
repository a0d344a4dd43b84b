"""The base models every verification anneals: pretrained on the default data with different seeds,
each reading its windows once (no epoch over the data unless the data is smaller than the budget, and
then with a warning), cached on disk under a key of everything that made them, and reused."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from verification.checkpoint import load_bases, save_bases
from verification.data import EpochSampler, passes_over
from verification.model import ModelConfig, TinyLM
from verification.train import pretrain

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BaseSpec:
    model: ModelConfig
    steps: int
    batch_size: int
    lr: float
    seeds: tuple[int, ...] = (0, 1)

    def budget_bytes(self) -> int:
        return self.steps * self.batch_size * self.model.context

    def key(self, default: np.ndarray) -> str:
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode())
        digest.update(hashlib.sha256(default.tobytes()).digest())
        return digest.hexdigest()[:16]


@dataclass
class Bases:
    models: list[TinyLM]
    seeds: list[int]
    seconds: float  # training time, 0 when loaded from the cache
    tokens: int  # per base
    passes: float  # how many times each base read its default data
    cached: bool = False


def warn_if_repeated(default_bytes: int, spec: BaseSpec) -> float:
    passes = passes_over(default_bytes, spec.steps, spec.batch_size, spec.model.context)
    if passes > 1:
        log.warning(
            "the default data (%d bytes) is smaller than the base's budget (%d bytes): each base repeats it "
            "%.1f times; give more default data or fewer base steps",
            default_bytes,
            spec.budget_bytes(),
            passes,
        )
    return passes


def train_bases(default: np.ndarray, spec: BaseSpec, device: str = "cpu") -> Bases:
    passes = warn_if_repeated(len(default), spec)
    start, models, tokens = time.perf_counter(), [], 0
    for seed in spec.seeds:
        sampler = EpochSampler(default, spec.model.context, seed)
        model, stats = pretrain(spec.model, sampler, spec.steps, spec.batch_size, seed, spec.lr, device)
        models.append(model)
        tokens = stats.tokens
    return Bases(models, list(spec.seeds), time.perf_counter() - start, tokens, passes)


def cached_bases(cache_dir: str | Path | None, default: np.ndarray, spec: BaseSpec, device: str = "cpu") -> Bases:
    """The bases for `spec` on `default`: loaded when a file with the same key exists, else trained and saved."""
    if cache_dir is None:
        return train_bases(default, spec, device)
    path = Path(cache_dir) / f"verification-bases-{spec.key(default)}.pt"
    if path.exists():
        models, seeds = load_bases(path, device)
        log.info("base models loaded from %s", path)
        passes = passes_over(len(default), spec.steps, spec.batch_size, spec.model.context)
        return Bases(models, seeds, 0.0, spec.budget_bytes(), passes, cached=True)
    bases = train_bases(default, spec, device)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_bases(path, bases.models, bases.seeds, {"steps": spec.steps, "passes": bases.passes})
    return bases
