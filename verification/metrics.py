"""What one verification measures: a score per part (higher is better), averaged into one number.

- `benchmark_bpb` (default): for every benchmark item, the bits per byte the model spends on its
  correct continuation given its context (the gold choice of a multiple-choice item, LAMBADA's last
  word), averaged per benchmark and then across benchmarks, negated so that higher is better. At small
  scale accuracy sits at chance while this moves smoothly (DataDecide ranks data recipes with it).
- `benchmarks`: accuracy; acc_norm for multiple choice, greedy last-word accuracy for LAMBADA.
- `reference_bpb`: bits per byte on held-out reference text, negated. Circular when the reference
  resembles one candidate pool; kept for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from verification.benchmarks import ChoiceItem, TargetItem, load_benchmark
from verification.evaluate import bits_per_byte, choice_accuracy, gold_continuation_bpb, lambada_accuracy
from verification.model import TinyLM

Metric = Literal["benchmark_bpb", "benchmarks", "reference_bpb"]
METRICS: tuple[str, ...] = Metric.__args__
REFERENCE = "reference"


@dataclass(frozen=True)
class EvalMaterial:
    """The fixed texts every arm of a verification is scored on."""

    metric: Metric
    benchmarks: dict[str, list[ChoiceItem | TargetItem]]
    reference: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; allowed: {', '.join(METRICS)}")
        if self.metric == "reference_bpb" and (self.reference is None or len(self.reference) == 0):
            raise ValueError("metric reference_bpb needs reference text")
        if self.metric != "reference_bpb" and not any(self.benchmarks.values()):
            raise ValueError(f"metric {self.metric} needs at least one benchmark with items")

    @property
    def parts(self) -> list[str]:
        return [REFERENCE] if self.metric == "reference_bpb" else [n for n, items in self.benchmarks.items() if items]


def load_material(
    metric: Metric,
    eval_dir: str | Path | None = None,
    names: list[str] | None = None,
    items_per_benchmark: int | None = None,
    reference: np.ndarray | None = None,
) -> EvalMaterial:
    """The material for `metric`: the first `items_per_benchmark` items of each named benchmark."""
    benchmarks = {}
    if metric != "reference_bpb":
        if eval_dir is None or not names:
            raise ValueError(f"metric {metric} needs an evaluation folder and benchmark names")
        benchmarks = {name: load_benchmark(name, eval_dir, items_per_benchmark) for name in names}
    return EvalMaterial(metric, benchmarks, reference)


def gold_pairs(items: list[ChoiceItem | TargetItem]) -> list[tuple[str, str]]:
    """(context, correct continuation) of each item."""
    return [
        item.pairs[item.gold] if isinstance(item, ChoiceItem) else (item.context, " " + item.target) for item in items
    ]


def score_parts(model: TinyLM, material: EvalMaterial, device: str = "cpu") -> dict[str, float]:
    """One score per benchmark (or for the reference), higher is better."""
    if material.metric == "reference_bpb":
        return {REFERENCE: -bits_per_byte(model, material.reference, device=device)}
    scores = {}
    for name in material.parts:
        items = material.benchmarks[name]
        if material.metric == "benchmark_bpb":
            scores[name] = -float(np.mean(gold_continuation_bpb(model, gold_pairs(items), device)))
        elif isinstance(items[0], TargetItem):
            scores[name] = lambada_accuracy(model, items, device)["acc"]
        else:
            scores[name] = choice_accuracy(model, items, device)["acc_norm"]
    return scores


def overall(scores: dict[str, float]) -> float:
    """The mean across parts; a missing or non-finite part is an error, never a silent NaN."""
    values = np.array(list(scores.values()), dtype=float)
    if len(values) == 0 or not np.isfinite(values).all():
        raise ValueError(f"cannot average scores {scores}")
    return float(values.mean())
