"""Exact and near-duplicate items grouped for cross-document merging.

Two items of the same kind are duplicates when their normalised text and answer are equal, or when
their answers normalise equal and the Jaccard similarity of their content-word sets reaches
`threshold`. Candidate pairs come from an inverted index over content words (words in more than
`max_postings` items are not used to pair), so the work grows with the pairs that share a rare word.
Each group's canonical item is its first (lowest index); callers sort items first for determinism.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from tiers.dedup.minhash import jaccard
from tiers.dedup.unionfind import UnionFind
from tiers.l4.identity import canonical_key
from tiers.l4.language import content_words
from tiers.l4.matching import normalize_answer


def canonical_groups(
    items: Sequence[tuple[str, str, str | None]], threshold: float = 0.8, max_postings: int = 200
) -> list[int]:
    """Per item (kind, text, answer): the index of its group's canonical item."""
    groups = UnionFind()
    first_of_key: dict[str, int] = {}
    for i, (kind, text, answer) in enumerate(items):
        groups.find(i)
        key = canonical_key(kind, text, answer)
        if key in first_of_key:
            groups.union(first_of_key[key], i)
        else:
            first_of_key[key] = i
    heads = sorted(first_of_key.values())
    bags = {i: set(content_words(items[i][1])) for i in heads}
    answers = {i: normalize_answer(items[i][2] or "") for i in heads}
    postings: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i in heads:
        for word in bags[i]:
            postings[(items[i][0], word)].append(i)
    for members in postings.values():
        if len(members) > max_postings:
            continue
        for x, a in enumerate(members):
            for b in members[x + 1 :]:
                if (
                    answers[a] == answers[b]
                    and groups.find(a) != groups.find(b)
                    and jaccard(bags[a], bags[b]) >= threshold
                ):
                    groups.union(a, b)
    return [groups.find(i) for i in range(len(items))]
