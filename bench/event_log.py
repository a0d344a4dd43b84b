"""Read a Spark event log (spark.eventLog.enabled, uncompressed): where an application's time and CPU went.

`timeline`: seconds with no Spark job running (driver only), with one task running, and with two or more;
shuffle bytes written per catalog job; the driver JVM's peak heap.
`stage_table`: per Spark stage, its call site (the job module's line), tasks, the executors' JVM CPU
(Python workers' CPU is not in Spark's metrics), shuffle bytes and spills.
Run: python -m bench.event_log EVENT_LOG_FILE [--root DATA_ROOT]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def events(event_log: Path):
    with event_log.open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def job_spans(root: Path) -> dict[str, tuple[float, float]]:
    """Each committed catalog run's (start, end) in epoch seconds, by job name."""
    from tiers.catalog import Catalog

    _, rows = Catalog(root).query("SELECT job, epoch(started_at), epoch(ended_at) FROM runs WHERE status = 'committed'")
    return {job: (start, end) for job, start, end in rows}


def _job_at(spans: dict[str, tuple[float, float]], at: float) -> str:
    return next((name for name, (start, end) in spans.items() if start <= at <= end), "outside a job")


def timeline(event_log: Path, spans: dict[str, tuple[float, float]]) -> dict[str, float]:
    app_start = app_end = 0.0
    jobs, tasks = [], []
    submitted: dict[int, float] = {}
    shuffle: dict[str, int] = defaultdict(int)
    driver_heap = 0
    for event in events(event_log):
        kind = event["Event"]
        if kind == "SparkListenerApplicationStart":
            app_start = event["Timestamp"] / 1000
        elif kind == "SparkListenerApplicationEnd":
            app_end = event["Timestamp"] / 1000
        elif kind == "SparkListenerJobStart":
            submitted[event["Job ID"]] = event["Submission Time"] / 1000
        elif kind == "SparkListenerJobEnd":
            jobs.append((submitted[event["Job ID"]], event["Completion Time"] / 1000))
        elif kind == "SparkListenerTaskEnd":
            info, metrics = event["Task Info"], event.get("Task Metrics") or {}
            tasks.append((info["Launch Time"] / 1000, info["Finish Time"] / 1000))
            written = metrics.get("Shuffle Write Metrics", {}).get("Shuffle Bytes Written", 0)
            shuffle[_job_at(spans, info["Finish Time"] / 1000)] += written
        elif kind == "SparkListenerStageExecutorMetrics" and event.get("Executor ID") == "driver":
            driver_heap = max(driver_heap, event["Executor Metrics"].get("JVMHeapMemory", 0))
    points = sorted({app_start, app_end, *(t for j in jobs for t in j), *(t for k in tasks for t in k)})
    figures: dict[str, float] = {"driver_only": 0.0, "one_task": 0.0, "parallel": 0.0, "in_job_idle": 0.0}
    for left, right in zip(points, points[1:]):
        if left < app_start or right > app_end:
            continue
        middle = (left + right) / 2
        running = sum(1 for a, b in tasks if a <= middle < b)
        in_job = any(a <= middle < b for a, b in jobs)
        key = "parallel" if running >= 2 else "one_task" if running == 1 else "in_job_idle" if in_job else "driver_only"
        figures[key] += right - left
        if key in ("driver_only", "one_task"):
            where = f"{key}_{_job_at(spans, middle)}"
            figures[where] = figures.get(where, 0.0) + right - left
    figures.update(
        application=app_end - app_start, jobs=len(jobs), tasks=len(tasks), driver_heap_mb=driver_heap / 2**20
    )
    figures.update({f"shuffle_{name}": value for name, value in shuffle.items()})
    return figures


def stage_table(event_log: Path, spans: dict[str, tuple[float, float]]) -> list[dict]:
    """One row per completed stage: catalog job, call site, tasks, JVM CPU-s, shuffle written/read, spill."""
    rows = {}
    for event in events(event_log):
        if event["Event"] == "SparkListenerTaskEnd":
            metrics = event.get("Task Metrics") or {}
            row = rows.setdefault(
                (event["Stage ID"], event["Stage Attempt ID"]),
                {"cpu_s": 0.0, "shuffle_written": 0, "shuffle_read": 0, "spilled": 0, "finished": 0.0},
            )
            row["cpu_s"] += metrics.get("Executor CPU Time", 0) / 1e9
            row["shuffle_written"] += metrics.get("Shuffle Write Metrics", {}).get("Shuffle Bytes Written", 0)
            read = metrics.get("Shuffle Read Metrics", {})
            row["shuffle_read"] += read.get("Remote Bytes Read", 0) + read.get("Local Bytes Read", 0)
            row["spilled"] += metrics.get("Disk Bytes Spilled", 0)
            row["finished"] = max(row["finished"], event["Task Info"]["Finish Time"] / 1000)
        elif event["Event"] == "SparkListenerStageCompleted":
            info = event["Stage Info"]
            row = rows.setdefault((info["Stage ID"], info["Stage Attempt ID"]), {})
            row.update(name=info["Stage Name"], tasks=info["Number of Tasks"])
    table = []
    for (stage, _), row in sorted(rows.items()):
        if "name" not in row or "cpu_s" not in row:
            continue
        table.append({"stage": stage, "job": _job_at(spans, row["finished"]), **row})
    return table


def print_stages(table: list[dict], top: int = 25) -> None:
    by_job: dict[str, list[dict]] = defaultdict(list)
    for row in table:
        by_job[row["job"]].append(row)
    for job, rows in by_job.items():
        total = sum(r["cpu_s"] for r in rows)
        written = sum(r["shuffle_written"] for r in rows)
        print(f"{job}: {len(rows)} stages, JVM CPU {total:.1f} s, shuffle written {written / 1e6:.1f} MB")
        for r in sorted(rows, key=lambda r: -r["cpu_s"])[:top]:
            print(
                f"  {r['cpu_s']:7.2f} CPU-s  {r['tasks']:4d} tasks  shuffle w {r['shuffle_written'] / 1e6:7.1f} MB"
                f"  r {r['shuffle_read'] / 1e6:7.1f} MB  spill {r['spilled'] / 1e6:6.1f} MB  {r['name']}"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("event_log")
    parser.add_argument("--root", help="the run's data root (attributes stages to catalog jobs)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    spans = job_spans(Path(args.root)) if args.root else {}
    print(json.dumps(timeline(Path(args.event_log), spans), indent=1))
    print_stages(stage_table(Path(args.event_log), spans), args.top)


if __name__ == "__main__":
    main()
