r"""Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models: Methods, Analysis
& Insights from Training Gopher", appendix A), with the thresholds datatrove uses for FineWeb.

Words are runs of word characters (`\w+`) and tokens are whitespace-separated, so languages written
without spaces are skipped by default; the n-gram rules hash words with the vectorized hashing of
tiers.dedup.
"""
from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from tiers.text import word_runs
from tiers.ops.base import Params, TextFilter
from tiers.ops.registry import register

NO_SPACE_LANGUAGES = ["zh", "ja", "ko", "th", "lo", "km", "my", "bo"]
DEFAULT_STOP_WORDS = {
    "en": ["the", "be", "to", "of", "and", "that", "have", "with"],
    "de": ["der", "die", "das", "und", "ist", "zu", "den", "mit"],
    "fr": ["le", "la", "les", "de", "et", "est", "un", "une"],
    "es": ["el", "la", "de", "que", "y", "en", "los", "es"],
}


class GopherQualityParams(Params):
    min_doc_words: int = 50
    max_doc_words: int = 100_000
    min_avg_word_length: float = 3
    max_avg_word_length: float = 10
    max_symbol_word_ratio: float = 0.1
    max_bullet_lines_ratio: float = 0.9
    max_ellipsis_lines_ratio: float = 0.3
    min_alpha_words_ratio: float = 0.8
    min_stop_words: int = 2
    stop_words: dict[str, list[str]] = DEFAULT_STOP_WORDS
    skip_languages: list[str] = NO_SPACE_LANGUAGES


_BULLETS = ("•", "●", "-", "*", "‣", "◦", "▪", "–")
_WORDS = re.compile(r"\w+")
_ALPHA_TOKENS = re.compile(r"\S*[^\W\d_]\S*")
_ELLIPSIS = ("...", "…")


@register
class GopherQuality(TextFilter):
    name = "gopher_quality"
    ParamsModel = GopherQualityParams
    needs_columns = ("lang",)
    adds: ClassVar[dict[str, pa.DataType]] = {
        "gopher_words": pa.int32(),
        "gopher_avg_word_length": pa.float32(),
        "gopher_symbol_word_ratio": pa.float32(),
        "gopher_bullet_lines_ratio": pa.float32(),
        "gopher_ellipsis_lines_ratio": pa.float32(),
        "gopher_alpha_words_ratio": pa.float32(),
        "gopher_stop_words": pa.int32(),
    }

    def __init__(self, params: GopherQualityParams | None = None):
        super().__init__(params)
        self.stop_words = {lang: frozenset(ws) for lang, ws in self.params.stop_words.items()}

    def score(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        if row.get("lang") in self.params.skip_languages:
            return {}
        n_tokens = max(len(text.split()), 1)
        ws = _WORDS.findall(text)
        n = max(len(ws), 1)
        lines = [line.lstrip() for line in text.split("\n") if line.strip()]
        n_lines = max(len(lines), 1)
        symbols = text.count("#") + text.count("...") + text.count("\u2026")
        stop = self.stop_words.get(row.get("lang") or "", None)
        return {
            "gopher_words": len(ws),
            "gopher_avg_word_length": sum(map(len, ws)) / n,
            "gopher_symbol_word_ratio": symbols / n,
            "gopher_bullet_lines_ratio": sum(line.startswith(_BULLETS) for line in lines) / n_lines,
            "gopher_ellipsis_lines_ratio": sum(line.rstrip().endswith(_ELLIPSIS) for line in lines) / n_lines,
            "gopher_alpha_words_ratio": len(_ALPHA_TOKENS.findall(text)) / n_tokens,
            "gopher_stop_words": len(set(_WORDS.findall(text.lower())) & stop) if stop is not None else None,
        }

    def decide(self, s: dict[str, Any], row: dict[str, Any]) -> str | None:
        if not s:
            return None
        p = self.params
        if s["gopher_words"] < p.min_doc_words:
            return "gopher_below_min_words"
        if s["gopher_words"] > p.max_doc_words:
            return "gopher_above_max_words"
        if not p.min_avg_word_length <= s["gopher_avg_word_length"] <= p.max_avg_word_length:
            return "gopher_avg_word_length"
        if s["gopher_symbol_word_ratio"] > p.max_symbol_word_ratio:
            return "gopher_symbol_word_ratio"
        if s["gopher_bullet_lines_ratio"] > p.max_bullet_lines_ratio:
            return "gopher_bullet_lines"
        if s["gopher_ellipsis_lines_ratio"] > p.max_ellipsis_lines_ratio:
            return "gopher_ellipsis_lines"
        if s["gopher_alpha_words_ratio"] < p.min_alpha_words_ratio:
            return "gopher_alpha_words_ratio"
        if s["gopher_stop_words"] is not None and s["gopher_stop_words"] < p.min_stop_words:
            return "gopher_stop_words"
        return None


class GopherRepetitionParams(Params):
    dup_line_frac: float = 0.3
    dup_para_frac: float = 0.3
    dup_line_char_frac: float = 0.2
    dup_para_char_frac: float = 0.2
    top_n_grams: dict[int, float] = {2: 0.2, 3: 0.18, 4: 0.16}
    dup_n_grams: dict[int, float] = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    skip_languages: list[str] = NO_SPACE_LANGUAGES


_PRIME = np.uint64(1099511628211)


def _duplicate_fraction(items: list[str]) -> tuple[float, float]:
    """(share of items that repeat an earlier one, share of their characters)."""
    if not items:
        return 0.0, 0.0
    seen: set[str] = set()
    dup_items = dup_chars = 0
    for item in items:
        if item in seen:
            dup_items += 1
            dup_chars += len(item)
        else:
            seen.add(item)
    total_chars = sum(map(len, items)) or 1
    return dup_items / len(items), dup_chars / total_chars


def ngram_hashes(word_ids: np.ndarray, n: int) -> np.ndarray:
    """Order-sensitive 64-bit hash of every n-gram of word ids (wrapping arithmetic)."""
    count = len(word_ids) - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    h = np.zeros(count, dtype=np.uint64)
    for k in range(n):
        h = h * _PRIME + word_ids[k : k + count]
    return h


@register
class GopherRepetition(TextFilter):
    name = "gopher_repetition"
    ParamsModel = GopherRepetitionParams
    needs_columns = ("lang",)
    adds: ClassVar[dict[str, pa.DataType]] = {
        "gopher_dup_line_frac": pa.float32(),
        "gopher_dup_line_char_frac": pa.float32(),
        "gopher_dup_para_frac": pa.float32(),
        "gopher_dup_para_char_frac": pa.float32(),
        "gopher_top_ngram_max_excess": pa.float32(),
        "gopher_dup_ngram_max_excess": pa.float32(),
    }

    def score(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        if row.get("lang") in self.params.skip_languages:
            return {}
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
        line_frac, line_chars = _duplicate_fraction(lines)
        para_frac, para_chars = _duplicate_fraction(paragraphs)
        starts, ends, ids = word_runs(np.frombuffer(text.lower().encode("utf-8"), dtype=np.uint8))
        lengths = ends - starts
        total = max(int(lengths.sum()), 1)
        top_excess = dup_excess = -1.0
        for n, limit in self.params.top_n_grams.items():
            h = ngram_hashes(ids, n)
            if len(h) == 0:
                continue
            values, first, counts = np.unique(h, return_index=True, return_counts=True)
            best = int(np.argmax(counts))
            if counts[best] > 1:
                start = int(first[best])
                frac = int(counts[best]) * int(lengths[start : start + n].sum()) / total
                top_excess = max(top_excess, frac - limit)
        for n, limit in self.params.dup_n_grams.items():
            h = ngram_hashes(ids, n)
            if len(h) == 0:
                continue
            _, first = np.unique(h, return_index=True)
            repeat = np.ones(len(h), dtype=bool)
            repeat[first] = False
            if not repeat.any():
                continue
            covered = np.zeros(len(ids), dtype=bool)
            for k in range(n):
                covered[k : k + len(h)] |= repeat
            frac = int(lengths[covered].sum()) / total
            dup_excess = max(dup_excess, frac - limit)
        return {
            "gopher_dup_line_frac": line_frac,
            "gopher_dup_line_char_frac": line_chars,
            "gopher_dup_para_frac": para_frac,
            "gopher_dup_para_char_frac": para_chars,
            "gopher_top_ngram_max_excess": top_excess,
            "gopher_dup_ngram_max_excess": dup_excess,
        }

    def decide(self, s: dict[str, Any], row: dict[str, Any]) -> str | None:
        if not s:
            return None
        p = self.params
        if s["gopher_dup_para_frac"] > p.dup_para_frac:
            return "gopher_dup_para_frac"
        if s["gopher_dup_para_char_frac"] > p.dup_para_char_frac:
            return "gopher_dup_para_char_frac"
        if s["gopher_dup_line_frac"] > p.dup_line_frac:
            return "gopher_dup_line_frac"
        if s["gopher_dup_line_char_frac"] > p.dup_line_char_frac:
            return "gopher_dup_line_char_frac"
        if s["gopher_top_ngram_max_excess"] > 0:
            return "gopher_top_ngram"
        if s["gopher_dup_ngram_max_excess"] > 0:
            return "gopher_dup_ngram"
        return None
