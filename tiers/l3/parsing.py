"""Tolerant parsing of a `{score, reason}` answer: strict JSON, the first JSON object in the text,
then a `score: N` pattern. Returns None when nothing valid is found, or the score is off the rubric's
scale (`low` to `high`, from the prompt file)."""

from __future__ import annotations

import json
import re

_OBJECT = re.compile(r"\{[^{}]*\}", re.DOTALL)
_SCORE = re.compile(r"score\"?\s*[:=]\s*\"?(-?\d+)(?![\d.])", re.IGNORECASE)


def parse_score(answer: str, low: int, high: int) -> tuple[int, str] | None:
    candidates = [answer.strip(), *(_OBJECT.findall(answer))]
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except (json.JSONDecodeError, TypeError):
            continue
        if isinstance(data, dict) and "score" in data:
            try:
                score = int(data["score"])
            except (TypeError, ValueError):
                continue
            if low <= score <= high and float(data["score"]) == score:
                return score, str(data.get("reason", ""))[:1000]
    match = _SCORE.search(answer)
    if match and low <= int(match.group(1)) <= high:
        return int(match.group(1)), ""
    return None
