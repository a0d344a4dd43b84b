"""Tokenizers for classifier preprocessing: a built-in word splitter, or a local tokenizer.json."""

from __future__ import annotations

import re
from typing import Protocol

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]|[\n\r\t]", re.UNICODE)


_SPLIT = re.compile(rf"([^\w\s]|[{_CJK}])", re.UNICODE)


class Tokenizer(Protocol):
    name: str

    def tokenize(self, text: str) -> list[str]: ...

    def spaced(self, text: str) -> str:
        """The text with its tokens separated by whitespace (line breaks kept)."""


class WordSplitter:
    """Words, single punctuation marks and line breaks as tokens; CJK split into characters (no download)."""

    name = "builtin"

    def tokenize(self, text: str) -> list[str]:
        return _TOKEN.findall(text)

    def spaced(self, text: str) -> str:
        return " ".join(_SPLIT.split(text))


class HuggingFaceTokenizer:
    """A local Hugging Face `tokenizer.json`; each token id decoded on its own, as Ultra-FineWeb's scripts do."""

    def __init__(self, path: str):
        from tokenizers import Tokenizer as HFTokenizer

        self.name = path
        self._tokenizer = HFTokenizer.from_file(path)
        self._cache: dict[int, str] = {}

    def tokenize(self, text: str) -> list[str]:
        ids = self._tokenizer.encode(text, add_special_tokens=False).ids
        out = []
        for token_id in ids:
            piece = self._cache.get(token_id)
            if piece is None:
                piece = self._cache[token_id] = self._tokenizer.decode([token_id])
            out.append(piece)
        return out

    def spaced(self, text: str) -> str:
        return " ".join(self.tokenize(text))


def load_tokenizer(spec: str) -> Tokenizer:
    return WordSplitter() if spec == "builtin" else HuggingFaceTokenizer(spec)
