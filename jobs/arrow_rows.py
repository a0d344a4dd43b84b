"""Turn a stream of row dicts into Arrow record batches of a fixed schema."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import pyarrow as pa


def batched(rows: Iterable[dict[str, Any]], schema: pa.Schema, size: int = 1024) -> Iterator[pa.RecordBatch]:
    buffer: list[dict[str, Any]] = []
    for row in rows:
        buffer.append(row)
        if len(buffer) >= size:
            yield pa.RecordBatch.from_pylist(buffer, schema=schema)
            buffer = []
    if buffer:
        yield pa.RecordBatch.from_pylist(buffer, schema=schema)
