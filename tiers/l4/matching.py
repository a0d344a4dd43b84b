"""Does a verifier's answer match the generated one? Normalised exact match, token F1 above a
threshold, numeric equality, equal dates, or the same yes/no."""

from __future__ import annotations

import re
from collections import Counter

from tiers.l4.language import months, numbers, plain

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_YES = {"yes", "true", "correct", "right", "y"}
_NO = {"no", "false", "incorrect", "wrong", "n"}


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (SQuAD's normalisation)."""
    return " ".join(_ARTICLES.sub(" ", plain(text)).split())


def token_f1(expected: str, got: str) -> float:
    a, b = normalize_answer(expected).split(), normalize_answer(got).split()
    common = sum((Counter(a) & Counter(b)).values())
    if not a or not b or not common:
        return float(a == b)
    precision, recall = common / len(b), common / len(a)
    return 2 * precision * recall / (precision + recall)


def yes_no(text: str) -> str | None:
    first = normalize_answer(text).split()[:1]
    if not first:
        return None
    return "yes" if first[0] in _YES else "no" if first[0] in _NO else None


def match_answers(expected: str, got: str | None, answer_type: str, f1_threshold: float = 0.6) -> tuple[bool, float]:
    """(matched, score in [0, 1])."""
    if got is None or not got.strip():
        return False, 0.0
    if answer_type == "yes_no":
        same = yes_no(expected) is not None and yes_no(expected) == yes_no(got)
        return same, float(same)
    if answer_type in ("number", "date"):
        want, have = numbers(expected), numbers(got)
        if want:
            same = sorted(want) == sorted(have) if answer_type == "date" else want[0] in have
            if answer_type == "date":
                same = same and (not months(expected) or months(expected) == months(got))
            return same, float(same)
    if normalize_answer(expected) == normalize_answer(got):
        return True, 1.0
    score = token_f1(expected, got)
    return score >= f1_threshold, score
