"""Ultra-FineWeb's fastText preprocessing, one function for training and inference.

Collapse 3+ newlines to 2; lowercase; NFKD and drop combining marks; tokenize and join tokens with
single spaces; escape newline, carriage return and tab as the literal two-character strings `\\n`,
`\\r`, `\\t`; squeeze spaces and strip. Each step is one C-level string or regex pass per document
(bench/l1_to_l2.py compares it with the naive per-character loop).
"""

from __future__ import annotations

import re
import sys
import unicodedata

from classifiers.tokenizers import Tokenizer, WordSplitter

_NEWLINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r" {2,}")
_DEFAULT = WordSplitter()


_COMBINING = frozenset(chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Mn")


def strip_accents(text: str) -> str:
    """NFKD, then remove the combining marks present (usually a handful of distinct characters)."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    for mark in _COMBINING.intersection(text):
        text = text.replace(mark, "")
    return text


def escape_controls(text: str) -> str:
    return text.replace("\n", " \\n ").replace("\r", " \\r ").replace("\t", " \\t ")


def preprocess(text: str, tokenizer: Tokenizer = _DEFAULT) -> str:
    text = _NEWLINES.sub("\n\n", text)
    text = strip_accents(text.lower())
    text = escape_controls(tokenizer.spaced(text))
    return _SPACES.sub(" ", text).strip()
