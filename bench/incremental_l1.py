"""Issue 17, incremental processing: the cost of promoting a new crawl snapshot against the first's.

The dense near-duplicate corpus (bench/corpus.py --dense) is shuffled and cut into snapshots of equal size (copies
of one original fall into different snapshots, so later snapshots hold copies of documents already in L1).
Each snapshot is promoted with `tiers run l0-to-l1 --input SNAPSHOT` on one root, the command's whole
process tree measured by ../shared/tools/cpusec.sh; then all snapshots at once on a fresh root, for the
one-shot cost and as the removal-quality reference. Keep-one removal F1 against the generator's gold
clusters is reported for both (dedup only, `--set l1.steps=[]`, so operator drops do not blur it).
Run: python -m bench.incremental_l1 --corpus /tmp/tiers-bench/dense-4x.jsonl.gz   (2 snapshots of 15,210)
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
from pathlib import Path

from bench.dedup_dense import cpusec, line, load
from bench.l0_to_l1 import removal_f1, tiers_removed


def write(docs: list[dict], path: Path) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for doc in docs:
            handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return path


def promote(snapshot: Path, root: Path, extra: list[str]) -> dict:
    return cpusec(
        [
            sys.executable,
            "-m",
            "cli",
            "run",
            "l0-to-l1",
            "--input",
            str(snapshot),
            "--root",
            str(root),
            "--set",
            "spark.master=local[2]",
            "--set",
            "ingest.id_field=id",
            *extra,
        ]
    )


def series(snapshots: list[Path], sizes: list[int], root: Path, extra: list[str], label: str) -> list[dict]:
    figures = []
    for index, (snapshot, size) in enumerate(zip(snapshots, sizes)):
        result = promote(snapshot, root, extra)
        line(f"{label} snapshot {index + 1}", size, result)
        figures.append(result)
    for index, result in enumerate(figures[1:], start=2):
        print(
            f"  {label}: snapshot {index} costs {result['cpu_s'] / figures[0]['cpu_s']:.2f}x snapshot 1 (goal <= 1.2x)"
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="/tmp/tiers-bench/dense-4x.jsonl.gz")
    parser.add_argument(
        "--docs-per-snapshot",
        type=int,
        default=None,
        help="default: the whole corpus in equal parts (so every gold cluster is complete)",
    )
    parser.add_argument("--seed", type=int, default=17, help="documents go to snapshots in a seeded random order")
    parser.add_argument("--snapshots", type=int, default=2)
    parser.add_argument("--skip-full", action="store_true", help="dedup-only runs only")
    args = parser.parse_args()
    docs = load(args.corpus)
    random.Random(args.seed).shuffle(docs)
    per_snapshot = args.docs_per_snapshot or len(docs) // args.snapshots
    docs = docs[: per_snapshot * args.snapshots]
    work = Path(tempfile.mkdtemp(prefix="tiers-bench-incremental-"))
    parts = [docs[i * per_snapshot : (i + 1) * per_snapshot] for i in range(args.snapshots)]
    snapshots = [write(part, work / f"snapshot{i + 1}.jsonl.gz") for i, part in enumerate(parts)]
    whole = write(docs, work / "all.jsonl.gz")
    sizes = [len(p) for p in parts]
    first_clusters = {d["cluster"] for d in parts[0]}
    later_copies = sum(1 for part in parts[1:] for d in part if d["cluster"] in first_clusters)
    print(
        f"== {args.corpus}: {args.snapshots} snapshots of {per_snapshot} documents (seeded random split); "
        f"{later_copies} documents of later snapshots belong to a cluster of snapshot 1"
    )
    if not args.skip_full:
        series(snapshots, sizes, work / "full", [], "full L0->L1")
        line("full L0->L1 one shot", len(docs), promote(whole, work / "full-once", []))
    dedup_only = ["--set", "l1.steps=[]"]
    series(snapshots, sizes, work / "dedup", dedup_only, "dedup only")
    line("dedup only one shot", len(docs), promote(whole, work / "dedup-once", dedup_only))
    print(f"  removal, incremental: {removal_f1(docs, tiers_removed(work / 'dedup', docs))}")
    print(f"  removal, one shot:    {removal_f1(docs, tiers_removed(work / 'dedup-once', docs))}")


if __name__ == "__main__":
    main()
