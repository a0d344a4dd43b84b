"""Issue 32: Spark's cost per document against the local engine's, fixed cost and margin, stage by stage.

For each corpus (smallest first: the dense corpus at 4x and 16x, bench/corpus.py --dense) and each engine
(`engine.kind=local`, `engine.kind=spark` on local[2]), one child process runs `l0-to-l1` under
../shared/tools/cpusec.sh (its own cpuacct cgroup). The child reads its cgroup's CPU counter at every
stage boundary, so each stage's figure is the whole process tree's (driver, JVM, Python workers):
the session start (Spark only), ingest, l1_filter, l1_dedup, and the rest (imports, catalog, exit).
For Spark it also counts the Spark jobs each stage ran.

Margin per stage = (CPU at the largest corpus - CPU at the smallest) / (documents between them), for
both engines; the ratio Spark / local is the figure of issue 32 (goal: at most 1.5x). The outputs of the
two engines are compared at every size (L0, filter drops, L1, dedup drops: the same rows).
Run: python -m bench.spark_margin --corpus /tmp/tb32/dense-4x.jsonl.gz --corpus /tmp/tb32/dense-16x.jsonl.gz
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CPUSEC = REPO.parent / "shared" / "tools" / "cpusec.sh"
STAGES = ("session", "ingest", "l1_filter", "l1_dedup")


def cgroup_cpu_seconds() -> float:
    """CPU-seconds so far of this process's cpuacct cgroup (every process cpusec.sh started in it)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpuacct" in controllers.split(","):
            usage = Path("/sys/fs/cgroup/cpuacct") / path.lstrip("/") / "cpuacct.usage"
            return int(usage.read_text()) / 1e9
    raise RuntimeError("no cpuacct cgroup: run the child under cpusec.sh as root")


def child(corpus: str, root: str, kind: str, overrides: list[str], report: str) -> None:
    """One l0-to-l1 run; writes the CPU-seconds of each stage (whole process tree) to `report`."""
    started = cgroup_cpu_seconds()
    import jobs.l0_to_l1 as l0_to_l1
    from jobs.engine import Execution
    from jobs.pipeline import run_l0_to_l1
    from tiers.config import load_config

    figures: dict[str, float] = {"imports": cgroup_cpu_seconds() - started}
    spark_jobs: dict[str, int] = {}
    config = load_config(None, [f"engine.kind={kind}", "spark.master=local[2]", "ingest.id_field=id", *overrides])
    engine = Execution(config)

    def jobs_so_far() -> int:
        if not engine.spark_started:
            return 0
        tracker = engine.spark().sparkContext.statusTracker()
        return len(tracker.getJobIdsForGroup(None))

    def measured(name: str, body):
        before, jobs_before = cgroup_cpu_seconds(), jobs_so_far()
        wall = time.time()
        try:
            return body()
        finally:
            figures[name] = figures.get(name, 0.0) + cgroup_cpu_seconds() - before
            figures[f"{name}_wall"] = time.time() - wall
            if engine.spark_started:
                spark_jobs[name] = jobs_so_far() - jobs_before

    if kind == "spark":
        measured("session", lambda: engine.spark().range(1).count())
    filter_run, dedup_run = l0_to_l1.run_l1_filter, l0_to_l1.run_l1_dedup
    l0_to_l1.run_l1_filter = lambda *a, **k: measured("l1_filter", lambda: filter_run(*a, **k))
    l0_to_l1.run_l1_dedup = lambda *a, **k: measured("l1_dedup", lambda: dedup_run(*a, **k))
    results = run_l0_to_l1(engine, config, [corpus], root, wrap=lambda name, body: measured(name, body))
    figures["ingest"] = figures.pop("ingest -> L0")
    figures["ingest_wall"] = figures.pop("ingest -> L0_wall")
    spark_jobs["ingest"] = spark_jobs.pop("ingest -> L0", 0)
    for name in ("L0 -> L1", "L0 -> L1_wall"):
        figures.pop(name, None)
    spark_jobs.pop("L0 -> L1", None)
    if engine.spark_started:
        engine.spark().stop()
    Path(report).write_text(
        json.dumps(
            {
                "figures": figures,
                "spark_jobs": spark_jobs,
                "runs": {"ingest": results["ingest"].run_id, "l1_dedup": results["l0_to_l1"].run_id},
                "filter_run": results["l0_to_l1"].counts["filter_run"],
                "cpu_in_process": cgroup_cpu_seconds() - started,
            }
        )
    )


def run_child(corpus: str, root: Path, kind: str, overrides: list[str]) -> dict:
    report = root.with_suffix(".json")
    command = [str(CPUSEC), sys.executable, "-m", "bench.spark_margin", "--child", kind, "--corpus", corpus]
    command += ["--root", str(root), "--report", str(report), *(a for s in overrides for a in ("--set", s))]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    whole = json.loads(done.stderr.strip().splitlines()[-1])
    if whole["rc"] != 0:
        raise RuntimeError(f"{kind} on {corpus} failed:\n{done.stderr[-4000:]}")
    measured = json.loads(report.read_text())
    measured["whole"] = whole
    measured["root"] = str(root)
    return measured


def output_digest(root: str, runs: dict[str, str]) -> dict[str, tuple[int, str]]:
    """(rows, digest of the sorted rows) of each output the two engines must write alike."""
    import pyarrow.dataset as ds

    from tiers.catalog import Catalog

    catalog = Catalog(root)
    wanted = {
        "L0": ("L0", runs["ingest"], ["doc_id", "text", "url"]),
        "filter drops": ("drops", runs["filter"], ["doc_id", "stage", "reason"]),
        "L1": ("L1", runs["l1_dedup"], ["doc_id", "text", "lang"]),
        "dedup drops": ("drops", runs["l1_dedup"], ["doc_id", "stage", "reason", "details"]),
    }
    digests = {}
    for name, (kind, run_id, columns) in wanted.items():
        files = [
            str(f) for o in catalog.committed_outputs(kind=kind, run_id=run_id) for f in Path(o.path).rglob("*.parquet")
        ]
        table = ds.dataset(files, format="parquet").to_table(columns=columns)
        rows = sorted(zip(*[table.column(c).to_pylist() for c in columns]))
        digests[name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()[:16])
    return digests


def documents(corpus: str) -> int:
    import gzip

    with gzip.open(corpus, "rt", encoding="utf-8") as handle:
        return sum(1 for _ in handle)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", action="append", required=True, help="dense corpora, smallest first")
    parser.add_argument("--set", action="append", default=[], help="extra --set for both engines")
    parser.add_argument("--spark-set", action="append", default=[], help="extra --set for the Spark runs only")
    parser.add_argument(
        "--variant", action="append", default=[], help="a --set for a second Spark run per corpus (spark+variant)"
    )
    parser.add_argument("--parallel", type=int, default=1, help="runs at a time (CPU-seconds stay per run)")
    parser.add_argument("--child", choices=["local", "spark"])
    parser.add_argument("--root")
    parser.add_argument("--report")
    args = parser.parse_args()
    if args.child:
        child(args.corpus[0], args.root, args.child, args.set, args.report)
        return
    work = Path(tempfile.mkdtemp(prefix="tiers-bench-margin-"))
    configs = {"local": ("local", args.set), "spark": ("spark", args.set + args.spark_set)}
    if args.variant:
        configs["spark+variant"] = ("spark", args.set + args.spark_set + args.variant)
    with ThreadPoolExecutor(args.parallel) as pool:
        futures = {
            (corpus, label): pool.submit(run_child, corpus, work / f"{label}{index}", kind, overrides)
            for index, corpus in enumerate(args.corpus)
            for label, (kind, overrides) in configs.items()
        }
        results = {key: future.result() for key, future in futures.items()}
    sizes = {corpus: documents(corpus) for corpus in args.corpus}
    for corpus in args.corpus:
        print(f"== {corpus}: {sizes[corpus]} documents")
        digests = {}
        for kind in configs:
            r = results[(corpus, kind)]
            f = r["figures"]
            stages = "  ".join(f"{s} {f.get(s, 0.0):6.1f}" for s in STAGES)
            jobs = "  ".join(f"{s} {n}" for s, n in r["spark_jobs"].items()) if kind != "local" else ""
            print(
                f"  {kind:5s} whole {r['whole']['cpu_s']:7.1f} CPU-s (wall {r['whole']['wall_s']:6.1f} s)  "
                f"{stages}  imports {f['imports']:.1f}" + (f"\n        Spark jobs per stage: {jobs}" if jobs else "")
            )
            runs = {"ingest": r["runs"]["ingest"], "l1_dedup": r["runs"]["l1_dedup"], "filter": r["filter_run"]}
            digests[kind] = output_digest(r["root"], runs)
        same = all(d == digests["local"] for d in digests.values())
        print(f"  outputs equal: {same}  {digests['local'] if same else digests}")
    if len(args.corpus) > 1:
        small, large = args.corpus[0], args.corpus[-1]
        between = sizes[large] - sizes[small]
        print(f"== margin, {sizes[small]} -> {sizes[large]} documents (ms of CPU per document)")
        totals = {}
        for stage in (*STAGES[1:], "whole"):
            margin = {}
            for kind in configs:
                pick = (lambda r: r["whole"]["cpu_s"]) if stage == "whole" else (lambda r: r["figures"].get(stage, 0.0))
                margin[kind] = 1000 * (pick(results[(large, kind)]) - pick(results[(small, kind)])) / between
            totals[stage] = margin
            print(
                f"  {stage:10s} "
                + "  ".join(f"{k} {m:6.3f}" for k, m in margin.items())
                + "  "
                + "  ".join(f"{k} / local {m / margin['local']:.2f}x" for k, m in margin.items() if k != "local")
            )
        for kind in configs:
            fixed = results[(small, kind)]["whole"]["cpu_s"] - totals["whole"][kind] * sizes[small] / 1000
            print(f"  fixed cost ({kind}): {fixed:.1f} CPU-s (whole run minus margin x documents)")
        for kind in configs:
            if kind != "local":
                ratio = totals["whole"][kind] / totals["whole"]["local"]
                print(f"{kind} / local at the margin, whole run: {ratio:.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()
