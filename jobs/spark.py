"""The Spark session factory shared by every job."""

from __future__ import annotations

import logging
import os
import sys

from pyspark.sql import SparkSession

from jobs.java import java_version
from jobs.jvm_classes import class_archive_options
from tiers.config import SparkConfig

log = logging.getLogger(__name__)


def get_spark(config: SparkConfig, input_bytes: int = 0) -> SparkSession:
    """Return the active session if there is one (spark-submit decides), else build one.

    With no master configured the session is `local[*]`, bound to 127.0.0.1, with Arrow on. A local JVM
    started for a stage that reads `input_bytes` above `large_input_bytes` gets `large_input_java_options`.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    java = "" if under_submit else java_version()[0]
    builder = SparkSession.builder.appName(config.app_name)
    master = config.master or ("" if under_submit else "local[*]")
    if master:
        builder = builder.master(master)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.memory", config.driver_memory)
            .config("spark.ui.enabled", "false")
        )
        if "spark.driver.extraJavaOptions" not in config.conf:
            options = java_options_for(config, input_bytes)
            builder = builder.config("spark.driver.extraJavaOptions", local_java_options(config, java, options))
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "2048")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.python.worker.reuse", "true")
    )
    for key, value in config.conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    log.info("spark session on %s", spark.sparkContext.master)
    return spark


def java_options_for(config: SparkConfig, input_bytes: int) -> str:
    """The JVM options of a local session sized to the input of the stage that starts it."""
    return config.large_input_java_options if input_bytes > config.large_input_bytes else config.local_java_options


def local_java_options(config: SparkConfig, java: str, options: str | None = None) -> str:
    """`options` (default `spark.local_java_options`), plus the class-data archive when
    `spark.class_archive_dir` is set."""
    options = config.local_java_options if options is None else options
    archive = class_archive_options(config.class_archive_dir, java, options) if config.class_archive_dir else ""
    return " ".join(part for part in (options, archive) if part)


def partitions_for(spark: SparkSession, total_bytes: int, bytes_per_partition: int) -> int:
    """Shuffle partitions sized to the input: one per `bytes_per_partition`, at least twice the cores."""
    parallelism = spark.sparkContext.defaultParallelism
    wanted = max(2 * parallelism, -(-total_bytes // bytes_per_partition))
    spark.conf.set("spark.sql.shuffle.partitions", str(wanted))
    return wanted
