"""Text statistics of a whole batch of documents at once, for the Gopher operators.

Documents are concatenated (in chunks of about `CHUNK` bytes or characters) and scanned with a few
numpy passes instead of several Python or regex passes per document; every function here gives
exactly what its per-document definition in tiers.ops.gopher gives.
"""

from __future__ import annotations

import functools
import re
import sys
from typing import Iterator

import numpy as np

from tiers.text import word_runs

PRIME = np.uint64(1099511628211)
CHUNK = 1 << 20


def ngram_hashes(word_ids: np.ndarray, n: int) -> np.ndarray:
    """Order-sensitive 64-bit hash of every n-gram of word ids (wrapping arithmetic)."""
    count = len(word_ids) - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    h = np.zeros(count, dtype=np.uint64)
    for k in range(n):
        h = h * PRIME + word_ids[k : k + count]
    return h


def chunks(sizes: list[int], limit: int) -> Iterator[slice]:
    """Consecutive slices of items whose sizes add up to at most `limit` (a larger item alone)."""
    start = total = 0
    for i, size in enumerate(sizes):
        if total and total + size > limit:
            yield slice(start, i)
            start, total = i, 0
        total += size
    if start < len(sizes):
        yield slice(start, len(sizes))


class _Words:
    """The words of several documents in one array (as `word_runs` finds them in the lower-cased UTF-8).

    Per word: hash, document, index within the document and the document's first word; per document:
    first word, word count and byte total; `chars` are prefix sums of the words' byte lengths.
    """

    def __init__(self, encoded: list[bytes]):
        buffer = np.frombuffer(b"\n".join(encoded), dtype=np.uint8)
        starts, ends, self.ids = word_runs(buffer)
        doc_starts = np.cumsum([0] + [len(e) + 1 for e in encoded[:-1]])
        self.owner = np.searchsorted(doc_starts, starts, side="right") - 1
        self.count = np.bincount(self.owner, minlength=len(encoded))
        self.first = np.cumsum(self.count) - self.count
        self.start = self.first[self.owner]
        self.local = (np.arange(len(self.ids)) - self.start).astype(np.uint64)
        self.chars = np.concatenate([[0], np.cumsum(ends - starts)])
        self.total = np.maximum(self.chars[self.first + self.count] - self.chars[self.first], 1)


class _Grams:
    """The n-grams of a `_Words`, each document's sorted in place by hash, equal hashes by position.

    `hashes[i]` is the `ngram_hashes` value of the n words from word i on; those that run past their
    document's last word are left out of the sort and of `same`. Sorted slot j holds the n-gram at word
    `position(j)`, and `same[j]` says slots j and j+1 hold equal hashes of one document.

    Sorting is of one key per n-gram: the hash's leading bits above the word's index in its document.
    Where two different hashes of a document share those bits (rare), a stable argsort of the full
    hashes is used instead, so results are those of comparing full hashes either way.
    """

    def __init__(self, words: _Words, hashes: np.ndarray, n: int):
        self.n, self.words = n, words
        size = len(hashes)
        grams = words.count - n + 1
        several = grams > 1
        bounds = list(zip(words.first[several].tolist(), (words.first + grams)[several].tolist()))
        shift = np.uint64(max(int(words.count.max(initial=1)) - 1, 1).bit_length())
        self.low = (np.uint64(1) << shift) - np.uint64(1)
        self.order: np.ndarray | None = None
        self.keys: np.ndarray | None = (hashes & ~self.low) | words.local[:size]
        for a, b in bounds:
            self.keys[a:b].sort()
        self.same = (self.keys[1:] ^ self.keys[:-1]) <= self.low
        self._cut(np.maximum(grams, 0))
        pairs = np.flatnonzero(self.same)
        if not np.array_equal(hashes[self.position(pairs)], hashes[self.position(pairs + 1)]):
            self.keys, self.order = None, np.arange(size)
            for a, b in bounds:
                self.order[a:b] = hashes[a:b].argsort(kind="stable") + a
            ordered = hashes[self.order]
            self.same = ordered[1:] == ordered[:-1]
            self._cut(np.maximum(grams, 0))

    def _cut(self, grams: np.ndarray) -> None:
        """Clear `same` for pairs that cross a document or involve an n-gram past its document's end
        (those are the last of their document: the pair before each of them and before a first word)."""
        words, size = self.words, len(self.same) + 1
        past = np.minimum(words.count - grams, self.n - 1)
        index = np.arange(int(past.sum())) + np.repeat(words.first + grams - (np.cumsum(past) - past), past)
        index = np.concatenate([index, words.first])
        self.same[index[(index > 0) & (index < size)] - 1] = False

    def position(self, slots: np.ndarray) -> np.ndarray:
        """The word where the n-gram in each sorted slot starts."""
        if self.order is not None:
            return self.order[slots]
        return (self.keys[slots] & self.low).astype(np.int64) + self.words.start[slots]

    def top_share(self, excess: np.ndarray, limit: float) -> None:
        """Raise `excess` of each document whose most frequent n-gram repeats to (its share of the
        words' bytes - limit); ties go to the smallest hash, as with np.unique and argmax."""
        size = len(self.same) + 1
        run_start = np.flatnonzero(np.concatenate([[True], ~self.same]))
        run_len = np.diff(run_start, append=size)
        run_owner = self.words.owner[run_start]
        doc_runs = np.flatnonzero(np.concatenate([[True], run_owner[1:] != run_owner[:-1]]))
        longest = np.maximum.reduceat(run_len, doc_runs)
        repeated = longest > 1
        if not repeated.any():
            return
        is_longest = run_len == np.repeat(longest, np.diff(doc_runs, append=len(run_start)))
        candidates = np.flatnonzero(is_longest)
        owners = run_owner[candidates]
        best = candidates[np.concatenate([[True], owners[1:] != owners[:-1]])][repeated]
        first = self.position(run_start[best])
        docs = run_owner[doc_runs][repeated]
        chars = self.words.chars[first + self.n] - self.words.chars[first]
        share = longest[repeated] * chars / self.words.total[docs]
        excess[docs] = np.maximum(excess[docs], share - limit)

    def duplicate_share(self, excess: np.ndarray, limit: float) -> None:
        """Raise `excess` of each document with an n-gram seen before to (the share of the bytes of
        the words inside such repeats - limit)."""
        equal = np.flatnonzero(self.same)
        if len(equal) == 0:
            return
        start = np.sort(self.position(equal + 1))
        owner = self.words.owner[start]
        continues = np.concatenate([owner[1:] == owner[:-1], [False]])
        end = start + self.n
        end[continues] = np.minimum(end[continues], start[1:][continues[:-1]])
        pieces = self.words.chars[end] - self.words.chars[start]
        doc_break = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]]))
        docs = owner[doc_break]
        share = np.add.reduceat(pieces, doc_break) / self.words.total[docs]
        excess[docs] = np.maximum(excess[docs], share - limit)


def _degenerate_sizes(
    words: _Words, top: dict[int, float], dup: dict[int, float], top_excess: np.ndarray, dup_excess: np.ndarray
) -> None:
    """n-gram sizes below 1: every 'n-gram' hashes to 0, so there is one, len(words) - n + 1 times."""
    for d, (first, count) in enumerate(zip(words.first.tolist(), words.count.tolist())):
        for n, limit in top.items():
            if n < 1 and count - n + 1 > 1:
                chars = int(np.diff(words.chars[first : first + count + 1])[:n].sum())
                top_excess[d] = max(top_excess[d], (count - n + 1) * chars / int(words.total[d]) - limit)
        for n, limit in dup.items():
            if n < 1 and count - n + 1 > 1:
                dup_excess[d] = max(dup_excess[d], 0 / int(words.total[d]) - limit)


def ngram_excess(texts: list[str], top: dict[int, float], dup: dict[int, float]) -> tuple[list[float], list[float]]:
    """Per text, Gopher's n-gram repetition scores: the largest (share of the most frequent n-gram - limit)
    over `top` and (share of the words inside repeated n-grams - limit) over `dup`, -1.0 where none applies.

    Shares are of the bytes of the words of the lower-cased UTF-8 (tiers.text.word_runs); n-grams are
    compared by their `ngram_hashes`. Documents are handled in chunks, so the cost per document is
    a few array operations per n-gram size plus one argsort.
    """
    top_excess, dup_excess = np.full(len(texts), -1.0), np.full(len(texts), -1.0)
    encoded = [text.lower().encode("utf-8") for text in texts]
    largest = max([*top, *dup], default=0)
    for part in chunks([len(e) + 1 for e in encoded], CHUNK):
        words = _Words(encoded[part])
        if any(n < 1 for n in (*top, *dup)):
            _degenerate_sizes(words, top, dup, top_excess[part], dup_excess[part])
        hashes = words.ids
        for n in range(1, largest + 1):
            if n > 1:
                hashes = hashes[:-1] * PRIME + words.ids[n - 1 :]
            if len(hashes) == 0:
                break
            if n in top or n in dup:
                grams = _Grams(words, hashes, n)
                if n in top:
                    grams.top_share(top_excess[part], top[n])
                if n in dup:
                    grams.duplicate_share(dup_excess[part], dup[n])
    return top_excess.tolist(), dup_excess.tolist()


WORD, SPACE, LETTER = 1, 2, 4  # character classes: \w, \s, and letters ([^\W\d_]), as Python's re has them
_BULLETS = np.array([ord(c) for c in ("•", "●", "-", "*", "‣", "◦", "▪", "–")], dtype=np.uint32)
_DOT, _ELLIPSIS, _NEWLINE = ord("."), ord("…"), ord("\n")


@functools.cache
def char_classes() -> np.ndarray:
    """`WORD | SPACE | LETTER` flags of every code point, found with Python's re itself."""
    every = np.arange(sys.maxunicode + 1, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    table = np.zeros(sys.maxunicode + 1, dtype=np.uint8)
    for flag, pattern in ((WORD, r"\w+"), (SPACE, r"\s+"), (LETTER, r"[^\W\d_]+")):
        for match in re.finditer(pattern, every):
            table[match.start() : match.end()] |= flag
    return table


def _edges(mask: np.ndarray) -> np.ndarray:
    """Start, end, start, end, ... of the runs of True in a mask that begins and ends with False."""
    return np.flatnonzero(mask[1:] != mask[:-1]) + 1


def text_counts(texts: list[str]) -> dict[str, list[int]]:
    """Per text: `words` (runs of \\w), `word_chars` (their characters), `tokens` (str.split), `alpha_tokens`
    (tokens with a letter), `lines` (split at \\n, not blank), `bullet_lines` (first non-space character
    a Gopher bullet) and `ellipsis_lines` (ending in '...' or '…' before trailing space)."""
    out: dict[str, list[int]] = {
        name: []
        for name in ("words", "word_chars", "tokens", "alpha_tokens", "lines", "bullet_lines", "ellipsis_lines")
    }
    for part in chunks([len(text) + 1 for text in texts], CHUNK):
        for name, values in _chunk_counts(texts[part]).items():
            out[name] += values
    return out


def _chunk_counts(texts: list[str]) -> dict[str, list[int]]:
    """`text_counts` of one chunk: the texts joined by newlines, after three more (so that looking two
    characters back from a line's last one never leaves the buffer)."""
    pad = 3
    buffer = "\n" * pad + "\n".join(texts) + "\n"
    codes = np.frombuffer(buffer.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    bounds = pad + np.cumsum([0] + [len(text) + 1 for text in texts])
    classes = char_classes()[codes]
    word_edges = _edges((classes & WORD) != 0)
    token_edges = _edges((classes & SPACE) == 0)
    token_start, token_end = token_edges[0::2], token_edges[1::2]
    words = np.searchsorted(word_edges[0::2], bounds)
    word_chars = np.concatenate([[0], np.cumsum(word_edges[1::2] - word_edges[0::2])])[words]
    tokens = np.searchsorted(token_start, bounds)
    alpha = np.logical_or.reduceat((classes & LETTER) != 0, token_edges)[0::2]
    line_end = np.logical_or.reduceat(codes == _NEWLINE, token_edges)[1::2]
    new_line = np.concatenate([[True], line_end[:-1]])
    last = token_end[line_end] - 1
    ellipsis = np.zeros(len(token_start), dtype=bool)
    ellipsis[line_end] = (codes[last] == _ELLIPSIS) | (
        (codes[last] == _DOT) & (codes[last - 1] == _DOT) & (codes[last - 2] == _DOT)
    )
    bullet = new_line & np.isin(codes[token_start], _BULLETS)

    def per_text(flags: np.ndarray) -> list[int]:
        totals = np.concatenate([[0], np.cumsum(flags)])[tokens]
        return np.diff(totals).tolist()

    return {
        "words": np.diff(words).tolist(),
        "word_chars": np.diff(word_chars).tolist(),
        "tokens": np.diff(tokens).tolist(),
        "alpha_tokens": per_text(alpha),
        "lines": per_text(new_line),
        "bullet_lines": per_text(bullet),
        "ellipsis_lines": per_text(ellipsis),
    }
