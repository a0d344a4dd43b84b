"""Build a benchmark corpus from the real texts in ../shared/data plus controlled near-duplicates.

Documents: the real texts (dolma CC sample, scrapinghub gold bodies, trafilatura pages after
extraction, WARC pages), new documents made by splicing paragraphs of different real texts, and
near-duplicates made by replacing a share of the words of a document. Gold clusters: a copy joins its
source's cluster when their 5-gram shingle Jaccard is at least `--gold-jaccard` (0.7).
Written as JSONL.gz (`id`, `text`, `cluster`) outside the repository.
Run: python -m bench.corpus --docs 50000 --out /tmp/tiers-bench/corpus.jsonl.gz

`--dense SCALE` builds the dense near-duplicate corpus of issue 17 instead (see `build_dense`):
about 7,000 documents per unit of SCALE, many copies per original, chains of edits, copies at
Jaccard 0.7 to 0.8 and distractors just below it, multilingual (the real texts are ~20 languages).
Run: python -m bench.corpus --dense 1 --out /tmp/tiers-bench/dense-1x.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path

import numpy as np

from tiers.dedup.minhash import jaccard
from tiers.text import batch_shingle_hashes, shingles
from tiers.io.html import decode_html, extract_main_text
from tiers.io.readers import FileStats, ReaderOptions, read_file

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def real_texts(shared: Path) -> list[str]:
    texts = []
    for path in sorted((shared / "dolma-test-samples").glob("*.gz")) + [
        shared / "resiliparse-cc-warc" / "warcfile.warc.gz"
    ]:
        fmt = "warc" if ".warc" in path.name else "jsonl"
        texts += [o.row["text"] for o in read_file(str(path), fmt, ReaderOptions(), FileStats()) if o.kind == "l0"]
    gold = json.loads((shared / "scrapinghub-article-extraction" / "ground-truth.json").read_text())
    texts += [v["articleBody"] for v in gold.values()]
    for html_file in sorted((shared / "trafilatura-eval-pages" / "html").glob("*.html.gz")):
        texts.append(extract_main_text(decode_html(gzip.decompress(html_file.read_bytes()), None)[0]))
    return [t for t in texts if len(t.split()) >= 50]


def edit(text: str, rate: float, rng: random.Random) -> str:
    words = text.split(" ")
    for i in rng.sample(range(len(words)), max(1, int(len(words) * rate))):
        words[i] = rng.choice(["data", "the", "new", "edited", "value", "report", str(rng.randrange(1000))])
    return " ".join(words)


def build(n_docs: int, dup_share: float, gold_jaccard: float, seed: int) -> list[dict]:
    rng = random.Random(seed)
    base = real_texts(SHARED)
    paragraphs = [p for t in base for p in t.split("\n") if len(p.split()) >= 8]
    n_unique = int(n_docs * (1 - dup_share))
    docs = [{"text": t} for t in base[:n_unique]]
    while len(docs) < n_unique:
        docs.append({"text": "\n".join(rng.sample(paragraphs, rng.randint(4, 10)))})
    for i, doc in enumerate(docs):
        doc["id"] = f"u{i:07d}"
        doc["cluster"] = doc["id"]
    while len(docs) < n_docs:
        source = docs[rng.randrange(n_unique)]
        copy = edit(source["text"], rng.choice([0.0, 0.01, 0.02, 0.05, 0.1, 0.3]), rng)
        similar = jaccard(set(shingles(copy, 5)), set(shingles(source["text"], 5))) >= gold_jaccard
        docs.append(
            {"id": f"c{len(docs):07d}", "text": copy, "cluster": source["cluster"] if similar else f"c{len(docs):07d}"}
        )
    rng.shuffle(docs)
    return docs


DENSE_ORIGINALS = 1_200  # originals per unit of scale: with the copy mix below, about 7,000 documents
# (edit kind, weight): near-exact copies, copies aimed at Jaccard 0.7-0.8, chain links (an edit of an
# earlier copy), distractors aimed just below the threshold (their own gold cluster)
COPY_KINDS = (("near", 0.30), ("mid", 0.35), ("chain", 0.25), ("distractor", 0.10))
COPY_RATES = {"near": (0.0, 0.01), "mid": (0.025, 0.04), "chain": (0.01, 0.03), "distractor": (0.06, 0.1)}


def shingle_set(text: str, ngram: int = 5) -> np.ndarray:
    return np.unique(batch_shingle_hashes([text], ngram)[0])


def set_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted unique hash arrays (the 5-gram shingle Jaccard up to 32-bit collisions)."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def dense_edit(text: str, rate: float, vocabulary: list[str], rng: random.Random) -> str:
    """Replace a share `rate` of the words with words of other documents, and sometimes drop or repeat
    a short span, so copies differ the way mirrored and re-templated pages do."""
    words = text.split(" ")
    for i in rng.sample(range(len(words)), max(1, int(len(words) * rate))):
        words[i] = rng.choice(vocabulary)
    if len(words) > 40 and rng.random() < 0.3:
        start = rng.randrange(len(words) - 10)
        words[start : start + rng.randint(1, 6)] = []
    if rng.random() < 0.2:
        words.append(rng.choice(["Share this page.", "Alle Rechte vorbehalten.", "Tous droits réservés.", "Read more"]))
    return " ".join(words)


def copies_per_original(rng: random.Random) -> int:
    """Heavy-tailed: many originals have no copy, a few have dozens (mirrors and templates)."""
    roll = rng.random()
    if roll < 0.30:
        return 0
    if roll < 0.85:
        return rng.randint(1, 6)
    if roll < 0.97:
        return rng.randint(7, 25)
    return rng.randint(26, 80)


def build_dense(scale: int, seed: int, gold_jaccard: float = 0.7, copies_of_original: bool = False) -> list[dict]:
    """The dense near-duplicate corpus: `DENSE_ORIGINALS * scale` originals (the real texts first, then
    splices of their paragraphs), each with a heavy-tailed number of edited copies.

    Gold clusters come from the generator: a copy joins its parent's cluster when its 5-gram shingle
    Jaccard to the parent is at least `gold_jaccard`, else it starts its own cluster (so a chain of
    edits stays one cluster as long as every link is similar enough, as connected components see it).

    `copies_of_original`: every copy is an edit of its family's original (a "chain" copy too, at the
    chain's edit rate), so a copy is a gold removal exactly when it is within `gold_jaccard` of the
    original, which stays: the gold a per-document rule can meet, as on copies of one original.
    """
    rng = random.Random(seed)
    base, seen = [], set()
    for text in real_texts(SHARED):
        key = " ".join(text.lower().split())
        if key not in seen:
            seen.add(key)
            base.append(text)
    paragraphs = [p for t in base for p in t.split("\n") if len(p.split()) >= 8]
    vocabulary = [w for p in rng.sample(paragraphs, min(len(paragraphs), 5000)) for w in p.split()]
    n_originals = DENSE_ORIGINALS * scale
    originals = base[:n_originals]
    while len(originals) < n_originals:
        originals.append("\n".join(rng.sample(paragraphs, rng.randint(4, 10))))
    kinds, weights = zip(*COPY_KINDS)
    docs = []
    for index, text in enumerate(originals):
        root = {"id": f"o{index:07d}", "text": text, "cluster": f"o{index:07d}", "_set": shingle_set(text)}
        family = [root]
        for _ in range(copies_per_original(rng)):
            kind = rng.choices(kinds, weights)[0]
            parent = rng.choice(family) if kind == "chain" and not copies_of_original else root
            copy = dense_edit(parent["text"], rng.uniform(*COPY_RATES[kind]), vocabulary, rng)
            copy_set = shingle_set(copy)
            doc_id = f"c{index:07d}_{len(family):03d}"
            similar = set_jaccard(copy_set, parent["_set"]) >= gold_jaccard
            family.append(
                {"id": doc_id, "text": copy, "cluster": parent["cluster"] if similar else doc_id, "_set": copy_set}
            )
        docs += family
    for doc in docs:
        del doc["_set"]
    rng.shuffle(docs)
    return docs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--dup-share", type=float, default=0.2)
    parser.add_argument("--gold-jaccard", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--dense",
        type=int,
        default=0,
        metavar="SCALE",
        help="build the dense near-duplicate corpus at this scale (1: about 7,000 documents)",
    )
    parser.add_argument(
        "--copies-of-original",
        action="store_true",
        help="with --dense: every copy is an edit of its family's original, never of another copy",
    )
    parser.add_argument("--out", default="/tmp/tiers-bench/corpus.jsonl.gz")
    args = parser.parse_args()
    if args.dense:
        docs = build_dense(args.dense, args.seed, args.gold_jaccard, args.copies_of_original)
    else:
        docs = build(args.docs, args.dup_share, args.gold_jaccard, args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt", encoding="utf-8") as handle:
        for doc in docs:
            handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    size = sum(len(d["text"].encode()) for d in docs)
    clusters = len({d["cluster"] for d in docs})
    print(
        f"wrote {len(docs)} documents ({size / 1e6:.1f} MB of text, {clusters} gold clusters, "
        f"{len(docs) - clusters} gold removals) to {out}"
    )


if __name__ == "__main__":
    main()
