"""L1-to-L2 docs/s per core: the Spark scoring stage against bare fastText predict in one process.

Baseline, one process: a naive per-document Ultra-FineWeb preprocessing (a Python loop over
characters for the accent removal, a regex tokenizer, per-token escaping), then bare `predict` on the
list; each timed separately and together. tiers: `classifiers.preprocess` alone, then the
`l2_score` Spark stage (mapInArrow over L1-shaped Parquet, model shipped with addFile), whose CPU time
is measured machine-wide. The model is trained with the paper's settings on the bootstrap seeds.
Run: python -m bench.l1_to_l2 [--docs 20000]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.l0_to_l1 import REPO, machine_cpu_seconds
from classifiers.model import QualityModel
from classifiers.preprocess import preprocess
from classifiers.registry import ModelRef
from classifiers.train import train_classifier
from tiers.config import ClassifierTrainConfig

SHARED = REPO.parent / "shared" / "data"
_TOKEN = re.compile(r"\w+|[^\w\s]|\n|\r|\t")


def naive_preprocess(text: str) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text).lower()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c) != "Mn")
    tokens = [t.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") for t in _TOKEN.findall(text)]
    return re.sub(r" +", " ", " ".join(tokens)).strip()


def documents(n: int) -> list[str]:
    gold = json.loads((SHARED / "scrapinghub-article-extraction" / "ground-truth.json").read_text())
    base = [v["articleBody"] for v in gold.values() if len(v["articleBody"]) > 2000]
    return [base[i % len(base)] for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--bucket", type=int, default=2_000_000, help="fastText buckets (the paper's default)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tiers-bench-l2-"))
    texts = documents(args.docs)
    print(f"{len(texts)} documents, {sum(map(len, texts)) / len(texts):.0f} characters on average")
    negatives = [t for t in (SHARED / "dolma-test-samples").glob("formats__gz__*")]
    import gzip

    with gzip.open(negatives[0], "rt") as handle:
        neg = [json.loads(line)["text"] for line in handle]
    trained = train_classifier(
        texts[:181], [t for t in neg if len(t) > 500], work / "model.bin", ClassifierTrainConfig(bucket=args.bucket)
    )
    model = QualityModel(trained.path)

    start = time.process_time()
    naive = [naive_preprocess(t) for t in texts]
    naive_cpu = time.process_time() - start
    start = time.process_time()
    model.predict_preprocessed(naive)
    predict_cpu = time.process_time() - start
    start = time.process_time()
    for text in texts:
        preprocess(text)
    ours_cpu = time.process_time() - start
    n = len(texts)
    print(f"naive preprocessing   {n / naive_cpu:8.1f} docs per CPU-second")
    print(f"bare fastText predict {n / predict_cpu:8.1f} docs per CPU-second")
    print(f"naive pair            {n / (naive_cpu + predict_cpu):8.1f} docs per CPU-second  (baseline)")
    print(
        f"tiers preprocessing   {n / ours_cpu:8.1f} docs per CPU-second  ({naive_cpu / ours_cpu:.1f}x the naive loop)"
    )
    print(f"tiers pair in-process {n / (ours_cpu + predict_cpu):8.1f} docs per CPU-second")

    from jobs.l1_to_l2_spark import score_partition
    from jobs.l2_rows import SCORE_COLUMNS
    from jobs.spark import get_spark
    from jobs.spark_schema import spark_ddl
    from tiers.config import SparkConfig

    (work / "l1").mkdir()
    table = pa.table({"doc_id": [f"d{i}" for i in range(n)], "lang": ["en"] * n, "text": texts})
    for part in range(2):
        pq.write_table(
            table.slice(part * (n // 2), n // 2 if part == 0 else n - n // 2), work / "l1" / f"part-{part}.parquet"
        )
    spark = get_spark(SparkConfig(master="local[2]"))
    models = {"en": ModelRef("en", trained.path, "builtin", trained.model_hash)}
    frame = spark.read.parquet(str(work / "l1"))
    frame.count()
    before, start = machine_cpu_seconds(), time.perf_counter()
    frame.mapInArrow(lambda it: score_partition(it, models, None), spark_ddl(SCORE_COLUMNS)).write.parquet(
        str(work / "scores")
    )
    wall, cpu = time.perf_counter() - start, machine_cpu_seconds() - before
    print(
        f"tiers Spark l2_score  {n / cpu:8.1f} docs per CPU-second (wall {wall:.1f}s on 2 cores, cpu {cpu:.1f}s, model load included)"
    )
    print(f"ratio Spark stage / naive pair = {(n / cpu) / (n / (naive_cpu + predict_cpu)):.2f}x")


if __name__ == "__main__":
    main()
