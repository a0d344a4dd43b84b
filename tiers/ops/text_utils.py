"""Small text helpers shared by the heuristic filters."""
from __future__ import annotations

import re

TERMINAL_PUNCTUATION = (".", "!", "?", '"', "'", "”", "’", "。", "！", "？", "…", ":", ";")
WORD_STRIP = "\"'()[]{}<>.,;:!?«»“”‘’-–—*…|/\\"
_NON_SPACE = re.compile(r"\S+")


def words(text: str) -> list[str]:
    """Whitespace words with surrounding punctuation stripped; empty results removed."""
    out = []
    for token in text.split():
        stripped = token.strip(WORD_STRIP)
        if stripped:
            out.append(stripped)
    return out


def nonempty_lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]
