"""Compare trafilatura and resiliparse main-text extraction on the scrapinghub article benchmark.

Prints token-level precision, recall and F1 against the gold article bodies (as the upstream
evaluate.py does) and pages per second, for each extractor, and the speed ratio.
Run: python -m bench.html_extraction [--data ../shared/data/scrapinghub-article-extraction]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections import Counter
from pathlib import Path

from tiers.io.html import decode_html, extract_main_text

TOKEN = re.compile(r"\w+", re.UNICODE)


def token_prf(pred: str, gold: str) -> tuple[float, float, float]:
    p, g = Counter(TOKEN.findall(pred.lower())), Counter(TOKEN.findall(gold.lower()))
    tp = sum((p & g).values())
    precision = tp / max(sum(p.values()), 1)
    recall = tp / max(sum(g.values()), 1)
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return precision, recall, f1


def trafilatura_extract(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, include_comments=False, include_tables=True) or ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[1].parent / "shared/data/scrapinghub-article-extraction")
    )
    args = parser.parse_args()
    root = Path(args.data)
    gold = json.loads((root / "ground-truth.json").read_text())
    pages = []
    for key, item in gold.items():
        raw = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes())
        pages.append((decode_html(raw, None)[0], item["articleBody"]))
    extractors = {"resiliparse": extract_main_text, "trafilatura": trafilatura_extract}
    speeds = {}
    for name, fn in extractors.items():
        start = time.process_time()
        outputs = [fn(html) for html, _ in pages]
        cpu = time.process_time() - start
        scores = [token_prf(out, body) for out, (_, body) in zip(outputs, pages)]
        n = len(scores)
        p, r, f = (sum(s[i] for s in scores) / n for i in range(3))
        speeds[name] = n / cpu
        print(f"{name:12s} pages={n} precision={p:.3f} recall={r:.3f} f1={f:.3f} pages/cpu-s={n / cpu:.1f}")
    print(f"speed ratio resiliparse/trafilatura = {speeds['resiliparse'] / speeds['trafilatura']:.1f}x")


if __name__ == "__main__":
    main()
