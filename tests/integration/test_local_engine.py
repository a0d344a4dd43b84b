"""The local engine (ingest and L0 to L1 in one process, no Spark) writes what the Spark engine writes.

Two roots get the same inputs: the samples plus two snapshots of real texts with exact copies,
whitespace variants and edited copies at several Jaccard levels, the second snapshot copying
documents of the first. One root runs on the test Spark session, the other on the local engine; every
output of every run (L0, quarantine, manifest, coverage, filtered, drops, L1, dedup index) must hold
the same rows, and the comparison is not empty: both engines drop exact and near duplicates, and the
second snapshot's copies of first-snapshot documents."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from jobs.engine import Execution
from jobs.pipeline import run_l0_to_l1
from tests.helpers import DOLMA_CC, PIPELINE_INPUTS, TEST_OVERRIDES, dolma_texts, open_catalog
from tiers.config import load_config

KINDS = ["L0", "quarantine", "ingest_manifest", "ingest_coverage", "filtered", "drops", "L1", "dedup_index"]


def _edited(text: str, share: float, rng: random.Random) -> str:
    """`text` with about `share` of its words replaced by a marker word."""
    words = text.split(" ")
    for i in rng.sample(range(len(words)), int(len(words) * share)):
        words[i] = f"edit{i}"
    return " ".join(words)


def _snapshot(path: Path, texts: list[str]) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        for i, text in enumerate(texts):
            handle.write(json.dumps({"text": text, "url": f"https://example.com/{path.stem}/{i}"}) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory) -> list[list[str]]:
    if not DOLMA_CC.exists():
        pytest.skip("the dolma sample is not in ../shared/data")
    rng = random.Random(17)
    texts = [t for t in dolma_texts() if len(t) > 1500][:60]
    first = texts[:30]
    copies = []
    for text in first[:12]:
        copies += [text, text.replace(" ", "  ", 3), _edited(text, 0.03, rng), _edited(text, 0.12, rng)]
    second = texts[30:] + copies + [_edited(t, 0.05, rng) for t in texts[30:36]]
    folder = tmp_path_factory.mktemp("engine-inputs")
    return [
        PIPELINE_INPUTS + [_snapshot(folder / "snapshot1.jsonl", first)],
        [_snapshot(folder / "snapshot2.jsonl", second)],
    ]


def _promote_both_snapshots(engine, config, snapshots, root: Path) -> None:
    for inputs in snapshots:
        run_l0_to_l1(engine, config, inputs, str(root))


def _rows(root: Path, kind: str) -> list[tuple]:
    files = sorted(str(p) for p in (root / kind).rglob("*.parquet"))
    if not files:
        return []
    table = ds.dataset(files, format="parquet").to_table()
    table = table.drop_columns([c for c in ("run_id",) if c in table.column_names])
    rows = []
    for row in table.to_pylist():
        if "details" in row and row["details"]:
            row["details"] = json.loads(row["details"])
        rows.append(tuple(sorted((k, json.dumps(v, sort_keys=True, default=str)) for k, v in row.items())))
    return sorted(rows)


@pytest.fixture(scope="module")
def roots(spark, snapshots, tmp_path_factory):
    spark_root, local_root = tmp_path_factory.mktemp("spark-root"), tmp_path_factory.mktemp("local-root")
    _promote_both_snapshots(spark, load_config(None, TEST_OVERRIDES), snapshots, spark_root)
    local_config = load_config(None, TEST_OVERRIDES + ["engine.kind=local"])
    local = Execution(local_config)
    _promote_both_snapshots(local, local_config, snapshots, local_root)
    assert not local.spark_started, "the local engine started Spark"
    return spark_root, local_root


@pytest.mark.parametrize("kind", KINDS)
def test_local_engine_writes_what_spark_writes(roots, kind):
    spark_root, local_root = roots
    on_spark, local = _rows(spark_root, kind), _rows(local_root, kind)
    assert on_spark or kind == "quarantine", f"nothing to compare in {kind}"
    assert len(on_spark) == len(local)
    assert on_spark == local


def _table(folder: Path) -> list[dict]:
    return ds.dataset(sorted(str(p) for p in folder.rglob("*.parquet")), format="parquet").to_table().to_pylist()


@pytest.mark.parametrize("engine", ["spark", "local"])
def test_the_comparison_covers_every_kind_of_drop(roots, engine):
    root = roots[0] if engine == "spark" else roots[1]
    with open_catalog(root) as con:  # in the order they ran: two runs can share a second, and so a name's stamp
        runs = [
            r for (r,) in con.execute("SELECT run_id FROM runs WHERE job = 'l1_dedup' ORDER BY started_at").fetchall()
        ]
    assert len(runs) == 2
    first, second = (root / "drops" / run for run in runs)
    first_l1 = root / "L1" / runs[0]
    reasons = {row["reason"] for row in _table(first) + _table(second)}
    assert {"exact_duplicate", "near_duplicate"} <= reasons
    kept_before = {row["doc_id"] for row in _table(first_l1)}
    named = {json.loads(row["details"])["kept"] for row in _table(second)}
    assert named & kept_before, "no copy in the second snapshot was dropped for a first-snapshot L1 document"


def test_auto_runs_small_inputs_locally_and_large_ones_on_spark():
    config = load_config(None, TEST_OVERRIDES + ["engine.local_max_bytes=1000"])
    engine = Execution(config)
    assert engine.choose("ingest", 1000) == "local"
    assert engine.choose("ingest", 1001) == "spark"
    cluster = load_config(None, TEST_OVERRIDES + ["spark.master=spark://127.0.0.1:7077"])
    assert Execution(cluster).choose("ingest", 10) == "spark"
    forced = load_config(None, TEST_OVERRIDES + ["engine.kind=local", "engine.local_max_bytes=0"])
    assert Execution(forced).choose("ingest", 10**9) == "local"
