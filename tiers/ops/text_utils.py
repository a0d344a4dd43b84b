"""Small text constants shared by the line-level rules."""
from __future__ import annotations

TERMINAL_PUNCTUATION = (".", "!", "?", '"', "'", "”", "’", "。", "！", "？", "…", ":", ";")
