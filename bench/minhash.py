"""MinHash (shingling plus signatures) docs per CPU-second: tiers vs datasketch vs rensa, same run.

All three use word 5-gram shingles and 112 permutations on the same documents. datasketch gets one
`update` per shingle (its documented usage); rensa gets the shingle list (Python shingling, Rust
hashing); tiers hashes words once and computes signatures for a batch of documents in numpy.
Run: python -m bench.minhash [--corpus /tmp/tiers-bench/corpus.jsonl.gz] [--docs 20000]
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import pstats
import time

from tiers.dedup.minhash import band_keys, signatures
from tiers.text import batch_shingle_hashes, shingles

NUM_PERM, NGRAM = 112, 5


def load(path: str, limit: int) -> list[str]:
    texts = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            texts.append(json.loads(line)["text"])
            if len(texts) >= limit:
                break
    return texts


def run_tiers(texts: list[str]) -> None:
    for start in range(0, len(texts), 1024):
        chunk = texts[start : start + 1024]
        band_keys(signatures(*batch_shingle_hashes(chunk, NGRAM), NUM_PERM), 14, 8)


def run_datasketch(texts: list[str]) -> None:
    from datasketch import MinHash

    for text in texts:
        m = MinHash(num_perm=NUM_PERM)
        for shingle in shingles(text, NGRAM):
            m.update(shingle.encode("utf-8"))


def run_rensa(texts: list[str]) -> None:
    from rensa import RMinHash

    for text in texts:
        m = RMinHash(num_perm=NUM_PERM, seed=1)
        m.update(shingles(text, NGRAM))
        m.digest()


def measure(name: str, fn, texts: list[str]) -> float:
    start = time.process_time()
    fn(texts)
    rate = len(texts) / (time.process_time() - start)
    print(f"{name:11s} {len(texts):6d} docs  {rate:9.1f} docs per CPU-second")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="/tmp/tiers-bench/corpus.jsonl.gz")
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--profile", action="store_true", help="print where tiers spends its time")
    args = parser.parse_args()
    texts = load(args.corpus, args.docs)
    print(f"{len(texts)} documents, {sum(map(len, texts)) / len(texts):.0f} characters on average, single process")
    ours = measure("tiers", run_tiers, texts)
    rensa = measure("rensa", run_rensa, texts)
    datasketch = measure("datasketch", run_datasketch, texts[: max(1, len(texts) // 10)])
    print(f"tiers / rensa      = {ours / rensa:.2f}x")
    print(f"tiers / datasketch = {ours / datasketch:.2f}x")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(run_tiers, texts[:5000])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(8)


if __name__ == "__main__":
    main()
