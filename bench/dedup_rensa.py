"""rensa end to end on a corpus, the baseline of issue 17's "dedup alone >= 0.5x rensa" (run in the
separate benchmark environment: rensa is not a dependency of tiers).

Reads the JSONL.gz, shingles each text in Python (lower-cased word 5-grams), builds an RMinHash
(112 permutations) per document, inserts it into RMinHashLSH (14 bands, FineWeb's layout), queries
each document's candidates, keeps pairs whose estimated Jaccard reaches 0.7, joins them with a
union-find and removes every member of a cluster but the smallest id. Writes the removed ids as JSON.
Run: /tmp/bench-venv/bin/python bench/dedup_rensa.py --input dense-1x.jsonl.gz --removed out.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import re

from rensa import RMinHash, RMinHashLSH

WORD = re.compile(r"[0-9a-z\x80-\U0010ffff]+")


def shingles(text: str, n: int = 5) -> list[str]:
    words = WORD.findall(text.lower())
    if len(words) < n:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


def find(parent: dict[str, str], node: str) -> str:
    while parent.get(node, node) != node:
        parent[node] = parent.get(parent[node], parent[node])
        node = parent[node]
    return node


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--removed", required=True)
    parser.add_argument("--bands", type=int, default=14)
    parser.add_argument("--threshold", type=float, default=0.7)
    args = parser.parse_args()
    lsh = RMinHashLSH(threshold=args.threshold, num_perm=112, num_bands=args.bands)
    hashes: list[RMinHash] = []
    ids: list[str] = []
    with gzip.open(args.input, "rt", encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            grams = shingles(doc["text"])
            if not grams:
                continue
            m = RMinHash(num_perm=112, seed=1)
            m.update(grams)
            lsh.insert(len(hashes), m)  # rensa's keys are integers
            hashes.append(m)
            ids.append(doc["id"])
    parent: dict[str, str] = {}
    for key, m in enumerate(hashes):
        for other in lsh.query(m):
            if other != key and m.jaccard(hashes[other]) >= args.threshold:
                a, b = find(parent, ids[key]), find(parent, ids[other])
                if a != b:
                    parent[max(a, b)] = min(a, b)
    removed = [doc_id for doc_id in ids if find(parent, doc_id) != doc_id]
    with open(args.removed, "w") as handle:
        json.dump(removed, handle)


if __name__ == "__main__":
    main()
