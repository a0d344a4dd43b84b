"""Cost of one verification at a useful size on a GPU, against pretraining the same model from scratch.

Loads a corpus JSON (pools, default, reference; built from ../shared/data and carried to the GPU
machine), pretrains the base model (the `base` preset, about 85M parameters) on default data, runs
one verification of each pool (decay-only anneal of both arms over the seeds), and times training
the same model from scratch for base + anneal steps, which is what evaluating a pool without a
reusable base would cost per arm. Prints JSON; writes it to --out.
Build the corpus here: python -m bench.verification_gpu --build out/verify_corpus.json.gz
Run on the GPU machine: python -m bench.verification_gpu --corpus out/verify_corpus.json.gz --out $OUT/verify.json
"""
from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import time

import torch

from verification.data import MixtureSampler, encode
from verification.experiment import VerifyConfig, verify_pool
from verification.model import ModelConfig, TinyLM
from verification.train import Schedule, pretrain, train


def build_corpus(path: str) -> None:
    """Pools (gold article bodies, the resiliparse spam pages), default data (the dolma CC sample) and
    reference text (held-out gold bodies) from ../shared/data, as one gzip JSON."""
    from pathlib import Path

    from tiers.io.readers import FileStats, ReaderOptions, read_file

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    gold = [v["articleBody"] for _, v in sorted(json.loads((shared / "scrapinghub-article-extraction" / "ground-truth.json").read_text()).items())]
    spam_file = shared / "resiliparse-cc-warc" / "warcfile.warc.gz"
    spam = [o.row["text"] for o in read_file(str(spam_file), "warc", ReaderOptions(), FileStats()) if o.kind == "l0"]
    dolma = next((shared / "dolma-test-samples").glob("formats__gz__*.jsonl.gz"))
    raw = [o.row["text"] for o in read_file(str(dolma), "jsonl", ReaderOptions(), FileStats()) if o.kind == "l0" and len(o.row["text"]) > 200]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as handle:
        json.dump({"pools": {"gold_articles": gold[:90], "spam_pages": spam}, "default": raw, "reference": gold[90:]}, handle)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=None, help="write the corpus to this path and stop")
    parser.add_argument("--corpus")
    parser.add_argument("--out")
    parser.add_argument("--preset", default="base")
    parser.add_argument("--base-steps", type=int, default=600)
    parser.add_argument("--anneal-steps", type=int, default=120)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    if args.build:
        build_corpus(args.build)
        return
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = True
    data = json.load(gzip.open(args.corpus, "rt"))
    config = ModelConfig.preset(args.preset)
    default, reference = encode(data["default"]), encode(data["reference"])
    start = time.perf_counter()
    base, base_stats = pretrain(config, MixtureSampler(default, None, 0.0, config.context, 0), args.base_steps, args.batch, 0,
                                lr=6e-4, device=device)
    base_seconds = time.perf_counter() - start
    verify = VerifyConfig(seeds=(0, 1), anneal_steps=args.anneal_steps, batch_size=args.batch, lr=6e-4, device=device)
    experiments = {}
    for name, texts in data["pools"].items():
        result = verify_pool(name, base, default, encode(texts), reference, {}, verify)
        experiments[name] = {**dataclasses.asdict(result.verdict), "baseline": result.baseline, "candidate": result.candidate,
                             "seconds": result.seconds, "tokens_per_arm": result.tokens_per_arm}
    scratch = TinyLM(config)
    start = time.perf_counter()
    train(scratch, MixtureSampler(default, encode(data["pools"]["gold_articles"]), 0.3, config.context, 0),
          Schedule(args.base_steps + args.anneal_steps, 6e-4), args.batch, 0, device)
    scratch_seconds = time.perf_counter() - start
    runs_per_verification = 2 * len(verify.seeds)
    one_verification = sum(e["seconds"] for e in experiments.values()) / len(experiments)
    report = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "parameters": base.parameters_count(), "model": dataclasses.asdict(config),
        "base": {"steps": args.base_steps, "tokens": base_stats.tokens, "seconds": round(base_seconds, 2)},
        "experiments": experiments,
        "one_verification_seconds": round(one_verification, 2),
        "anneal_runs_per_verification": runs_per_verification,
        "scratch_per_arm_seconds": round(scratch_seconds, 2),
        "verification_vs_scratch": round(one_verification / (scratch_seconds * runs_per_verification), 3),
    }
    print(json.dumps(report, indent=1, default=float))
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=1, default=float)


if __name__ == "__main__":
    main()
