"""A class-data archive (Java's AppCDS) for local Spark JVMs: load and verify Spark's classes once.

A local session's JVM spends several CPU-seconds loading and verifying the same ~15,000 classes on
every start. The first local session of a Spark installation (each virtual environment has its own: the
archive is only valid for the class path it was written with; per Java version and JVM options)
runs a short warm-up session in a child process whose JVM writes the classes it loaded into an
archive when it exits; later JVMs map that archive instead (session start and stop 7.6 -> 4.4
CPU-seconds, bench/README.md). With `-Xshare:auto`, Java's default, a JVM that cannot use the archive
runs without it; a warm-up that fails leaves a marker so it is not retried on every run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pyspark

log = logging.getLogger(__name__)

QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"
WARM_UP_TIMEOUT_S = 300
WARM_UP = """
import sys, tempfile
from pyspark import SparkContext
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[1]").appName("tiers-class-archive")
         .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.ui.enabled", "false").config("spark.driver.extraJavaOptions", sys.argv[1]).getOrCreate())
with tempfile.TemporaryDirectory() as folder:
    frame = spark.range(2000).selectExpr("id", "cast(id % 7 as string) AS k", "sha2(cast(id as string), 256) AS h")
    frame.write.parquet(folder + "/t")
    back = spark.read.parquet(folder + "/t")
    back.join(back.groupBy("k").count(), "k").orderBy("h").limit(5).collect()
gateway = SparkContext._gateway
process = gateway.proc
spark.stop()
gateway.shutdown()
process.stdin.close()
process.wait(timeout=120)
"""


def archive_path(cache_dir: str, java_version: str, java_options: str) -> Path:
    jars = Path(pyspark.__file__).parent / "jars"  # an archive is only valid for the class path it was written with
    key = hashlib.sha256(f"{pyspark.__version__}|{jars}|{java_version}|{java_options}".encode()).hexdigest()[:16]
    return Path(cache_dir).expanduser() / f"spark-classes-{key}.jsa"


def class_archive_options(cache_dir: str, java_version: str, java_options: str) -> str:
    """JVM options that map the archive, writing it first if this machine has none yet; "" when it
    cannot be had (a failed warm-up, an unwritable cache folder)."""
    archive = archive_path(cache_dir, java_version, java_options)
    failed = archive.with_suffix(".failed")
    if not archive.exists() and not failed.exists():
        _write_archive(archive, failed, java_options)
    return f"-XX:SharedArchiveFile={archive} {QUIET}" if archive.exists() else ""


def _write_archive(archive: Path, failed: Path, java_options: str) -> None:
    try:
        archive.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("no JVM class archive: cannot create %s (%s)", archive.parent, exc)
        return
    handle, partial = tempfile.mkstemp(dir=archive.parent, prefix=archive.name + ".", suffix=".part")
    os.close(handle)
    os.unlink(partial)
    options = f"{java_options} -XX:ArchiveClassesAtExit={partial} {QUIET}"
    log.info("writing the JVM class archive %s (once per Spark installation, Java version and options)", archive)
    try:
        # its own process group: on a timeout the JVM (a grandchild) is killed too, before it writes the archive
        child = subprocess.Popen(
            [sys.executable, "-c", WARM_UP, options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            _, stderr = child.communicate(timeout=WARM_UP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            raise
        if child.returncode == 0 and Path(partial).exists() and Path(partial).stat().st_size > 0:
            os.replace(partial, archive)
            return
        reason = f"exit {child.returncode}: {stderr[-500:]}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        reason = str(exc)
    Path(partial).unlink(missing_ok=True)
    log.warning(
        "no JVM class archive (the warm-up session failed, not retried; delete %s to retry): %s", failed, reason
    )
    failed.write_text(reason)
