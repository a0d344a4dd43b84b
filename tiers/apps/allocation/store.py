"""Helpers over the allocation's tables in the catalog, and DuckDB's memory bounds for allocation work.

The tables and the `allocation` view are catalog migration 9 (`tiers/catalog/migrations.py`):

- `allocation_plans`: one row per allocation (its id is its manifest hash): plan, catalog state,
  evaluation index, totals, and which allocation is current;
- `allocation_targets`: per stage and source: weight, budget, target, capacity, allocated and realized tokens;
- `allocation_cells`: per stage, source, home tier and quality bucket: unique tokens, epochs, tokens;
- `allocation_rows`: per document and stage: home tier, bucket, source, repeats, tokens;
- `eval_overlap`: the evaluation-overlap flag of each checked document, per evaluation index;
- view `allocation (doc_id, stage, tier, repeats)`: the current allocation.
"""

from __future__ import annotations

import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb


def current_allocation(con: duckdb.DuckDBPyConnection) -> str | None:
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'allocation_plans'").fetchone()[0]
    if not exists:
        return None
    row = con.execute("SELECT allocation_id FROM allocation_plans WHERE is_current").fetchone()
    return row[0] if row else None


@contextmanager
def spill_folder(root: Path) -> Iterator[Path]:
    """A private folder under `<root>/_staging` for DuckDB to spill into, removed when the block ends."""
    folder = root / "_staging" / f"duckdb_spill-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Settings that keep the process's memory near DuckDB's own count when a cap is given (bench/README.md,
# issue 14, has the profile). Each is memory that memory_limit does not see:
CAPPED_SETTINGS = (
    # Parquet read-ahead buffers, which grew with the number of files a scan reads (peak of one full
    # scan of the bench's L1 text: +15 MB for 1 file, +36 MB for 3, +64 MB for 20; with prefetching off,
    # +7 to +13 MB, and no slower on a local disk).
    "SET disable_parquet_prefetching = true",
    # freed allocations that DuckDB's allocator keeps until a bulk free of 512 MiB: with 1 MB it returns
    # them after each large free (the same scan of 20 files: +30 MB instead of +64 MB).
    "SET allocator_bulk_deallocation_flush_threshold = '1MB'",
    # rows a bulk insert buffers before writing (default 5 row groups of 122,880 rows): one row group.
    "SET write_buffer_row_group_count = 1",
)


def bound_memory(con: duckdb.DuckDBPyConnection, memory_limit: str | None, spill_dir: Path) -> None:
    """Cap DuckDB's working memory (e.g. "512MB"; None keeps DuckDB's default, 80 % of RAM) and let it
    spill to `spill_dir` beyond the cap, so a large allocation or export runs in bounded memory. With a
    cap, also the `CAPPED_SETTINGS`."""
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
        for setting in CAPPED_SETTINGS:
            con.execute(setting)
    con.execute("SET temp_directory = ?", [str(spill_dir)])
    con.execute("SET preserve_insertion_order = false")
