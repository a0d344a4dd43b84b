"""Per-benchmark results and pairwise comparisons of each experiment in the catalog, beside the
`experiments` table (both are catalog migration 10, `tiers/catalog/migrations.py`).

`experiment_parts`: one row per experiment and benchmark (or `reference`): the metric, the mean
delta of candidate over control and its bootstrap interval.
`experiment_pairs`: one row per pair of pools verified together: the better pool by mean, the worse,
their paired difference and its interval, and whether the interval lies above zero.
"""

from __future__ import annotations

from verification.experiment import ExperimentResult
from verification.pairwise import PairResult


def record_parts(catalog, loop_id: str, round_index: int, result: ExperimentResult) -> None:
    with catalog.connect() as con:
        con.executemany(
            "INSERT INTO experiment_parts (loop_id, round, pool, part, metric, delta, ci_low, ci_high) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [loop_id, round_index, result.pool, part, result.config.get("metric"), v.delta, v.low, v.high]
                for part, v in result.per_part.items()
            ],
        )


def record_pairs(catalog, loop_id: str, round_index: int, pairs: list[PairResult]) -> None:
    with catalog.connect() as con:
        if pairs:
            con.executemany(
                "INSERT INTO experiment_pairs (loop_id, round, better, worse, delta, ci_low, ci_high, resolved) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [[loop_id, round_index, p.better, p.worse, p.delta, p.low, p.high, p.resolved] for p in pairs],
            )
