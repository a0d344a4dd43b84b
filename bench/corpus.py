"""Build a benchmark corpus from the real texts in ../shared/data plus controlled near-duplicates.

Documents: the real texts (dolma CC sample, scrapinghub gold bodies, trafilatura pages after
extraction, WARC pages), new documents made by splicing paragraphs of different real texts, and
near-duplicates made by replacing a share of the words of a document. Gold clusters: a copy joins its
source's cluster when their 5-gram shingle Jaccard is at least `--gold-jaccard` (0.7).
Written as JSONL.gz (`id`, `text`, `cluster`) outside the repository.
Run: python -m bench.corpus --docs 50000 --out /tmp/tiers-bench/corpus.jsonl.gz
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path

from tiers.dedup.minhash import jaccard
from tiers.text import shingles
from tiers.io.html import decode_html, extract_main_text
from tiers.io.readers import FileStats, ReaderOptions, read_file

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def real_texts(shared: Path) -> list[str]:
    texts = []
    for path in sorted((shared / "dolma-test-samples").glob("*.gz")) + [shared / "resiliparse-cc-warc" / "warcfile.warc.gz"]:
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
        docs.append({"id": f"c{len(docs):07d}", "text": copy, "cluster": source["cluster"] if similar else f"c{len(docs):07d}"})
    rng.shuffle(docs)
    return docs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--dup-share", type=float, default=0.2)
    parser.add_argument("--gold-jaccard", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/tiers-bench/corpus.jsonl.gz")
    args = parser.parse_args()
    docs = build(args.docs, args.dup_share, args.gold_jaccard, args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt", encoding="utf-8") as handle:
        for doc in docs:
            handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    size = sum(len(d["text"].encode()) for d in docs)
    print(f"wrote {len(docs)} documents ({size / 1e6:.1f} MB of text) to {out}")


if __name__ == "__main__":
    main()
