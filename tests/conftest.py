"""Shared fixtures: the real sample data beside the repository and one local Spark session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("TIERS_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()

DOLMA = SHARED_DATA / "dolma-test-samples"
DOLMA_CC = DOLMA / "formats__gz__CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz"
RESILIPARSE_WARC = SHARED_DATA / "resiliparse-cc-warc" / "warcfile.warc.gz"
WHIRLWIND = SHARED_DATA / "commoncrawl-whirlwind"
SCRAPINGHUB = SHARED_DATA / "scrapinghub-article-extraction"
TRAFILATURA = SHARED_DATA / "trafilatura-eval-pages"

# Small fastText hash tables keep test models at a few MB; everything else is the production config.
TEST_OVERRIDES = ["l2.train.bucket=20000", "spark.master=local[2]"]


def pytest_configure(config):
    if not SHARED_DATA.exists():
        raise pytest.UsageError(f"shared sample data not found at {SHARED_DATA}; set TIERS_SHARED_DATA")


@pytest.fixture(scope="session")
def spark():
    from jobs.spark import get_spark
    from tiers.config import SparkConfig

    session = get_spark(SparkConfig(master="local[2]", app_name="tiers-tests", conf={"spark.sql.shuffle.partitions": "4"}))
    yield session
    session.stop()


@pytest.fixture(scope="session")
def test_config():
    from tiers.config import load_config

    return load_config(None, TEST_OVERRIDES)


PIPELINE_INPUTS = [str(DOLMA), str(RESILIPARSE_WARC), str(WHIRLWIND)]


@pytest.fixture(scope="session")
def pipeline_run(spark, test_config, tmp_path_factory):
    """`l0-to-l2` on the samples, once per session: (data root, stage results)."""
    from jobs.pipeline import run_l0_to_l2

    root = tmp_path_factory.mktemp("pipeline")
    return root, run_l0_to_l2(spark, test_config, PIPELINE_INPUTS, str(root))


def dolma_texts() -> list[str]:
    import gzip
    import json

    with gzip.open(DOLMA_CC, "rt", encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle]


def open_catalog(root):
    """A read-only DuckDB connection to a root's catalog as any DuckDB client opens it: views read paths
    relative to the root, so the client sets `file_search_path` to the root first."""
    import duckdb

    con = duckdb.connect(str(Path(root) / "catalog.duckdb"), read_only=True)
    con.execute("SET file_search_path = ?", [str(root)])
    return con
