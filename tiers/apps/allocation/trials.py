"""The trials of `tiers allocate --search` in the catalog (tables of migration 7, view `mixture_trials`).

Each trial (an annealed mixture: the current plan's, a candidate, or the proposal) is committed on its
own as soon as it is measured, so a search that is killed resumes without re-running it: the same
command computes the same search id and reads back what is finished.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the GPU benchmark imports TrialRecord where DuckDB is not installed
    from tiers.catalog import Catalog


@dataclass(frozen=True)
class TrialRecord:
    kind: str  # current, candidate, proposal
    trial: int
    weights: list[float]
    scores: list[dict[str, float]]  # per seed: the score of each part (benchmark)
    score: float  # mean over seeds of the overall score
    delta: float | None  # over the current plan's mixture, paired by seed
    ci_low: float | None
    ci_high: float | None
    predicted: float | None
    seconds: float
    tokens_per_run: int


class CatalogTrials:
    """Searches and trials of one data root."""

    def __init__(self, catalog: "Catalog"):
        self.catalog = catalog

    def start(self, search_id: str, stage: str, plan_hash: str, cells: list[str], settings: dict, metric: str) -> bool:
        """Register the search; False when it exists already (a resumed search)."""
        with self.catalog.connect() as con:
            if con.execute("SELECT count(*) FROM mixture_searches WHERE search_id = ?", [search_id]).fetchone()[0]:
                return False
            con.execute(
                "INSERT INTO mixture_searches (search_id, stage, plan_hash, cells, settings_json, metric, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [search_id, stage, plan_hash, cells, json.dumps(settings, sort_keys=True), metric, _now()],
            )
        return True

    def finished(self, search_id: str) -> dict[tuple[str, int], TrialRecord]:
        with self.catalog.connect() as con:
            rows = con.execute(
                "SELECT kind, trial, weights, scores_json, score, delta, ci_low, ci_high, predicted, seconds, "
                "tokens_per_run FROM mixture_trial_rows WHERE search_id = ? ORDER BY kind, trial",
                [search_id],
            ).fetchall()
        return {(r[0], r[1]): TrialRecord(r[0], r[1], list(r[2]), json.loads(r[3]), *r[4:10], int(r[10])) for r in rows}

    def record(self, search_id: str, trial: TrialRecord) -> None:
        with self.catalog.connect() as con:
            con.execute(
                "INSERT INTO mixture_trial_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    search_id,
                    trial.kind,
                    trial.trial,
                    [float(w) for w in trial.weights],
                    json.dumps(trial.scores),
                    trial.score,
                    trial.delta,
                    trial.ci_low,
                    trial.ci_high,
                    trial.predicted,
                    trial.seconds,
                    trial.tokens_per_run,
                    _now(),
                ],
            )

    def finish(self, search_id: str, fit: dict, accepted: bool, plan_path: str | None) -> None:
        with self.catalog.connect() as con:
            con.execute(
                "UPDATE mixture_searches SET fit_json = ?, accepted = ?, plan_path = ?, finished_at = ? "
                "WHERE search_id = ?",
                [json.dumps(fit, sort_keys=True), accepted, plan_path, _now(), search_id],
            )


def _now() -> datetime:
    return datetime.now(timezone.utc)
