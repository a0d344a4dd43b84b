"""A fastText quality model: load (once per process), preprocess, predict p(pos)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.preprocess import preprocess
from classifiers.tokenizers import Tokenizer, load_tokenizer

POSITIVE, NEGATIVE = "__label__pos", "__label__neg"
_LOADED: dict[tuple[str, str], "QualityModel"] = {}


def file_hash(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


class QualityModel:
    def __init__(self, path: str | Path, tokenizer: Tokenizer | str = "builtin"):
        import fasttext

        fasttext.FastText.eprint = lambda *args, **kwargs: None
        self.path = str(path)
        self.model: Any = fasttext.load_model(self.path)
        self.tokenizer = load_tokenizer(tokenizer) if isinstance(tokenizer, str) else tokenizer
        labels = set(self.model.get_labels())
        if POSITIVE not in labels:
            raise ValueError(f"{path}: model has labels {sorted(labels)}, expected {POSITIVE} and {NEGATIVE}")

    @classmethod
    def cached(cls, path: str, tokenizer: str = "builtin") -> "QualityModel":
        """One instance per process and (path, tokenizer): executors load each model once."""
        key = (path, tokenizer)
        if key not in _LOADED:
            _LOADED[key] = cls(path, tokenizer)
        return _LOADED[key]

    def preprocess(self, texts: list[str]) -> list[str]:
        return [preprocess(t or "", self.tokenizer) for t in texts]

    def predict_preprocessed(self, lines: list[str]) -> np.ndarray:
        if not lines:
            return np.empty(0, dtype=np.float64)
        labels, probs = self.model.predict(lines, k=2)
        out = np.empty(len(lines), dtype=np.float64)
        for i, (ls, ps) in enumerate(zip(labels, probs)):
            score = 0.0
            for label, prob in zip(ls, ps):
                if label == POSITIVE:
                    score = float(prob)
            out[i] = min(max(score, 0.0), 1.0)
        return out

    def score(self, texts: list[str]) -> np.ndarray:
        """p(pos) for each text."""
        return self.predict_preprocessed(self.preprocess(texts))
