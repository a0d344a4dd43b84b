"""CPU-seconds of the processes on this machine by kind (driver JVM, executor JVMs, Python workers, ...),
sampled from /proc while a benchmark runs.

A background thread reads every process's user + system time (/proc/PID/stat) every `interval` seconds
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


def _sample() -> dict[int, tuple[str, float]]:
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read()
        except OSError:
            continue
        found[int(entry)] = (_kind(command), (int(fields[11]) + int(fields[12])) / TICK)
    return found


@contextmanager
def cpu_by_kind(interval: float = 0.5) -> Iterator[dict[str, float]]:
    """Yields a dict that holds, once the block ends, CPU-seconds per kind of process."""
    first = _sample()
    last = dict(first)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            last.update(_sample())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    figures: dict[str, float] = {}
    try:
        yield figures
    finally:
        done.set()
        thread.join()
        last.update(_sample())
        totals: dict[str, float] = defaultdict(float)
        for pid, (kind, seconds) in last.items():
            totals[kind] += seconds - (first[pid][1] if pid in first else 0.0)
        figures.update(totals)
