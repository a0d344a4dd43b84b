"""Issue 17's benchmark on the dense near-duplicate corpus (bench/corpus.py --dense): whole runs, each
command's entire process tree measured by ../shared/tools/cpusec.sh (its own cpuacct cgroup).

- tiers `run l0-to-l1` full, and dedup only (`--set l1.steps=[]`), with the default engine (auto: the
  local engine below 256 MiB of input; `--set engine.kind=spark` measures Spark, local[2]);
- datatrove's full pipeline (bench/datatrove_l0_to_l1.py, one worker) and rensa end to end
  (bench/dedup_rensa.py), both in the separate benchmark environment (--bench-python);
- keep-one removal F1 of each against the generator's gold clusters;
- with several corpora (1x, 4x, 16x): the exponent of tiers dedup-only CPU time in documents.
Run: python -m bench.dedup_dense --corpus /tmp/tiers-bench/dense-1x.jsonl.gz --bench-python /tmp/bench-venv/bin/python
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.l0_to_l1 import removal_f1, tiers_removed

REPO = Path(__file__).resolve().parents[1]
CPUSEC = REPO.parent / "shared" / "tools" / "cpusec.sh"


def cpusec(command: list[str]) -> dict:
    """Run under cpusec.sh; its JSON line (cpu_s, wall_s, rc, method)."""
    done = subprocess.run([str(CPUSEC), *command], cwd=REPO, capture_output=True, text=True)
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    if figures["rc"] != 0:
        raise RuntimeError(f"{command} failed:\n{done.stderr[-3000:]}")
    return figures


def load(corpus: str) -> list[dict]:
    with gzip.open(corpus, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def tiers(corpus: str, root: Path, extra: list[str]) -> dict:
    return cpusec(
        [
            sys.executable,
            "-m",
            "cli",
            "run",
            "l0-to-l1",
            "--input",
            corpus,
            "--root",
            str(root),
            "--set",
            "spark.master=local[2]",
            "--set",
            "ingest.id_field=id",
            *extra,
        ]
    )


def line(name: str, docs: int, figures: dict, extra: str = "") -> float:
    rate = docs / figures["cpu_s"]
    print(
        f"{name:28s} {docs:7d} docs  cpu {figures['cpu_s']:7.1f}s  wall {figures['wall_s']:6.1f}s  "
        f"{rate:8.1f} docs per CPU-second {extra}",
        flush=True,
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", action="append", required=True, help="dense corpora, smallest first")
    parser.add_argument("--bench-python", default=None, help="python of the environment with datatrove and rensa")
    parser.add_argument("--no-full", action="store_true", help="dedup-only runs only (for the scaling series)")
    parser.add_argument("--set", action="append", default=[], help="extra --set for the tiers runs")
    parser.add_argument(
        "--compare-corpora",
        type=int,
        default=1,
        help="run rensa (and datatrove) on this many corpora, smallest first (default 1)",
    )
    parser.add_argument(
        "--datatrove-corpora",
        type=int,
        default=None,
        help="run datatrove on this many corpora only (default: --compare-corpora)",
    )
    args = parser.parse_args()
    extra = [a for s in args.set for a in ("--set", s)]
    work = Path(tempfile.mkdtemp(prefix="tiers-bench-dense-"))
    series = []
    for index, corpus in enumerate(args.corpus):
        docs = load(corpus)
        megabytes = sum(len(d["text"].encode()) for d in docs) / 1e6
        print(f"== {corpus}: {len(docs)} docs, {megabytes:.1f} MB")
        rates = {}
        if not args.no_full:
            rates["full"] = line("tiers full L0->L1", len(docs), tiers(corpus, work / f"full{index}", extra))
        dedup = tiers(corpus, work / f"dedup{index}", [*extra, "--set", "l1.steps=[]"])
        rates["dedup"] = line("tiers dedup only", len(docs), dedup)
        series.append((len(docs), dedup["cpu_s"]))
        print(f"  tiers dedup removal {removal_f1(docs, tiers_removed(work / f'dedup{index}', docs))}")
        if args.bench_python and index < args.compare_corpora:
            removed = work / f"rensa{index}.json"
            figures = cpusec(
                [
                    args.bench_python,
                    str(REPO / "bench" / "dedup_rensa.py"),
                    "--input",
                    corpus,
                    "--removed",
                    str(removed),
                ]
            )
            rensa = line("rensa end to end", len(docs), figures)
            print(f"  rensa removal {removal_f1(docs, set(json.loads(removed.read_text())))}")
            print(f"  tiers dedup only / rensa = {rates['dedup'] / rensa:.2f}x (goal >= 0.5x)")
            datatrove_corpora = args.compare_corpora if args.datatrove_corpora is None else args.datatrove_corpora
            if not args.no_full and index < datatrove_corpora:
                removed = work / f"datatrove{index}.json"
                figures = cpusec(
                    [
                        args.bench_python,
                        str(REPO / "bench" / "datatrove_l0_to_l1.py"),
                        "--input",
                        corpus,
                        "--removed",
                        str(removed),
                    ]
                )
                datatrove = line("datatrove full", len(docs), figures)
                print(
                    f"  datatrove removal (after its filters) {removal_f1(docs, set(json.loads(removed.read_text())))}"
                )
                print(f"  tiers full / datatrove full = {rates['full'] / datatrove:.2f}x (goal >= 10x)")
    if len(series) > 1:
        (n0, c0), (n1, c1) = series[0], series[-1]
        print(
            f"time exponent of tiers dedup only, {n0} -> {n1} docs: {math.log(c1 / c0) / math.log(n1 / n0):.3f} (goal <= 1.05)"
        )


if __name__ == "__main__":
    main()
