"""Issue 32: l0-to-l1 on a real standalone cluster (127.0.0.1, two one-core workers) with one and with two
executor cores, under spark-submit; the speed-up, and where the serial part sits, from Spark's event log.

The corpus is split into `--shards` JSONL.gz files first: ingest reads one file per task, so a single
file would be one serial task whatever the cluster. Both runs use the same cluster; `spark.cores.max`
limits the first to one core (one worker's executor). For each run: wall time, and the CPU-seconds of
the submit's process tree (../shared/tools/cpusec.sh): that is the driver only (JVM and Python), since
the executors are children of the already running workers; and from the event log:
- driver only: the application's time with no Spark job running (session start, planning, the driver's
  checks, reading footers, the catalog's commit);
- one task: time inside jobs with exactly one task running (one input file, coalesce(1) writes, skew);
- parallel: time with two or more tasks running.
The machine's busy CPU-seconds over each submit (/proc/stat, every process on it: driver, master, workers,
executors, their Python workers and anything else running) against its cores x wall time say whether
the machine itself, rather than the serial part, bounds the speed-up; `bench/process_cpu.py` splits
them by kind of process (driver, executor JVMs, Python workers, master and workers).
Wall time on a shared, loaded machine is noisy (CPU-seconds are not): read the speed-up with that caveat.
The two runs' outputs (L0, drops, L1) are compared.
Run: python -m bench.cluster_scaling --corpus /tmp/tb32/dense-4x.jsonl.gz --shards 8
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import tempfile
from pathlib import Path

from bench.event_log import job_spans, timeline
from bench.process_cpu import cpu_by_kind
from bench.spark_margin import CPUSEC, REPO, output_digest
from bench.standalone import standalone_cluster
from jobs.packaging import build_pyfiles
from tiers.catalog import Catalog


def shard(corpus: str, shards: int, out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"part-{i:03d}.jsonl.gz" for i in range(shards)]
    handles = [gzip.open(p, "wt", encoding="utf-8") for p in paths]
    with gzip.open(corpus, "rt", encoding="utf-8") as source:
        for i, line in enumerate(source):
            handles[i % shards].write(line)
    for handle in handles:
        handle.close()
    return [str(p) for p in paths]


def machine_busy_seconds() -> float:
    """CPU-seconds this machine has spent busy (not idle, not waiting for I/O) since boot, all cores."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def submit(cluster, pyfiles: Path, inputs: list[str], root: Path, cores: int, events: Path, extra: list[str]) -> dict:
    events.mkdir(parents=True, exist_ok=True)
    command = [
        str(CPUSEC),
        str(cluster.spark_home / "bin" / "spark-submit"),
        "--master",
        cluster.master,
        "--py-files",
        str(pyfiles),
        "--conf",
        f"spark.cores.max={cores}",
        "--conf",
        "spark.executor.memory=1500m",
        "--conf",
        "spark.eventLog.enabled=true",
        "--conf",
        f"spark.eventLog.dir={events}",
        "--conf",
        "spark.eventLog.logStageExecutorMetrics=true",
        "--conf",
        "spark.eventLog.rolling.enabled=false",
        "--conf",
        "spark.eventLog.compress=false",
        *[part for setting in extra for part in ("--conf", setting)],
        str(REPO / "jobs" / "pipeline.py"),
        "l0-to-l1",
        "--root",
        str(root),
        "--set",
        "ingest.id_field=id",
    ]
    for path in inputs:
        command += ["--input", path]
    busy = machine_busy_seconds()
    with cpu_by_kind() as by_kind:
        done = subprocess.run(command, env={**cluster.env, "PYTHONPATH": ""}, cwd=REPO, capture_output=True, text=True)
    busy = machine_busy_seconds() - busy
    whole = json.loads(done.stderr.strip().splitlines()[-1])
    if whole["rc"] != 0:
        raise RuntimeError(f"spark-submit with {cores} core(s) failed:\n{done.stderr[-4000:]}")
    (log,) = [p for p in events.iterdir() if p.is_file()]
    return {**whole, "machine_busy_s": busy, "by_kind": by_kind, **timeline(log, job_spans(root))}


def runs_of(root: Path) -> dict[str, str]:
    _, rows = Catalog(root).query("SELECT job, run_id FROM runs WHERE status = 'committed'")
    jobs = dict(rows)
    return {"ingest": jobs["ingest"], "filter": jobs["l1_filter"], "l1_dedup": jobs["l1_dedup"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--cores", type=int, action="append", default=None, help="executor cores per run (1, 2)")
    parser.add_argument("--conf", action="append", default=[], help="extra spark-submit --conf KEY=VALUE")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tiers-bench-cluster-"))
    inputs = shard(args.corpus, args.shards, work / "input")
    pyfiles = build_pyfiles(work / "dist")
    results, digests = {}, {}
    with standalone_cluster(work / "cluster", workers=2, cores=1, memory="2g") as cluster:
        for cores in args.cores or [1, 2]:
            root = work / f"root{cores}"
            r = results[cores] = submit(cluster, pyfiles, inputs, root, cores, work / f"events{cores}", args.conf)
            digests[cores] = output_digest(str(root), runs_of(root))
            print(
                f"{cores} core(s): wall {r['wall_s']:6.1f} s  cpu {r['cpu_s']:6.1f} CPU-s  application "
                f"{r['application']:6.1f} s = driver only {r['driver_only']:6.1f} + one task {r['one_task']:6.1f} "
                f"+ parallel {r['parallel']:6.1f} + in a job, no task {r.get('in_job_idle', 0.0):5.1f}  "
                f"({r['jobs']} jobs, {r['tasks']} tasks)\n"
                f"    shuffle written: "
                + ", ".join(f"{k[8:]} {v / 1e6:.1f} MB" for k, v in r.items() if k.startswith("shuffle_"))
                + f"; driver JVM peak heap {r['driver_heap_mb']:.0f} MiB\n"
                f"    machine busy {r['machine_busy_s']:6.1f} CPU-s of {r['wall_s'] * os.cpu_count():6.1f} "
                f"({r['machine_busy_s'] / (r['wall_s'] * os.cpu_count()):.0%} of {os.cpu_count()} cores x wall): "
                + ", ".join(f"{kind} {seconds:.1f}" for kind, seconds in sorted(r["by_kind"].items()))
                + "\n"
                "    serial time by catalog run: "
                + ", ".join(
                    f"{k.replace('driver_only_', 'driver only, ').replace('one_task_', 'one task, ')} {v:.1f} s"
                    for k, v in sorted(r.items())
                    if k.startswith(("driver_only_", "one_task_")) and v >= 0.05
                ),
                flush=True,
            )
    if len(results) == 2:
        one, two = results[min(results)], results[max(results)]
        speedup = one["wall_s"] / two["wall_s"]
        serial = one["driver_only"] + one["one_task"]
        print(
            f"speed-up, whole submit: {speedup:.2f}x; application only: {one['application'] / two['application']:.2f}x"
        )
        print(
            f"serial part with one core (driver only + one task): {serial:.1f} s of {one['application']:.1f} s "
            f"({serial / one['application']:.0%}); with two cores: {two['driver_only'] + two['one_task']:.1f} s"
        )
    same = len({json.dumps(d, sort_keys=True) for d in digests.values()}) == 1
    print(f"outputs equal across core counts: {same}  {next(iter(digests.values())) if same else digests}")


if __name__ == "__main__":
    main()
