"""datatrove's equivalent of tiers' L0-to-L1, run in its own environment (datatrove from PyPI).

Pipeline: JSONL reader, Gopher repetition, Gopher quality, C4 (FineWeb's setting), FineWeb rules,
then datatrove's 4-stage MinHash (5-grams, 14 buckets x 8 hashes), one task, one worker.
`--minhash-only` skips the filters (for the dedup F1 against gold clusters).
Prints the ids datatrove removed as duplicates to --removed. Called by bench/l0_to_l1.py.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--limit", type=int, default=-1)
    parser.add_argument("--minhash-only", action="store_true")
    parser.add_argument("--removed", required=True)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="datatrove-bench-")
    folder, name = os.path.split(args.input)
    config = MinhashConfig(hash_config=HashConfig(precision=64), num_buckets=14, hashes_per_bucket=8, n_grams=5)
    reader = JsonlReader(folder, glob_pattern=name, limit=args.limit, id_key="id")
    filters = (
        []
        if args.minhash_only
        else [
            GopherRepetitionFilter(),
            GopherQualityFilter(),
            C4QualityFilter(filter_no_terminal_punct=False),
            FineWebQualityFilter(),
        ]
    )
    stages = [
        [reader, *filters, JsonlWriter(f"{work}/filtered"), MinhashDedupSignature(f"{work}/sigs", config=config)],
        [MinhashDedupBuckets(f"{work}/sigs", f"{work}/buckets", config=config)],
        [MinhashDedupCluster(f"{work}/buckets", f"{work}/remove_ids", config=config)],
        [
            JsonlReader(f"{work}/filtered"),
            MinhashDedupFilter(f"{work}/remove_ids", exclusion_writer=JsonlWriter(f"{work}/removed")),
        ],
    ]
    for index, pipeline in enumerate(stages):
        tasks = config.num_buckets if index == 1 else 1
        LocalPipelineExecutor(
            pipeline, tasks=tasks, workers=1, logging_dir=f"{work}/logs{index}", skip_completed=False
        ).run()
    removed = []
    import gzip
    import glob

    for path in glob.glob(f"{work}/removed/*"):
        with gzip.open(path, "rt") as handle:
            removed += [json.loads(line)["id"] for line in handle]
    with open(args.removed, "w") as handle:
        json.dump(removed, handle)


if __name__ == "__main__":
    main()
