"""The English quality model that ships in the package (issue 25).

- It separates held-out shipped positives from held-out raw-crawl negatives (AUC >= 0.9), the
  negatives read here from ../shared with the project's readers, the held-out rule applied here.
- The committed script rebuilds it deterministically: a run here gives the files an earlier run shipped.
- Its scores spread on each sample input separately, so L2's spread check passes and L2 is not empty.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from classifiers.evaluate import classification_metrics
from classifiers.model import QualityModel, file_hash
from classifiers.shipped import SHIPPED_SEEDS, shipped_card, shipped_model_path, shipped_seed_texts
from jobs.engine import Execution
from jobs.pipeline import run_l0_to_l2
from scripts import build_default_model as builder
from tests.helpers import DOLMA, RESILIPARSE_WARC, SCRAPINGHUB, TEST_OVERRIDES, open_catalog
from tiers.config import load_config

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def heldout_negatives() -> list[str]:
    crawl = builder.crawl_texts()
    return [t for t in crawl if builder.is_heldout(builder._text_key(t))]


def test_shipped_model_separates_heldout_seeds_from_raw_crawl(heldout_negatives):
    model = QualityModel(shipped_model_path("en"))
    positives = shipped_seed_texts("heldout")
    assert len(positives) >= 100 and len(heldout_negatives) >= 30
    scores = model.score(positives + heldout_negatives)
    labels = np.array([1] * len(positives) + [0] * len(heldout_negatives))
    metrics = classification_metrics(scores, labels)
    assert metrics["roc_auc"] >= 0.9, metrics
    card = shipped_card("en")
    assert card["model_hash"] == file_hash(shipped_model_path("en"))
    assert abs(card["heldout"]["roc_auc"] - metrics["roc_auc"]) < 1e-6, (card["heldout"], metrics)


@pytest.mark.slow
def test_training_script_is_deterministic_and_rebuilds_the_shipped_model(tmp_path):
    """A run of the committed script here gives the files an earlier run committed, byte for byte."""
    card = builder.build(tmp_path, seeds_out=tmp_path / "seeds.jsonl.gz")
    assert card["model_hash"] == shipped_card("en")["model_hash"], "the shipped model is not the script's output"
    assert file_hash(tmp_path / card["model"]) == file_hash(shipped_model_path("en"))
    assert (tmp_path / "seeds.jsonl.gz").read_bytes() == SHIPPED_SEEDS.read_bytes()


def _article_bodies_jsonl(folder) -> list[str]:
    data = json.loads((SCRAPINGHUB / "ground-truth.json").read_text(encoding="utf-8"))
    path = folder / "article-bodies.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for key, value in sorted(data.items()):
            handle.write(json.dumps({"id": key, "text": value["articleBody"], "url": value.get("url")}) + "\n")
    return [str(path)]


SAMPLE_INPUTS = {
    "dolma samples": lambda tmp: [str(DOLMA)],
    "WARC samples": lambda tmp: [str(RESILIPARSE_WARC), *map(str, sorted(DOLMA.glob("warc__*.warc.gz")))],
    "article bodies": _article_bodies_jsonl,
}


@pytest.mark.parametrize("name", sorted(SAMPLE_INPUTS))
def test_spread_check_passes_on_each_sample_input(name, tmp_path):
    config = load_config(None, TEST_OVERRIDES + ["engine.kind=local"])
    root = tmp_path / "root"
    results = run_l0_to_l2(Execution(config), config, SAMPLE_INPUTS[name](tmp_path), str(root))
    with open_catalog(root) as con:
        l2 = con.execute("SELECT count(*) FROM l2").fetchone()[0]
        seeds = json.loads(con.execute("SELECT seeds_json FROM models WHERE lang = 'en'").fetchone()[0])
    spread = results["l1_to_l2"].counts
    assert l2 > 0, spread
    assert "shipped" in seeds
