"""Export of a stage: shards that datasets, Polars and DuckDB read, repeats applied, tokens recounted
with the tokenizer equal to the allocation's, a deterministic order, curriculum blocks, one schema in
every shard, blends (Megatron prefixes of the exported shards)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from tests.unit.test_allocation import plan, root  # noqa: F401 - the hand-built root fixture
from tiers.apps.allocation.allocate import allocate
from tiers.apps.allocation.export import MEGATRON_SUFFIX, export_stage
from tiers.tokens import count_tokens


def test_export_parquet_loads_everywhere(root, tmp_path):  # noqa: F811
    data_root, eval_dir = root
    allocate(data_root, plan(), eval_dir=eval_dir)
    result = export_stage(data_root, "pretrain", tmp_path / "out", "parquet", shard_rows=10)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert len(result.shards) == 4 and manifest["documents"] == 39  # 22 + 13 + 4 rows (web 2250 -> 22 docs x 100)
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets is not installed")
    files = [str(tmp_path / "out" / f) for f in result.shards]
    loaded = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "hf"))
    assert loaded.num_rows == 39
    recounted = sum(count_tokens(loaded["text"]))
    con = duckdb.connect(str(data_root / "catalog.duckdb"), read_only=True)
    planned = con.execute(
        "SELECT sum(realized_tokens) FROM allocation_targets t JOIN allocation_plans p USING (allocation_id) "
        "WHERE p.is_current AND stage = 'pretrain'"
    ).fetchone()[0]
    assert recounted == planned == manifest["tokens"]
    repeats = dict(con.execute("SELECT doc_id, repeats FROM allocation WHERE stage = 'pretrain'").fetchall())
    assert Counter(loaded["doc_id"]) == Counter(repeats)
    polars = pytest.importorskip("polars")
    assert polars.read_parquet(files).height == 39
    assert duckdb.connect().execute(f"SELECT count(*) FROM read_parquet({files})").fetchone()[0] == 39
    buckets = json.loads((tmp_path / "out" / "bucket_weights.json").read_text())
    assert buckets["pretrain"]["L3"] == [pytest.approx(400 / 3900, abs=1e-6), 2.0]


def test_export_is_deterministic_and_jsonl(root, tmp_path):  # noqa: F811
    data_root, eval_dir = root
    allocate(data_root, plan(), eval_dir=eval_dir)
    first = export_stage(data_root, "decay", tmp_path / "a", "jsonl", shard_rows=4)
    second = export_stage(data_root, "decay", tmp_path / "b", "jsonl", shard_rows=4)
    assert [(tmp_path / "a" / f).read_bytes() for f in first.shards] == [
        (tmp_path / "b" / f).read_bytes() for f in second.shards
    ]
    lines = [json.loads(text) for f in first.shards for text in (tmp_path / "a" / f).read_text().splitlines()]
    assert len(lines) == first.rows and [row["position"] for row in lines] == list(range(first.rows))
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets is not installed")
    loaded = datasets.load_dataset(
        "json",
        data_files=[str(tmp_path / "a" / f) for f in first.shards],
        split="train",
        cache_dir=str(tmp_path / "hf"),
    )
    assert loaded.num_rows == first.rows


def test_curriculum_writes_sources_in_order(root, tmp_path):  # noqa: F811
    data_root, eval_dir = root
    allocate(data_root, plan(order="curriculum"), eval_dir=eval_dir)
    result = export_stage(data_root, "pretrain", tmp_path / "c", "parquet")
    order = (
        duckdb.connect()
        .execute(f"SELECT source FROM read_parquet('{tmp_path / 'c' / result.shards[0]}') ORDER BY position")
        .fetchall()
    )
    sources = [s for (s,) in order]
    assert sources == ["web"] * sources.count("web") + ["hq"] * sources.count("hq") + ["rewrites"] * sources.count(
        "rewrites"
    )


def test_every_shard_has_one_schema(root, tmp_path):  # noqa: F811
    """Curriculum shards of 8 rows: the first hold only bucketed web rows, the last the L3 rewrites
    (no bucket); `bucket` must still be the same nullable column in all of them."""
    pq = pytest.importorskip("pyarrow.parquet")
    data_root, eval_dir = root
    allocate(data_root, plan(order="curriculum"), eval_dir=eval_dir)
    result = export_stage(data_root, "pretrain", tmp_path / "s", "parquet", shard_rows=8)
    schemas = [pq.read_schema(tmp_path / "s" / f) for f in result.shards]
    buckets = [pq.read_table(tmp_path / "s" / f).column("bucket").null_count for f in result.shards]
    assert buckets[0] == 0 and buckets[-1] > 0  # a shard without NULL buckets and one with them
    assert all(s.equals(schemas[0]) for s in schemas) and schemas[0].field("bucket").nullable


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_megatron_blend_names_the_exported_shards(root, tmp_path, fmt):  # noqa: F811
    """megatron_blend.json lists, for the exported stage only, one [weight, prefix] per shard: the prefix
    is <out>/<shard without extension>_text_document (what Megatron-LM's preprocess_data.py writes for
    --output-prefix <out>/<shard without extension> --json-keys text), the weight the shard's share of
    the stage's tokens; megatron_data_args.txt holds the same pairs for --data-args-path."""
    data_root, eval_dir = root
    allocate(data_root, plan(), eval_dir=eval_dir)
    out = tmp_path / "m"
    result = export_stage(data_root, "pretrain", out, fmt, shard_rows=10)
    manifest = json.loads((out / "manifest.json").read_text())
    blend = json.loads((out / "megatron_blend.json").read_text())
    assert list(blend) == ["pretrain"]  # other stages are exported (and blended) into their own --out
    weights, prefixes = blend["pretrain"]["data_path"][0::2], blend["pretrain"]["data_path"][1::2]
    assert len(prefixes) == len(result.shards) == 4
    for prefix, shard in zip(prefixes, manifest["shards"]):
        assert prefix.endswith(MEGATRON_SUFFIX) and Path(prefix).parent == out.resolve()
        source = Path(prefix[: -len(MEGATRON_SUFFIX)] + "." + ("jsonl" if fmt == "jsonl" else "parquet"))
        assert source.is_file() and source.name == shard["file"]
    assert sum(weights) == pytest.approx(1.0, abs=1e-12)
    assert [w * manifest["tokens"] for w in weights] == pytest.approx([s["tokens"] for s in manifest["shards"]])
    assert blend["pretrain"]["tokens"] == manifest["tokens"] == 3900
    assert blend["pretrain"]["source_weights"] == pytest.approx(
        {src: v["tokens"] / 3900 for src, v in manifest["sources"].items()}
    )
    pairs = [line.split() for line in (out / "megatron_data_args.txt").read_text().splitlines()]
    assert [(float(w), p) for w, p in pairs] == list(zip(weights, prefixes))
    if fmt == "jsonl":  # what preprocess_data.py reads: one JSON object per line with the `text` key
        first = (out / result.shards[0]).read_text().splitlines()[0]
        assert isinstance(json.loads(first)["text"], str)


def test_a_memory_cap_changes_nothing_in_the_result(root, tmp_path):  # noqa: F811
    data_root, eval_dir = root
    free = allocate(data_root, plan(), eval_dir=eval_dir)
    capped = allocate(data_root, plan(), eval_dir=eval_dir, memory_limit="64MB")
    assert capped.manifest_hash == free.manifest_hash
    first = export_stage(data_root, "decay", tmp_path / "free", "jsonl", shard_rows=4)
    second = export_stage(data_root, "decay", tmp_path / "capped", "jsonl", shard_rows=4, memory_limit="64MB")
    assert [(tmp_path / "free" / f).read_bytes() for f in first.shards] == [
        (tmp_path / "capped" / f).read_bytes() for f in second.shards
    ]
    assert not any(p.name.startswith(".") for p in (tmp_path / "capped").iterdir())  # nothing but the export in --out
    assert not any((Path(data_root) / "_staging").glob("duckdb_spill*"))  # the spill folders go with their runs


def test_a_source_name_with_a_quote_a_semicolon_and_a_comment_is_bound_not_written_into_sql(root, tmp_path):  # noqa: F811
    """A curriculum orders by source name, and the names reach SQL: as parameters, so a name that would
    end a string literal, end the statement and comment out the rest is just a name."""
    data_root, eval_dir = root
    hostile = "web'; DROP TABLE allocation_rows; --"
    base = plan(order="curriculum")
    stages = [
        {
            "name": stage.name,
            "budget": stage.budget.model_dump(exclude_none=True),
            "sources": [
                {**s.model_dump(exclude_none=True), "name": hostile if s.name == "web" else s.name}
                for s in stage.sources
            ],
        }
        for stage in base.stages
    ]
    allocate(data_root, plan(order="curriculum", stages=stages), eval_dir=eval_dir)
    result = export_stage(data_root, "pretrain", tmp_path / "c", "parquet")
    shard = str(tmp_path / "c" / result.shards[0])
    sources = [
        s
        for (s,) in duckdb.connect().execute("SELECT source FROM read_parquet(?) ORDER BY position", [shard]).fetchall()
    ]
    assert sources[0] == hostile and set(sources) == {hostile, "hq", "rewrites"}
    assert sources == sorted(sources, key=[hostile, "hq", "rewrites"].index)
    con = duckdb.connect(str(data_root / "catalog.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM allocation_rows WHERE source = ?", [hostile]).fetchone()[0] > 0
