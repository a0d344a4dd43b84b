r"""Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models: Methods, Analysis
& Insights from Training Gopher", appendix A), with the thresholds datatrove uses for FineWeb.

Words are runs of word characters (`\w+`) and tokens are whitespace-separated, so languages written
without spaces are skipped by default; the n-gram rules hash words as tiers.text.word_runs does. Both
filters score a whole batch at once (tiers.ops.batch_text), with the same results as scoring each
document alone.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import pyarrow as pa

from tiers.ops.batch_text import ngram_excess, text_counts
from tiers.ops.base import Params, TextFilter, register

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


_WORDS = re.compile(r"\w+")


def _whole_word(word: str) -> re.Pattern[str]:
    """Finds `word` as a whole run of \\w (the literal first, so the search is fast)."""
    literal = re.escape(word)
    return re.compile(rf"{literal}(?<!\w{literal})(?!\w)")


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
        self._stop_patterns = {
            lang: [_whole_word(w) for w in sorted(ws) if _WORDS.fullmatch(w)] for lang, ws in self.stop_words.items()
        }

    def score(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        return self.score_batch([text], [row])[0]

    def score_batch(self, texts: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        scored = [i for i, row in enumerate(rows) if row.get("lang") not in self.params.skip_languages]
        counts = text_counts([texts[i] for i in scored])
        out: list[dict[str, Any]] = [{} for _ in texts]
        for k, i in enumerate(scored):
            text = texts[i]
            words, n_lines = counts["words"][k], max(counts["lines"][k], 1)
            n = max(words, 1)
            stop = self._stop_patterns.get(rows[i].get("lang") or "", None)
            lower = text.lower() if stop else ""
            out[i] = {
                "gopher_words": words,
                "gopher_avg_word_length": counts["word_chars"][k] / n,
                "gopher_symbol_word_ratio": (text.count("#") + text.count("...") + text.count("\u2026")) / n,
                "gopher_bullet_lines_ratio": counts["bullet_lines"][k] / n_lines,
                "gopher_ellipsis_lines_ratio": counts["ellipsis_lines"][k] / n_lines,
                "gopher_alpha_words_ratio": counts["alpha_tokens"][k] / max(counts["tokens"][k], 1),
                "gopher_stop_words": sum(1 for p in stop if p.search(lower)) if stop is not None else None,
            }
        return out

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


def _duplicate_fraction(items: list[str]) -> tuple[float, float]:
    """(share of items that repeat an earlier one, share of their characters)."""
    if not items:
        return 0.0, 0.0
    distinct = set(items)
    chars = sum(map(len, items))
    return (len(items) - len(distinct)) / len(items), (chars - sum(map(len, distinct))) / (chars or 1)


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
        return self.score_batch([text], [row])[0]

    def score_batch(self, texts: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        scored = [i for i, row in enumerate(rows) if row.get("lang") not in p.skip_languages]
        top, dup = ngram_excess([texts[i] for i in scored], p.top_n_grams, p.dup_n_grams)
        out: list[dict[str, Any]] = [{} for _ in texts]
        for i, top_excess, dup_excess in zip(scored, top, dup):
            text = texts[i]
            line_frac, line_chars = _duplicate_fraction([s for s in map(str.strip, text.split("\n")) if s])
            para_frac, para_chars = _duplicate_fraction([s for s in map(str.strip, text.split("\n\n")) if s])
            out[i] = {
                "gopher_dup_line_frac": line_frac,
                "gopher_dup_line_char_frac": line_chars,
                "gopher_dup_para_frac": para_frac,
                "gopher_dup_para_char_frac": para_chars,
                "gopher_top_ngram_max_excess": top_excess,
                "gopher_dup_ngram_max_excess": dup_excess,
            }
        return out

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
