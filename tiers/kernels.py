"""Compiled inner loops (numba, cached on disk) over a batch of lower-cased UTF-8 documents.

A batch is one byte buffer and `bounds`: document i is `buffer[bounds[i]:bounds[i + 1]]`. Every loop
here gives exactly what the numpy definitions in tiers/text.py and tiers/dedup/minhash.py describe
(tests/unit/test_kernels.py compares them); they exist because one pass per byte or per shingle in
compiled code costs a fraction of numpy's whole-array passes.

All arithmetic is on uint64 (numba widens smaller integers); 32-bit results are masked.
"""

from __future__ import annotations

import numba
import numpy as np

_WORD_BYTE = np.zeros(256, dtype=np.bool_)
_WORD_BYTE[[*range(ord("0"), ord("9") + 1), *range(ord("a"), ord("z") + 1), *range(0x80, 0x100)]] = True
_ASCII_SPACE = np.zeros(256, dtype=np.bool_)
_ASCII_SPACE[[0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D]] = True
_P = np.uint64(0x9E3779B97F4A7C15)
_COMBINE = np.uint64(0x100000001B3)
_MASK32 = np.uint64(0xFFFFFFFF)


@numba.njit(cache=True, nogil=True)
def fmix64(h: np.uint64) -> np.uint64:
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


@numba.njit(cache=True, nogil=True)
def fmix32(h: np.uint64) -> np.uint64:
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & _MASK32
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & _MASK32
    return h ^ (h >> np.uint64(16))


@numba.njit(cache=True, nogil=True)
def _word_at(buffer: np.ndarray, i: int, stop: int) -> tuple[np.uint64, int]:
    """(hash, end) of the run of word bytes starting at i and ending at or before `stop`: the hash is
    fmix64(sum over its bytes of (byte + 1) * P^(offset in the run)), wrapping."""
    h = np.uint64(0)
    power = np.uint64(1)
    while i < stop and _WORD_BYTE[buffer[i]]:
        h += (np.uint64(buffer[i]) + np.uint64(1)) * power
        power *= _P
        i += 1
    return fmix64(h), i


@numba.njit(cache=True, nogil=True)
def word_runs(buffer: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, 64-bit hashes) of the maximal runs of word bytes."""
    size = len(buffer)
    capacity = size // 2 + 1
    starts = np.empty(capacity, dtype=np.int64)
    ends = np.empty(capacity, dtype=np.int64)
    hashes = np.empty(capacity, dtype=np.uint64)
    found = 0
    i = 0
    while i < size:
        if not _WORD_BYTE[buffer[i]]:
            i += 1
            continue
        starts[found] = i
        hashes[found], i = _word_at(buffer, i, size)
        ends[found] = i
        found += 1
    return starts[:found], ends[:found], hashes[:found]


@numba.njit(cache=True, nogil=True)
def _gram(word_hashes: np.ndarray, first: int, n: int) -> np.uint32:
    h = np.uint64(0)
    for k in range(n):
        h = h * _COMBINE + word_hashes[first + k]
    return np.uint32(h >> np.uint64(32))


@numba.njit(cache=True, nogil=True)
def shingle_hashes(buffer: np.ndarray, bounds: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(flat 32-bit hashes of every document's word n-grams, shingles per document). A document with
    fewer than n words has one shingle of all its words; one without words has none."""
    docs = len(bounds) - 1
    counts = np.zeros(docs, dtype=np.int64)
    out = np.empty(len(buffer) // 2 + 1, dtype=np.uint32)
    words = np.empty(1024, dtype=np.uint64)
    written = 0
    for doc in range(docs):
        count = 0
        i, stop = bounds[doc], bounds[doc + 1]
        while i < stop:
            if not _WORD_BYTE[buffer[i]]:
                i += 1
                continue
            if count == len(words):
                grown = np.empty(2 * count, dtype=np.uint64)
                grown[:count] = words
                words = grown
            words[count], i = _word_at(buffer, i, stop)
            count += 1
        if count == 0:
            continue
        if count < n:
            out[written] = _gram(words, 0, count)
            counts[doc] = 1
            written += 1
            continue
        for first in range(count - n + 1):
            out[written] = _gram(words, first, n)
            written += 1
        counts[doc] = count - n + 1
    return out[:written], counts


@numba.njit(cache=True, nogil=True)
def signatures(flat: np.ndarray, counts: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MinHash signatures (docs x len(a), uint32): per permutation k the minimum over a document's
    shingles h of (a[k] * fmix32(h) + b[k]) mod 2^32; all-ones for a document without shingles."""
    num_perm = len(a)
    a64 = a.astype(np.uint64)
    b64 = b.astype(np.uint64)
    out = np.empty((len(counts), num_perm), dtype=np.uint32)
    row = np.empty(num_perm, dtype=np.uint64)
    position = 0
    for doc in range(len(counts)):
        row[:] = _MASK32
        for j in range(position, position + counts[doc]):
            mixed = fmix32(np.uint64(flat[j]))
            for k in range(num_perm):
                value = (a64[k] * mixed + b64[k]) & _MASK32
                if value < row[k]:
                    row[k] = value
        position += counts[doc]
        for k in range(num_perm):
            out[doc, k] = np.uint32(row[k])
    return out


@numba.njit(cache=True, nogil=True)
def sorted_sets(flat: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each document's shingle hashes sorted with repeats removed: (flat values, values per document)."""
    out = np.empty_like(flat)
    sizes = np.zeros(len(counts), dtype=np.int64)
    position = 0
    written = 0
    for doc in range(len(counts)):
        values = np.sort(flat[position : position + counts[doc]])
        position += counts[doc]
        start = written
        for j in range(len(values)):
            if j == 0 or values[j] != values[j - 1]:
                out[written] = values[j]
                written += 1
        sizes[doc] = written - start
    return out[:written], sizes


@numba.njit(cache=True, nogil=True)
def collapse_spaces(buffer: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every document with its runs of ASCII white space made one space and leading and trailing
    spaces removed (Java's `\\s+` replaced by " ", then trimmed): (new buffer, new bounds)."""
    out = np.empty(len(buffer), dtype=np.uint8)
    new_bounds = np.zeros(len(bounds), dtype=np.int64)
    written = 0
    for doc in range(len(bounds) - 1):
        start = written
        pending_space = False
        for i in range(bounds[doc], bounds[doc + 1]):
            byte = buffer[i]
            if _ASCII_SPACE[byte]:
                pending_space = True
                continue
            if pending_space and written > start:
                out[written] = 0x20
                written += 1
            pending_space = False
            out[written] = byte
            written += 1
        new_bounds[doc + 1] = written
    return out[:written], new_bounds


@numba.njit(cache=True, nogil=True)
def component_minimum(nodes: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """For each of `nodes` positions, the smallest position connected to it by the edges (src, dst):
    union-find with path halving, the smaller root always kept as the root."""
    parent = np.arange(nodes)
    for e in range(len(src)):
        a, b = src[e], dst[e]
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b
    for node in range(nodes):
        parent[node] = parent[parent[node]]
    return parent


@numba.njit(cache=True, nogil=True)
def set_jaccard(values: np.ndarray, offsets: np.ndarray, a: int, b: int) -> float:
    """Jaccard similarity of the sorted sets `values[offsets[a]:offsets[a + 1]]` and that of `b`; 1.0 for two
    empty sets."""
    i, i_end = offsets[a], offsets[a + 1]
    j, j_end = offsets[b], offsets[b + 1]
    union = (i_end - i) + (j_end - j)
    common = 0
    while i < i_end and j < j_end:
        if values[i] == values[j]:
            common += 1
            i += 1
            j += 1
        elif values[i] < values[j]:
            i += 1
        else:
            j += 1
    union -= common
    return common / union if union else 1.0


@numba.njit(cache=True, nogil=True)
def pair_jaccard(values: np.ndarray, offsets: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """`set_jaccard` of each pair (src, dst)."""
    out = np.empty(len(src), dtype=np.float64)
    for p in range(len(src)):
        out[p] = set_jaccard(values, offsets, src[p], dst[p])
    return out


@numba.njit(cache=True, nogil=True)
def bpe_counts(
    data: np.ndarray,
    bounds: np.ndarray,
    byte_ids: np.ndarray,
    table_keys: np.ndarray,
    table_values: np.ndarray,
    vocab_size: int,
) -> np.ndarray:
    """Tokens per piece (piece i is `data[bounds[i]:bounds[i + 1]]`, UTF-8) under byte-level BPE: each
    byte starts as the token `byte_ids[byte]` (a byte without one, -1, is left out, as `tokenizers`
    does without an unknown token), then `merged_size` applies the merges."""
    out = np.empty(len(bounds) - 1, dtype=np.int64)
    longest = np.max(bounds[1:] - bounds[:-1]) if len(bounds) > 1 else 0
    symbols = np.empty(longest + 1, dtype=np.int64)
    merges = np.empty(longest + 1, dtype=np.int64)
    for piece in range(len(bounds) - 1):
        size = 0
        for i in range(bounds[piece], bounds[piece + 1]):
            if byte_ids[data[i]] >= 0:
                symbols[size] = byte_ids[data[i]]
                size += 1
        out[piece] = merged_size(symbols, merges, size, table_keys, table_values, vocab_size)
    return out


@numba.njit(cache=True, nogil=True)
def merged_size(
    symbols: np.ndarray,
    merges: np.ndarray,
    size: int,
    table_keys: np.ndarray,
    table_values: np.ndarray,
    vocab_size: int,
) -> int:
    """How many tokens `symbols[:size]` leave once the adjacent pair of lowest merge rank, the leftmost of
    equal ones, is merged until no pair has a merge. The `merge_table` maps `left * vocab_size + right` to
    (rank, merged token) packed as rank * vocab_size + token; `merges` is scratch as long as `symbols`
    (merges[j]: the packed merge of symbols j and j + 1, or -1)."""
    for j in range(size - 1):
        merges[j] = _merge_of(symbols[j], symbols[j + 1], table_keys, table_values, vocab_size)
    while size > 1:
        best_at = -1
        for j in range(size - 1):
            if merges[j] >= 0 and (best_at < 0 or merges[j] < merges[best_at]):
                best_at = j
        if best_at < 0:
            break
        symbols[best_at] = merges[best_at] % vocab_size
        symbols[best_at + 1 : size - 1] = symbols[best_at + 2 : size]
        merges[best_at + 1 : size - 2] = merges[best_at + 2 : size - 1]
        size -= 1
        if best_at > 0:
            merges[best_at - 1] = _merge_of(
                symbols[best_at - 1], symbols[best_at], table_keys, table_values, vocab_size
            )
        if best_at < size - 1:
            merges[best_at] = _merge_of(symbols[best_at], symbols[best_at + 1], table_keys, table_values, vocab_size)
    return size


@numba.njit(cache=True, nogil=True)
def _slot(key: int, mask: int) -> int:
    return int((np.uint64(key) * _P) >> np.uint64(40)) & mask


@numba.njit(cache=True, nogil=True)
def merge_table(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An open-addressing table of non-negative `keys` to `values`, at most half full (-1: empty slot)."""
    size = 1
    while size < 2 * len(keys) + 2:
        size *= 2
    table_keys = np.full(size, -1, dtype=np.int64)
    table_values = np.empty(size, dtype=np.int64)
    for k in range(len(keys)):
        slot = _slot(keys[k], size - 1)
        while table_keys[slot] >= 0 and table_keys[slot] != keys[k]:
            slot = (slot + 1) & (size - 1)
        table_keys[slot] = keys[k]
        table_values[slot] = values[k]
    return table_keys, table_values


@numba.njit(cache=True, nogil=True)
def _merge_of(left: int, right: int, table_keys: np.ndarray, table_values: np.ndarray, vocab_size: int) -> int:
    key = left * vocab_size + right
    mask = len(table_keys) - 1
    slot = _slot(key, mask)
    while table_keys[slot] >= 0:
        if table_keys[slot] == key:
            return table_values[slot]
        slot = (slot + 1) & mask
    return -1
