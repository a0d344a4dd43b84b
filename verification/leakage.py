"""Evaluation items never leak into what the loop trains on: a pool or the default data that shares a
word 13-gram with an evaluation item is refused, naming the pool, before any training."""

from __future__ import annotations

from typing import Mapping, Sequence

from tiers.eval_overlap import EvalIndex


class EvalLeak(ValueError):
    """Training text of a named pool overlaps the evaluation sets."""


def refuse_eval_overlap(texts_by_name: Mapping[str, Sequence[str]], index: EvalIndex) -> None:
    """Raise `EvalLeak` naming every pool with a text that overlaps an evaluation item."""
    problems = []
    for name, texts in texts_by_name.items():
        hits = [(text, benchmark) for text, benchmark in zip(texts, index.matches(list(texts))) if benchmark]
        if hits:
            benchmarks = sorted({b for _, b in hits})
            example = " ".join(hits[0][0].split())[:80]
            problems.append(
                f"pool {name!r}: {len(hits)} of {len(texts)} texts share a {index.n}-gram with "
                f"{', '.join(benchmarks)} (first: {example!r})"
            )
    if problems:
        raise EvalLeak(
            "refused: evaluation items would leak into training; remove these texts from the pools:\n  "
            + "\n  ".join(problems)
        )
