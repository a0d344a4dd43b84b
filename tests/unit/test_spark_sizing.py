"""The local JVM's options are sized to the input of the stage that starts the session (jobs/spark.py)."""

from __future__ import annotations

import pytest

from jobs.engine import SPARK, Execution
from jobs.spark import java_options_for
from tiers.config import ConfigError, load_config


def test_a_small_input_gets_the_c1_only_jvm_and_a_large_one_the_tiered_jit():
    spark = load_config(None, ["spark.large_input_bytes=1000"]).spark
    assert "-XX:TieredStopAtLevel=1" in java_options_for(spark, 1000)
    large = java_options_for(spark, 1001)
    assert "TieredStopAtLevel" not in large and "-XX:+UseSerialGC" in large


def test_the_engine_sizes_the_session_to_the_largest_stage_it_sent_to_spark():
    config = load_config(None, ["engine.kind=spark", "spark.large_input_bytes=1000"])
    engine = Execution(config)
    assert engine.choose("ingest", 5000) == SPARK
    assert engine.choose("l1_filter", 10) == SPARK
    assert java_options_for(config.spark, engine.spark_input_bytes) == config.spark.large_input_java_options


def test_a_negative_threshold_names_the_key():
    with pytest.raises(ConfigError, match="large_input_bytes"):
        load_config(None, ["spark.large_input_bytes=-1"])
