"""L1 to L2: score every L1 document with the fastText quality model of its language, then select.

Two committed steps: `l2_score` (quality_score for every L1 document; re-run only when L1 or a model
changes) and `l2_select` (L2 = score >= threshold; a new threshold re-selects without re-scoring).
Documents of a language without a model follow `l2.languages_without_model` (drop or keep). Each step
runs on Spark (`jobs/l1_to_l2_spark.py`) or, for a small input with no session running, in this
process (`jobs/l1_to_l2_local.py`); both compute their rows with `jobs/l2_rows.py`.
Runnable with spark-submit: `spark-submit jobs/l1_to_l2.py --root DATA_ROOT --l1-run RUN_ID`.
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
import pyarrow.dataset as ds

from classifiers.registry import ModelRef, resolve_models
from jobs.engine import Body, Execution, StageBodies, execution_of
from jobs.runner import JobResult, JobRun, parquet_stats
from jobs.skeleton import MissingInput, StagePlan, check_conserved, job_main, run_stage
from jobs.stage_inputs import ScoreInputs, SelectInputs
from tiers.catalog import Catalog
from tiers.config import TiersConfig
from tiers.names import L1, L2, L2_SCORE, L2_SELECT

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

SCORE_JOB, SELECT_JOB = L2_SCORE, L2_SELECT


class ClassifierRejected(RuntimeError):
    """A quality model that cannot select: held-out ROC AUC under the floor, or corpus scores in a narrow band."""


def check_held_out(models: dict[str, ModelRef], config: TiersConfig) -> None:
    for lang, ref in sorted(models.items()):
        auc = ref.metrics.get("roc_auc")
        if auc is not None and not auc >= config.l2.min_auc:
            raise ClassifierRejected(
                f"the {lang} quality model has held-out ROC AUC {auc} < l2.min_auc {config.l2.min_auc} "
                f"(held-out n={ref.metrics.get('n')}): its seeds in {config.l2.seeds} are too few or too alike; "
                "add more, and more distinct, positive and negative seeds (or run `tiers verify seeds`)"
            )


def score_summary(scores_path: str) -> tuple[dict[str, tuple[float, float, int]], dict[str, int]]:
    """Per model language: (p5, p95, documents); and per document language without a model: documents."""
    table = ds.dataset(scores_path, format="parquet").to_table(columns=["lang", "model_lang", "quality_score"])
    frame = table.to_pandas()
    spreads = {}
    for model_lang, group in frame.dropna(subset=["model_lang"]).groupby("model_lang"):
        values = group["quality_score"].to_numpy(dtype=float)
        spreads[str(model_lang)] = (float(np.percentile(values, 5)), float(np.percentile(values, 95)), len(values))
    unscored = frame[frame["model_lang"].isna()]["lang"].fillna("unknown").value_counts()
    return spreads, {str(lang): int(n) for lang, n in unscored.items()}


def check_spread(spreads: dict[str, tuple[float, float, int]], config: TiersConfig) -> None:
    for lang, (low, high, n) in sorted(spreads.items()):
        if n >= 20 and high - low < config.l2.min_score_spread:
            raise ClassifierRejected(
                f"the {lang} quality model scores {n} documents between {low:.7f} and {high:.7f} (p5 to p95, width "
                f"{high - low:.2g} < l2.min_score_spread {config.l2.min_score_spread}): it cannot separate them; "
                f"train it on better seeds ({config.l2.seeds}) or point l2.models.{lang}.path to a real model"
            )


def l1_path(catalog: Catalog, l1_run: str) -> str:
    outputs = catalog.committed_outputs(kind=L1, run_id=l1_run)
    if not outputs:
        raise MissingInput(f"no committed L1 output in {catalog.root} for run {l1_run}")
    return outputs[0].path


SCORE_BODIES = StageBodies(
    local=lambda: importlib.import_module("jobs.l1_to_l2_local").write_scores,
    spark=lambda: importlib.import_module("jobs.l1_to_l2_spark").write_scores,
)
SELECT_BODIES = StageBodies(
    local=lambda: importlib.import_module("jobs.l1_to_l2_local").write_selection,
    spark=lambda: importlib.import_module("jobs.l1_to_l2_spark").write_selection,
)


@dataclass(frozen=True)
class L1Input:
    """The L1 output a step reads, its run, and its rows and bytes (one read of its Parquet footers)."""

    run_id: str
    path: str
    rows: int
    bytes: int

    @classmethod
    def of(cls, catalog: Catalog, l1_run: str) -> "L1Input":
        path = l1_path(catalog, l1_run)
        return cls(l1_run, path, *parquet_stats(path))


def run_scoring(execution: Execution, config: TiersConfig, catalog: Catalog, l1: L1Input, force: bool) -> JobResult:
    models = resolve_models(catalog, config.l2)
    check_held_out(models, config)
    fallback = config.l2.fallback_language
    payload = {
        "l1": l1.path,
        "models": {lang: ref.model_hash for lang, ref in sorted(models.items())},
        "tokenizers": {lang: ref.tokenizer for lang, ref in sorted(models.items())},
        "fallback": fallback,
    }

    def body(run: JobRun, write: Body[ScoreInputs, None]) -> dict:
        write(ScoreInputs(l1.path, models, fallback), run)
        scored_rows, _ = parquet_stats(run.stage("l2_scores"))
        check_conserved("L2 scoring", l1.rows, scores=scored_rows)
        spreads, unscored = score_summary(run.stage("l2_scores"))
        check_spread(spreads, config)
        if unscored:
            log.warning(
                "no quality model for %s: %d documents have no score and are %s (l2.languages_without_model: "
                "%s; a model of your own: l2.models.LANG.path)",
                ", ".join(f"{lang} ({n})" for lang, n in sorted(unscored.items())),
                sum(unscored.values()),
                "kept in L2 unscored" if config.l2.languages_without_model == "keep" else "not promoted to L2",
                config.l2.languages_without_model,
            )
        return {
            "l1_in": l1.rows,
            "scored": scored_rows,
            "models": payload["models"],
            "score_spread": {lang: [round(lo, 6), round(hi, 6)] for lang, (lo, hi, _) in spreads.items()},
            "no_model_languages": unscored,
            "languages_without_model": config.l2.languages_without_model,
        }

    plan = StagePlan(payload, l1.bytes, [l1.run_id])
    return run_stage(catalog, execution, SCORE_JOB, plan, SCORE_BODIES, body, force)


def run_selection(
    execution: Execution, config: TiersConfig, catalog: Catalog, l1: L1Input, score_run: str, force: bool
) -> JobResult:
    scores_path = catalog.committed_outputs(kind="l2_scores", run_id=score_run)[0].path
    threshold = config.l2.threshold
    keep_unscored = config.l2.languages_without_model == "keep"
    payload = {"l1": l1.path, "scores": scores_path, "threshold": threshold}
    if keep_unscored:
        payload["languages_without_model"] = "keep"

    def body(run: JobRun, write: Body[SelectInputs, None]) -> dict:
        write(SelectInputs(config, l1.path, scores_path, keep_unscored), run)
        l2_rows, _ = parquet_stats(run.stage(L2, tier=L2))
        dropped, _ = parquet_stats(run.stage("drops"))
        check_conserved("L2 selection", l1.rows, l2=l2_rows, dropped=dropped)
        return {"l1_in": l1.rows, "l2": l2_rows, "dropped": dropped, "threshold": threshold}

    plan = StagePlan(payload, l1.bytes, [l1.run_id, score_run])
    return run_stage(catalog, execution, SELECT_JOB, plan, SELECT_BODIES, body, force)


def run_l1_to_l2(
    execution: "Execution | SparkSession", config: TiersConfig, root: str, l1_run: str, force: bool = False
) -> JobResult:
    execution = execution_of(execution, config)
    catalog = Catalog(root)
    l1 = L1Input.of(catalog, l1_run)
    scoring = run_scoring(execution, config, catalog, l1, force)
    selection = run_selection(execution, config, catalog, l1, scoring.run_id, force)
    selection.counts = {
        **selection.counts,
        "score_run": scoring.run_id,
        "scoring_skipped": scoring.skipped,
        "no_model_languages": scoring.counts.get("no_model_languages", {}),
    }
    return selection


def current_l1_runs(catalog: Catalog) -> list[str]:
    """The runs whose L1 is current, oldest first: one per snapshot promoted incrementally, or one rebuild."""
    outputs = catalog.committed_outputs(kind=L1, current_only=True) if catalog.path.exists() else []
    runs = list(dict.fromkeys(o.run_id for o in outputs))
    if not runs:
        raise MissingInput(f"no committed L1 run in {catalog.root}: run `tiers run l0-to-l1` first")
    return runs


def run_l1_to_l2_current(
    execution: "Execution | SparkSession",
    config: TiersConfig,
    root: str,
    force: bool = False,
    wrap: Callable[[str, Callable[[], JobResult]], JobResult] = lambda _, body: body(),
) -> list[JobResult]:
    """L2 for every current L1 run; one already scored and selected with these models and this threshold
    is skipped, so only the L1 documents that have no score yet are scored."""
    return [
        wrap(f"L1 -> L2 ({l1_run})", lambda l1_run=l1_run: run_l1_to_l2(execution, config, root, l1_run, force=force))
        for l1_run in current_l1_runs(Catalog(root))
    ]


def main(argv: list[str] | None = None) -> int:
    return job_main(
        "Score L1 with the quality classifier and select L2.",
        lambda session, config, args: (
            run_l1_to_l2(session, config, args.root, args.l1_run, force=args.force)
            if args.l1_run
            else run_l1_to_l2_current(session, config, args.root, force=args.force)[-1]
        ),
        argv,
        options={"--l1-run": {"help": "L1 run id (default: every current L1 run not yet in L2)"}},
    )


if __name__ == "__main__":
    sys.exit(main())
