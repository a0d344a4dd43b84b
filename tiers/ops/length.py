"""Length rules from the UltraData-Math L1 cleaner: 80 to 1,000,000 characters; a document of at
most 200 characters with no '.' or ',' is dropped."""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa

from tiers.ops.base import Params, TextFilter, register


class LengthParams(Params):
    min_chars: int = 80
    max_chars: int = 1_000_000


@register
class LengthFilter(TextFilter):
    name = "length"
    ParamsModel = LengthParams
    adds: ClassVar[dict[str, pa.DataType]] = {"char_count": pa.int64()}

    def score(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        return {"char_count": len(text)}

    def decide(self, scores: dict[str, Any], row: dict[str, Any]) -> str | None:
        if scores["char_count"] < self.params.min_chars:
            return "too_short"
        if scores["char_count"] > self.params.max_chars:
            return "too_long"
        return None


class ShortNoPunctParams(Params):
    max_chars: int = 200
    punctuation: str = ".,。，"


@register
class ShortNoPunctuation(TextFilter):
    name = "short_no_punct"
    ParamsModel = ShortNoPunctParams

    def score(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        short = len(text) <= self.params.max_chars
        return {"short_without_punct": short and not any(p in text for p in self.params.punctuation)}

    def decide(self, scores: dict[str, Any], row: dict[str, Any]) -> str | None:
        return "short_without_punctuation" if scores["short_without_punct"] else None
