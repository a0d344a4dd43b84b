"""Sketches as the Arrow columns of a dedup index and back, without a Python object per value. Every
sketch column is packed little-endian bytes: signature (num_perm uint32), keys (one int64 per band) and
shingles (the sorted shingle-hash set, uint32). Fixed-width bytes cost Spark's shuffles and Parquet
writer one value a row where arrays cost one a permutation. Indexes written before (signature
list<int32>, keys list<int64>) are read through `packed_index`."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tiers import kernels
from tiers.dedup.near import Sketches


SIGNATURE, KEYS = np.dtype("<u4"), np.dtype("<i8")


def _packed(matrix: np.ndarray, dtype: np.dtype) -> pa.BinaryArray:
    """Row i of `matrix` as the bytes of one binary value."""
    rows = np.ascontiguousarray(matrix, dtype=dtype)
    width = rows.shape[1] * dtype.itemsize if rows.ndim == 2 else 0
    offsets = (np.arange(rows.shape[0] + 1, dtype=np.int64) * width).astype(np.int32)
    return pa.BinaryArray.from_buffers(pa.binary(), rows.shape[0], [None, pa.py_buffer(offsets), pa.py_buffer(rows)])


def signature_column(sketches: Sketches) -> pa.BinaryArray:
    return _packed(sketches.signatures, SIGNATURE)


def keys_column(sketches: Sketches) -> pa.BinaryArray:
    return _packed(sketches.keys, KEYS)


def shingles_column(sketches: Sketches) -> pa.BinaryArray:
    offsets = (sketches.set_offsets * 4).astype(np.int32)
    values = np.ascontiguousarray(sketches.set_values, dtype=np.uint32)
    return pa.BinaryArray.from_buffers(
        pa.binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(values)]
    )


def _bytes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(data, offsets) of a binary column without nulls: row i is data[offsets[i]:offsets[i + 1]]."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    rows = len(array)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset : array.offset + rows + 1].astype(np.int64)
    data = (
        np.frombuffer(array.buffers()[2], dtype=np.uint8) if array.buffers()[2] is not None else np.empty(0, np.uint8)
    )
    return data[offsets[0] : offsets[-1]], offsets - offsets[0]


def matrix(column: pa.ChunkedArray | pa.Array, dtype: np.dtype) -> np.ndarray:
    """The rows (no nulls) of a packed sketch column (`signature_column`, `keys_column`) as one matrix."""
    rows = len(column)
    if rows == 0:
        return np.empty((0, 0), dtype=dtype)
    data, _ = _bytes(column)
    return data.view(dtype).reshape(rows, -1)


def packed_index(table: pa.Table) -> pa.Table:
    """An index table with its signature and keys packed as `signature_column` and `keys_column` pack them
    (indexes written before stored them as lists); a packed table is returned as it is."""
    for name, dtype in (("signature", SIGNATURE), ("keys", KEYS)):
        if name not in table.column_names or not pa.types.is_list(table.schema.field(name).type):
            continue
        lists = table[name].combine_chunks()
        valid = pc.is_valid(lists).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(valid)
        present = lists.filter(pa.array(valid))
        width = len(present[0]) if len(present) else 0
        packed = _packed(pc.list_flatten(present).to_numpy(zero_copy_only=False).reshape(len(rows), width), dtype)
        row_of = np.full(len(lists), -1, dtype=np.int64)
        row_of[rows] = np.arange(len(rows))
        column = packed.take(pa.array(row_of, mask=row_of < 0))
        table = table.set_column(table.schema.get_field_index(name), pa.field(name, pa.binary()), column)
    return table


def shingle_sets(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(values, offsets) of a shingles column without nulls: row i's set is values[offsets[i]:offsets[i + 1]]."""
    if len(column) == 0:
        return np.empty(0, np.uint32), np.zeros(1, np.int64)
    data, offsets = _bytes(column)
    return data.view(np.uint32), offsets // 4


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
    table = packed_index(table)
    values, offsets = shingle_sets(table["shingles"])
    return Sketches(
        np.arange(table.num_rows),
        matrix(table["signature"], SIGNATURE).astype(np.uint32, copy=False),
        matrix(table["keys"], KEYS).astype(np.int64, copy=False),
        values,
        offsets,
    )
