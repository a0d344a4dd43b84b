"""CPU cost of the L1 operator pipeline, per operator, and an output-equality check against a saved run.

Builds an L0-like Arrow table (doc_id, text, url, source, crawl) from `--parquet PATH` or, by default,
from the real texts in ../shared/data (dolma CC sample and WARCs, resiliparse WARC, scrapinghub gold
article bodies, trafilatura pages after extraction), runs the default `l1.steps` over it in batches
and prints per-operator CPU-seconds (and the pipeline's wall-clock figures), total CPU-seconds and docs
per CPU-second.

`--save DIR` writes the kept and dropped tables; `--compare DIR` checks them column by column against
a saved run and prints every difference (floats compared after the float32 cast they are stored as).
Run: python -m bench.operators --parquet /tmp/proto/l0.parquet --save /tmp/ops_baseline
     python -m bench.operators --parquet /tmp/proto/l0.parquet --compare /tmp/ops_baseline
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tiers.config import load_config
from tiers.ops.base import OpResult, OpStats, Operator
from tiers.ops.langid import LanguageId, load_lid_model
from tiers.ops.pipeline import OperatorPipeline

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
L0_COLUMNS = ("doc_id", "text", "url", "source", "crawl")
L0_SCHEMA = pa.schema([(name, pa.string()) for name in L0_COLUMNS])


def shared_l0(shared: Path = SHARED) -> pa.Table:
    """L0 rows from the real texts under `shared` (read the same way ingest reads them)."""
    from tiers.io.html import decode_html, extract_main_text
    from tiers.io.readers import FileStats, ReaderOptions, read_file

    rows: list[dict[str, str | None]] = []
    files = sorted((shared / "dolma-test-samples").glob("*.gz")) + [shared / "resiliparse-cc-warc" / "warcfile.warc.gz"]
    for path in files:
        fmt = "warc" if ".warc" in path.name else "jsonl"
        for outcome in read_file(str(path), fmt, ReaderOptions(), FileStats()):
            if outcome.kind == "l0":
                rows.append({name: outcome.row.get(name) for name in L0_COLUMNS})
    gold = json.loads((shared / "scrapinghub-article-extraction" / "ground-truth.json").read_text())
    for key, value in sorted(gold.items()):
        rows.append(
            {
                "doc_id": f"scrapinghub-{key}",
                "text": value["articleBody"],
                "url": value.get("url"),
                "source": "scrapinghub",
                "crawl": None,
            }
        )
    for html_file in sorted((shared / "trafilatura-eval-pages" / "html").glob("*.html.gz")):
        text = extract_main_text(decode_html(gzip.decompress(html_file.read_bytes()), None)[0])
        rows.append(
            {
                "doc_id": f"trafilatura-{html_file.name}",
                "text": text,
                "url": None,
                "source": "trafilatura",
                "crawl": None,
            }
        )
    return pa.Table.from_pylist(rows, schema=L0_SCHEMA)


def _time_cpu(op: Operator, totals: dict[str, float]) -> None:
    """Add the CPU-seconds of each `op.process` call to totals[op.name] (the pipeline's own figures
    are wall-clock, which another busy process inflates)."""
    process = op.process

    def timed(batch: pa.RecordBatch) -> OpResult:
        start = time.process_time()
        try:
            return process(batch)
        finally:
            totals[op.name] = totals.get(op.name, 0.0) + time.process_time() - start

    op.process = timed  # type: ignore[method-assign]


def run_pipeline(
    table: pa.Table, batch_size: int
) -> tuple[pa.Table, pa.Table, dict[str, OpStats], dict[str, float], float]:
    """(kept, dropped, per-operator stats, per-operator CPU-seconds, CPU-seconds of the pipeline runs)."""
    cfg = load_config(None)
    pipeline = OperatorPipeline.from_steps(cfg.l1.steps, cfg.l1.operator_modules)
    for op in pipeline.operators:
        if isinstance(op, LanguageId):
            load_lid_model(op.params.model_path)  # loaded once per process: outside the measurement
    op_cpu: dict[str, float] = {}
    for op in pipeline.operators:
        _time_cpu(op, op_cpu)
    kept, dropped, stats = [], [], {}
    cpu = 0.0
    for batch in table.to_batches(max_chunksize=batch_size):
        start = time.process_time()
        out = pipeline.run(batch)
        cpu += time.process_time() - start
        kept.append(out.kept)
        dropped.append(out.dropped)
        for name, op_stats in out.stats.items():
            stats.setdefault(name, OpStats()).merge(op_stats)
    return pa.Table.from_batches(kept), pa.Table.from_batches(dropped), stats, op_cpu, cpu


def _column_differences(name: str, old: pa.ChunkedArray, new: pa.ChunkedArray, ids: list[str]) -> list[str]:
    if old.type != new.type:
        return [f"{name}: type {old.type} != {new.type}"]
    if pa.types.is_floating(old.type):
        a = old.to_numpy(zero_copy_only=False).astype(np.float32)
        b = new.to_numpy(zero_copy_only=False).astype(np.float32)
        a_null, b_null = np.asarray(old.is_null()), np.asarray(new.is_null())
        same = (a_null == b_null) & ((a.view(np.uint32) == b.view(np.uint32)) | a_null)
        bad = np.flatnonzero(~same)
        return [f"{name} [{ids[i]}]: {old[i].as_py()!r} != {new[i].as_py()!r}" for i in bad]
    if old.equals(new):
        return []
    a, b = old.to_pylist(), new.to_pylist()
    return [f"{name} [{ids[i]}]: {_short(a[i])} != {_short(b[i])}" for i in range(len(a)) if a[i] != b[i]]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def compare_tables(label: str, old: pa.Table, new: pa.Table) -> list[str]:
    """Every difference between two tables with the same rows in the same order, one line each."""
    if old.schema.names != new.schema.names:
        return [f"{label}: columns {old.schema.names} != {new.schema.names}"]
    if old.num_rows != new.num_rows:
        return [f"{label}: {old.num_rows} rows != {new.num_rows}"]
    ids = old.column("doc_id").to_pylist()
    differences = []
    for name in old.schema.names:
        differences += [
            f"{label}.{line}" for line in _column_differences(name, old.column(name), new.column(name), ids)
        ]
    return differences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parquet", help="an L0 parquet file (columns doc_id, text, url, source, crawl)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=1, help="run the pipeline this many times; report the fastest")
    parser.add_argument("--save", help="write kept.parquet and dropped.parquet here")
    parser.add_argument("--compare", help="compare with kept.parquet and dropped.parquet saved here")
    args = parser.parse_args(argv)

    table = pq.read_table(args.parquet, columns=list(L0_COLUMNS)) if args.parquet else shared_l0()
    size_mb = sum(len(t.encode("utf-8")) for t in table.column("text").to_pylist() if t) / 1e6
    print(f"{table.num_rows} documents, {size_mb:.1f} MB of text")
    best = None
    for _ in range(args.repeat):
        result = run_pipeline(table, args.batch_size)
        if best is None or result[4] < best[4]:
            best = result
    kept, dropped, stats, op_cpu, cpu = best
    print(f"  {'operator':20s} {'CPU-s':>6s} {'wall-s':>7s} {'in':>6s} {'out':>6s}")
    for name, op_stats in stats.items():
        print(
            f"  {name:20s} {op_cpu.get(name, 0.0):6.2f} {op_stats.seconds:7.2f} {op_stats.docs_in:6d} {op_stats.docs_out:6d}"
        )
    print(
        f"operators {sum(op_cpu.values()):.2f} CPU-s ({sum(s.seconds for s in stats.values()):.2f} s wall); "
        f"pipeline {cpu:.2f} CPU-s; {table.num_rows / cpu:,.0f} docs/CPU-s; kept {kept.num_rows}, dropped {dropped.num_rows}"
    )
    if args.save:
        out = Path(args.save)
        out.mkdir(parents=True, exist_ok=True)
        pq.write_table(kept, out / "kept.parquet")
        pq.write_table(dropped, out / "dropped.parquet")
        print(f"saved to {out}")
    if args.compare:
        base = Path(args.compare)
        differences = compare_tables("kept", pq.read_table(base / "kept.parquet"), kept)
        differences += compare_tables("dropped", pq.read_table(base / "dropped.parquet"), dropped)
        for line in differences[:200]:
            print(line)
        print(f"compared {kept.num_rows} kept and {dropped.num_rows} dropped documents: {len(differences)} differences")
        return 1 if differences else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
