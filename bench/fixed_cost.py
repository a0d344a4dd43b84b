"""Issue 17, fixed cost per run: what `tiers run l0-to-l1` costs before its documents do.

Measures, each command's whole process tree by ../shared/tools/cpusec.sh:
- the floor: a Python process that starts a local[2] Spark session and stops it;
- `tiers run l0-to-l1` on a tiny corpus (the first --docs documents of --corpus), full and dedup only;
- the same with each --set given (e.g. JVM options), for comparison in the same run.
Run: python -m bench.fixed_cost --corpus /tmp/tiers-bench/dense-1x.jsonl.gz --docs 100 \\
       --variant 'spark.conf."spark.driver.extraJavaOptions"=-XX:TieredStopAtLevel=1 -XX:+UseSerialGC'
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.dedup_dense import cpusec, load
from bench.incremental_l1 import promote, write
from bench.l0_to_l1 import print_profile

SESSION_ONLY = (
    "import sys; from jobs.spark import get_spark; from tiers.config import load_config; "
    "spark = get_spark(load_config(None, ['spark.master=local[2]', *sys.argv[1:]]).spark); "
    "spark.range(10).count(); spark.stop()"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="/tmp/tiers-bench/dense-1x.jsonl.gz")
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--variant", action="append", default=[], help="a --set to compare against the default")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tiers-bench-fixed-"))
    tiny = write(load(args.corpus)[: args.docs], work / "tiny.jsonl.gz")
    baseline: dict[str, float] = {}
    for index, variant in enumerate([None, *args.variant]):
        extra = ["--set", variant] if variant else []
        label = variant or "default"
        session = cpusec([sys.executable, "-c", SESSION_ONLY, *([variant] if variant else [])])
        full = promote(tiny, work / f"full{index}", extra)
        dedup = promote(tiny, work / f"dedup{index}", [*extra, "--set", "l1.steps=[]"])
        print(
            f"{label}\n  session start+stop {session['cpu_s']:6.1f} CPU-s ({session['wall_s']:.1f} s wall)"
            f"\n  l0-to-l1 full, {args.docs} docs {full['cpu_s']:6.1f} CPU-s ({full['wall_s']:.1f} s wall)"
            f"\n  l0-to-l1 dedup only {dedup['cpu_s']:6.1f} CPU-s ({dedup['wall_s']:.1f} s wall)",
            flush=True,
        )
        figures = {"session": session["cpu_s"], "full": full["cpu_s"], "dedup": dedup["cpu_s"]}
        if variant is None:
            baseline = figures
        else:
            print(
                "  ratio to the default (CPU-s): "
                + ", ".join(f"{k} {v / baseline[k]:.2f}x" for k, v in figures.items())
            )
        print_profile(work / f"full{index}")


if __name__ == "__main__":
    main()
