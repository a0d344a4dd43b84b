"""Sketches as the Arrow columns of a dedup index (signature: list<int32> of the uint32 bit patterns,
keys: list<int64>, shingles: the sorted shingle-hash set as bytes) and back, without a Python object
per value."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    return pa.BinaryArray.from_buffers(pa.binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(values)])


def _matrix(column: pa.ChunkedArray | pa.Array, dtype: type, rows: int) -> np.ndarray:
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    return flat.reshape(rows, -1) if rows else flat.reshape(0, 0)


def sketches_of(table: pa.Table) -> Sketches:
    """The sketches of index rows that all have a signature (positions 0 to n - 1)."""
    rows = table.num_rows
    shingles = table["shingles"].combine_chunks() if rows else pa.array([], pa.binary())
    offsets = np.frombuffer(shingles.buffers()[1], dtype=np.int32)[shingles.offset: shingles.offset + rows + 1].astype(np.int64)
    data = np.frombuffer(shingles.buffers()[2], dtype=np.uint8) if rows else np.empty(0, np.uint8)
    values = data[offsets[0]: offsets[-1]].view(np.uint32) if rows else np.empty(0, np.uint32)
    return Sketches(np.arange(rows), _matrix(table["signature"], np.int32, rows).view(np.uint32),
                    _matrix(table["keys"], np.int64, rows), values, (offsets - offsets[0]) // 4 if rows else np.zeros(1, np.int64))
