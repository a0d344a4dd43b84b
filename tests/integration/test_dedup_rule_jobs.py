"""The per-document near-dedup rule through whole L0 -> L1 runs, on both engines, over two snapshots of
texts shaped to chain: every near drop names an L1 document whose Jaccard with it (measured here on
plain Python sets) reaches the threshold and is recorded; the 60-document chain keeps several; both
engines write the same drops, L1 and cluster sizes; the second snapshot is deduplicated against the
first by the same rule; the catalog's `dedup_clusters` view and the job summary carry the evidence."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs.engine import Execution
from jobs.pipeline import run_l0_to_l1
from tests.dedup_shapes import THRESHOLD, bridged, chain, greedy, jaccard, star
from tests.helpers import TEST_OVERRIDES, open_catalog
from tiers.config import load_config
from tiers.ids import doc_id_from_provenance

OVERRIDES = TEST_OVERRIDES + [
    "l1.steps=[]",
    "ingest.id_field=id",
    "l1.dedup.flags.component_size=50",
    "l1.dedup.flags.source_drop_share=0.5",
]


def _records() -> tuple[list[dict], list[dict], list[str]]:
    rng = random.Random(29)
    long_chain = chain(rng, 90)
    first = [("chain", i, t, "forum.example") for i, t in enumerate(long_chain[:60])]
    first += [("star", i, t, "shop.example") for i, t in enumerate(star(rng, 8))]
    first += [("bridge", i, t, "shop.example") for i, t in enumerate(bridged(rng))]
    copies = chain(rng, 20)
    copies = copies[:8] + [copies[7], copies[7].upper()] + copies[8:]  # exact copies inside a chain
    first += [("copies", i, t, "listing.example") for i, t in enumerate(copies)]
    # the second snapshot: the chain goes on, and old texts come back (exact and lightly edited)
    second = [("chain", i, t, "forum.example") for i, t in enumerate(long_chain[60:], start=60)]
    second += [("again", i, t + " edited", "forum.example") for i, t in enumerate(long_chain[:60:7])]
    second += [("again", 100 + i, t, "shop.example") for i, t in enumerate(star(random.Random(1), 2))]
    second += [("exact", i, long_chain[i], "forum.example") for i in (0, 30)]

    def rows(items):
        return [
            {
                "id": f"{kind}{i:03d}",
                "doc_id": doc_id(f"{kind}{i:03d}"),
                "text": text,
                "url": f"https://{host}/{kind}/{i}",
            }
            for kind, i, text, host in items
        ]

    return rows(first), rows(second), long_chain


def doc_id(record_id: str) -> str:
    """The L0 id ingest gives a JSONL record with this `id` (ingest.id_field=id)."""
    return doc_id_from_provenance("jsonl", record_id)


def _write(path: Path, rows: list[dict]) -> str:
    lines = [json.dumps({k: v for k, v in row.items() if k != "doc_id"}) + "\n" for row in rows]
    path.write_text("".join(lines), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def roots(spark, tmp_path_factory):
    first, second, _ = _records()
    folder = tmp_path_factory.mktemp("dedup-rule")
    inputs = [[_write(folder / "snapshot1.jsonl", first)], [_write(folder / "snapshot2.jsonl", second)]]
    on_spark = load_config(None, OVERRIDES + ["engine.kind=spark"])
    local_config = load_config(None, OVERRIDES + ["engine.kind=local"])
    local = Execution(local_config)
    reliable = load_config(None, OVERRIDES + ["engine.kind=spark", f"spark.checkpoint_dir={folder / 'checkpoints'}"])
    engines = {"spark": (spark, on_spark), "local": (local, local_config)}
    lists = [(f"{n} over lists", e) for n, e in engines.items()]
    roots = {}
    for name, (engine, config) in [*engines.items(), *lists, ("spark checkpointed", (spark, reliable))]:
        roots[name] = folder / name.replace(" ", "-")
        for number, snapshot in enumerate(inputs):
            if number == 1 and name.endswith("over lists"):
                _write_index_as_lists(roots[name])
            run_l0_to_l1(engine, config, snapshot, str(roots[name]))
    assert not local.spark_started
    return roots


def _write_index_as_lists(root: Path) -> None:
    """Rewrite the dedup index files under `root` as indexes were written before sketches were packed:
    signature list<int32> of the uint32 bit patterns, keys list<int64>."""
    files = sorted((root / "dedup_index").rglob("*.parquet"))
    assert files
    for file in files:
        table = pq.read_table(file).replace_schema_metadata(None)  # Spark's copy of the schema names binary
        for name, dtype in (("signature", "<i4"), ("keys", "<i8")):
            values = [None if v is None else np.frombuffer(v, dtype=dtype).tolist() for v in table[name].to_pylist()]
            kind = pa.list_(pa.int32() if dtype == "<i4" else pa.int64())
            table = table.set_column(table.schema.get_field_index(name), name, pa.array(values, kind))
        pq.write_table(table, file)
        (file.parent / f".{file.name}.crc").unlink(missing_ok=True)  # Hadoop's checksum of the old bytes


def _texts() -> dict[str, str]:
    first, second, _ = _records()
    return {row["doc_id"]: row["text"] for row in first + second}


def _query(root: Path, sql: str) -> list[tuple]:
    with open_catalog(root) as con:
        return con.execute(sql).fetchall()


def _near(root: Path) -> list[tuple[str, dict, str]]:
    rows = _query(root, "SELECT doc_id, details, run_id FROM drops WHERE reason = 'near_duplicate' ORDER BY doc_id")
    return [(doc_id, json.loads(details), run_id) for doc_id, details, run_id in rows]


@pytest.mark.parametrize("engine", ["spark", "local"])
def test_every_near_drop_names_an_l1_document_above_the_threshold(roots, engine):
    root, texts = roots[engine], _texts()
    l1 = {d for (d,) in _query(root, "SELECT doc_id FROM L1")}
    near = _near(root)
    assert len(near) > 40
    for doc_id, details, _ in near:
        assert details["kept"] in l1 and details["cluster"] == details["kept"]
        truth = jaccard(texts[doc_id], texts[details["kept"]])
        assert truth >= THRESHOLD, (doc_id, details)
        assert details["jaccard"] == pytest.approx(truth, abs=0.01)
    for doc_id, details in _query(root, "SELECT doc_id, details FROM drops WHERE reason = 'exact_duplicate'"):
        named = json.loads(details)
        assert named["kept"] in l1
        twin = named.get("copy_of", named["kept"])
        assert " ".join(texts[doc_id].lower().split()) == " ".join(texts[twin].lower().split())


@pytest.mark.parametrize("engine", ["spark", "local"])
def test_the_60_document_chain_keeps_several_by_the_rule(roots, engine):
    _, _, long_chain = _records()
    root = roots[engine]
    first_run = _query(root, "SELECT run_id FROM runs WHERE job = 'l1_dedup' ORDER BY started_at LIMIT 1")[0][0]
    kept_of = {d: details["kept"] for d, details, run in _near(root) if run == first_run}
    ids = sorted(doc_id(f"chain{i:03d}") for i in range(60))  # the rule's order: by id
    texts = _texts()
    expected = greedy([texts[d] for d in ids])
    assert [kept_of.get(d, d) for d in ids] == [ids[k] for k in expected]
    assert 10 <= sum(k == i for i, k in enumerate(expected)) < 60


@pytest.mark.parametrize("engine", ["spark", "local"])
def test_the_second_snapshot_keeps_the_first_and_obeys_the_rule(roots, engine):
    root, texts = roots[engine], _texts()
    runs = [r for (r,) in _query(root, "SELECT run_id FROM runs WHERE job = 'l1_dedup' ORDER BY started_at")]
    assert len(runs) == 2
    old_l1 = {d for (d,) in _query(root, f"SELECT doc_id FROM L1 WHERE run_id = '{runs[0]}'")}
    assert len(old_l1) > 20
    second = [(d, details) for d, details, run in _near(root) if run == runs[1]]
    named_old = [(d, details) for d, details in second if details["kept"] in old_l1]
    assert len(named_old) >= 8, "the second snapshot's edited copies are dropped for first-snapshot documents"
    for dropped, details in second:
        assert jaccard(texts[dropped], texts[details["kept"]]) >= THRESHOLD
    exact = dict(
        _query(root, f"SELECT doc_id, details FROM drops WHERE run_id = '{runs[1]}' AND reason = 'exact_duplicate'")
    )
    near_second = dict(second)
    first_kept = {d: details["kept"] for d, details, run in _near(root) if run == runs[0]}
    for i in (0, 30):
        copy, original = doc_id(f"exact{i:03d}"), doc_id(f"chain{i:03d}")
        if original in old_l1:  # a copy of an L1 document is an exact duplicate naming it
            assert json.loads(exact[copy])["kept"] == original
        else:  # a copy of a document dropped before names that document's L1 document, by the rule
            assert copy not in exact and near_second[copy]["kept"] == first_kept[original]


def _outputs(root: Path) -> tuple[list[tuple], list[tuple]]:
    drops = _query(root, "SELECT doc_id, stage, reason, details FROM drops ORDER BY doc_id")
    l1 = _query(root, "SELECT doc_id, dedup_cluster_size FROM L1 ORDER BY doc_id")
    return drops, l1


def test_both_engines_write_the_same_drops_l1_and_cluster_sizes(roots):
    on_spark, local = _outputs(roots["spark"]), _outputs(roots["local"])
    assert on_spark[0] and on_spark == local


def test_reliable_checkpoints_write_the_same_outputs_and_leave_no_files(roots):
    assert _outputs(roots["spark checkpointed"]) == _outputs(roots["spark"])
    folder = roots["spark"].parent / "checkpoints"
    assert folder.is_dir(), "each Spark stage made its checkpoint folder there"
    assert [p for p in folder.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("engine", ["spark", "local"])
def test_an_index_written_before_sketches_were_packed_dedups_the_same(roots, engine):
    """A first snapshot's index in the older list layout: the second snapshot's run reads it and writes
    what it writes over a packed index."""
    drops = "SELECT doc_id, stage, reason, details FROM drops ORDER BY doc_id"
    l1 = "SELECT doc_id, dedup_cluster_size FROM L1 ORDER BY doc_id"
    for sql in (drops, l1):
        assert _query(roots[f"{engine} over lists"], sql) == _query(roots[engine], sql)


@pytest.mark.parametrize("engine", ["spark", "local"])
def test_cluster_sizes_and_the_clusters_view_count_the_drops(roots, engine):
    root = roots[engine]
    named_in_run, named = {}, {}
    for details, run in _query(
        root, "SELECT details, run_id FROM drops WHERE stage IN ('exact_dedup', 'minhash_dedup')"
    ):
        kept = json.loads(details)["kept"]
        named_in_run[(kept, run)] = named_in_run.get((kept, run), 0) + 1
        named[kept] = named.get(kept, 0) + 1
    for doc_id, size, run in _query(root, "SELECT doc_id, dedup_cluster_size, run_id FROM L1"):
        assert size == 1 + named_in_run.get((doc_id, run), 0)
    view = _query(root, "SELECT cluster_id, kept_id, size, min_jaccard, median_jaccard, source FROM dedup_clusters")
    assert {row[0]: row[2] - 1 for row in view} == named
    for cluster_id, kept_id, size, lowest, median, source in view:
        assert cluster_id == kept_id
        assert lowest is None or THRESHOLD <= lowest <= median <= 1.0
    sources = dict(_query(root, "SELECT doc_id, source FROM L0"))
    for cluster_id, *_, source in view:
        members = [d for (d,) in _query(root, f"SELECT doc_id FROM drops WHERE details LIKE '%\"{cluster_id}\"%'")]
        assert source in {sources[d] for d in members} | {None}


@pytest.mark.parametrize("engine", ["spark", "local"])
def test_the_summary_flags_large_components_and_sources(roots, engine):
    root = roots[engine]
    first_run = _query(root, "SELECT run_id FROM runs WHERE job = 'l1_dedup' ORDER BY started_at LIMIT 1")[0][0]
    counts = json.loads(_query(root, f"SELECT counts_json FROM runs WHERE run_id = '{first_run}'")[0][0])
    evidence = counts["dedup"]
    assert evidence["near_below_threshold"] == 0
    assert THRESHOLD <= evidence["near_jaccard_min"] <= evidence["near_jaccard_median"]
    assert evidence["components_over_size"] == 1
    chain_ids = [doc_id(f"chain{i:03d}") for i in range(60)]
    assert evidence["large_components"] == [{"component": min(chain_ids), "size": 60}]
    assert evidence["capped_documents"] == 0
    first, _, _ = _records()
    dropped = {d for (d,) in _query(root, f"SELECT doc_id FROM drops WHERE run_id = '{first_run}'")}
    per_domain = {}
    for row in first:
        domain = row["url"].split("/")[2]
        docs, lost = per_domain.get(domain, (0, 0))
        per_domain[domain] = (docs + 1, lost + (row["doc_id"] in dropped))
    expected = {domain for domain, (docs, lost) in per_domain.items() if docs >= 20 and lost > docs * 0.5}
    assert expected, "the shapes lose more than half of some domain"
    assert {row["domain"] for row in evidence["sources_flagged"] if "domain" in row} == expected
