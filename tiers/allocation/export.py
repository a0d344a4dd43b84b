"""`tiers export`: one stage of the current allocation as training shards, plus a manifest and blends.

Repeats are applied (a document with 3 repeats is 3 rows, each with its `repeat` index) and the rows
are put in a deterministic order: shuffle orders them by hash(doc_id, repeat, stage, seed);
curriculum writes the stage's sources one after the other (in the plan's order), each shuffled so.
The order is computed on narrow rows (no text) inside DuckDB; each shard is one `COPY` that joins the
texts of its rows, so texts go from the tier files to the shard without passing through Python.
Shards are Parquet or JSON lines, which Hugging Face `datasets`, Polars and DuckDB read as they are.

Beside the shards: `manifest.json` (shards, documents, tokens, sources), `megatron_blend.json` (per
stage, Megatron-LM's `--data-path` list of weight and path prefix per source) and `bucket_weights.json`
(per stage, `[weight, repetition_factor]` for each home tier and quality bucket).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tiers.allocation.documents import texts_sql
from tiers.allocation.plan import parse_plan
from tiers.allocation.store import bound_memory, spill_folder, current_allocation
from tiers.catalog import Catalog

log = logging.getLogger(__name__)

DEFAULT_SHARD_ROWS = 100_000


class ExportError(RuntimeError):
    """Nothing to export: no allocation, or no such stage in it."""


@dataclass(frozen=True)
class ExportResult:
    out: Path
    shards: list[str]
    rows: int
    tokens: int


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export_stage(root: str | Path, stage: str, out: str | Path, fmt: Literal["parquet", "jsonl"] = "parquet",
                 shard_rows: int = DEFAULT_SHARD_ROWS, memory_limit: str | None = None) -> ExportResult:
    catalog = Catalog(root)
    out = Path(out).resolve()
    with spill_folder(catalog.root) as spill, catalog.connect(read_only=True) as con:
        bound_memory(con, memory_limit, spill)
        allocation_id = current_allocation(con)
        if allocation_id is None:
            raise ExportError(f"no allocation in {catalog.root}: run `tiers allocate --root {root} --plan ...` first")
        plan_json, manifest_hash = con.execute("SELECT plan_json, manifest_hash FROM allocation_plans WHERE allocation_id = ?",
                                               [allocation_id]).fetchone()
        plan = parse_plan(json.loads(plan_json))
        names = [s.name for s in plan.stages]
        if stage not in names:
            raise ExportError(f"stage {stage!r} is not in allocation {allocation_id} (stages: {', '.join(names)})")
        spec = plan.stage(stage)
        order = plan.order_of(spec)
        source_rank = " ".join(f"WHEN '{s.name}' THEN {i}" for i, s in enumerate(spec.sources))
        first = f"CASE source {source_rank} END, " if order == "curriculum" else ""
        con.execute(f"""
            CREATE TEMP TABLE export_keys AS
            SELECT row_number() OVER (ORDER BY {first}md5_number_lower(doc_id || '|' || rep || '|' || stage || '|' || $seed),
                                      doc_id, rep) - 1 AS position, *
            FROM (SELECT doc_id, tier, bucket, source, stage, n_tokens, unnest(range(repeats)) AS rep
                  FROM allocation_rows WHERE allocation_id = $id AND stage = $stage)""",
                    {"seed": str(plan.seed), "id": allocation_id, "stage": stage})
        rows, tokens = con.execute("SELECT count(*), coalesce(sum(n_tokens), 0) FROM export_keys").fetchone()
        out.mkdir(parents=True, exist_ok=True)
        count = max(1, -(-rows // shard_rows))
        suffix = "parquet" if fmt == "parquet" else "jsonl"
        copy_format = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT json"
        texts = texts_sql(con)
        shards = []
        for k in range(count):
            name = f"{stage}-{k:05d}-of-{count:05d}.{suffix}"
            con.execute(f"""
                COPY (SELECT k.doc_id, t.text, k.n_tokens, k.tier, k.bucket, k.source, k.rep AS repeat, k.position
                      FROM export_keys k JOIN ({texts}) t USING (doc_id, tier)
                      WHERE k.position >= {k * shard_rows} AND k.position < {(k + 1) * shard_rows}
                      ORDER BY k.position) TO {_quote(out / name)} ({copy_format})""")
            n, t = con.execute(f"SELECT count(*), coalesce(sum(n_tokens), 0) FROM export_keys WHERE position >= {k * shard_rows} "
                               f"AND position < {(k + 1) * shard_rows}").fetchone()
            shards.append({"file": name, "documents": n, "tokens": int(t)})
        sources = {src: {"rows": n, "documents": d, "tokens": int(t)} for src, n, d, t in con.execute(
            "SELECT source, count(*), count(DISTINCT doc_id), sum(n_tokens) FROM export_keys GROUP BY 1 ORDER BY 1").fetchall()}
        tiers = {tier: int(t) for tier, t in con.execute(
            "SELECT tier, sum(n_tokens) FROM export_keys GROUP BY 1 ORDER BY 1").fetchall()}
        unique = con.execute("SELECT count(DISTINCT doc_id) FROM export_keys").fetchone()[0]
        manifest = {"stage": stage, "allocation_id": allocation_id, "manifest_hash": manifest_hash, "format": fmt,
                    "order": order, "seed": plan.seed, "shards": shards, "documents": rows, "unique_documents": unique,
                    "tokens": int(tokens), "sources": sources, "tiers": tiers,
                    "columns": ["doc_id", "text", "n_tokens", "tier", "bucket", "source", "repeat", "position"]}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        write_blends(con, allocation_id, out)
    log.info("exported %s: %d rows, %d tokens in %d shards under %s", stage, rows, tokens, count, out)
    return ExportResult(out, [s["file"] for s in shards], int(rows), int(tokens))


def write_blends(con, allocation_id: str, out: Path, prefix: str = "data") -> None:
    """megatron_blend.json and bucket_weights.json of the whole allocation (every stage)."""
    blend: dict[str, dict] = {}
    for stage, source, tokens in con.execute(
            "SELECT stage, source, sum(repeats * n_tokens) FROM allocation_rows WHERE allocation_id = ? "
            "GROUP BY ALL ORDER BY min(stage_index), source", [allocation_id]).fetchall():
        blend.setdefault(stage, {})[source] = int(tokens)
    megatron = {stage: {"data_path": [x for source, t in parts.items()
                                      for x in (round(t / sum(parts.values()), 6), f"{prefix}/{stage}/{source}")],
                        "tokens": sum(parts.values())}
                for stage, parts in blend.items()}
    (out / "megatron_blend.json").write_text(json.dumps(megatron, indent=1))
    buckets: dict[str, dict[str, list[float]]] = {}
    for stage, tier, bucket, tokens, unique in con.execute(
            "SELECT r.stage, r.tier, r.bucket, sum(r.repeats * r.n_tokens), any_value(c.unique_tokens) "
            "FROM allocation_rows r JOIN allocation_cells c ON c.allocation_id = r.allocation_id AND c.stage = r.stage "
            "AND c.tier = r.tier AND c.bucket IS NOT DISTINCT FROM r.bucket WHERE r.allocation_id = ? "
            "GROUP BY r.stage, r.tier, r.bucket ORDER BY min(r.stage_index), 2, 3", [allocation_id]).fetchall():
        total = sum(blend[stage].values())
        name = f"{tier}" if bucket is None else f"{tier}/bucket_{bucket:02d}"
        buckets.setdefault(stage, {})[name] = [round(tokens / total, 6), round(tokens / unique, 4)]
    (out / "bucket_weights.json").write_text(json.dumps(buckets, indent=1))
