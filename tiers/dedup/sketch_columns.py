"""Sketches as the Arrow columns of a dedup index (signature: list<int32> of the uint32 bit patterns,
keys: list<int64>, shingles: the sorted shingle-hash set as bytes) and back, without a Python object
per value."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tiers import kernels
from tiers.dedup.near import Sketches


def _rows(matrix: np.ndarray, value_type: pa.DataType) -> pa.ListArray:
    width = max(matrix.shape[1], 1)
    offsets = np.arange(0, matrix.shape[0] * width + 1, width, dtype=np.int32)[: matrix.shape[0] + 1]
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(matrix.ravel(), value_type))


def signature_column(sketches: Sketches) -> pa.ListArray:
    return _rows(sketches.signatures.view(np.int32), pa.int32())


def keys_column(sketches: Sketches) -> pa.ListArray:
    return _rows(sketches.keys, pa.int64())


def shingles_column(sketches: Sketches) -> pa.BinaryArray:
    offsets = (sketches.set_offsets * 4).astype(np.int32)
    values = np.ascontiguousarray(sketches.set_values, dtype=np.uint32)
    return pa.BinaryArray.from_buffers(
        pa.binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(values)]
    )


def _matrix(column: pa.ChunkedArray | pa.Array, dtype: type, rows: int) -> np.ndarray:
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    return flat.reshape(rows, -1) if rows else flat.reshape(0, 0)


def shingle_sets(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(values, offsets) of a shingles column without nulls: row i's set is values[offsets[i]:offsets[i + 1]]."""
    rows = len(column)
    if rows == 0:
        return np.empty(0, np.uint32), np.zeros(1, np.int64)
    shingles = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    offsets = np.frombuffer(shingles.buffers()[1], dtype=np.int32)[shingles.offset : shingles.offset + rows + 1].astype(
        np.int64
    )
    data = np.frombuffer(shingles.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].view(np.uint32), (offsets - offsets[0]) // 4


def pair_jaccard(first: pa.Array, second: pa.Array) -> np.ndarray:
    """Exact Jaccard of the shingle sets of each row of two shingles columns (row i against row i)."""
    values_a, offsets_a = shingle_sets(first)
    values_b, offsets_b = shingle_sets(second)
    rows = len(offsets_a) - 1
    values = np.concatenate([values_a, values_b])
    offsets = np.concatenate([offsets_a[:-1], offsets_b + len(values_a)])
    return kernels.pair_jaccard(values, offsets, np.arange(rows), np.arange(rows, 2 * rows))


def sketches_of(table: pa.Table) -> Sketches:
    """The sketches of index rows that all have a signature (positions 0 to n - 1)."""
    rows = table.num_rows
    values, offsets = shingle_sets(table["shingles"])
    return Sketches(
        np.arange(rows),
        _matrix(table["signature"], np.int32, rows).view(np.uint32),
        _matrix(table["keys"], np.int64, rows),
        values,
        offsets,
    )
