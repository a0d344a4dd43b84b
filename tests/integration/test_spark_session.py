"""The session factory: the local JVM runs with the configured Java options and maps the class archive;
rows computed once go to local or, with `spark.checkpoint_dir`, reliable checkpoints removed after the stage."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs.java import java_version
from jobs.jvm_classes import archive_path, class_archive_options
from jobs.spark import RELIABLE_CHECKPOINTS, computed_once, kept_rows
from tiers.config import LOCAL_JAVA_OPTIONS, SparkConfig


def _jvm_arguments(spark) -> list[str]:
    bean = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    return list(bean.getInputArguments())


def test_the_local_jvm_runs_with_the_default_java_options(spark):
    arguments = _jvm_arguments(spark)
    for option in LOCAL_JAVA_OPTIONS.split():
        assert option in arguments, f"{option} missing from the JVM's arguments {arguments}"


def test_the_local_jvm_maps_the_class_archive_written_by_the_warm_up(spark):
    config = SparkConfig()
    archive = archive_path(config.class_archive_dir, java_version()[0], config.local_java_options)
    assert archive.stat().st_size > 10_000_000  # Spark's classes, written by a real JVM at exit
    assert f"-XX:SharedArchiveFile={archive}" in _jvm_arguments(spark)


def test_a_failed_warm_up_gives_no_archive_and_is_not_retried(tmp_path):
    options = "-Xmx1k"  # a real fault: the warm-up JVM cannot start with this heap
    assert class_archive_options(str(tmp_path), java_version()[0], options) == ""
    marker = archive_path(str(tmp_path), java_version()[0], options).with_suffix(".failed")
    assert marker.exists() and not list(tmp_path.glob("*.jsa*"))
    marker.write_text("kept")
    assert class_archive_options(str(tmp_path), java_version()[0], options) == ""
    assert marker.read_text() == "kept"


def test_an_unwritable_cache_folder_gives_no_archive(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert class_archive_options(str(blocker / "cache"), java_version()[0], LOCAL_JAVA_OPTIONS) == ""
    assert not Path(blocker / "cache").exists()


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_rows_computed_once_go_to_the_checkpoint_folder_and_leave_with_the_stage(spark, tmp_path):
    folder = tmp_path / "checkpoints"
    frame = spark.range(0, 5000, numPartitions=3).selectExpr("id", "id * 2 AS twice")
    with kept_rows(spark, str(folder)):
        kept = computed_once(frame)
        assert any(p.name.startswith("part-") for p in _files(folder)), "a reliable checkpoint writes its rows"
        assert kept.agg(F.sum("twice")).first()[0] == 4999 * 5000
    assert folder.exists() and _files(folder) == []
    assert spark.conf.get(RELIABLE_CHECKPOINTS, None) is None
    computed_once(frame)  # outside the stage: a local checkpoint, nothing written there
    assert _files(folder) == []


def test_a_failing_stage_leaves_no_checkpoint_files(spark, tmp_path):
    folder = tmp_path / "checkpoints"
    with pytest.raises(RuntimeError, match="the stage failed"):
        with kept_rows(spark, str(folder)):
            computed_once(spark.range(100))
            assert _files(folder)
            raise RuntimeError("the stage failed")
    assert _files(folder) == []


def test_without_a_checkpoint_folder_rows_stay_in_the_executors(spark, tmp_path):
    with kept_rows(spark, None):
        assert spark.conf.get(RELIABLE_CHECKPOINTS, None) is None
        assert computed_once(spark.range(10)).count() == 10
