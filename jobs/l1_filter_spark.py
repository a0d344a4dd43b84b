"""The L1 operators' Spark body: mapInArrow over the L0 files' row groups."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.l1_operators import L0_INPUT, STATS, apply_operators, kept_columns, merge_stats, pipeline_rows_schema
from jobs.runner import JobRun
from jobs.spark import computed_once, partitions_for
from jobs.spark_schema import spark_ddl
from jobs.stage_inputs import FilterInputs
from tiers import schemas
from tiers.schemas import DROP_COLUMNS


def write_filter_outputs(spark: SparkSession, inputs: FilterInputs, run: JobRun) -> dict[str, dict]:
    """Write the kept documents (`filtered`) and the drops under `run`'s staging; return the operators' stats."""
    config, l0_bytes = inputs.config, inputs.l0_bytes
    partitions = partitions_for(spark, l0_bytes * 4, config.spark.bytes_per_partition)
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(max(1 << 20, l0_bytes // partitions)))
    l0 = spark.read.parquet(*inputs.paths).select(*L0_INPUT.names)
    if l0.rdd.getNumPartitions() < spark.sparkContext.defaultParallelism:
        l0 = l0.repartition(partitions)
    steps, modules = list(config.l1.steps), list(config.l1.operator_modules)
    out_schema = pipeline_rows_schema(steps, modules)
    rows = computed_once(
        l0.mapInArrow(lambda it: apply_operators(it, steps, modules, out_schema), spark_ddl(out_schema))
    )
    outcome = F.col(schemas.OUTCOME)
    rows.filter(outcome == "kept").select(*kept_columns(out_schema)).write.parquet(run.stage("filtered"))
    rows.filter(outcome == "dropped").select(*DROP_COLUMNS).withColumn("run_id", F.lit(run.run_id)).write.parquet(
        run.stage("drops")
    )
    return merge_stats([r.details for r in rows.filter(outcome == STATS).select("details").collect()])
