"""Benchmark (not a test): `tiers.tokens.count_tokens` against encoding every text whole.

The old path is what count_tokens did before it counted by pre-tokens: one `encode_batch` over the
texts (Rust threads) and the length of each encoding. The new path is `count_tokens` itself, first
with its per-tokenizer state empty (shape check, character checks and piece cache built during the
call), then again with that state warm. Both exclude loading the tokenizer. CPU seconds are
`time.process_time()`, which counts every thread of this process; nothing limits the threads.

    .venv/bin/python -m bench.token_count                       # texts from ../shared/data
    .venv/bin/python -m bench.token_count --parquet /tmp/proto/kept.parquet
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tiers import tokens  # noqa: E402

log = logging.getLogger("bench.token_count")


def shared_texts() -> list[str]:
    """The Dolma CC-2019 sample (697 pages, about 20 languages) and the 181 Scrapinghub gold article bodies."""
    from tests.helpers import DOLMA_CC, SCRAPINGHUB

    with gzip.open(DOLMA_CC, "rt", encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    gold = json.loads((SCRAPINGHUB / "ground-truth.json").read_text(encoding="utf-8"))
    return texts + [entry["articleBody"] for entry in gold.values()]


def parquet_texts(path: str, column: str) -> list[str | None]:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=[column]).column(column).to_pylist()


def measured(count: Callable[[], list[int]]) -> tuple[list[int], float, float]:
    """(counts, CPU seconds of all threads, wall seconds) of one call."""
    start_cpu, start = time.process_time(), time.perf_counter()
    counts = count()
    return counts, time.process_time() - start_cpu, time.perf_counter() - start


def old_path(tokenizer, texts: list[str | None]) -> list[int]:
    counts = [0] * len(texts)
    present = [i for i, text in enumerate(texts) if text]
    for i, encoding in zip(present, tokenizer.encode_batch([texts[i] for i in present], add_special_tokens=False)):
        counts[i] = len(encoding.ids)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parquet", help="read texts from this Parquet file instead of ../shared/data")
    parser.add_argument("--column", default="text")
    parser.add_argument("--tokenizer", default=tokens.DEFAULT_TOKENIZER)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    texts = parquet_texts(args.parquet, args.column) if args.parquet else shared_texts()
    tokenizer = tokens.load_tokenizer(args.tokenizer)
    log.info(
        "%d texts, %.1f M characters, tokenizer %s", len(texts), sum(len(t) for t in texts if t) / 1e6, args.tokenizer
    )

    old, old_cpu, old_wall = measured(lambda: old_path(tokenizer, texts))
    tokens._split_counter.cache_clear()
    cold, cold_cpu, cold_wall = measured(lambda: tokens.count_tokens(texts, args.tokenizer))
    warm, warm_cpu, warm_wall = measured(lambda: tokens.count_tokens(texts, args.tokenizer))
    counter = tokens._split_counter(args.tokenizer)

    total = sum(old)
    for label, cpu, wall in (
        ("old: encode_batch", old_cpu, old_wall),
        ("new: count_tokens, cold", cold_cpu, cold_wall),
        ("new: count_tokens, warm", warm_cpu, warm_wall),
    ):
        print(
            f"{label:26s} {cpu:6.2f} CPU-s {wall:6.2f} s wall {total / cpu:12,.0f} tokens/CPU-s"
            f"  ratio old/this {old_cpu / cpu:5.2f}x"
        )
    if counter is None:
        print("this tokenizer is not counted by pre-tokens: every text was encoded whole")
    else:
        whole = sum(1 for text in texts if text and counter.count(text) is None)
        print(
            f"{total:,} tokens; {whole} of {len(texts)} texts encoded whole (a character the tokenizer classes "
            f"differently: {len(counter.disagreed)} of {len(counter.agreed) + len(counter.disagreed)} seen); "
            f"{len(counter._pieces):,} pre-tokens cached"
        )
    print(f"counts equal to the old path: cold {cold == old}, warm {warm == old} ({len(texts)} texts)")


if __name__ == "__main__":
    main()
