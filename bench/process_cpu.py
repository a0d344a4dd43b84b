"""CPU-seconds of the processes on this machine by kind (driver JVM, executor JVMs, Python workers, ...),
sampled from /proc while a benchmark runs.

A background thread reads every process's user + system time (/proc/PID/stat) every `interval` seconds (1)
and keeps the last value it saw per process; at the end each process counts what it spent between its
first and last sample (or since its start, for one that started during the sampling). A process that
lives less than an interval is missed: compare the total with the machine's busy time.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from contextlib import contextmanager
from typing import Iterator

KINDS = (
    ("driver JVM", b"org.apache.spark.deploy.SparkSubmit"),
    ("executor JVMs", b"CoarseGrainedExecutorBackend"),
    ("master and worker JVMs", b"org.apache.spark.deploy."),
    ("Python workers", b"pyspark.daemon"),
    ("Python workers", b"pyspark.worker"),
    ("driver Python", b"jobs/pipeline.py"),
)
TICK = os.sysconf("SC_CLK_TCK")


def _kind(command: bytes) -> str:
    return next((kind for kind, mark in KINDS if mark in command), "other")


def _sample(kinds: dict[int, str]) -> dict[int, tuple[str, float]]:
    """(kind, CPU-seconds) of every process; a process's command line is read until it names a known kind
    (a launcher script becomes the JVM it execs), then cached in `kinds`."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if kinds.get(pid, "other") == "other":
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    kinds[pid] = _kind(handle.read())
        except OSError:
            continue
        found[pid] = (kinds[pid], (int(fields[11]) + int(fields[12])) / TICK)
    return found


@contextmanager
def cpu_by_kind(interval: float = 1.0) -> Iterator[dict[str, float]]:
    """Yields a dict that holds, once the block ends, CPU-seconds per kind of process."""
    kinds: dict[int, str] = {}
    first = _sample(kinds)
    last = dict(first)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            last.update(_sample(kinds))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    figures: dict[str, float] = {}
    try:
        yield figures
    finally:
        done.set()
        thread.join()
        last.update(_sample(kinds))
        totals: dict[str, float] = defaultdict(float)
        for pid, (kind, seconds) in last.items():
            totals[kind] += seconds - (first[pid][1] if pid in first else 0.0)
        figures.update(totals)
