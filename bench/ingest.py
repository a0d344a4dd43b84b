"""Ingest docs/s and MB/s per core: the ingest job, on the local engine and on Spark, against a plain
single-process Python loop.

The corpus is the shared WARC, WET and JSONL samples, copied --copies times into a temporary folder
(outside the repository) so the job is large enough to measure. The floor reads and parses the same
files in one process: warcio plus resiliparse extraction for WARC responses, WET conversion records,
gzip and json for JSONL.
Run: python -m bench.ingest [--copies 20] [--engine local --engine spark]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.dedup_dense import cpusec
from bench.l0_to_l1 import REPO
from tiers.io.html import charset_from_content_type, decode_html, extract_main_text

SHARED = REPO.parent / "shared" / "data"
SOURCES = [
    *sorted((SHARED / "dolma-test-samples").glob("*.gz")),
    SHARED / "resiliparse-cc-warc" / "warcfile.warc.gz",
    SHARED / "commoncrawl-whirlwind" / "whirlwind.warc.gz",
    SHARED / "commoncrawl-whirlwind" / "whirlwind.warc.wet.gz",
]


def floor_loop(files: list[Path]) -> int:
    """The plain loop: parse every file in this process; returns the documents read."""
    from warcio.archiveiterator import ArchiveIterator

    docs = 0
    for path in files:
        if ".warc" in path.name:
            with open(path, "rb") as handle:
                for record in ArchiveIterator(handle):
                    if record.rec_type == "conversion":
                        record.content_stream().read().decode("utf-8", "replace")
                        docs += 1
                    elif record.rec_type == "response":
                        body = record.content_stream().read()
                        content_type = record.http_headers.get_header("Content-Type") if record.http_headers else None
                        html, _ = decode_html(body, charset_from_content_type(content_type))
                        extract_main_text(html)
                        docs += 1
        else:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                for line in handle:
                    json.loads(line)
                    docs += 1
    return docs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument(
        "--engine", action="append", choices=["local", "spark"], help="engines to measure (default: both)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tiers-bench-ingest-"))
    files = []
    for copy in range(args.copies):
        for source in SOURCES:
            target = work / "input" / f"copy{copy:03d}" / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            files.append(target)
    megabytes = sum(f.stat().st_size for f in files) / 1e6

    start = time.process_time()
    docs = floor_loop(files)
    floor_cpu = time.process_time() - start
    print(
        f"floor (one process)  {docs} docs  {megabytes:.1f} MB  cpu {floor_cpu:6.1f}s  "
        f"{docs / floor_cpu:7.1f} docs/s  {megabytes / floor_cpu:5.2f} MB/s per core"
    )

    for engine in args.engine or ["local", "spark"]:
        command = [
            sys.executable,
            "-m",
            "cli",
            "ingest",
            "--input",
            str(work / "input"),
            "--root",
            str(work / f"root-{engine}"),
            "--set",
            "spark.master=local[2]",
            "--set",
            f"engine.kind={engine}",
        ]
        figures = cpusec(command)
        wall, cpu = figures["wall_s"], figures["cpu_s"]
        print(
            f"tiers ingest ({engine:5s}) {docs} docs  wall {wall:6.1f}s  cpu {cpu:6.1f}s  "
            f"{docs / cpu:7.1f} docs/s  {megabytes / cpu:5.2f} MB/s per core (CPU-seconds)"
        )
        print(
            f"ratio tiers {engine} / floor (per CPU-second) = {floor_cpu / cpu:.2f}x "
            f"(goal 0.5x; CPU of the job's whole process tree, ../shared/tools/cpusec.sh {figures['method']})",
            flush=True,
        )


if __name__ == "__main__":
    main()
