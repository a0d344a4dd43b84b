"""The Spark session factory shared by every job."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from contextlib import contextmanager
from typing import Iterator

from pyspark.sql import DataFrame, SparkSession

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


RELIABLE_CHECKPOINTS = "tiers.reliable_checkpoints"


def computed_once(frame: DataFrame) -> DataFrame:
    """`frame` computed now, its rows kept for the several outputs that select from it.

    By default a local checkpoint (row blocks in executor memory, spilling to disk), about a third of the
    CPU per row of a columnar cache (`persist`) on a frame with texts (bench/README.md, issue 32); blocks
    lost with an executor are not recomputed: the stage fails and is run again, as any uncommitted run is.
    Inside `kept_rows` with `spark.checkpoint_dir` set, a reliable checkpoint written there instead,
    which survives the loss of an executor."""
    reliable = frame.sparkSession.conf.get(RELIABLE_CHECKPOINTS, None) == "true"
    return frame.checkpoint() if reliable else frame.localCheckpoint()


@contextmanager
def kept_rows(spark: SparkSession, checkpoint_dir: str | None) -> Iterator[None]:
    """One stage body's `computed_once` rows: local checkpoints (`checkpoint_dir` null), or reliable ones
    in a fresh folder under `checkpoint_dir` (shared storage on a cluster: HDFS, a shared mount), removed
    when the body ends, whether it succeeds or fails. The next stage reads committed outputs, not them."""
    if checkpoint_dir is None:
        spark.conf.unset(RELIABLE_CHECKPOINTS)
        yield
        return
    context = spark.sparkContext
    context.setCheckpointDir(checkpoint_dir)  # a new folder, checkpoint_dir/UUID, per call
    folder = context.getCheckpointDir()
    spark.conf.set(RELIABLE_CHECKPOINTS, "true")
    try:
        yield
    finally:
        spark.conf.unset(RELIABLE_CHECKPOINTS)
        if folder:
            _remove_folder(spark, folder)


def _remove_folder(spark: SparkSession, folder: str) -> None:
    """Delete `folder` through Hadoop's file system (local, HDFS or whatever its scheme names)."""
    context = spark.sparkContext
    path = context._jvm.org.apache.hadoop.fs.Path(folder)  # type: ignore[attr-defined]
    try:
        path.getFileSystem(context._jsc.hadoopConfiguration()).delete(path, True)  # type: ignore[union-attr]
    except Exception as exc:  # noqa: BLE001 - a leftover folder must not fail a stage that has finished
        log.warning("could not remove the checkpoint folder %s: %s", folder, exc)


def partitions_for(spark: SparkSession, total_bytes: int, bytes_per_partition: int) -> int:
    """Shuffle partitions sized to the input: one per `bytes_per_partition`, at least twice the cores."""
    parallelism = spark.sparkContext.defaultParallelism
    wanted = max(2 * parallelism, -(-total_bytes // bytes_per_partition))
    spark.conf.set("spark.sql.shuffle.partitions", str(wanted))
    return wanted


def _spark_children() -> list[int]:
    """PIDs of this process's child processes that run Spark's JVM (the local driver py4j started)."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                parent = int(handle.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read()
        except (OSError, ValueError, IndexError):
            continue
        if parent == me and any(mark in command for mark in (b"org.apache.spark", b"spark-submit", b"spark-class")):
            found.append(int(entry))
    return found


def _wait_gone(pids: list[int], wait_s: float) -> list[int]:
    deadline = time.monotonic() + wait_s
    while pids and time.monotonic() < deadline:
        for pid in list(pids):
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    pids.remove(pid)
            except ChildProcessError:
                pids.remove(pid)
        time.sleep(0.1)
    return pids


def stop_spark(wait_s: float = 30.0) -> None:
    """Stop the Spark session and this process's JVM, and wait until the JVM is gone, so that nothing it
    holds open (staging files on a full disk) outlives the call; also after a start cut short by a
    signal, when PySpark has not yet recorded the JVM it launched. A later session starts a new JVM."""
    from pyspark import SparkContext

    context, gateway = SparkContext._active_spark_context, SparkContext._gateway
    jvms = _spark_children()
    if context is None and gateway is None and not jvms:
        return
    log.info("stopping the Spark session and its JVM")
    if context is not None:
        try:
            context.stop()
        except Exception as exc:  # noqa: BLE001 - the JVM is stopped below either way
            log.warning("Spark session did not stop cleanly: %s", exc)
    if gateway is not None:
        try:
            gateway.shutdown()
        except Exception:  # noqa: BLE001
            pass
    for pid in jvms:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in _wait_gone(jvms, wait_s):
        os.kill(pid, signal.SIGKILL)
        _wait_gone([pid], 5.0)
    SparkContext._gateway = None
    SparkContext._jvm = None
