"""Build the English quality model and seed file that ship inside tiers (issue 25), deterministically.

The Ultra-FineWeb recipe: high-quality seed text as positives, a random sample of raw crawl text as
negatives, one fastText model trained once and applied everywhere.

- Positives: OpenStax textbook sections (CC BY 4.0). Written to `tiers/assets/seeds/openstax_en.jsonl.gz`
  with a `split` field (about one section in ten is `heldout`, chosen by a hash of its id) and the
  attribution in `tiers/assets/seeds/NOTICE.md`; the model trains on the `train` split only.
- Negatives: the English documents of the raw crawl samples in ../shared/data (Common Crawl text and
  WARC pages, web pages of the trafilatura evaluation set), read with the project's own readers and HTML
  extraction, as L0 holds them. They train the model but are not shipped (they are third-party
  fixtures); one in ten, by a hash of the text, is held out for the metrics.
- The scrapinghub article bodies (clean news text) are never trained on: they are the evaluation
  proxy for "good web text", scored against the held-out negatives.

fastText trains single-threaded with a fixed seed and the project's Ultra-FineWeb settings scaled to the
seed set (`classifiers.train.training_params`), then is quantized to a few MB. Two runs give the same
model file. Run from the repository root with ../shared beside it:

    .venv/bin/python -m scripts.build_default_model
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import logging
import random
import tempfile
from pathlib import Path

import numpy as np

from classifiers.evaluate import classification_metrics
from classifiers.model import NEGATIVE, POSITIVE, QualityModel, file_hash
from classifiers.preprocess import preprocess
from classifiers.shipped import SHIPPED_DIR, SHIPPED_SEEDS, is_heldout
from classifiers.train import fit_in_subprocess, training_params
from tiers.config import ClassifierTrainConfig
from tiers.io.html import decode_html, extract_main_text
from tiers.io.readers import FileStats, ReaderOptions, read_file
from tiers.ops.langid import load_lid_model

log = logging.getLogger("build_default_model")

SHARED = Path("../shared/data")
OPENSTAX = SHARED / "openstax" / "sections.jsonl.gz"
OPENSTAX_README = SHARED / "openstax" / "README.md"
CRAWL_FILES = [
    ("dolma-test-samples/*.jsonl.gz", "jsonl"),
    ("dolma-test-samples/*.json.gz", "jsonl"),
    ("dolma-test-samples/*.warc.gz", "warc"),
    ("resiliparse-cc-warc/*.warc.gz", "warc"),
]
TRAFILATURA_PAGES = SHARED / "trafilatura-eval-pages" / "html"
ARTICLE_BODIES = SHARED / "scrapinghub-article-extraction" / "ground-truth.json"
MIN_CHARS = 200
# Quantization keeps the 25,000 most useful rows of the embedding table, product-quantized in pairs of
# dimensions: 3.9 MB instead of 170 MB, with held-out AUCs within 0.005 of the full model. Without
# retraining: retraining after the cut pushed the scores of ordinary web text to 0 or 1 and cost 0.05 of
# the article-body AUC (bench/README.md, issue 25).
QUANTIZE = {"qnorm": False, "retrain": False, "cutoff": 25_000, "dsub": 2, "thread": 1}


def openstax_sections(path: Path = OPENSTAX) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return sorted(rows, key=lambda row: row["id"])


def english(texts: list[str]) -> list[str]:
    model = load_lid_model()
    labels, _ = model.predict([t[:2000].replace("\n", " ") for t in texts], k=1)
    return [t for t, label in zip(texts, labels) if label and label[0] == "__label__en"]


def crawl_texts(shared: Path = SHARED) -> list[str]:
    """Raw text of every English document in the crawl samples, as ingest puts it in L0."""
    texts: list[str] = []
    for pattern, fmt in CRAWL_FILES:
        for path in sorted(glob.glob(str(shared / pattern))):
            for outcome in read_file(path, fmt, ReaderOptions(), FileStats()):
                if outcome.kind == "l0" and outcome.row.get("text"):
                    texts.append(outcome.row["text"])
    for page in sorted((shared / "trafilatura-eval-pages" / "html").glob("*.html.gz")):
        decoded, _ = decode_html(gzip.decompress(page.read_bytes()), None)
        texts.append(extract_main_text(decoded))
    unique = sorted({t for t in texts if len(t.strip()) >= MIN_CHARS})
    return english(unique)


def article_bodies(path: Path = ARTICLE_BODIES) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    bodies = [v["articleBody"] for v in data.values() if isinstance(v.get("articleBody"), str)]
    return english(sorted(b for b in bodies if len(b.strip()) >= MIN_CHARS))


def write_seeds(sections: list[dict], out: Path = SHIPPED_SEEDS) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps(
            {
                "id": s["id"],
                "book": s["book"],
                "title": s["title"],
                "text": s["text"],
                "source": s["source"],
                "split": "heldout" if is_heldout(s["id"]) else "train",
            },
            ensure_ascii=False,
        )
        for s in sections
    ]
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as handle:
        handle.write(("\n".join(lines) + "\n").encode("utf-8"))
    notice = OPENSTAX_README.read_text(encoding="utf-8").split("## Attribution (required by CC BY 4.0)")[1]
    (out.parent / "NOTICE.md").write_text(
        "# Shipped seed text: OpenStax textbook sections (CC BY 4.0)\n\n"
        f"`{out.name}` holds {len(sections)} sections of 26 OpenStax textbooks as plain text (math, figures,\n"
        "exercises removed), the positives of the default English quality model. Licensed under CC BY 4.0,\n"
        "https://creativecommons.org/licenses/by/4.0/. Built by `scripts/build_default_model.py`.\n\n"
        "## Attribution (required by CC BY 4.0)\n" + notice,
        encoding="utf-8",
    )


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build(out_dir: Path = SHIPPED_DIR, seed: int = 42, seeds_out: Path = SHIPPED_SEEDS) -> dict:
    sections = openstax_sections()
    write_seeds(sections, seeds_out)
    positives = [s["text"] for s in sections if not is_heldout(s["id"])]
    held_pos = [s["text"] for s in sections if is_heldout(s["id"])]
    crawl = crawl_texts()
    negatives = [t for t in crawl if not is_heldout(_text_key(t))]
    held_neg = [t for t in crawl if is_heldout(_text_key(t))]
    rng = random.Random(seed)
    n = min(len(positives), len(negatives))
    train = [(1, t) for t in rng.sample(positives, n)] + [(0, t) for t in rng.sample(negatives, n)]
    rng.shuffle(train)
    config = ClassifierTrainConfig(seed=seed)
    params = training_params(config, len(train))
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "quality_en.ftz"
    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / "train.txt"
        train_file.write_text(
            "".join(f"{POSITIVE if label else NEGATIVE} {preprocess(text)}\n" for label, text in train),
            encoding="utf-8",
        )
        full = Path(tmp) / "full.bin"
        fit_in_subprocess(str(train_file), full, params)
        quantize(full, train_file, model_path)
    model = QualityModel(model_path)
    labels = np.array([1] * len(held_pos) + [0] * len(held_neg))
    heldout = classification_metrics(model.score(held_pos + held_neg), labels)
    bodies = article_bodies()
    proxy = classification_metrics(model.score(bodies + held_neg), np.array([1] * len(bodies) + [0] * len(held_neg)))
    card = {
        "model": model_path.name,
        "model_hash": file_hash(model_path),
        "lang": "en",
        "tokenizer": "builtin",
        "recipe": "Ultra-FineWeb: fastText on OpenStax positives vs a random sample of raw English crawl text",
        "params": params,
        "quantize": QUANTIZE,
        "seeds": {
            "positives": {"source": "tiers/assets/seeds/openstax_en.jsonl.gz (split=train)", "n": n},
            "negatives": {
                "source": "English raw crawl text of ../shared/data (dolma CC and WARC samples, resiliparse "
                "WARC, trafilatura evaluation pages), not shipped",
                "n": n,
                "available": len(negatives),
            },
        },
        "heldout": {**heldout, "positives": len(held_pos), "negatives": len(held_neg)},
        "article_bodies_vs_heldout_crawl": {**proxy, "positives": len(bodies)},
    }
    (out_dir / "quality_en.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return card


def _quantize(full: str, train_file: str, out: str, options: dict) -> None:
    import fasttext

    model = fasttext.load_model(full)
    model.quantize(input=train_file, **options)
    model.save_model(out)


def quantize(full: Path, train_file: Path, out: Path) -> None:
    """Quantize in a fresh process, as training runs (fasttext-numpy2 keeps state between trainings)."""
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(
        target=_quantize, args=(str(full), str(train_file), str(out), QUANTIZE)
    )
    process.start()
    process.join()
    if process.exitcode != 0 or not out.exists():
        raise RuntimeError(f"fastText quantization failed (exit code {process.exitcode})")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=SHIPPED_DIR)
    args = parser.parse_args()
    card = build(args.out)
    log.info("%s", json.dumps({k: card[k] for k in ("model_hash", "heldout", "article_bodies_vs_heldout_crawl")}))


if __name__ == "__main__":
    main()
