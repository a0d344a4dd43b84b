"""Bounded working memory for allocation and export: documents are handled in pieces whose size does
not depend on the size of the catalog.

Two kinds of pieces:

- *chunks*: the documents whose `hash(doc_id) % count` is one value. Everything that is per document
  (the evaluation-overlap check, the home-tier documents with their bucket, the per-document repeats
  and the cap across stages) runs one chunk at a time, so a join or a window sees at most about
  `Layout.chunk_docs` documents (with a memory cap, the cap / 2.5 KB: 100,000 for 256MB; without one,
  1,000,000). A chunk's intermediate results are Parquet files in the run's spill folder
  (`ChunkFiles`), read back one chunk at a time, not tables held in DuckDB's memory. The price: each
  chunk scans the tier files again (a hash filter cannot skip row groups), so the scans grow as
  documents x chunks; the texts of the evaluation-overlap pass are the costly ones.
- *bins*: ranges of an order key (a quality score, or a 64-bit hash). Whatever needs a global order
  (token-weighted percentiles, the first pass of a fractional epoch, export positions) is computed from
  a per-bin histogram, an aggregate of a few thousand rows, and then exactly within the one bin that
  holds a boundary, so no statement sorts every document at once.

The results do not depend on the layout: any `chunk_docs` and bin count give the same allocation and
the same shards (the tests check this with tiny chunks and bins against the defaults).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tiers.catalog.sql_text import literal

UNCAPPED_CHUNK_DOCS = 1_000_000  # without a memory cap: few passes (memory is not bounded anyway)
BYTES_PER_CHUNK_DOC = 2_560  # with a cap: a chunk of cap / 2.5 KB documents (100,000 for 256MB)
MIN_CHUNK_DOCS, MAX_CHUNK_DOCS = 10_000, 10_000_000
DEFAULT_BIN_ROWS = 1_000  # target rows per bin of a histogram
MAX_BIN_BITS = 16
UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


def limit_bytes(memory_limit: str) -> int | None:
    """Bytes of a DuckDB memory_limit string ("256MB" is 256 * 10**6, "1GiB" 2**30); None if unreadable."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", memory_limit)
    if not match or match.group(2).upper() not in UNITS:
        return None
    return int(float(match.group(1)) * UNITS[match.group(2).upper()])


@dataclass(frozen=True)
class Layout:
    """How large a piece may be: `chunk_docs` documents per chunk; `bin_rows` rows per histogram bin
    (the bin count follows from the row count, between 2**4 and 2**16)."""

    chunk_docs: int = UNCAPPED_CHUNK_DOCS
    bin_rows: int = DEFAULT_BIN_ROWS

    @classmethod
    def for_memory_limit(cls, memory_limit: str | None) -> "Layout":
        """Chunks sized to DuckDB's cap: about 2.5 KB of cap per document of a chunk, the most one
        chunk's statements were seen to hold (bench/README.md, issue 14)."""
        size = limit_bytes(memory_limit) if memory_limit else None
        if size is None:
            return cls()
        return cls(min(MAX_CHUNK_DOCS, max(MIN_CHUNK_DOCS, size // BYTES_PER_CHUNK_DOC)))

    def chunk_count(self, documents: int) -> int:
        return max(1, math.ceil(documents / self.chunk_docs))

    def bin_bits(self, rows: int) -> int:
        """Bits of a 64-bit hash that name its bin: about `bin_rows` rows per bin."""
        wanted = max(1, math.ceil(rows / self.bin_rows))
        return min(MAX_BIN_BITS, max(4, math.ceil(math.log2(wanted)) if wanted > 1 else 4))

    def bin_count(self, rows: int) -> int:
        return 1 << self.bin_bits(rows)


@dataclass(frozen=True)
class Chunk:
    index: int
    count: int

    def where(self, column: str) -> str:
        """SQL predicate: `column` (a document id) belongs to this chunk."""
        return "true" if self.count == 1 else f"hash({column}) % {self.count} = {self.index}"


def chunks(count: int) -> list[Chunk]:
    return [Chunk(i, count) for i in range(count)]


class ChunkFiles:
    """One Parquet file per chunk under `folder` (a private spill folder): written by `COPY`, read
    back as a relation for one chunk or all of them."""

    def __init__(self, folder: Path, name: str):
        self.folder = folder / name
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, chunk: Chunk) -> Path:
        return self.folder / f"chunk-{chunk.index:05d}.parquet"

    def write(self, con: duckdb.DuckDBPyConnection, chunk: Chunk, select_sql: str, params: object = None) -> None:
        con.execute(f"COPY ({select_sql}) TO {literal(self.path(chunk))} (FORMAT parquet, COMPRESSION zstd)", params)

    def one(self, chunk: Chunk) -> str:
        return f"read_parquet({literal(self.path(chunk))})"

    def all(self) -> str:
        return f"read_parquet({literal(self.folder / 'chunk-*.parquet')})"


def documents_in_tiers(con: duckdb.DuckDBPyConnection, views: list[str]) -> int:
    """Rows of the given tier views (Parquet metadata: no scan), to size the chunks."""
    return sum(int(con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0]) for view in views)
