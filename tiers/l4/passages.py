"""Documents cut into passages of whole lines, each about `min_tokens` to `max_tokens` long.

A line longer than `max_tokens` is cut at sentence ends (and a sentence longer still, at word
boundaries); a passage shorter than `min_tokens` joins the one before it when the two fit. Offsets are
character offsets into the document: `text[start:end] == passage.text`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

from tiers.ids import doc_id_from_provenance

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Passage:
    passage_id: str
    doc_id: str
    start: int
    end: int
    text: str


def estimate_tokens(text: str) -> int:
    """About 1.3 tokens per whitespace word, the ratio of English text under BPE tokenizers."""
    return math.ceil(len(text.split()) * 1.3)


def passage_id(doc_id: str, start: int, end: int) -> str:
    return doc_id_from_provenance("passage", doc_id, start, end)


def _pieces(text: str, count: Callable[[str], int], max_tokens: int) -> list[tuple[int, int]]:
    """(start, end) of each line, or of sentence/word chunks of a line too long for one passage."""
    pieces = []
    for line in re.finditer(r"[^\n]*\n?", text):
        start, end = line.span()
        if start == end:
            continue
        if count(text[start:end]) <= max_tokens:
            pieces.append((start, end))
            continue
        bounds = [start, *(start + m.end() for m in _SENTENCE_END.finditer(text[start:end])), end]
        for a, b in zip(bounds, bounds[1:]):
            if a >= b:
                continue
            if count(text[a:b]) <= max_tokens:
                pieces.append((a, b))
                continue
            pieces += _word_chunks(text, a, b, count, max_tokens)
    return pieces


def _word_chunks(text: str, a: int, b: int, count: Callable[[str], int], max_tokens: int) -> list[tuple[int, int]]:
    """text[a:b] cut at word boundaries into chunks of at most `max_tokens` (a single word may exceed it)."""
    spans = [m.span() for m in _WORD.finditer(text, a, b)]
    chunks, k, start = [], 0, a
    while k < len(spans):
        size = max(1, min(len(spans) - k, int(max_tokens / 1.3)))
        while size > 1 and count(text[start : spans[k + size - 1][1]]) > max_tokens:
            size = max(1, int(size * 0.9)) if size > 10 else size - 1
        k += size
        end = spans[k - 1][1] if k < len(spans) else b
        chunks.append((start, end))
        start = end
    return chunks


def split_passages(
    doc_id: str,
    text: str,
    min_tokens: int = 30,
    max_tokens: int = 512,
    count_tokens: Callable[[str], int] | None = None,
) -> list[Passage]:
    count = count_tokens or estimate_tokens
    groups: list[list[int]] = []  # [start, end, tokens]
    for start, end in _pieces(text, count, max_tokens):
        tokens = count(text[start:end])
        if groups and groups[-1][2] + tokens <= max_tokens:
            groups[-1][1], groups[-1][2] = end, groups[-1][2] + tokens
        else:
            groups.append([start, end, tokens])
    merged: list[list[int]] = []
    for group in groups:
        if merged and group[2] < min_tokens and merged[-1][2] + group[2] <= max_tokens + min_tokens:
            merged[-1][1], merged[-1][2] = group[1], merged[-1][2] + group[2]
        else:
            merged.append(group)
    passages = []
    for start, end, _ in merged:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            passages.append(Passage(passage_id(doc_id, start, end), doc_id, start, end, text[start:end]))
    return passages
