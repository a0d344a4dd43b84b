"""Pools of different quality, verified at a useful size on a GPU, and the cost of one verification
against pretraining the same model from scratch.

The corpus JSON (built here from ../shared/data and a data root made by `tiers run l0-to-l2` on the
samples, then carried to the GPU machine) holds four pools, two pairs from the same source each:
- `gold_articles` (scrapinghub article bodies) against `spam_pages` (the resiliparse WARC's pages);
- `l2_selected` (English documents in L2) against `l1_dropped` (L0 documents of the same crawl sample
  that L1's quality rules or L2's threshold dropped: Gopher, C4, FineWeb, short-without-punctuation,
  below the quality threshold; not language, length or duplicate drops);
plus the default (anneal) data (the dolma CC sample) and the evaluation items' gold continuations.
No pool or default text shares a 13-gram with an evaluation item (checked at build time).

Build: python -m bench.verification_gpu --build out/verify_corpus.json.gz --root /tmp/vroot
Run on the GPU machine: python -m bench.verification_gpu --corpus out/verify_corpus.json.gz --out $OUT/verify.json

The pools share one baseline arm (default data only, same seeds). One verification costs its own
candidate arm plus its share of the baseline; the from-scratch counterpart trains the same number of
models (the same share of a shared default-only model) for base + anneal steps each.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import time
from pathlib import Path

EXPECTED_ORDER = [("gold_articles", "spam_pages"), ("l2_selected", "l1_dropped")]


def build_corpus(path: str, root: str, items_per_benchmark: int) -> None:
    from tiers.catalog import Catalog
    from tiers.eval_overlap import build_index
    from tiers.io.readers import FileStats, ReaderOptions, read_file
    from verification.benchmarks import BENCHMARKS, ChoiceItem, load_benchmark
    from verification.leakage import refuse_eval_overlap

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    gold = [
        v["articleBody"]
        for _, v in sorted(
            json.loads((shared / "scrapinghub-article-extraction" / "ground-truth.json").read_text()).items()
        )
    ]
    spam = [
        o.row["text"]
        for o in read_file(
            str(shared / "resiliparse-cc-warc" / "warcfile.warc.gz"), "warc", ReaderOptions(), FileStats()
        )
        if o.kind == "l0"
    ]
    dolma = next((shared / "dolma-test-samples").glob("formats__gz__*.jsonl.gz"))
    raw = [
        o.row["text"]
        for o in read_file(str(dolma), "jsonl", ReaderOptions(), FileStats())
        if o.kind == "l0" and len(o.row["text"]) > 200
    ]
    catalog = Catalog(root)
    _, selected = catalog.query("SELECT text FROM l2 WHERE lang = 'en' ORDER BY doc_id")
    _, dropped = catalog.query(
        "SELECT l0.text FROM drops d JOIN l0 USING (doc_id) WHERE d.stage IN "
        "('gopher_quality', 'gopher_repetition', 'c4', 'fineweb', 'short_no_punct') "
        "OR d.reason = 'below_quality_threshold' ORDER BY doc_id"
    )
    pools = {
        "gold_articles": gold,
        "spam_pages": spam,
        "l2_selected": [r[0] for r in selected],
        "l1_dropped": [r[0] for r in dropped],
    }
    refuse_eval_overlap({**pools, "default": raw}, build_index(shared / "eval"))
    evaluation = {}
    for name in BENCHMARKS:
        items = load_benchmark(name, shared / "eval", items_per_benchmark)
        evaluation[name] = [
            {"pairs": i.pairs, "gold": i.gold}
            if isinstance(i, ChoiceItem)
            else {"context": i.context, "target": i.target}
            for i in items
        ]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as handle:
        json.dump({"pools": pools, "default": raw, "reference": gold[::2], "eval": evaluation}, handle)
    print(json.dumps({name: {"texts": len(t), "bytes": sum(len(x.encode()) for x in t)} for name, t in pools.items()}))


def material_from(data: dict, metric: str):
    from verification.benchmarks import ChoiceItem, TargetItem
    from verification.data import encode
    from verification.metrics import EvalMaterial

    benchmarks = {
        name: [
            ChoiceItem(tuple(map(tuple, i["pairs"])), i["gold"])
            if "pairs" in i
            else TargetItem(i["context"], i["target"])
            for i in items
        ]
        for name, items in data["eval"].items()
    }
    return EvalMaterial(metric, benchmarks, encode(data["reference"]) if metric == "reference_bpb" else None)


def ordered(experiments: dict) -> dict:
    """For each expected (better, worse) pair: does it rank right, and do the intervals stay apart?"""
    return {
        f"{better} > {worse}": {
            "ranks_right": experiments[better]["delta"] > experiments[worse]["delta"],
            "intervals_apart": experiments[better]["low"] > experiments[worse]["high"],
        }
        for better, worse in EXPECTED_ORDER
        if better in experiments and worse in experiments
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=None, help="write the corpus to this path and stop")
    parser.add_argument(
        "--root", default=None, help="with --build: a data root from `tiers run l0-to-l2` on the samples"
    )
    parser.add_argument("--items", type=int, default=500, help="with --build: items per benchmark")
    parser.add_argument("--corpus")
    parser.add_argument("--out")
    parser.add_argument("--metric", default="benchmark_bpb")
    parser.add_argument("--preset", default="base")
    parser.add_argument("--base-steps", type=int, default=600)
    parser.add_argument("--anneal-steps", type=int, default=120)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    if args.build:
        build_corpus(args.build, args.root, args.items)
        return

    import torch

    from verification.data import MixtureSampler, encode
    from verification.experiment import VerifyConfig, run_arm, verify_pools
    from verification.ranking import AcceptRule, rank_and_accept
    from verification.model import ModelConfig, TinyLM
    from verification.train import Schedule, pretrain, train

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = True
    data = json.load(gzip.open(args.corpus, "rt"))
    material = material_from(data, args.metric)
    config = ModelConfig.preset(args.preset)
    default = encode(data["default"])
    start = time.perf_counter()
    base, base_stats = pretrain(
        config,
        MixtureSampler(default, None, 0.0, config.context, 0),
        args.base_steps,
        args.batch,
        0,
        lr=6e-4,
        device=device,
    )
    base_seconds = time.perf_counter() - start
    verify = VerifyConfig(
        seeds=tuple(range(args.seeds)),
        anneal_steps=args.anneal_steps,
        batch_size=args.batch,
        lr=6e-4,
        metric=args.metric,
        device=device,
    )
    start = time.perf_counter()
    baseline = run_arm(base, default, None, material, verify)
    results = verify_pools(
        {name: encode(texts) for name, texts in data["pools"].items()}, base, default, material, verify, baseline
    )
    pools_seconds = time.perf_counter() - start
    ranking, accepted = rank_and_accept(results, AcceptRule())
    experiments = {
        r.pool: {
            **dataclasses.asdict(r.verdict),
            "baseline": r.baseline,
            "candidate": r.candidate,
            "seconds": r.seconds,
            "tokens_per_arm": r.tokens_per_arm,
            "parts": r.parts_summary(),
        }
        for r in results
    }
    scratch = TinyLM(config)
    start = time.perf_counter()
    train(
        scratch,
        MixtureSampler(default, encode(data["pools"]["gold_articles"]), 0.3, config.context, 0),
        Schedule(args.base_steps + args.anneal_steps, 6e-4),
        args.batch,
        0,
        device,
    )
    scratch_seconds = time.perf_counter() - start
    pools = len(experiments)
    runs_per_verification = (1 + 1 / pools) * len(verify.seeds)  # its own arm and its share of the shared baseline
    one_verification = pools_seconds / pools
    report = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "metric": args.metric,
        "parameters": base.parameters_count(),
        "model": dataclasses.asdict(config),
        "base": {"steps": args.base_steps, "tokens": base_stats.tokens, "seconds": round(base_seconds, 2)},
        "ranking": ranking,
        "accepted": accepted,
        "expected_order": ordered(experiments),
        "experiments": experiments,
        "one_verification_seconds": round(one_verification, 2),
        "anneal_runs_per_verification": round(runs_per_verification, 2),
        "baseline_arm_seconds": round(baseline.seconds, 2),
        "scratch_per_arm_seconds": round(scratch_seconds, 2),
        "verification_vs_scratch": round(one_verification / (scratch_seconds * runs_per_verification), 3),
    }
    print(json.dumps(report, indent=1, default=float))
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=1, default=float)


if __name__ == "__main__":
    main()
