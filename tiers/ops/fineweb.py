"""FineWeb's custom rules (Penedo et al. 2024, "The FineWeb Datasets", section 3.5), datatrove's
FineWebQualityFilter defaults: share of lines ending in punctuation >= 0.12; share of short lines
(<= 30 chars) <= 0.67; characters in duplicated lines <= 1 %; newlines per word <= 0.3."""

from __future__ import annotations

from operator import methodcaller
from typing import Any, ClassVar

import pyarrow as pa

from tiers.ops.base import Params, TextFilter, register
from tiers.text import TERMINAL_PUNCTUATION

_ENDS_IN_PUNCTUATION = methodcaller("endswith", TERMINAL_PUNCTUATION)


class FineWebParams(Params):
    line_punct_thr: float = 0.12
    line_punct_exclude_zero: bool = False
    short_line_thr: float = 0.67
    short_line_length: int = 30
    char_duplicates_ratio: float = 0.01
    new_line_ratio: float = 0.3


@register
class FineWebFilter(TextFilter):
    name = "fineweb"
    ParamsModel = FineWebParams
    adds: ClassVar[dict[str, pa.DataType]] = {
        "fineweb_line_punct_ratio": pa.float32(),
        "fineweb_short_line_ratio": pa.float32(),
        "fineweb_dup_line_char_ratio": pa.float32(),
        "fineweb_newline_word_ratio": pa.float32(),
    }

    def score(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        lines = [line for line in map(str.strip, text.split("\n")) if line]
        if not lines:
            return {
                "fineweb_line_punct_ratio": 0.0,
                "fineweb_short_line_ratio": 1.0,
                "fineweb_dup_line_char_ratio": 0.0,
                "fineweb_newline_word_ratio": 0.0,
            }
        dup_chars = sum(map(len, lines)) - sum(map(len, set(lines)))  # all but each line's first copy
        n_words = max(len(text.split()), 1)
        newlines = text.count("\n")
        short = self.params.short_line_length
        return {
            "fineweb_line_punct_ratio": sum(map(_ENDS_IN_PUNCTUATION, lines)) / len(lines),
            "fineweb_short_line_ratio": sum(1 for length in map(len, lines) if length <= short) / len(lines),
            "fineweb_dup_line_char_ratio": dup_chars / max(len(text) - newlines, 1),
            "fineweb_newline_word_ratio": newlines / n_words,
        }

    def decide(self, s: dict[str, Any], row: dict[str, Any]) -> str | None:
        p = self.params
        ratio = s["fineweb_line_punct_ratio"]
        if ratio < p.line_punct_thr and not (ratio == 0 and p.line_punct_exclude_zero):
            return "fineweb_line_punct_ratio"
        if s["fineweb_short_line_ratio"] > p.short_line_thr:
            return "fineweb_short_line_ratio"
        if s["fineweb_dup_line_char_ratio"] > p.char_duplicates_ratio:
            return "fineweb_char_dup_ratio"
        if s["fineweb_newline_word_ratio"] > p.new_line_ratio:
            return "fineweb_list_ratio"
        return None
