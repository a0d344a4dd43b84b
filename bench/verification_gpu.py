"""Pools of different quality, verified against a same-size control at about 100M parameters on a GPU,
with pairwise comparisons, and the cost of one verification against pretraining from scratch.

The corpus JSON (built here from ../shared/data and a data root made by `tiers run l0-to-l2` on the
three sample inputs, then carried to the GPU machine) holds five pools:
- `gold_articles` (scrapinghub article bodies) against `spam_pages` (the resiliparse WARC's pages);
- `l2_selected` (English documents in L2) against `l1_dropped` (L0 documents of the same crawl sample
  that L1's quality rules or L2's threshold dropped: Gopher, C4, FineWeb, short-without-punctuation,
  below the quality threshold; not language, length or duplicate drops);
- `openstax_sections` (edited textbook sections) against `l1_dropped`: a human-quality pair;
the control texts (the root's L1: ordinary crawl), the default data (every other text of
../shared/data: the trafilatura evaluation pages' main text, then OpenStax sections not in the pool,
up to `--default-bytes`; none of the root's inputs, so the bases have not seen the control texts) and
the evaluation items. Texts sharing a 13-gram with an evaluation item are left out (counted at build).

Build: python -m bench.verification_gpu --build out/verify_corpus.json.gz --root /tmp/vroot
Run on the GPU machine: python -m bench.verification_gpu --corpus out/verify_corpus.json.gz --out $OUT/verify.json
Extra pools (JSONL, one {"text": ...} per line): --pool NAME=PATH, repeatable.

Every pool is cut to `--pool-bytes` (a random sample of its documents) and verified against a control
arm of the same size (pools of one size share it), on `--bases` base models x `--seeds` anneal seeds.
One verification costs its own arm plus its share of the control arm; the from-scratch counterpart
trains the same number of models for base + anneal steps each (and, reported beside it, one model).
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import logging
import time
from pathlib import Path

# (better, worse) pairs the project expects, checked on the pairwise intervals
EXPECTED_ORDER = [
    ("gold_articles", "spam_pages"),
    ("gold_articles", "l1_dropped"),
    ("l2_selected", "l1_dropped"),
    ("l2_selected", "spam_pages"),
    ("openstax_sections", "l1_dropped"),
]
SHOULD_NOT_PASS = ["spam_pages", "l1_dropped"]  # not accepted against the control


def _keep_clean(texts: list[str], index) -> tuple[list[str], int]:
    hits = index.matches(texts)
    return [t for t, h in zip(texts, hits) if h is None], sum(h is not None for h in hits)


def _trafilatura_texts(shared: Path) -> list[str]:
    from tiers.io.html import decode_html, extract_main_text

    texts = []
    for line in (shared / "trafilatura-eval-pages" / "index.jsonl").read_text().splitlines():
        entry = json.loads(line)
        raw = gzip.decompress((shared / "trafilatura-eval-pages" / entry["html_file"]).read_bytes())
        text = extract_main_text(decode_html(raw, None)[0])
        if len(text) > 200:
            texts.append(text)
    return texts


def build_corpus(path: str, root: str, items_per_benchmark: int, openstax_bytes: int, default_bytes: int) -> None:
    import numpy as np

    from tiers.catalog import Catalog
    from tiers.eval_overlap import build_index
    from tiers.io.readers import FileStats, ReaderOptions, read_file
    from verification.benchmarks import BENCHMARKS, ChoiceItem, load_benchmark
    from verification.control import sample_bytes

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    index = build_index(shared / "eval")
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
    catalog = Catalog(root)
    _, selected = catalog.query("SELECT text FROM l2 WHERE lang = 'en' ORDER BY doc_id")
    _, dropped = catalog.query(
        "SELECT l0.text FROM drops d JOIN l0 USING (doc_id) WHERE d.stage IN "
        "('gopher_quality', 'gopher_repetition', 'c4', 'fineweb', 'short_no_punct') "
        "OR d.reason = 'below_quality_threshold' ORDER BY doc_id"
    )
    _, l1 = catalog.query("SELECT text FROM l1 ORDER BY doc_id")
    with gzip.open(shared / "openstax" / "sections.jsonl.gz", "rt") as handle:
        sections = [json.loads(line)["text"] for line in handle]
    sections, openstax_leaks = _keep_clean(sections, index)
    order = np.random.default_rng(0).permutation(len(sections))
    sections = [sections[i] for i in order]
    openstax = sample_bytes(sections, openstax_bytes, 0)
    chosen = {s[:200] for s in openstax}  # the last section may be cut: its full text stays out of the default
    rest = [s for s in sections if s[:200] not in chosen]
    pools = {
        "gold_articles": gold,
        "spam_pages": spam,
        "l2_selected": [r[0] for r in selected],
        "l1_dropped": [r[0] for r in dropped],
        "openstax_sections": openstax,
    }
    left_out = {}
    for name in list(pools):
        pools[name], left_out[name] = _keep_clean(pools[name], index)
    left_out["openstax_sections"] += openstax_leaks
    control, left_out["control"] = _keep_clean([r[0] for r in l1], index)
    crawl, left_out["default_trafilatura"] = _keep_clean(_trafilatura_texts(shared), index)
    default, size = [], 0
    for text in crawl + rest:
        if size >= default_bytes:
            break
        default.append(text)
        size += len(text.encode()) + 1
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
        json.dump({"pools": pools, "control": control, "default": default, "eval": evaluation}, handle)
    sizes = {name: {"texts": len(t), "bytes": sum(len(x.encode()) for x in t)} for name, t in pools.items()}
    sizes["control"] = {"texts": len(control), "bytes": sum(len(x.encode()) for x in control)}
    sizes["default"] = {"texts": len(default), "bytes": size, "trafilatura_texts": len(crawl)}
    print(json.dumps({"sizes": sizes, "left_out_for_eval_overlap": left_out}))


def material_from(data: dict, metric: str, items: int | None):
    from verification.benchmarks import ChoiceItem, TargetItem
    from verification.metrics import EvalMaterial

    benchmarks = {
        name: [
            ChoiceItem(tuple(map(tuple, i["pairs"])), i["gold"])
            if "pairs" in i
            else TargetItem(i["context"], i["target"])
            for i in entries[:items]
        ]
        for name, entries in data["eval"].items()
    }
    return EvalMaterial(metric, benchmarks)


def eval_index_from(material):
    """The 13-gram index of the items the run scores, to refuse extra pools that contain them."""
    import numpy as np

    from tiers.eval_overlap import EvalIndex, batch_ngram_hashes
    from verification.benchmarks import ChoiceItem

    names = list(material.benchmarks)
    texts, owners = [], []
    for b, (name, items) in enumerate(material.benchmarks.items()):
        for item in items:
            parts = (
                [c + " " + x for c, x in item.pairs]
                if isinstance(item, ChoiceItem)
                else [item.context + " " + item.target]
            )
            texts.extend(parts)
            owners.extend([b] * len(parts))
    grams, owner = batch_ngram_hashes(texts, 13)
    unique, first = np.unique(grams, return_index=True)
    return EvalIndex(unique, np.asarray(owners, dtype=np.int32)[owner[first]], tuple(names), 13)


def read_pool(spec: str) -> tuple[str, list[str]]:
    name, _, path = spec.partition("=")
    if not name or not path:
        raise SystemExit(f"--pool wants NAME=PATH, got {spec!r}")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as handle:
        return name, [json.loads(line)["text"] for line in handle if line.strip()]


def expected(pairs: list, experiments: dict) -> dict:
    table = {(p.better, p.worse): p for p in pairs}
    checks = {}
    for better, worse in EXPECTED_ORDER:
        if better in experiments and worse in experiments:
            right = table.get((better, worse))
            checks[f"{better} > {worse}"] = {
                "ranks_right": right is not None,
                "interval_above_zero": bool(right and right.resolved),
            }
    for name in SHOULD_NOT_PASS:
        if name in experiments:
            checks[f"{name} not accepted"] = not experiments[name]["accepted"]
    return checks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=None, help="write the corpus to this path and stop")
    parser.add_argument("--root", default=None, help="with --build: a data root from `tiers run l0-to-l2`")
    parser.add_argument("--items", type=int, default=500, help="items per benchmark (build: stored; run: scored)")
    parser.add_argument("--openstax-bytes", type=int, default=1_000_000, help="with --build")
    parser.add_argument("--default-bytes", type=int, default=14_000_000, help="with --build")
    parser.add_argument("--corpus")
    parser.add_argument("--pool", action="append", default=[], help="NAME=PATH of a JSONL pool ({'text': ...})")
    parser.add_argument("--out")
    parser.add_argument("--metric", default="benchmark_bpb")
    parser.add_argument("--preset", default="base")
    parser.add_argument("--base-steps", type=int, default=400)
    parser.add_argument("--anneal-steps", type=int, default=80)
    parser.add_argument("--bases", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3, help="anneal seeds per base")
    parser.add_argument("--seed-offset", type=int, default=0, help="added to every base, anneal and control seed")
    parser.add_argument("--pool-bytes", type=int, default=800_000, help="every pool cut to this many bytes")
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.build:
        build_corpus(args.build, args.root, args.items, args.openstax_bytes, args.default_bytes)
        return
    run(args)


def run(args) -> None:
    import torch

    from verification.bases import BaseSpec, train_bases
    from verification.control import Controls, sample_bytes
    from verification.data import MixtureSampler, encode
    from verification.experiment import VerifyConfig, verify_pools
    from verification.model import ModelConfig, TinyLM
    from verification.pairwise import beats, pairwise, supported_order
    from verification.ranking import AcceptRule, rank_and_accept
    from verification.train import Schedule, train

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = True
    data = json.load(gzip.open(args.corpus, "rt"))
    material = material_from(data, args.metric, args.items)
    extra = dict(read_pool(spec) for spec in args.pool)
    if extra:
        from verification.leakage import refuse_eval_overlap

        refuse_eval_overlap(extra, eval_index_from(material))
    texts = {**data["pools"], **extra}
    offset = args.seed_offset
    pools = {name: encode(sample_bytes(t, args.pool_bytes, offset)) for name, t in texts.items()}
    config = ModelConfig.preset(args.preset)
    default = encode(data["default"])
    spec = BaseSpec(config, args.base_steps, args.batch, 6e-4, tuple(offset + i for i in range(args.bases)))
    bases = train_bases(default, spec, device)
    verify = VerifyConfig(
        seeds=tuple(offset + i for i in range(args.seeds)),
        anneal_steps=args.anneal_steps,
        batch_size=args.batch,
        lr=6e-4,
        metric=args.metric,
        control_seed=offset,
        device=device,
    )
    start = time.perf_counter()
    control_arms: dict = {}
    verification = verify_pools(
        pools, bases.models, default, Controls(data["control"], offset), material, verify, control_arms
    )
    pools_seconds = time.perf_counter() - start
    results = verification.experiments
    ranking, accepted = rank_and_accept(results, AcceptRule())
    pairs = pairwise(verification.arms, verify.confidence)
    experiments = {
        r.pool: {
            **dataclasses.asdict(r.verdict),
            "pool_bytes": r.pool_bytes,
            "control": r.control,
            "candidate": r.candidate,
            "bases": r.groups,
            "seconds": round(r.seconds, 2),
            "parts": r.parts_summary(),
        }
        for r in results
    }
    scratch = TinyLM(config)
    start = time.perf_counter()
    train(
        scratch,
        MixtureSampler(default, pools["gold_articles"], 0.3, config.context, offset),
        Schedule(args.base_steps + args.anneal_steps, 6e-4),
        args.batch,
        offset,
        device,
    )
    scratch_seconds = time.perf_counter() - start
    n_pools, runs = len(results), len(bases.models) * len(verify.seeds)
    all_arms = [*verification.arms.values(), *control_arms.values()]
    one_verification = pools_seconds / n_pools  # its arm and its share of the control arms
    runs_per_verification = runs * (len(results) + len(control_arms)) / n_pools
    report = {
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "metric": args.metric,
        "parameters": bases.models[0].parameters_count(),
        "model": dataclasses.asdict(config),
        "seed_offset": offset,
        "base": {
            "seeds": bases.seeds,
            "steps": args.base_steps,
            "tokens_each": bases.tokens,
            "default_bytes": len(default),
            "passes_over_default": round(bases.passes, 3),
            "seconds": round(bases.seconds, 2),
        },
        "anneal": {"seeds": list(verify.seeds), "steps": args.anneal_steps, "runs_per_arm": runs},
        "control": {"sizes": sorted(control_arms), "arms": len(control_arms)},
        "ranking": ranking,
        "accepted": accepted,
        "supported_order": supported_order({r.pool: r.verdict.delta for r in results}, pairs),
        "beats": beats(pairs),
        "pairwise": [p.as_dict() for p in pairs],
        "expected": expected(pairs, experiments),
        "experiments": experiments,
        "one_verification_seconds": round(one_verification, 2),
        "anneal_run_seconds": round(sum(a.seconds - a.eval_seconds for a in all_arms) / (runs * len(all_arms)), 3),
        "eval_run_seconds": round(sum(a.eval_seconds for a in all_arms) / (runs * len(all_arms)), 3),
        "anneal_runs_per_verification": round(runs_per_verification, 2),
        "scratch_one_model_seconds": round(scratch_seconds, 2),
        "verification_vs_scratch_same_runs": round(one_verification / (scratch_seconds * runs_per_verification), 3),
        "verification_vs_one_scratch_model": round(one_verification / scratch_seconds, 3),
        "bases_vs_one_scratch_model": round(bases.seconds / scratch_seconds, 3),
    }
    print(json.dumps(report, indent=1, default=float))
    with open(args.out, "w") as handle:
        json.dump(report, handle, indent=1, default=float)


if __name__ == "__main__":
    main()
