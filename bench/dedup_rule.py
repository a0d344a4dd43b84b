"""Issue 29's benchmark: the per-document near-dedup rule against earlier code and rensa, on the dense
corpora (bench/corpus.py --dense), each command's whole process tree measured by
../shared/tools/cpusec.sh in the same run.

For each corpus: `tiers run l0-to-l1 --set l1.steps=[]` (dedup only, default engine: local) with this
tree and with each `--base-tree LABEL=PATH` (a source tree of earlier code, e.g. `git archive 007784e`),
and rensa end to end (bench/dedup_rensa.py in `--bench-python`'s environment). Printed: CPU-seconds and
the ratios within the run, keep-one removal F1 against the corpus's gold clusters, and the share of near
drops whose Jaccard with the document they name as kept is below the threshold, measured here on Python
sets of lower-cased word 5-grams (not the code's hashes). A warm-up run on a small slice first fills
every tree's numba caches, so compile time is not counted. `--ceiling` also prints the recall the rule
can reach against the gold clusters (`rule_ceiling`): below 1 where the gold chains (`--dense`), 1 on
`--dense --copies-of-original` corpora, whose gold is what the rule means by a near duplicate.
Run: python -m bench.dedup_rule --base-tree old=/tmp/base --base-tree main=/tmp/main \
    --bench-python /tmp/bench-venv/bin/python --corpus dense-1x.jsonl.gz --corpus original-1x.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from bench.l0_to_l1 import removal_f1
from tiers.ids import doc_id_from_provenance

REPO = Path(__file__).resolve().parents[1]
CPUSEC = REPO.parent / "shared" / "tools" / "cpusec.sh"
WORD = re.compile(r"[0-9a-z\x80-\U0010ffff]+")
THRESHOLD = 0.7


def cpusec(command: list[str], cwd: Path) -> dict:
    done = subprocess.run([str(CPUSEC), *command], cwd=cwd, capture_output=True, text=True)
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    if figures["rc"] != 0:
        raise RuntimeError(f"{command} failed:\n{done.stderr[-3000:]}")
    return figures


def tiers(tree: Path, corpus: Path, root: Path, tokenizer: str | None = None) -> dict:
    command = [sys.executable, "-m", "cli", "run", "l0-to-l1", "--input", str(corpus), "--root", str(root)]
    command += ["--set", "spark.master=local[2]", "--set", "ingest.id_field=id", "--set", "l1.steps=[]"]
    if tokenizer:
        command += ["--set", f"tokens.tokenizer={tokenizer}"]
    return cpusec(command, tree)


def load(corpus: Path) -> list[dict]:
    with gzip.open(corpus, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def grams(text: str) -> set[str]:
    words = WORD.findall(text.lower())
    return {" ".join(words[i : i + 5]) for i in range(len(words) - 4)} or ({" ".join(words)} if words else set())


def drops(root: Path, docs: list[dict]) -> tuple[set[str], list[tuple[str, str]]]:
    """(removed ids, (near drop, the id it names as kept)) in the corpus's ids."""
    by_doc_id = {doc_id_from_provenance("jsonl", d["id"]): d["id"] for d in docs}
    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    con.execute("SET file_search_path = ?", [str(root)])
    rows = con.execute(
        "SELECT doc_id, reason, json_extract_string(details, '$.kept') FROM drops "
        "WHERE stage IN ('exact_dedup', 'minhash_dedup')"
    ).fetchall()
    removed = {by_doc_id[d] for d, _, _ in rows}
    near = [(by_doc_id[d], by_doc_id[k]) for d, reason, k in rows if reason == "near_duplicate"]
    return removed, near


def below_threshold(near: list[tuple[str, str]], text_of: dict[str, str]) -> tuple[float, float]:
    """(share of near drops below the threshold against their kept document, lowest Jaccard)."""
    cache: dict[str, set[str]] = {}

    def shingles(doc: str) -> set[str]:
        if doc not in cache:
            cache[doc] = grams(text_of[doc])
        return cache[doc]

    values = []
    for dropped, kept in near:
        a, b = shingles(dropped), shingles(kept)
        values.append(len(a & b) / len(a | b) if a | b else 1.0)
    if not values:
        return 0.0, 1.0
    return sum(v < THRESHOLD for v in values) / len(values), min(values)


def rule_ceiling(docs: list[dict]) -> float:
    """The removal recall the per-document rule can reach against the generator's gold clusters, which
    chain (a copy joins its parent's cluster, not the original's): inside each gold cluster, all pairs
    measured on Python sets, the greedy cover keeps a document within the threshold of every drop."""
    clusters: dict[str, list[str]] = {}
    for doc in docs:
        clusters.setdefault(doc["cluster"], []).append(doc["text"])
    gold = extra = 0
    for texts in clusters.values():
        count = len(texts)
        gold += count - 1
        sets = [grams(t) for t in texts]
        near = [
            {j for j in range(count) if j != i and len(sets[i] & sets[j]) >= THRESHOLD * len(sets[i] | sets[j])}
            for i in range(count)
        ]
        left, kept = set(range(count)), 0
        while left:
            best = min(left, key=lambda i: (-len(near[i] & left), i))
            left -= near[best] | {best}
            kept += 1
        extra += kept - 1
    return (gold - extra) / gold if gold else 1.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", action="append", required=True, type=Path, help="dense corpora, smallest first")
    parser.add_argument(
        "--base-tree", action="append", required=True, help="LABEL=PATH: a source tree of earlier code (repeatable)"
    )
    parser.add_argument("--bench-python", required=True, help="python of an environment with rensa")
    parser.add_argument(
        "--tokenizer",
        help="a tokenizer.json every tree counts L1's n_tokens with (a tree older than the shipped tokenizer "
        "finds none, writes null n_tokens and so skips work the others do)",
    )
    parser.add_argument("--ceiling", action="store_true", help="also print the rule's reachable recall (slow)")
    args = parser.parse_args()
    bases = dict(item.split("=", 1) for item in args.base_tree)
    trees = {"rule": REPO, **{label: Path(path) for label, path in bases.items()}}
    work = Path(tempfile.mkdtemp(prefix="tiers-bench-rule-"))
    warm = work / "warm.jsonl.gz"
    with gzip.open(warm, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(d) + "\n" for d in load(args.corpus[0])[:400])
    for name, tree in trees.items():
        tiers(tree, warm, work / f"warm-{name}", args.tokenizer)
    for index, corpus in enumerate(args.corpus):
        docs = load(corpus)
        text_of = {d["id"]: d["text"] for d in docs}
        print(f"== {corpus.name}: {len(docs)} docs", flush=True)
        if args.ceiling:
            print(f"  recall the rule can reach against the gold clusters: {rule_ceiling(docs):.4f}", flush=True)
        figures = {}
        for name, tree in trees.items():
            root = work / f"{name}{index}"
            figures[name] = tiers(tree, corpus, root, args.tokenizer)
            removed, near = drops(root, docs)
            share, lowest = below_threshold(near, text_of)
            f1 = removal_f1(docs, removed)
            print(
                f"  tiers {name:6s} cpu {figures[name]['cpu_s']:7.1f}s  wall {figures[name]['wall_s']:6.1f}s  "
                f"F1 {f1['f1']:.4f} (p {f1['precision']:.4f} r {f1['recall']:.4f}, {f1['removed']} removed)  "
                f"near drops {len(near)}, below {THRESHOLD} against their kept document {share:.2%} (lowest {lowest:.3f})",
                flush=True,
            )
        out = work / f"rensa{index}.json"
        figures["rensa"] = cpusec(
            [args.bench_python, str(REPO / "bench" / "dedup_rensa.py"), "--input", str(corpus), "--removed", str(out)],
            REPO,
        )
        f1 = removal_f1(docs, set(json.loads(out.read_text())))
        print(f"  rensa        cpu {figures['rensa']['cpu_s']:7.1f}s  F1 {f1['f1']:.4f}", flush=True)
        rule, rensa = figures["rule"]["cpu_s"], figures["rensa"]["cpu_s"]
        ratios = ", ".join(f"rule / {label} CPU = {rule / figures[label]['cpu_s']:.3f}" for label in bases)
        print(f"  {ratios} (goal <= 1.10); rensa / rule CPU = {rensa / rule:.2f}x", flush=True)


if __name__ == "__main__":
    main()
