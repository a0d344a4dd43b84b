"""C4 rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", section 2.2), with
datatrove's C4QualityFilter defaults as FineWeb ran it (terminal-punctuation line removal off).

Line rules: drop lines with fewer than `min_words_per_line` words, lines mentioning javascript, and
policy / cookie lines; optionally drop lines not ending in terminal punctuation. Document rules: drop on
"lorem ipsum", a curly bracket, or fewer than `min_sentences` sentences left. The share of lines ending
in terminal punctuation is kept as a score.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import pyarrow as pa

from tiers.ops.base import Params, TextFilter, register
from tiers.text import TERMINAL_PUNCTUATION

_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_SENTENCE_END = re.compile(r"[.!?。！？][.!?。！？]*(?:\s|$)")  # = [.!?。！？]+(?:\s|$), searched faster


class C4Params(Params):
    min_words_per_line: int = 3
    min_sentences: int = 5
    filter_no_terminal_punct: bool = False
    filter_javascript: bool = True
    filter_policy: bool = True
    filter_lorem_ipsum: bool = True
    filter_curly_bracket: bool = True


@register
class C4Filter(TextFilter):
    name = "c4"
    ParamsModel = C4Params
    adds: ClassVar[dict[str, pa.DataType]] = {
        "c4_terminal_punct_ratio": pa.float32(),
        "c4_lines_removed": pa.int32(),
        "c4_sentences": pa.int32(),
    }

    def _clean(self, text: str) -> tuple[str, int, int, int, str | None]:
        p = self.params
        # A rule whose term is absent from the whole (lower-cased) text cannot fire on any line.
        lower_text = text.lower()
        lorem = p.filter_lorem_ipsum and "lorem ipsum" in lower_text
        curly = p.filter_curly_bracket and "{" in text
        javascript = p.filter_javascript and "javascript" in lower_text
        policy = p.filter_policy and any(term in lower_text for term in _POLICY)
        min_words, max_split = p.min_words_per_line, max(p.min_words_per_line - 1, 0)
        kept, removed, terminal, total = [], 0, 0, 0
        for line in text.split("\n"):
            stripped = line.strip()
            if not stripped:
                kept.append(line)
                continue
            total += 1
            ends = stripped.endswith(TERMINAL_PUNCTUATION)
            terminal += ends
            lower = stripped.lower() if lorem or javascript or policy else ""
            if lorem and "lorem ipsum" in lower:
                return text, 0, terminal, total, "c4_lorem_ipsum"
            if curly and "{" in stripped:
                return text, 0, terminal, total, "c4_curly_bracket"
            if (
                (p.filter_no_terminal_punct and not ends)
                or len(stripped.split(None, max_split)) < min_words
                or (javascript and "javascript" in lower)
                or (policy and any(term in lower for term in _POLICY))
            ):
                removed += 1
                continue
            kept.append(line)
        return "\n".join(kept).strip(), removed, terminal, total, None

    def score(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        cleaned, removed, terminal, total, reason = self._clean(text)
        return {
            "c4_terminal_punct_ratio": terminal / total if total else 0.0,
            "c4_lines_removed": removed,
            "c4_sentences": len(_SENTENCE_END.findall(cleaned)),
            "_document_rule": reason,
            "_text": cleaned if removed else None,
        }

    def decide(self, scores: dict[str, Any], row: dict[str, Any]) -> str | None:
        if scores["_document_rule"]:
            return scores["_document_rule"]
        if scores["c4_sentences"] < self.params.min_sentences:
            return "c4_too_few_sentences"
        return None
