"""Issue 25, item 5: the pools two L2 models would choose from the same L1, for the verification loop to judge.

Both models score the English L1 documents of one data root; each pool is that model's top documents by
score up to the same number of bytes (by default half of the English L1's bytes, so the two choices can
differ). The random L1 sample of the same size is the control arm that `bench.verification_gpu` adds for
every pool size, so it is not written here.

    .venv/bin/python -m bench.l2_seed_pools --root /tmp/vroot27 \\
        --model shipped=tiers/assets/quality/quality_en.ftz \\
        --model bootstrap=/tmp/vroot27/models/quality-en-dbad06fd36e0dc01.bin --out out/pools

then on the GPU: `python -m bench.verification_gpu ... --pool l2_shipped=out/pools/shipped.jsonl.gz
--pool l2_bootstrap=out/pools/bootstrap.jsonl.gz`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
from pathlib import Path

import numpy as np

from classifiers.model import QualityModel
from tiers.catalog import Catalog

log = logging.getLogger("bench.l2_seed_pools")


def english_l1(root: str) -> tuple[list[str], list[str]]:
    _, rows = Catalog(root).query("SELECT doc_id, text FROM l1 WHERE lang = 'en' ORDER BY doc_id")
    return [r[0] for r in rows], [r[1] for r in rows]


def top_by_bytes(scores: np.ndarray, sizes: np.ndarray, budget: int) -> list[int]:
    """Indices of the highest-scoring documents, best first, while their bytes fit the budget."""
    chosen, used = [], 0
    for i in np.argsort(-scores, kind="stable"):
        if used + sizes[i] > budget:
            continue
        chosen.append(int(i))
        used += int(sizes[i])
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--model", action="append", required=True, help="NAME=PATH of a fastText quality model")
    parser.add_argument("--share", type=float, default=0.5, help="pool bytes as a share of the English L1's")
    parser.add_argument("--out", required=True, help="folder for NAME.jsonl.gz")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    ids, texts = english_l1(args.root)
    sizes = np.array([len(t.encode()) for t in texts])
    budget = int(sizes.sum() * args.share)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chosen: dict[str, set[str]] = {}
    summary: dict[str, dict] = {}
    for spec in args.model:
        name, _, path = spec.partition("=")
        scores = QualityModel(path).score(texts)
        picked = top_by_bytes(scores, sizes, budget)
        chosen[name] = {ids[i] for i in picked}
        with gzip.open(out / f"{name}.jsonl.gz", "wt") as handle:
            for i in picked:
                handle.write(json.dumps({"text": texts[i], "doc_id": ids[i], "score": float(scores[i])}) + "\n")
        summary[name] = {
            "model": path,
            "documents": len(picked),
            "bytes": int(sizes[picked].sum()),
            "score_p5_p50_p95": [round(float(q), 4) for q in np.quantile(scores, [0.05, 0.5, 0.95])],
        }
    names = list(chosen)
    overlap = {
        f"{a} & {b}": len(chosen[a] & chosen[b]) / max(1, len(chosen[a] | chosen[b]))
        for k, a in enumerate(names)
        for b in names[k + 1 :]
    }
    report = {
        "english_l1": {"documents": len(texts), "bytes": int(sizes.sum())},
        "budget": budget,
        "pools": summary,
        "jaccard": overlap,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
