"""Language ID with fastText's lid.176.ftz, shipped with tiers and loaded offline. Adds `lang` and `lang_score`;
keeps languages in `languages` (all when empty) with score >= `min_score` (FineWeb: 0.65)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from tiers.ops.base import Params, TextFilter, register
from tiers.resources import materialize

_MODELS: dict[str, Any] = {}


def lid_model_path() -> Path:
    """fastText's lid.176.ftz (CC BY-SA 3.0), shipped inside this package: see tiers/assets/NOTICE.md."""
    return materialize("tiers/assets/lid.176.ftz", Path(tempfile.gettempdir()) / "tiers-assets")


def load_lid_model(path: str | None = None) -> Any:
    """Load once per process (each Spark executor keeps its own copy)."""
    import fasttext

    key = path or str(lid_model_path())
    if key not in _MODELS:
        fasttext.FastText.eprint = lambda *args, **kwargs: None
        _MODELS[key] = fasttext.load_model(key)
    return _MODELS[key]


class LangIdParams(Params):
    languages: list[str] = []
    min_score: float = 0.65
    max_chars: int = 2000
    model_path: str | None = None


@register
class LanguageId(TextFilter):
    name = "langid"
    ParamsModel = LangIdParams
    adds: ClassVar[dict[str, pa.DataType]] = {"lang": pa.string(), "lang_score": pa.float32()}

    def score_batch(self, texts: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        model = load_lid_model(self.params.model_path)
        cut = self.params.max_chars
        labels, probs = model.predict([text[:cut].replace("\n", " ") for text in texts], k=1)
        return [self._scores(label, prob) for label, prob in zip(labels, probs)]

    def score(self, text: str, row: dict[str, Any]) -> dict[str, Any]:
        return self.score_batch([text], [row])[0]

    @staticmethod
    def _scores(labels: Any, probs: Any) -> dict[str, Any]:
        lang = labels[0].removeprefix("__label__") if len(labels) else None
        return {"lang": lang, "lang_score": float(probs[0]) if len(probs) else 0.0}

    def decide(self, s: dict[str, Any], row: dict[str, Any]) -> str | None:
        if self.params.languages and s["lang"] not in self.params.languages:
            return "language_not_kept"
        if s["lang_score"] < self.params.min_score:
            return "language_score_low"
        return None
