"""The session factory: the local JVM runs with the configured Java options."""
from __future__ import annotations

from tiers.config import LOCAL_JAVA_OPTIONS


def _jvm_arguments(spark) -> list[str]:
    bean = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    return list(bean.getInputArguments())


def test_the_local_jvm_runs_with_the_default_java_options(spark):
    arguments = _jvm_arguments(spark)
    for option in LOCAL_JAVA_OPTIONS.split():
        assert option in arguments, f"{option} missing from the JVM's arguments {arguments}"
