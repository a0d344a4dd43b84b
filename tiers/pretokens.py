r"""GPT-2 pre-tokens of texts and the sum of their byte-level BPE counts, in compiled code (numba, cached
on disk), each distinct pre-token counted once while it stays in a bounded cache.

Texts come as one array of code points (UTF-32) and `bounds`: text i is `codes[bounds[i]:bounds[i + 1]]`.
`classes[code point]` says how the tokenizer's regex classes a character: LETTER (\p{L}), NUMBER (\p{N}),
SPACE (\s) or OTHER; UNSEEN until the caller has classed it; REFUSED where the caller could not confirm
the tokenizer's class (a text holding an UNSEEN or REFUSED character is not counted: -1). The split is
`tokenizers`' ByteLevel regex

    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+

or, with `digits_first`, the same behind Digits(individual_digits=True): each NUMBER character is a
pre-token of its own, and a run of white space before one is not shortened.
"""

from __future__ import annotations

import numba
import numpy as np

from tiers import kernels
from tiers.bpe import BytePairCounts

UNSEEN, LETTER, NUMBER, SPACE, OTHER, REFUSED = range(6)
CODE_POINTS = 0x110000
# Longer pre-tokens are counted every time they occur rather than cached.
_LONGEST_CACHED = 64
_P = np.uint64(0x9E3779B97F4A7C15)


@numba.njit(cache=True, nogil=True)
def _run_end(codes: np.ndarray, i: int, end: int, classes: np.ndarray, kind: int) -> int:
    while i < end and classes[codes[i]] == kind:
        i += 1
    return i


@numba.njit(cache=True, nogil=True)
def _contraction_end(codes: np.ndarray, i: int, end: int) -> int:
    """End of the contraction ('s 't 're 've 'm 'll 'd) starting at `i`, or -1."""
    if i + 1 < end:
        second = codes[i + 1]
        if second == 115 or second == 116 or second == 109 or second == 100:  # s t m d
            return i + 2
        if i + 2 < end:
            third = codes[i + 2]
            if (second == 114 or second == 118) and third == 101:  # re ve
                return i + 3
            if second == 108 and third == 108:  # ll
                return i + 3
    return -1


@numba.njit(cache=True, nogil=True)
def piece_end(codes: np.ndarray, i: int, end: int, classes: np.ndarray, digits_first: bool) -> int:
    """End of the pre-token that starts at `i` (the text ends at `end`)."""
    kind = classes[codes[i]]
    after = classes[codes[i + 1]] if i + 1 < end else UNSEEN
    if codes[i] == 32 and (after == LETTER or after == OTHER or (after == NUMBER and not digits_first)):
        return _run_end(codes, i + 2, end, classes, after)
    if codes[i] == 39:
        contraction = _contraction_end(codes, i, end)
        if contraction >= 0:
            return contraction
    if kind == NUMBER and digits_first:
        return i + 1
    if kind != SPACE:
        return _run_end(codes, i + 1, end, classes, kind)
    spaces_end = _run_end(codes, i + 1, end, classes, SPACE)
    if spaces_end == end or (digits_first and classes[codes[spaces_end]] == NUMBER):
        return spaces_end
    return spaces_end - 1 if spaces_end - i > 1 else spaces_end


@numba.njit(cache=True, nogil=True)
def piece_ends(codes: np.ndarray, classes: np.ndarray, digits_first: bool) -> np.ndarray:
    """Ends of the pre-tokens of one text, in order."""
    ends = np.empty(len(codes), dtype=np.int64)
    count = i = 0
    while i < len(codes):
        i = piece_end(codes, i, len(codes), classes, digits_first)
        ends[count] = i
        count += 1
    return ends[:count]


@numba.njit(cache=True, nogil=True)
def unseen(codes: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The distinct UNSEEN code points among `codes`, in increasing order."""
    met = np.zeros(len(classes), dtype=np.bool_)
    for code in codes:
        if classes[code] == UNSEEN:
            met[code] = True
    return np.flatnonzero(met)


@numba.njit(cache=True, nogil=True)
def _utf8_byte_ids(codes: np.ndarray, start: int, end: int, byte_ids: np.ndarray, symbols: np.ndarray) -> int:
    """Writes the byte tokens of `codes[start:end]` encoded as UTF-8 into `symbols`; returns how many."""
    size = 0
    for i in range(start, end):
        code = codes[i]
        if code < 0x80:
            count, lead = 1, code
        elif code < 0x800:
            count, lead = 2, 0xC0 | (code >> 6)
        elif code < 0x10000:
            count, lead = 3, 0xE0 | (code >> 12)
        else:
            count, lead = 4, 0xF0 | (code >> 18)
        for k in range(count):
            byte = lead if k == 0 else 0x80 | ((code >> (6 * (count - 1 - k))) & 0x3F)
            if byte_ids[byte] >= 0:
                symbols[size] = byte_ids[byte]
                size += 1
    return size


@numba.njit(cache=True, nogil=True)
def _piece_hash(codes: np.ndarray, start: int, end: int) -> np.uint64:
    h = np.uint64(end - start)
    for i in range(start, end):
        h = (h + np.uint64(codes[i]) + np.uint64(1)) * _P
    return kernels.fmix64(h)


@numba.njit(cache=True, nogil=True)
def _find(
    codes: np.ndarray,
    start: int,
    end: int,
    h: np.uint64,
    slots: np.ndarray,
    slot_hashes: np.ndarray,
    entries: np.ndarray,
    arena: np.ndarray,
) -> int:
    """The slot holding the pre-token `codes[start:end]` (hash `h`), or the empty slot where it belongs."""
    mask = len(slots) - 1
    slot = np.int64(h & np.uint64(mask))
    while slots[slot] >= 0:
        if slot_hashes[slot] == h:
            entry = slots[slot]
            at, length = entries[entry, 0], entries[entry, 1]
            if length == end - start:
                same = True
                for k in range(length):
                    if arena[at + k] != codes[start + k]:
                        same = False
                        break
                if same:
                    return slot
        slot = (slot + 1) & mask
    return slot


@numba.njit(cache=True, nogil=True)
def text_counts(
    codes: np.ndarray,
    bounds: np.ndarray,
    classes: np.ndarray,
    digits_first: bool,
    slots: np.ndarray,
    slot_hashes: np.ndarray,
    entries: np.ndarray,
    arena: np.ndarray,
    used: np.ndarray,
    byte_ids: np.ndarray,
    table_keys: np.ndarray,
    table_values: np.ndarray,
    vocab_size: int,
) -> np.ndarray:
    """Tokens per text (-1 for a text holding an UNSEEN or REFUSED character): the sum over its pre-tokens
    of their BPE counts (kernels.merged_size). The cache is an open-addressing table (`slots`: entry or -1,
    at most half full, with each entry's hash beside it) of `entries` (start in `arena`, length, count);
    `used` holds how many entries and arena places are taken. When the cache is full, new pre-tokens are
    counted without being kept."""
    out = np.empty(len(bounds) - 1, dtype=np.int64)
    symbols = np.empty(4 * _LONGEST_CACHED + 4, dtype=np.int64)
    merges = np.empty(4 * _LONGEST_CACHED + 4, dtype=np.int64)
    for text in range(len(bounds) - 1):
        start, end = bounds[text], bounds[text + 1]
        countable = True
        for i in range(start, end):
            kind = classes[codes[i]]
            if kind == UNSEEN or kind == REFUSED:
                countable = False
                break
        if not countable:
            out[text] = -1
            continue
        total = 0
        i = start
        while i < end:
            j = piece_end(codes, i, end, classes, digits_first)
            cacheable = j - i <= _LONGEST_CACHED
            slot = -1
            h = np.uint64(0)
            if cacheable:
                h = _piece_hash(codes, i, j)
                slot = _find(codes, i, j, h, slots, slot_hashes, entries, arena)
                if slots[slot] >= 0:
                    total += entries[slots[slot], 2]
                    i = j
                    continue
            if 4 * (j - i) + 1 > len(symbols):
                symbols = np.empty(8 * (j - i) + 4, dtype=np.int64)
                merges = np.empty(8 * (j - i) + 4, dtype=np.int64)
            size = _utf8_byte_ids(codes, i, j, byte_ids, symbols)
            count = kernels.merged_size(symbols, merges, size, table_keys, table_values, vocab_size)
            total += count
            if cacheable and used[0] < len(entries) and used[1] + (j - i) <= len(arena):
                entry = used[0]
                entries[entry, 0], entries[entry, 1], entries[entry, 2] = used[1], j - i, count
                arena[used[1] : used[1] + (j - i)] = codes[i:j]
                slots[slot], slot_hashes[slot] = entry, h
                used[0] += 1
                used[1] += j - i
            i = j
        out[text] = total
    return out


class PreTokenCounts:
    """Token counts of texts under one byte-level BPE tokenizer, summed over pre-tokens (module docstring),
    with `classes` filled in by the caller and a cache of at most `capacity` distinct pre-tokens."""

    def __init__(self, byte_pairs: BytePairCounts, digits_first: bool, capacity: int = 1 << 18):
        self.byte_pairs = byte_pairs
        self.digits_first = digits_first
        self.classes = np.zeros(CODE_POINTS, dtype=np.uint8)
        slots = 1
        while slots < 2 * capacity:
            slots *= 2
        self._slots = np.full(slots, -1, dtype=np.int64)
        self._slot_hashes = np.zeros(slots, dtype=np.uint64)
        self._entries = np.zeros((capacity, 3), dtype=np.int64)
        self._arena = np.zeros(capacity * 8, dtype=np.uint32)
        self._used = np.zeros(2, dtype=np.int64)

    def __len__(self) -> int:
        """Pre-tokens cached."""
        return int(self._used[0])

    def counts(self, codes: np.ndarray, bounds: np.ndarray) -> np.ndarray:
        """Tokens per text; -1 for a text holding an UNSEEN or REFUSED character. The cache is emptied
        afterwards once it is three quarters full."""
        found = text_counts(
            codes,
            bounds,
            self.classes,
            self.digits_first,
            self._slots,
            self._slot_hashes,
            self._entries,
            self._arena,
            self._used,
            self.byte_pairs.byte_ids,
            self.byte_pairs.table_keys,
            self.byte_pairs.table_values,
            self.byte_pairs.vocab_size,
        )
        if 4 * self._used[0] >= 3 * len(self._entries) or 4 * self._used[1] >= 3 * len(self._arena):
            self._slots.fill(-1)
            self._used[:] = 0
        return found

    def unseen(self, codes: np.ndarray) -> np.ndarray:
        return unseen(codes, self.classes)

    def piece_ends(self, codes: np.ndarray) -> np.ndarray:
        """Ends of the pre-tokens of one text (every character of which has a class)."""
        return piece_ends(codes, self.classes, self.digits_first)


def code_points(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(code points of the texts one after another, bounds); a lone surrogate is kept as its code point."""
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)), out=bounds[1:])
    return np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32), bounds
