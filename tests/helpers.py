"""What tests share: where the real samples are, the test configuration overrides, small readers of the
samples, and a catalog connection opened the way any DuckDB client opens one."""

from __future__ import annotations

import os
from pathlib import Path

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

PIPELINE_INPUTS = [str(DOLMA), str(RESILIPARSE_WARC), str(WHIRLWIND)]


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
