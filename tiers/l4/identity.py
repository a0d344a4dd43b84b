"""Stable identities of knowledge items, from what they say and where they come from."""

from __future__ import annotations

from tiers.ids import doc_id_from_provenance
from tiers.l4.matching import normalize_answer


def canonical_key(kind: str, text: str, answer: str | None) -> str:
    """Equal for two items that say the same thing (case, punctuation, articles and spacing aside)."""
    return "\x1f".join((kind, normalize_answer(text), normalize_answer(answer or "")))


def ki_id(kind: str, text: str, answer: str | None, passage_id: str) -> str:
    return doc_id_from_provenance("ki", canonical_key(kind, text, answer), passage_id)
