"""Allocation weights chosen by measurement (RegMix-style), driven through the verification loop.

One search over the cells of one stage:
1. the current plan's mixture is annealed (trial `current` 0) on every seed;
2. `candidates` mixtures drawn around it within the caps (`tiers.apps.allocation.mixture`) are annealed
   on the same seeds, each scored against the current mixture paired by seed (delta and interval);
3. a ridge regression from weights to delta (the current mixture's delta is 0) is fitted, its
   leave-one-out rank correlation computed, and the mixture with the best predicted delta proposed;
4. the proposal is annealed on the same seeds and compared with the current mixture: accepted only
   when the interval of its delta lies above the loop's margin.
Every anneal is one `run_arm` of the verification loop (its anneal and metric, the same token budget
for every trial) on the base model; the mixture's share of each batch (`candidate_share`) is drawn
from one stream in which each cell holds bytes in proportion to its weight (`mixture_stream`). Each
trial goes to the store as soon as it is measured, and finished trials are read back, never re-run.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import torch

from tiers.apps.allocation.mixture import LinearFit, fit_linear, held_out_rank_correlation, propose, sample_mixtures
from tiers.apps.allocation.trials import TrialRecord
from verification.data import MixtureSampler
from verification.decision import Verdict
from verification.experiment import Arm, VerifyConfig, compare, run_arm
from verification.metrics import EvalMaterial, overall, score_parts
from verification.model import ModelConfig, TinyLM
from verification.train import Schedule, pretrain, train

log = logging.getLogger(__name__)
MIN_WEIGHT = 1e-6


class TrialStore(Protocol):
    def finished(self, search_id: str) -> dict[tuple[str, int], TrialRecord]: ...

    def record(self, search_id: str, trial: TrialRecord) -> None: ...


@dataclass(frozen=True)
class SearchConfig:
    candidates: int = 4
    seed: int = 0
    concentration: float = 1.0
    base_steps: int = 300
    stream_bytes: int = 2_000_000  # bytes of each trial's mixture stream
    model: ModelConfig = ModelConfig()
    verify: VerifyConfig = VerifyConfig()

    def settings(self) -> dict:
        """What makes two searches the same (the candidate count is left out: more candidates extend a search)."""
        data = dataclasses.asdict(self)
        data.pop("candidates")
        data["verify"]["seeds"] = list(self.verify.seeds)
        return data


@dataclass(frozen=True)
class SearchInputs:
    names: list[str]
    streams: list[np.ndarray]  # per cell: its documents' bytes
    current: np.ndarray  # the current plan's weights
    upper: np.ndarray  # each cell's most weight (caps)
    default: np.ndarray  # the loop's default data: the base's pretraining and the rest of each batch
    material: EvalMaterial


@dataclass
class SearchResult:
    search_id: str
    names: list[str]
    trials: list[TrialRecord] = field(default_factory=list)
    fit: dict = field(default_factory=dict)
    proposal: np.ndarray | None = None
    verdict: Verdict | None = None

    @property
    def accepted(self) -> bool:
        return bool(self.verdict and self.verdict.accepted)


@dataclass(frozen=True)
class Cost:
    anneals: int  # anneal runs still to do (trials x seeds)
    base_steps: int  # pretraining steps still to do (0 when the base is saved)
    seconds: float  # estimated on this device


def mixture_stream(streams: list[np.ndarray], weights: np.ndarray, size: int) -> np.ndarray:
    """One byte stream of about `size` bytes in which cell i holds `weights[i] * size` bytes of its own
    stream (cycled when the weight asks for more than it has), so uniform windows over it come from the
    cells in proportion to the weights."""
    parts = [
        np.resize(stream, max(1, int(round(w * size))))
        for stream, w in zip(streams, weights)
        if w >= MIN_WEIGHT and len(stream)
    ]
    return np.concatenate(parts)


def estimate(config: SearchConfig, material: EvalMaterial, default: np.ndarray, anneals: int, base_steps: int) -> Cost:
    """Time four training steps and one scoring of a fresh model of the search's size on this device,
    and scale to what is left to run."""
    model = TinyLM(config.model)
    sampler = MixtureSampler(default, None, 0.0, config.model.context, 0)
    v = config.verify
    train(model, sampler, Schedule(1, v.lr), v.batch_size, 0, v.device)  # warm-up (kernels, allocator)
    start = time.perf_counter()
    train(model, sampler, Schedule(4, v.lr), v.batch_size, 0, v.device)
    step = (time.perf_counter() - start) / 4
    start = time.perf_counter()
    score_parts(model, material, v.device)
    scoring = time.perf_counter() - start
    return Cost(anneals, base_steps, anneals * (v.anneal_steps * step + scoring) + base_steps * step)


def base_model(default: np.ndarray, config: SearchConfig, path: Path | None) -> TinyLM:
    """The search's base: read from `path` when a run of the same search saved it, else pretrained on
    the default data (warmup and stable phases) and saved there."""
    if path is not None and path.exists():
        saved = torch.load(path, map_location="cpu")
        model = TinyLM(ModelConfig(**saved["config"]))
        model.load_state_dict(saved["state"])
        return model
    v = config.verify
    model, stats = pretrain(
        config.model,
        MixtureSampler(default, None, 0.0, config.model.context, seed=0),
        config.base_steps,
        v.batch_size,
        seed=0,
        lr=v.lr,
        device=v.device,
    )
    log.info("base: %d steps, %d tokens, %.1f s", stats.steps, stats.tokens, stats.seconds)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"config": dataclasses.asdict(config.model), "state": model.state_dict()}, path)
    return model


def _arm(record: TrialRecord) -> Arm:
    """A committed trial as an arm of the search's one base model (every run in group 0)."""
    return Arm(record.scores, record.seconds, record.tokens_per_run, [0] * len(record.scores))


def _record(kind: str, trial: int, weights: np.ndarray, arm: Arm, verdict: Verdict | None, predicted=None):
    return TrialRecord(
        kind,
        trial,
        [float(w) for w in weights],
        arm.scores,
        float(np.mean([overall(s) for s in arm.scores])),
        None if verdict is None else verdict.delta,
        None if verdict is None else verdict.low,
        None if verdict is None else verdict.high,
        None if predicted is None else float(predicted),
        arm.seconds,
        arm.tokens,
    )


def plan_of_trials(inputs: SearchInputs, config: SearchConfig) -> list[tuple[str, int, np.ndarray]]:
    """The mixtures measured before the fit: the current one, then the seeded candidates."""
    draws = sample_mixtures(inputs.current, inputs.upper, config.candidates, config.seed, config.concentration)
    return [("current", 0, inputs.current)] + [("candidate", i + 1, w) for i, w in enumerate(draws)]


def run_search(
    inputs: SearchInputs,
    config: SearchConfig,
    store: TrialStore,
    search_id: str,
    base: TinyLM,
    progress: Callable[[TrialRecord, bool], None] = lambda trial, resumed: None,
) -> SearchResult:
    """The search (module docstring); `progress(trial, resumed)` is called for every trial."""
    done = store.finished(search_id)
    result = SearchResult(search_id, list(inputs.names))
    v = config.verify

    def measure(kind: str, trial: int, weights: np.ndarray, against: Arm | None, predicted=None) -> TrialRecord:
        if (kind, trial) in done:
            record = done[(kind, trial)]
            progress(record, True)
            return record
        stream = mixture_stream(inputs.streams, weights, config.stream_bytes)
        arm = run_arm([base], inputs.default, stream, inputs.material, v)
        verdict = None if against is None else compare(kind, arm, against, inputs.material, v, 0.0).verdict
        record = _record(kind, trial, weights, arm, verdict, predicted)
        store.record(search_id, record)
        progress(record, False)
        return record

    current: Arm | None = None
    for kind, trial, weights in plan_of_trials(inputs, config):
        record = measure(kind, trial, weights, current)
        result.trials.append(record)
        current = current or _arm(record)
    x = np.array([t.weights for t in result.trials])
    y = np.array([0.0 if t.delta is None else t.delta for t in result.trials])
    fit: LinearFit = fit_linear(x, y)
    proposal = propose(fit, inputs.current, inputs.upper, config.seed, config.concentration)
    result.fit = {
        "model": "ridge regression of delta on the weights",
        "coefficients": dict(zip(inputs.names, map(float, fit.coefficients))),
        "intercept": fit.intercept,
        "held_out_rank_correlation": held_out_rank_correlation(x, y),
        "trials": len(y),
    }
    record = measure("proposal", config.candidates + 1, proposal, current, fit.predict(proposal)[0])
    result.trials.append(record)
    result.proposal = np.array(record.weights)
    arm = _arm(record)
    result.verdict = compare("proposal", arm, current, inputs.material, v, 0.0).verdict
    return result


def remaining_anneals(done: dict[tuple[str, int], TrialRecord], config: SearchConfig) -> int:
    keys = [("current", 0)] + [("candidate", i + 1) for i in range(config.candidates)]
    keys.append(("proposal", config.candidates + 1))
    return sum(key not in done for key in keys) * len(config.verify.seeds)
