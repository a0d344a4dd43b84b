"""Texts shaped to chain (near-duplicate chains, stars, bridges) and the tests' own measure of them:
Jaccard of plain Python sets of lower-cased word 5-grams, and the per-document rule by brute force."""

from __future__ import annotations

import random
import re

THRESHOLD = 0.7
WORD = re.compile(r"[a-z]+")


def grams(text: str) -> set[tuple[str, ...]]:
    words = WORD.findall(text.lower())
    return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}


def jaccard(a: str, b: str) -> float:
    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


def words(rng: random.Random, count: int) -> list[str]:
    return ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(count)]


def chain(rng: random.Random, length: int, share: float = 0.015, size: int = 400) -> list[str]:
    """`length` texts, each with `share` of the previous one's words replaced (neighbours at Jaccard ~0.86)."""
    current = words(rng, size)
    texts = [" ".join(current)]
    for _ in range(length - 1):
        current = list(current)
        for i in rng.sample(range(size), int(size * share)):
            current[i] = words(rng, 1)[0]
        texts.append(" ".join(current))
    return texts


def star(rng: random.Random, leaves: int) -> list[str]:
    """A center text and `leaves` copies, each with its own block of 30 of its 400 words replaced; a leaf first."""
    center = words(rng, 400)
    copies = []
    for _ in range(leaves):
        leaf = list(center)
        start = rng.randrange(0, 300)
        leaf[start : start + 30] = words(rng, 30)
        copies.append(" ".join(leaf))
    return copies[:1] + [" ".join(center)] + copies[1:]


def bridged(rng: random.Random) -> list[str]:
    """Texts a, bridge, b (a and b below the threshold, the bridge above it with both), then two light
    edits of a and two of b."""
    a = words(rng, 400)
    tail = words(rng, 120)
    bridge = a[:340] + tail[:60]
    b = a[:280] + tail
    texts = [" ".join(a), " ".join(bridge), " ".join(b)]
    for base in (a, b):
        for _ in range(2):
            copy = list(base)
            copy[rng.randrange(400)] = "edited"
            texts.append(" ".join(copy))
    return texts


def greedy(texts: list[str], fixed: int = 0) -> list[int]:
    """The rule by brute force over every pair of one component: the position each text is kept as or
    dropped for. The first `fixed` are always kept, never absorbed, and absorb their neighbours first;
    then the unassigned text with the most unassigned neighbours (ties: the first) is kept and absorbs them."""
    count = len(texts)
    near = [
        {
            j
            for j in range(count)
            if j != i and not (i < fixed and j < fixed) and jaccard(texts[i], texts[j]) >= THRESHOLD
        }
        for i in range(count)
    ]
    kept = list(range(count))
    assigned = set(range(fixed))

    def absorb(center: int) -> None:
        for member in sorted(near[center] - assigned):
            kept[member] = center
            assigned.add(member)

    for center in range(fixed):
        absorb(center)
    while len(assigned) < count:
        best = min(set(range(count)) - assigned, key=lambda i: (-len(near[i] - assigned), i))
        assigned.add(best)
        absorb(best)
    return kept
