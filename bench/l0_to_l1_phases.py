"""Where a local `tiers run l0-to-l1` spends its CPU, step by step, in one process.

Each step of the local engine's jobs is wrapped with a CPU-time counter (time.process_time, all threads
of this process), then the CLI runs as usual; the steps are printed with the import cost and the total.
What is left between the listed steps and the total is the CLI, the job skeleton and the catalog.
Run: ../shared/tools/cpusec.sh .venv/bin/python -m bench.l0_to_l1_phases --input /tmp/tiers-bench/dense-1x.jsonl.gz --set 'l1.steps=[]'
"""

from __future__ import annotations

import time

STARTED = time.process_time()

import argparse  # noqa: E402
import collections  # noqa: E402
import functools  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import jobs.ingest_local as ingest_local  # noqa: E402
import jobs.l1_dedup_local as dedup_local  # noqa: E402
import jobs.l1_filter_local as filter_local  # noqa: E402
from cli.app import app  # noqa: E402
from jobs.runner import JobRun  # noqa: E402

IMPORTED = time.process_time()
STEPS = {
    dedup_local: ["count_tokens", "exact_keys", "sketch", "near_drops", "read_files", "write_folder", "_index_rows"],
    ingest_local: ["write_ingest_outputs"],
    filter_local: ["write_filter_outputs"],
    JobRun: ["_start", "commit"],
}


def timed(owner: ModuleType | type, name: str, seconds: collections.Counter) -> None:
    step = getattr(owner, name)
    label = f"{owner.__name__}.{name}"

    @functools.wraps(step)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return step(*args, **kwargs)
        finally:
            seconds[label] += time.process_time() - start

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args()
    seconds: collections.Counter = collections.Counter()
    for owner, names in STEPS.items():
        for name in names:
            timed(owner, name, seconds)
    with tempfile.TemporaryDirectory(prefix="tiers-phases-") as root:
        command = [
            "run",
            "l0-to-l1",
            "--input",
            args.input,
            "--root",
            root,
            *(a for s in args.set for a in ("--set", s)),
        ]
        try:
            app(command)
        except SystemExit as exc:
            if exc.code:
                raise
    print(f"imports {IMPORTED - STARTED:6.2f} CPU-s", file=sys.stderr)
    for label, value in seconds.most_common():
        print(f"{label:50s} {value:6.2f} CPU-s", file=sys.stderr)
    print(f"total in this process {time.process_time() - STARTED:6.2f} CPU-s", file=sys.stderr)


if __name__ == "__main__":
    main()
