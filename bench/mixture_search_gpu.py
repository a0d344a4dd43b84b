"""The allocation search on a GPU: four pools of known order as the four cells of one stage, a uniform
plan to start from, candidates annealed with the `base` preset, the regression's held-out fit, and the
proposal verified against the uniform mixture.

Pools (those of `bench/verification_gpu.py`'s corpus): gold_articles > l2_selected > l1_dropped >
spam_pages. Build (CPU): the pools become one data root whose L1 documents carry quality scores in
that order, with bucket edges at the pools' token boundaries, so each pool is one quality bucket (a
cell); `tiers.apps.allocation.cells.read_stage_cells` reads the stage's cells, current weights and caps from
the catalog exactly as `tiers allocate --search` does, and the corpus JSON carries them, the cells'
texts, the default data and the evaluation items to the GPU machine (which has no DuckDB).

Build: python -m bench.mixture_search_gpu --build out/mixture_corpus.json.gz --verify-corpus out/verify_corpus.json.gz --root /tmp/mroot
Run:   python -m bench.mixture_search_gpu --corpus out/mixture_corpus.json.gz --out $OUT/mixture --candidates 12

Trials go to `<out>/trials.jsonl` as they finish (a rerun with the same --out resumes); the report is
`<out>/report.json`.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import time
from pathlib import Path

POOL_ORDER = ["spam_pages", "l1_dropped", "l2_selected", "gold_articles"]  # worst first: bucket 0 .. 3
STAGE_TOKENS = 200_000  # the decay stage's budget: spam's cap (4 epochs of its ~33k tokens) binds above 0.67


class JsonTrials:
    """The trial store of the benchmark: one JSON line per finished trial."""

    def __init__(self, path: Path):
        self.path = path

    def finished(self, search_id: str) -> dict:
        from tiers.apps.allocation.trials import TrialRecord

        if not self.path.exists():
            return {}
        rows = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        return {(r["kind"], r["trial"]): TrialRecord(**r) for r in rows if r.pop("search_id") == search_id}

    def record(self, search_id: str, trial) -> None:
        with self.path.open("a") as handle:
            handle.write(json.dumps({"search_id": search_id, **dataclasses.asdict(trial)}, default=float) + "\n")


def build(path: str, verify_corpus: str, root: str) -> None:
    from tests.allocation_roots import Doc, build_root
    from tiers.apps.allocation.cells import read_stage_cells
    from tiers.apps.allocation.plan import parse_plan
    from tiers.tokens import count_tokens

    data = json.load(gzip.open(verify_corpus, "rt"))
    docs, edges, before = [], [], 0
    for rank, name in enumerate(POOL_ORDER):
        texts = data["pools"][name]
        for i, (text, tokens) in enumerate(zip(texts, count_tokens(texts))):
            docs.append(Doc(f"{rank}-{i:05d}", text, max(1, tokens), score=rank + i / (10 * len(texts))))
        before += sum(d.n_tokens for d in docs[-len(texts) :])
        edges.append(before)
    total = before
    plan = parse_plan(
        {
            "buckets": {"edges": [e / total for e in edges[:-1]]},
            "eval_dir": None,  # the pools were checked against the evaluation sets when they were built
            "stages": [
                {
                    "name": "decay",
                    "budget": {"tokens": STAGE_TOKENS},
                    "sources": [
                        {"name": name, "tiers": ["L1"], "buckets": [b], "weight": 1.0}
                        for b, name in enumerate(POOL_ORDER)
                    ],
                }
            ],
        }
    )
    build_root(root, docs, set())
    cells = read_stage_cells(root, plan, "decay")
    corpus = {
        "pools": {c.name: POOL_ORDER[c.bucket] for c in cells.cells},
        "cells": [dataclasses.asdict(c) for c in cells.cells],
        "texts": cells.texts,
        "budget": cells.budget,
        "default": data["default"],
        "eval": data["eval"],
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as handle:
        json.dump(corpus, handle)
    print(json.dumps({"cells": corpus["cells"], "pools": corpus["pools"], "tokens": total}, indent=1))


def run(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    from bench.verification_gpu import material_from
    from verification.data import encode
    from verification.experiment import VerifyConfig
    from verification.mixture_search import SearchConfig, SearchInputs, base_model, estimate, remaining_anneals
    from verification.mixture_search import run_search
    from verification.model import ModelConfig

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = True
    data = json.load(gzip.open(args.corpus, "rt"))
    material = material_from(data, "benchmark_bpb", args.items or None)
    names = [c["tier"] + f"_b{c['bucket']}" for c in data["cells"]]
    inputs = SearchInputs(
        names,
        [encode(data["texts"][n]) for n in names],
        np.array([c["current"] for c in data["cells"]]),
        np.array([c["upper"] for c in data["cells"]]),
        encode(data["default"]),
        material,
    )
    verify = VerifyConfig(
        seeds=tuple(args.seed * 100 + i for i in range(args.seeds)),
        candidate_share=args.share,
        anneal_steps=args.anneal_steps,
        batch_size=args.batch,
        lr=6e-4,
        device=device,
    )
    config = SearchConfig(
        args.candidates, args.seed, base_steps=args.base_steps, model=ModelConfig.preset(args.preset), verify=verify
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store = JsonTrials(out / "trials.jsonl")
    search_id = f"bench-{args.preset}-seed{args.seed}"
    cost = estimate(
        config, material, inputs.default, remaining_anneals(store.finished(search_id), config), config.base_steps
    )
    print(
        f"{cost.anneals} anneals of {verify.anneal_steps} steps and a base of {config.base_steps} steps: "
        f"estimated {cost.seconds:.0f} s on {device}",
        flush=True,
    )
    start = time.perf_counter()
    base = base_model(inputs.default, config, out / "base.pt" if args.keep_base else None)
    base_seconds = time.perf_counter() - start

    def progress(trial, resumed):
        print(
            f"{trial.kind} {trial.trial} {[round(w, 3) for w in trial.weights]} delta {trial.delta} "
            f"[{trial.ci_low}, {trial.ci_high}] {trial.seconds:.1f} s{' (resumed)' if resumed else ''}",
            flush=True,
        )

    result = run_search(inputs, config, store, search_id, base, progress)
    seconds = time.perf_counter() - start
    v = result.verdict
    proposal = dict(zip(names, map(float, result.proposal)))
    best_two = sum(w for n, w in proposal.items() if data["pools"][n] in ("gold_articles", "l2_selected"))
    report = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "pools": data["pools"],
        "settings": config.settings() | {"candidates": args.candidates, "items_per_benchmark": args.items},
        "estimated_seconds": round(cost.seconds, 1),
        "base_seconds": round(base_seconds, 1),
        "seconds": round(seconds, 1),
        "trials": [dataclasses.asdict(t) | {"scores": None} for t in result.trials],
        "fit": result.fit,
        "proposal": proposal,
        "proposal_weight_on_gold_and_l2_selected": best_two,
        "verified_over_uniform": {"delta": v.delta, "low": v.low, "high": v.high, "accepted": v.accepted},
    }
    print(json.dumps(report, indent=1, default=float))
    (out / "report.json").write_text(json.dumps(report, indent=1, default=float))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=None, help="write the corpus to this path and stop")
    parser.add_argument("--verify-corpus", default="out/verify_corpus.json.gz", help="with --build")
    parser.add_argument("--root", default="/tmp/mroot", help="with --build: the data root to create")
    parser.add_argument("--corpus")
    parser.add_argument("--out")
    parser.add_argument("--preset", default="base")
    parser.add_argument("--candidates", type=int, default=14)
    parser.add_argument("--base-steps", type=int, default=600)
    parser.add_argument("--anneal-steps", type=int, default=80)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="candidate sampling seed; anneal seeds start at 100 x seed")
    parser.add_argument("--share", type=float, default=0.5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--items", type=int, default=300, help="items per benchmark (0: all in the corpus)")
    parser.add_argument("--keep-base", action="store_true", help="save the base under --out (for a resumed run)")
    args = parser.parse_args()
    if args.build:
        build(args.build, args.verify_corpus, args.root)
    else:
        run(args)


if __name__ == "__main__":
    main()
