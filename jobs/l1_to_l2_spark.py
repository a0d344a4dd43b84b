"""The L2 Spark body: scoring inside mapInArrow (each model loaded once per executor process), selection
as a join of L1 with the scores; rows computed by jobs/l2_rows.py, as in the local body."""

from __future__ import annotations

import os
from typing import Iterator

import pyarrow as pa
from pyspark import SparkFiles
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from classifiers.model import QualityModel
from classifiers.registry import ModelRef
from jobs.l2_rows import SCORE_COLUMNS, drop_batch, score_batch
from jobs.runner import JobRun
from jobs.spark_schema import spark_ddl
from jobs.stage_inputs import ScoreInputs, SelectInputs
from jobs.tokens import with_token_counts
from tiers import schemas
from tiers.names import L2


def score_partition(
    batches: Iterator[pa.RecordBatch], models: dict[str, ModelRef], fallback: str | None
) -> Iterator[pa.RecordBatch]:
    """mapInArrow body. On a cluster the models arrive through `addFile`; in local mode they are read where
    they are."""
    loaded = {}
    for lang, ref in models.items():
        shipped = SparkFiles.get(os.path.basename(ref.path))
        loaded[lang] = QualityModel.cached(shipped if os.path.exists(shipped) else ref.path, ref.tokenizer)
    for batch in batches:
        yield score_batch(batch, loaded, models, fallback)


def write_scores(spark: SparkSession, inputs: ScoreInputs, run: JobRun) -> None:
    models, fallback = inputs.models, inputs.fallback
    if not spark.sparkContext.master.startswith("local"):
        for ref in models.values():
            spark.sparkContext.addFile(ref.path)
    l1 = spark.read.parquet(inputs.source).select("doc_id", "lang", "text")
    scored = l1.mapInArrow(lambda it: score_partition(it, models, fallback), spark_ddl(SCORE_COLUMNS))
    scored.withColumn("run_id", F.lit(run.run_id)).write.parquet(run.stage("l2_scores"))


def write_selection(spark: SparkSession, inputs: SelectInputs, run: JobRun) -> None:
    config, keep_unscored = inputs.config, inputs.keep_unscored
    threshold, run_id = config.l2.threshold, run.run_id
    l1 = spark.read.parquet(inputs.source).drop("run_id")
    scores = spark.read.parquet(inputs.scores_path).select("doc_id", "model_lang", "model_hash", "quality_score")
    joined = l1.join(scores, "doc_id", "left")
    score = F.col("quality_score")
    chosen = F.coalesce(score >= threshold, F.lit(keep_unscored))
    selected = with_token_counts(joined.filter(chosen), config.tokens.tokenizer)  # L1's n_tokens when it has them
    selected.withColumn("run_id", F.lit(run_id)).write.parquet(run.stage(L2, tier=L2))
    rejected = joined.filter(~chosen).select("doc_id", "lang", "quality_score")
    drops = rejected.mapInArrow(
        lambda batches: (drop_batch(b, threshold, run_id) for b in batches), spark_ddl(schemas.DROPS)
    )
    drops.write.parquet(run.stage("drops"))
