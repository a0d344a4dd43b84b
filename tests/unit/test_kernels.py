"""The compiled loops of tiers/kernels.py against plain-Python definitions written from their docstrings
(Python integers, one word or shingle at a time), on real texts and on edge cases."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tiers import kernels
from tiers.dedup.exact import exact_keys
from tiers.dedup.minhash import permutations, signatures
from tiers.config import MinHashConfig
from tiers.dedup.near import component_roots, sketch
from tiers.dedup.sketch_columns import keys_column, shingles_column, signature_column, sketches_of
from tiers.dedup.unionfind import components
from tiers.text import LoweredBatch, batch_shingle_hashes, word_runs

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1
P = 0x9E3779B97F4A7C15
WORD = re.compile(rb"[0-9a-z\x80-\xff]+")
JAVA_SPACE = re.compile(r"[ \t\n\x0b\f\r]+")
SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data"

EDGE_TEXTS = [
    "",
    "a",
    " ",
    "  a  b ",
    "Hello, World! 123",
    "\t\nX\r\x0b\x0cY  ",
    "ΑΣ  Β",
    "İstanbul x",
    "a\u00a0b  c",
    "日本語のテキスト です",
    "x" * 5000 + " y",
    "one two three four",
    "1 2 3 4 5 6 7",
]


def fmix64(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & M64
    return h ^ (h >> 33)


def fmix32(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def word_hash(word: bytes) -> int:
    return fmix64(sum((byte + 1) * pow(P, j, 1 << 64) for j, byte in enumerate(word)) & M64)


def shingle_hashes(text: str, n: int) -> list[int]:
    words = [word_hash(w) for w in WORD.findall(text.lower().encode("utf-8"))]
    size = n if len(words) >= n else len(words)
    out = []
    for first in range(len(words) - size + 1 if words else 0):
        h = 0
        for w in words[first : first + size]:
            h = (h * 0x100000001B3 + w) & M64
        out.append(h >> 32)
    return out


def real_texts(limit: int = 300) -> list[str]:
    texts = []
    for path in sorted(SAMPLE.rglob("*.jsonl.gz"))[:3]:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                text = json.loads(line).get("text")
                if isinstance(text, str):
                    texts.append(text[:4000])
                if len(texts) >= limit:
                    return texts
    return texts


@pytest.fixture(scope="module")
def texts() -> list[str]:
    found = real_texts()
    assert found, f"no JSONL samples under {SAMPLE}"
    return found + EDGE_TEXTS


def test_word_runs_equal_the_definition(texts):
    buffer = np.frombuffer(b"\n".join(t.lower().encode("utf-8") for t in texts[:50]), dtype=np.uint8)
    starts, ends, hashes = word_runs(buffer)
    expected = [(m.start(), m.end(), word_hash(m.group())) for m in WORD.finditer(buffer.tobytes())]
    assert list(zip(starts.tolist(), ends.tolist(), hashes.tolist())) == expected


def test_shingle_hashes_equal_the_definition(texts):
    for n in (1, 3, 5):
        flat, counts = batch_shingle_hashes(texts, n)
        expected = [shingle_hashes(t, n) for t in texts]
        assert counts.tolist() == [len(e) for e in expected]
        assert flat.tolist() == [h for e in expected for h in e]


def test_signatures_equal_the_definition(texts):
    sample = texts[:40] + ["", "a b"]
    flat, counts = batch_shingle_hashes(sample, 5)
    matrix = signatures(flat, counts, 16, seed=3)
    a, b = permutations(16, 3)
    for row, text in zip(matrix.tolist(), sample):
        hashes = shingle_hashes(text, 5)
        expected = [min(((int(ak) * fmix32(h) + int(bk)) & M32 for h in hashes), default=M32) for ak, bk in zip(a, b)]
        assert row == expected


def test_sorted_sets_equal_numpy_unique(texts):
    flat, counts = batch_shingle_hashes(texts, 5)
    present = counts > 0
    values, sizes = kernels.sorted_sets(flat, counts[present])
    bounds = np.concatenate([[0], np.cumsum(counts)])
    expected = [np.unique(flat[bounds[i] : bounds[i + 1]]) for i in np.flatnonzero(present)]
    assert sizes.tolist() == [len(e) for e in expected]
    assert np.array_equal(values, np.concatenate(expected))


def test_exact_keys_equal_the_java_whitespace_definition(texts):
    sample = texts + [None, "  \t ", "A  b", "a b", "\u2003a b"]
    expected = [
        None if t is None else hashlib.sha256(JAVA_SPACE.sub(" ", t).strip(" ").lower().encode("utf-8")).hexdigest()
        for t in sample
    ]
    assert exact_keys(sample) == expected
    assert exact_keys(sample, LoweredBatch.of(sample)) == expected
    assert expected[-3] == expected[-2] != expected[-1]


def test_pair_jaccard_equals_set_arithmetic(texts):
    sketched = sketch(texts, MinHashConfig())
    rng = random.Random(3)
    count = len(sketched.present)
    src = np.array([rng.randrange(count) for _ in range(500)] + [0], dtype=np.int64)
    dst = np.array([rng.randrange(count) for _ in range(500)] + [0], dtype=np.int64)
    got = kernels.pair_jaccard(sketched.set_values, sketched.set_offsets, src, dst)
    for value, a, b in zip(got.tolist(), src.tolist(), dst.tolist()):
        x, y = set(sketched.shingle_set(a).tolist()), set(sketched.shingle_set(b).tolist())
        assert value == len(x & y) / len(x | y)
    assert kernels.pair_jaccard(
        np.empty(0, np.uint32), np.zeros(3, np.int64), np.array([0]), np.array([1])
    ).tolist() == [1.0]


def test_sketches_survive_their_index_columns(texts):
    sketched = sketch(texts, MinHashConfig())
    table = pa.table(
        {"signature": signature_column(sketched), "keys": keys_column(sketched), "shingles": shingles_column(sketched)}
    )
    back = sketches_of(table.slice(1))
    assert np.array_equal(back.signatures, sketched.signatures[1:])
    assert np.array_equal(back.keys, sketched.keys[1:])
    for i in range(len(back.present)):
        assert np.array_equal(back.shingle_set(i), sketched.shingle_set(i + 1))


def test_component_roots_equal_the_reference_union_find():
    rng = random.Random(7)
    for nodes in (1, 2, 50, 2000):
        edges = [(rng.randrange(nodes), rng.randrange(nodes)) for _ in range(nodes)]
        src = np.array([e[0] for e in edges], dtype=np.int64)
        dst = np.array([e[1] for e in edges], dtype=np.int64)
        reference = components(edges)
        roots = component_roots(nodes, src, dst)
        assert roots.tolist() == [reference.get(node, node) for node in range(nodes)]


def test_pair_jaccard_of_shingles_columns_equals_set_arithmetic(texts):
    from tiers.dedup.sketch_columns import pair_jaccard

    sketched = sketch(texts, MinHashConfig())
    column = shingles_column(sketched)
    rng = random.Random(5)
    rows = [rng.randrange(len(column)) for _ in range(300)]
    others = [rng.randrange(len(column)) for _ in range(300)]
    got = pair_jaccard(column.take(rows), column.take(others).slice(0))
    for value, a, b in zip(got.tolist(), rows, others):
        x, y = set(sketched.shingle_set(a).tolist()), set(sketched.shingle_set(b).tolist())
        assert value == len(x & y) / len(x | y)
