"""Shared fixtures (one local Spark session, the sample pipeline run) and the rule that a missing
../shared/data skips exactly the tests that read it: everything under tests/integration/ and the
tests marked `shared_data`, each with the reason."""

from __future__ import annotations

import pytest

from tests.helpers import PIPELINE_INPUTS, SHARED_DATA, TEST_OVERRIDES

MISSING_DATA = f"needs the real samples in {SHARED_DATA} (set TIERS_SHARED_DATA)"


def pytest_collection_modifyitems(config, items):
    if SHARED_DATA.exists():
        return
    skip = pytest.mark.skip(reason=MISSING_DATA)
    for item in items:
        if "integration" in item.path.parts or item.get_closest_marker("shared_data"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def spark():
    from jobs.spark import get_spark
    from tiers.config import SparkConfig

    session = get_spark(
        SparkConfig(master="local[2]", app_name="tiers-tests", conf={"spark.sql.shuffle.partitions": "4"})
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def test_config():
    from tiers.config import load_config

    return load_config(None, TEST_OVERRIDES)


@pytest.fixture(scope="session")
def pipeline_run(spark, test_config, tmp_path_factory):
    """`l0-to-l2` on the samples, once per session: (data root, stage results)."""
    from jobs.pipeline import run_l0_to_l2

    if not SHARED_DATA.exists():
        pytest.skip(MISSING_DATA)
    root = tmp_path_factory.mktemp("pipeline")
    return root, run_l0_to_l2(spark, test_config, PIPELINE_INPUTS, str(root))
