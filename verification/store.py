"""Per-benchmark results and pairwise comparisons of each experiment in the catalog, beside the
`experiments` table (created if missing).

`experiment_parts`: one row per experiment and benchmark (or `reference`): the metric, the mean
delta of candidate over control and its bootstrap interval.
`experiment_pairs`: one row per pair of pools verified together: the better pool by mean, the worse,
their paired difference and its interval, and whether the interval lies above zero.
"""

from __future__ import annotations

from verification.experiment import ExperimentResult
from verification.pairwise import PairResult

PARTS_TABLE = """CREATE TABLE IF NOT EXISTS experiment_parts (
    loop_id VARCHAR NOT NULL, round INTEGER NOT NULL, pool VARCHAR NOT NULL, part VARCHAR NOT NULL, metric VARCHAR,
    delta DOUBLE, ci_low DOUBLE, ci_high DOUBLE, created_at TIMESTAMPTZ DEFAULT current_timestamp)"""

PAIRS_TABLE = """CREATE TABLE IF NOT EXISTS experiment_pairs (
    loop_id VARCHAR NOT NULL, round INTEGER NOT NULL, better VARCHAR NOT NULL, worse VARCHAR NOT NULL,
    delta DOUBLE, ci_low DOUBLE, ci_high DOUBLE, resolved BOOLEAN, created_at TIMESTAMPTZ DEFAULT current_timestamp)"""


def record_parts(catalog, loop_id: str, round_index: int, result: ExperimentResult) -> None:
    with catalog.connect() as con:
        con.execute(PARTS_TABLE)
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
        con.execute(PAIRS_TABLE)
        if pairs:
            con.executemany(
                "INSERT INTO experiment_pairs (loop_id, round, better, worse, delta, ci_low, ci_high, resolved) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [[loop_id, round_index, p.better, p.worse, p.delta, p.low, p.high, p.resolved] for p in pairs],
            )
