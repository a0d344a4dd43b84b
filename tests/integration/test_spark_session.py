"""The session factory: the local JVM runs with the configured Java options and maps the class archive."""

from __future__ import annotations

from pathlib import Path

from jobs.java import java_version
from jobs.jvm_classes import archive_path, class_archive_options
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
