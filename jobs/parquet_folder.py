"""Parquet folders written by the local engine, readable like Spark's: part files in a folder, every
column nullable (as Spark writes them), an empty output still a file with its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq


def spark_like(schema: pa.Schema) -> pa.Schema:
    """`schema` with every field nullable: what a Spark-written file of the same columns says."""
    return pa.schema([field.with_nullable(True) for field in schema])


class FolderWriter:
    """Streams record batches into `folder/part-00000-local.parquet`, one row group per `row_group_bytes`.

    Pages are zstd-compressed (a quarter smaller than Spark's snappy on web text, and no slower to write
    or read), and a column stops being dictionary-encoded once its dictionary passes 64 KiB: texts and
    ids then go plain, while languages, sources and run ids stay dictionaries.
    """

    def __init__(self, folder: str, schema: pa.Schema, row_group_bytes: int = 64 * 1024 * 1024):
        Path(folder).mkdir(parents=True, exist_ok=True)
        self.schema = spark_like(schema)
        self._sink = pa.OSFile(str(Path(folder) / "part-00000-local.parquet"), "wb")
        self._writer = pq.ParquetWriter(self._sink, self.schema, compression="zstd", dictionary_pagesize_limit=1 << 16)
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        self._row_group_bytes = row_group_bytes
        self.rows = 0

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        if table.num_rows == 0:
            return
        table = table.select(self.schema.names).cast(self.schema)
        self._pending.extend(table.to_batches())
        self._pending_bytes += table.nbytes
        self.rows += table.num_rows
        if self._pending_bytes >= self._row_group_bytes:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            table = pa.Table.from_batches(self._pending, self.schema)
            self._writer.write_table(table, row_group_size=table.num_rows)
        self._pending, self._pending_bytes = [], 0

    def close(self) -> None:
        try:
            self._flush()
            self._writer.close()
        finally:
            self._sink.close()

    def abandon(self) -> None:
        """Close the file without writing what is pending (after a failure, e.g. a full disk: an open
        descriptor would keep the space the job's clean-up frees)."""
        try:
            self._writer.close()
        except OSError:
            pass
        finally:
            self._sink.close()

    def __enter__(self) -> "FolderWriter":
        return self

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abandon()


def write_folder(folder: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch | pa.Table]) -> int:
    """Write `batches` as one Parquet folder; the number of rows written."""
    with FolderWriter(folder, schema) as writer:
        for batch in batches:
            writer.write(batch)
    return writer.rows


def folder_files(folders: Iterable[str]) -> list[str]:
    """The Parquet part files of Parquet folders (Spark's or the local engine's), in a stable order."""
    return [str(path) for folder in folders for path in sorted(Path(folder).rglob("*.parquet"))]


def iter_batches(
    files: Iterable[str], columns: list[str] | None = None, batch_size: int = 65536
) -> Iterator[pa.RecordBatch]:
    """The non-empty record batches of Parquet part files, file by file (read with ParquetFile, not
    pyarrow.dataset, whose import alone costs a quarter of a CPU-second because it imports pandas)."""
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=columns, use_threads=False):
            if batch.num_rows:
                yield batch


def read_files(
    files: Iterable[str], columns: list[str] | None = None, keep: Callable[[pa.RecordBatch], pa.Array] | None = None
) -> pa.Table | None:
    """All rows of Parquet part files as one table (the rows `keep` marks, when given); None without files."""
    files = list(files)
    if not files:
        return None
    tables = []
    for path in files:
        table = pq.ParquetFile(path).read(columns=columns, use_threads=False)
        tables.append(table.filter(keep(table)) if keep is not None else table)
    return pa.concat_tables(tables, promote_options="permissive")
