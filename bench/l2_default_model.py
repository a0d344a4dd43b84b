"""Issue 25: the shipped English quality model against the bootstrap model it replaces, in the same run.

The bootstrap model is rebuilt as main trained it until issue 25: scrapinghub article bodies as positives,
documents that L1 dropped (from an L0 -> L1 run over the sample crawls) as negatives, the project's
training settings. Both models are then measured on the same held-out sets:

- held-out shipped OpenStax sections against held-out English raw crawl text (the shipped model's own
  question; ROC AUC);
- the score spread (p5 to p95) on the L1 documents of each sample input, which L2's spread check
  requires to be at least `l2.min_score_spread` (0.05).

Run from the repository root with ../shared beside it:

    .venv/bin/python -m bench.l2_default_model
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import numpy as np

from classifiers.evaluate import classification_metrics
from classifiers.model import QualityModel
from classifiers.shipped import shipped_model_path, shipped_seed_texts
from classifiers.train import train_classifier
from jobs.engine import Execution
from jobs.pipeline import run_l0_to_l1
from scripts import build_default_model as builder
from tiers.catalog import Catalog
from tiers.config import load_config

log = logging.getLogger("bench.l2_default_model")
SHARED = Path("../shared/data")
INPUTS = {
    "dolma samples": [SHARED / "dolma-test-samples"],
    "WARC samples": [SHARED / "resiliparse-cc-warc", *sorted((SHARED / "dolma-test-samples").glob("warc__*"))],
    "sample crawl (samples/crawl)": [Path("samples/crawl")],
}


def english_l1(root: Path) -> list[str]:
    _, rows = Catalog(root).query("SELECT text FROM l1 WHERE lang = 'en'")
    return [r[0] for r in rows]


def bootstrap_model(work: Path) -> QualityModel:
    config = load_config(None, ["engine.kind=local"])
    root = work / "bootstrap-root"
    run_l0_to_l1(
        Execution(config), config, [str(p) for p in INPUTS["dolma samples"] + INPUTS["WARC samples"]], str(root)
    )
    _, rows = Catalog(root).query(
        "SELECT l0.text FROM l0 JOIN drops USING (doc_id) WHERE length(l0.text) >= 200 ORDER BY hash(doc_id) LIMIT 5000"
    )
    negatives = [r[0] for r in rows]
    positives = builder.article_bodies()
    trained = train_classifier(positives, negatives, work / "bootstrap.bin", config.l2.train)
    return QualityModel(trained.path)


def spread(model: QualityModel, texts: list[str]) -> list[float]:
    scores = model.score(texts)
    return [round(float(np.percentile(scores, 5)), 5), round(float(np.percentile(scores, 95)), 5)]


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        models = {"shipped": QualityModel(shipped_model_path("en")), "bootstrap": bootstrap_model(work)}
        crawl = builder.crawl_texts()
        held_neg = [t for t in crawl if builder.is_heldout(builder._text_key(t))]
        held_pos = shipped_seed_texts("heldout")
        labels = np.array([1] * len(held_pos) + [0] * len(held_neg))
        l1_texts = {}
        for name, paths in INPUTS.items():
            config = load_config(None, ["engine.kind=local"])
            root = work / name.replace(" ", "-").replace("/", "_")
            run_l0_to_l1(Execution(config), config, [str(p) for p in paths], str(root))
            l1_texts[name] = english_l1(root)
        result = {}
        for label, model in models.items():
            result[label] = {
                "openstax_vs_raw_crawl_auc": classification_metrics(model.score(held_pos + held_neg), labels)[
                    "roc_auc"
                ],
                "spread_p5_p95": {name: spread(model, texts) for name, texts in l1_texts.items() if texts},
            }
        result["english_l1_documents"] = {name: len(texts) for name, texts in l1_texts.items()}
        result["held_out"] = {"positives": len(held_pos), "negatives": len(held_neg)}
        auc = result["shipped"]["openstax_vs_raw_crawl_auc"] / result["bootstrap"]["openstax_vs_raw_crawl_auc"]
        result["auc_ratio_shipped_to_bootstrap"] = round(auc, 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
