"""L0-to-L1 docs per core: tiers on Spark against datatrove's equivalent pipeline, same corpus.

Measures, on the corpus from bench/corpus.py:
- tiers `run l0-to-l1` (ingest + operators + exact and MinHash dedup) as a subprocess on local[2];
  CPU-seconds of the driver, JVM and Python workers (RUSAGE_CHILDREN) and wall time;
- datatrove (installed from PyPI in its own environment, --datatrove-python) running
  bench/datatrove_l0_to_l1.py on the first --datatrove-docs documents, one worker;
- keep-one removal F1 of the dedup stage alone (filters off) for both, against the gold clusters.
Run: python -m bench.l0_to_l1 --corpus /tmp/tiers-bench/corpus.jsonl.gz --datatrove-python /tmp/benchenv/bin/python
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tiers.catalog import Catalog
from tiers.ids import doc_id_from_provenance

REPO = Path(__file__).resolve().parents[1]


def subset(corpus: str, n: int, out: Path) -> list[dict]:
    docs = []
    with gzip.open(corpus, "rt", encoding="utf-8") as handle:
        for line in handle:
            docs.append(json.loads(line))
            if len(docs) >= n:
                break
    with gzip.open(out, "wt", encoding="utf-8") as handle:
        for doc in docs:
            handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return docs


def machine_cpu_seconds() -> float:
    """Busy CPU time of the whole machine (user, nice, system, irq, softirq) from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:8]
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields)
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def timed(command: list[str], **kwargs) -> tuple[float, float]:
    """(wall seconds, busy CPU seconds of the machine while the command ran).

    Spark's JVM and Python workers are not all reaped by the driver, so per-process accounting misses
    them; on an otherwise idle machine the machine-wide figure is the job's CPU time.
    """
    before = machine_cpu_seconds()
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    wall = time.perf_counter() - start
    return wall, machine_cpu_seconds() - before


def removal_f1(docs: list[dict], removed: set[str]) -> dict[str, float]:
    """Keep-one removal F1: in a gold cluster of k documents, k-1 removals are correct, whichever are kept."""
    cluster_of = {d["id"]: d["cluster"] for d in docs}
    sizes = Counter(cluster_of.values())
    removed_per_cluster = Counter(cluster_of[i] for i in removed if i in cluster_of)
    tp = sum(min(count, sizes[c] - 1) for c, count in removed_per_cluster.items())
    expected = sum(k - 1 for k in sizes.values())
    precision = tp / len(removed) if removed else 1.0
    recall = tp / expected if expected else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "gold_removals": expected,
        "removed": len(removed),
    }


def run_tiers(corpus: Path, root: Path, extra: list[str]) -> tuple[float, float]:
    command = [
        sys.executable,
        "-m",
        "cli",
        "run",
        "l0-to-l1",
        "--input",
        str(corpus),
        "--root",
        str(root),
        "--set",
        "spark.master=local[2]",
        "--set",
        "ingest.id_field=id",
        *extra,
    ]
    return timed(command, cwd=REPO)


def tiers_removed(root: Path, docs: list[dict]) -> set[str]:
    by_doc_id = {doc_id_from_provenance("jsonl", d["id"]): d["id"] for d in docs}
    _, rows = Catalog(root).query("SELECT doc_id FROM drops WHERE stage IN ('exact_dedup', 'minhash_dedup')")
    return {by_doc_id[r[0]] for r in rows}


def print_profile(root: Path) -> None:
    """Where the time went: each job's wall time and the operators' CPU seconds (summed over workers)."""
    _, rows = Catalog(root).query("SELECT job, epoch(ended_at - started_at), counts_json FROM runs ORDER BY started_at")
    for job, seconds, counts in rows:
        print(f"  {job:10s} wall {seconds or 0:6.1f}s")
        for name, stats in json.loads(counts).get("operators", {}).items():
            print(f"    {name:18s} {stats['seconds']:6.1f} cpu-s  {stats['docs_in']:6d} in  {stats['docs_out']:6d} out")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="/tmp/tiers-bench/corpus.jsonl.gz")
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--datatrove-python", default=None, help="python of an environment with datatrove installed")
    parser.add_argument("--datatrove-docs", type=int, default=5_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tiers-bench-l1-"))
    docs = subset(args.corpus, args.docs, work / "corpus.jsonl.gz")
    print(f"corpus: {len(docs)} documents, {sum(len(d['text'].encode()) for d in docs) / 1e6:.1f} MB")

    wall, cpu = run_tiers(work / "corpus.jsonl.gz", work / "full", [])
    ours_cpu = len(docs) / cpu
    print(
        f"tiers full L0->L1   {len(docs)} docs  wall {wall:6.1f}s  cpu {cpu:6.1f}s  {ours_cpu:7.1f} docs per CPU-second"
        f"  ({len(docs) / wall / 2:.1f} docs/s per core by wall time on 2 cores)"
    )
    print_profile(work / "full")
    dedup_only = work / "dedup_only.yaml"
    dedup_only.write_text((REPO / "conf" / "pipeline.yaml").read_text().split("\nl1:")[0] + "\nl1:\n  steps: []\n")
    run_tiers(work / "corpus.jsonl.gz", work / "dedup", ["--config", str(dedup_only)])
    ours_f1 = removal_f1(docs, tiers_removed(work / "dedup", docs))
    print(f"tiers dedup removal {ours_f1}")

    if not args.datatrove_python:
        print("datatrove: skipped (give --datatrove-python)")
        return
    small = work / "small.jsonl.gz"
    small_docs = subset(args.corpus, args.datatrove_docs, small)
    script = str(REPO / "bench" / "datatrove_l0_to_l1.py")
    wall, cpu = timed([args.datatrove_python, script, "--input", str(small), "--removed", str(work / "dt_full.json")])
    theirs_cpu = len(small_docs) / cpu
    print(
        f"datatrove full      {len(small_docs)} docs  wall {wall:6.1f}s  cpu {cpu:6.1f}s  {theirs_cpu:7.1f} docs per CPU-second"
    )
    timed(
        [
            args.datatrove_python,
            script,
            "--input",
            str(small),
            "--minhash-only",
            "--removed",
            str(work / "dt_dedup.json"),
        ]
    )
    theirs_f1 = removal_f1(small_docs, set(json.loads((work / "dt_dedup.json").read_text())))
    print(f"datatrove dedup removal {theirs_f1}")
    run_tiers(small, work / "dedup_small", ["--config", str(dedup_only)])
    print(
        f"tiers dedup removal on the same {len(small_docs)} docs {removal_f1(small_docs, tiers_removed(work / 'dedup_small', small_docs))}"
    )
    print(f"ratio tiers / datatrove (docs per CPU-second) = {ours_cpu / theirs_cpu:.1f}x")


if __name__ == "__main__":
    main()
