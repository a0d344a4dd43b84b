"""`tiers export`: one stage of the current allocation as training shards, plus a manifest and blends.

Repeats are applied (a document with 3 repeats is 3 rows, each with its `repeat` index) and the rows
are put in a deterministic order: shuffle orders them by hash(doc_id, repeat, stage, seed);
curriculum writes the stage's sources one after the other (in the plan's order), each shuffled so.
The order is computed on narrow rows (no text) inside DuckDB, without sorting the whole stage: a
histogram of the order key's leading part (source rank, top bits of the hash) gives each bin's first
position, and a shard is the rows of the few bins that overlap its positions, ranked exactly within
them (`tiers.apps.allocation.partition`). Each shard is one `COPY` that joins the texts of its rows, so
texts go from the tier files to the shard without passing through Python, and the working memory
follows `shard_rows`, not the size of the stage. Shards are Parquet or JSON lines, which Hugging
Face `datasets`, Polars and DuckDB read as they are.

Beside the shards:

- `manifest.json`: shards, documents, tokens, sources.
- `megatron_blend.json`: the exported stage as Megatron-LM's `--data-path` list, `[weight, prefix, ...]`,
  one entry per shard. Megatron trains on indexed datasets (`<prefix>.bin` + `<prefix>.idx`), which
  its `tools/preprocess_data.py` writes from a JSON-lines file: with `--input <out>/<shard>.jsonl
  --output-prefix <out>/<shard name without extension> --json-keys text` it writes
  `<out>/<shard name without extension>_text_document.{bin,idx}`. That is each shard's prefix here
  (absolute, under `--out`; the rule is also in the file as `prefix_rule`). A Parquet shard must be
  written as JSON lines first (`--format jsonl` does that directly); the prefixes are the same. The
  weights are each shard's share of the stage's tokens (they sum to 1 up to float rounding), so
  Megatron's blended sampler draws every shard in proportion to its size and one pass over the blend
  is one pass over the export, repeats included. The blend is per shard, not per source, because the
  shards are already the stage's mix: a per-source blend would need per-source files and would let
  Megatron mix again. Megatron shuffles within and interleaves across datasets, so the export's own
  order (a curriculum's source blocks) does not survive its sampler. `source_weights` gives the
  sources' token shares for reference. `megatron_data_args.txt` holds the same list, one
  `weight prefix` pair per line, for Megatron's `--data-args-path`.
- `bucket_weights.json`: per stage of the allocation, `[weight, repetition_factor]` for each home tier
  and quality bucket (mixture-search tools read these).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from tiers.apps.allocation.documents import texts_sql
from tiers.apps.allocation.partition import Layout
from tiers.apps.allocation.plan import Plan, parse_plan
from tiers.apps.allocation.store import bound_memory, current_allocation, spill_folder
from tiers.catalog import Catalog

log = logging.getLogger(__name__)

DEFAULT_SHARD_ROWS = 100_000
MEGATRON_SUFFIX = "_text_document"  # preprocess_data.py's `_{json key}_{level}` for --json-keys text, no sentence split
PREFIX_RULE = (
    "<--out>/<shard file name without extension>" + MEGATRON_SUFFIX + ": the --output-prefix "
    "'<--out>/<shard file name without extension>' given to Megatron-LM tools/preprocess_data.py "
    "--input <the shard as JSON lines> --json-keys text writes <prefix>.bin and <prefix>.idx"
)
COLUMNS = ["doc_id", "text", "n_tokens", "tier", "bucket", "source", "repeat", "position"]


class ExportError(RuntimeError):
    """Nothing to export: no allocation, no such stage in it, or a stage without documents."""


@dataclass(frozen=True)
class ExportResult:
    out: Path
    shards: list[str]
    rows: int
    tokens: int


@dataclass(frozen=True)
class StageOrder:
    """The stage's rows with their order key (rank, h, doc_id, rep) and a histogram of its leading part,
    bin = rank * 2**bits + the top `bits` bits of h (a bin's rows are contiguous in the order)."""

    rows_sql: str  # doc_id, tier, bucket, source, stage, n_tokens, rep, rank, h
    bits: int
    bins: list[tuple[int, int, int]]  # bin, first position, rows

    @property
    def bin_sql(self) -> str:
        return f"(rank::HUGEINT * {1 << self.bits} + (h >> {64 - self.bits}))"


def source_params(plan: Plan, stage: str) -> dict[str, str]:
    """The stage's source names as parameters `$source_<i>` (names come from the plan: bound, never
    written into the SQL)."""
    return {f"source_{i}": s.name for i, s in enumerate(plan.stage(stage).sources)}


def _stage_rows_sql(plan: Plan, stage: str) -> str:
    spec = plan.stage(stage)
    rank = "0"
    if plan.order_of(spec) == "curriculum":
        rank = "CASE source " + " ".join(f"WHEN $source_{i} THEN {i}" for i in range(len(spec.sources))) + " END"
    return f"""
        SELECT doc_id, tier, bucket, source, stage, n_tokens, rep, {rank} AS rank,
               md5_number_lower(doc_id || '|' || rep || '|' || stage || '|' || $seed) AS h
        FROM (SELECT doc_id, tier, bucket, source, stage, n_tokens, unnest(range(repeats)) AS rep
              FROM allocation_rows WHERE allocation_id = $id AND stage = $stage)"""


def stage_order(
    con: duckdb.DuckDBPyConnection, plan: Plan, stage: str, params: dict, rows: int, layout: Layout
) -> StageOrder:
    order = StageOrder(_stage_rows_sql(plan, stage), layout.bin_bits(rows), [])
    position = 0
    for b, n in con.execute(
        f"SELECT {order.bin_sql} AS bin, count(*) FROM ({order.rows_sql}) GROUP BY ALL ORDER BY ALL", params
    ).fetchall():
        order.bins.append((int(b), position, int(n)))
        position += n
    return order


def _shard_keys(con: duckdb.DuckDBPyConnection, order: StageOrder, params: dict, low: int, high: int) -> None:
    """Temp table `shard_keys`: the rows at positions [low, high), with their position."""
    overlap = [(b, first) for b, first, n in order.bins if first < high and first + n > low]
    where, base = "false", 0
    if overlap:
        (first_bin, base), (last_bin, _) = overlap[0], overlap[-1]
        where = f"{order.bin_sql} BETWEEN {first_bin} AND {last_bin}"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE shard_keys AS
        SELECT * FROM (
            SELECT {base}::BIGINT + row_number() OVER (ORDER BY rank, h, doc_id, rep) - 1 AS position,
                   doc_id, tier, bucket, source, stage, n_tokens, rep
            FROM ({order.rows_sql}) WHERE {where})
        WHERE position >= {low} AND position < {high}""",
        params,
    )


def export_stage(
    root: str | Path,
    stage: str,
    out: str | Path,
    fmt: Literal["parquet", "jsonl"] = "parquet",
    shard_rows: int = DEFAULT_SHARD_ROWS,
    memory_limit: str | None = None,
    layout: Layout | None = None,
) -> ExportResult:
    """Write `stage` of the current allocation under `out` (see the module docstring); `layout` sets the
    histogram's bins (the shards do not depend on it)."""
    layout = layout or Layout()
    catalog = Catalog(root)
    out = Path(out).resolve()
    with spill_folder(catalog.root) as spill, catalog.connect(read_only=True) as con:
        bound_memory(con, memory_limit, spill)
        allocation_id = current_allocation(con)
        if allocation_id is None:
            raise ExportError(f"no allocation in {catalog.root}: run `tiers allocate --root {root} --plan ...` first")
        plan_json, manifest_hash = con.execute(
            "SELECT plan_json, manifest_hash FROM allocation_plans WHERE allocation_id = ?", [allocation_id]
        ).fetchone()
        plan = parse_plan(json.loads(plan_json))
        names = [s.name for s in plan.stages]
        if stage not in names:
            raise ExportError(f"stage {stage!r} is not in allocation {allocation_id} (stages: {', '.join(names)})")
        params = {"seed": str(plan.seed), "id": allocation_id, "stage": stage}
        if plan.order_of(plan.stage(stage)) == "curriculum":
            params.update(source_params(plan, stage))
        totals = _stage_totals(con, allocation_id, stage)
        rows, tokens = totals["rows"], totals["tokens"]
        if not rows:
            raise ExportError(
                f"stage {stage!r} of allocation {allocation_id} holds no documents, so there is nothing to write: "
                "its sources' tiers are empty or hold no tokens (see `tiers catalog status`); fix the tiers or the "
                "plan and run `tiers allocate` again"
            )
        order = stage_order(con, plan, stage, params, rows, layout)
        out.mkdir(parents=True, exist_ok=True)
        shards = _write_shards(con, order, params, out, stage, fmt, rows, shard_rows, totals["unbucketed"] > 0)
        manifest = {
            "stage": stage,
            "allocation_id": allocation_id,
            "manifest_hash": manifest_hash,
            "format": fmt,
            "order": plan.order_of(plan.stage(stage)),
            "seed": plan.seed,
            "shards": shards,
            "documents": rows,
            "unique_documents": totals["unique"],
            "tokens": tokens,
            "sources": totals["sources"],
            "tiers": totals["tiers"],
            "columns": COLUMNS,
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        write_megatron_blend(out, stage, shards, totals["sources"])
        write_bucket_weights(con, allocation_id, out)
    log.info("exported %s: %d rows, %d tokens in %d shards under %s", stage, rows, tokens, len(shards), out)
    return ExportResult(out, [s["file"] for s in shards], rows, tokens)


def _stage_totals(con: duckdb.DuckDBPyConnection, allocation_id: str, stage: str) -> dict:
    """Rows (repeats applied), documents and tokens of the stage, per source and per tier."""
    where = "allocation_id = ? AND stage = ?"
    sources = {
        src: {"rows": int(n), "documents": int(d), "tokens": int(t)}
        for src, n, d, t in con.execute(
            f"SELECT source, sum(repeats), count(*), sum(repeats * n_tokens) FROM allocation_rows WHERE {where} "
            "GROUP BY 1 ORDER BY 1",
            [allocation_id, stage],
        ).fetchall()
    }
    tiers = {
        tier: int(t)
        for tier, t in con.execute(
            f"SELECT tier, sum(repeats * n_tokens) FROM allocation_rows WHERE {where} GROUP BY 1 ORDER BY 1",
            [allocation_id, stage],
        ).fetchall()
    }
    unbucketed = con.execute(
        f"SELECT count(*) FROM allocation_rows WHERE {where} AND bucket IS NULL", [allocation_id, stage]
    ).fetchone()[0]
    return {
        "sources": sources,
        "tiers": tiers,
        "rows": sum(s["rows"] for s in sources.values()),
        "unbucketed": unbucketed,
        "unique": sum(s["documents"] for s in sources.values()),
        "tokens": sum(s["tokens"] for s in sources.values()),
    }


def _write_shards(
    con: duckdb.DuckDBPyConnection,
    order: StageOrder,
    params: dict,
    out: Path,
    stage: str,
    fmt: str,
    rows: int,
    shard_rows: int,
    nullable_bucket: bool,
) -> list[dict]:
    """One COPY per shard. Every shard gets the same schema: DuckDB marks a Parquet column required when
    the rows it writes cannot hold NULL, so `bucket` is kept nullable in every shard of a stage that has
    documents without a bucket (L3, L4), even in a shard that has none of them."""
    bucket = "CASE WHEN k.bucket IS NULL THEN NULL ELSE k.bucket END" if nullable_bucket else "k.bucket"
    count = max(1, -(-rows // shard_rows))
    suffix = "parquet" if fmt == "parquet" else "jsonl"
    copy_format = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT json"
    texts = texts_sql(con)
    shards = []
    for k in range(count):
        name = f"{stage}-{k:05d}-of-{count:05d}.{suffix}"
        _shard_keys(con, order, params, k * shard_rows, min(rows, (k + 1) * shard_rows))
        con.execute(
            f"""
            COPY (SELECT k.doc_id, t.text, k.n_tokens, k.tier, {bucket} AS bucket, k.source, k.rep AS repeat, k.position
                  FROM shard_keys k JOIN ({texts}) t USING (doc_id, tier)
                  ORDER BY k.position) TO $target ({copy_format})""",
            {"target": str(out / name)},
        )
        n, t = con.execute("SELECT count(*), coalesce(sum(n_tokens), 0) FROM shard_keys").fetchone()
        shards.append({"file": name, "documents": int(n), "tokens": int(t)})
    con.execute("DROP TABLE IF EXISTS shard_keys")
    return shards


def megatron_prefix(out: Path, shard: str) -> str:
    """The indexed-dataset prefix Megatron's preprocess_data.py writes for a shard (see the module docstring)."""
    return str(out / (Path(shard).stem + MEGATRON_SUFFIX))


def write_megatron_blend(out: Path, stage: str, shards: list[dict], sources: dict[str, dict]) -> None:
    """megatron_blend.json and megatron_data_args.txt: weight and prefix of every shard of the stage."""
    total = sum(s["tokens"] for s in shards)
    pairs = [(s["tokens"] / total, megatron_prefix(out, s["file"])) for s in shards if total and s["tokens"]]
    blend = {
        stage: {
            "data_path": [x for pair in pairs for x in pair],
            "tokens": total,
            "shards": [s["file"] for s in shards if total and s["tokens"]],
            "json_keys": ["text"],
            "prefix_rule": PREFIX_RULE,
            "source_weights": {src: v["tokens"] / total for src, v in sources.items()} if total else {},
        }
    }
    (out / "megatron_blend.json").write_text(json.dumps(blend, indent=1))
    (out / "megatron_data_args.txt").write_text("".join(f"{weight!r} {prefix}\n" for weight, prefix in pairs))


def write_bucket_weights(con: duckdb.DuckDBPyConnection, allocation_id: str, out: Path) -> None:
    """bucket_weights.json of the whole allocation (every stage): [token share, repetition factor] per cell."""
    totals = dict(
        con.execute(
            "SELECT stage, sum(repeats * n_tokens) FROM allocation_rows WHERE allocation_id = ? GROUP BY ALL",
            [allocation_id],
        ).fetchall()
    )
    buckets: dict[str, dict[str, list[float]]] = {}
    for stage, tier, bucket, tokens, unique in con.execute(
        "SELECT r.stage, r.tier, r.bucket, sum(r.repeats * r.n_tokens), any_value(c.unique_tokens) "
        "FROM allocation_rows r JOIN allocation_cells c ON c.allocation_id = r.allocation_id AND c.stage = r.stage "
        "AND c.tier = r.tier AND c.bucket IS NOT DISTINCT FROM r.bucket WHERE r.allocation_id = ? "
        "GROUP BY r.stage, r.tier, r.bucket ORDER BY min(r.stage_index), 2, 3",
        [allocation_id],
    ).fetchall():
        name = f"{tier}" if bucket is None else f"{tier}/bucket_{bucket:02d}"
        buckets.setdefault(stage, {})[name] = [round(tokens / totals[stage], 6), round(tokens / unique, 4)]
    (out / "bucket_weights.json").write_text(json.dumps(buckets, indent=1))
