"""Verifier 0, no LLM: answer a question from the passage alone.

Sentences are ranked by the IDF-weighted share of the question's content words they hold (IDF over
the passage's sentences); then a candidate of the answer type is taken from the best sentences:
a number or a date not already in the question, yes/no by whether the best sentence holds the
question's content with the same negation, and for spans the run of words outside the question
nearest to the words it shares with the question (capitalised runs first for who/where questions).
"""
from __future__ import annotations

import math
import re

from tiers.l4.language import STOPWORDS, content_words, negation_count, numbers, stem

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")
_TOKEN = re.compile(r"[A-Za-z0-9\u00C0-\uFFFF][\w'’\-.,]*[A-Za-z0-9\u00C0-\uFFFF%]|[A-Za-z0-9\u00C0-\uFFFF%]")
_DATE = re.compile(r"\b(?:\d{1,2}\s+)?(?:January|February|March|April|May|June|July|August|September|October|November|"
                   r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?)?,?"
                   r"(?:\s+\d{4})?\b|\b\d{4}\b")
_NUMBER_TOKEN = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?%?")
_JOINERS = {"of", "de", "von", "van", "the", "and", "&"}


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def rank_sentences(question: str, passage: str) -> list[tuple[float, str]]:
    """(score, sentence), best first."""
    found = sentences(passage)
    asked = set(content_words(question))
    if not found or not asked:
        return [(0.0, s) for s in found]
    bags = [set(content_words(s)) for s in found]
    idf = {w: math.log((len(found) + 1) / (1 + sum(w in bag for bag in bags))) + 1 for w in asked}
    total = sum(idf.values())
    scored = [(sum(idf[w] for w in asked & bag) / total, s) for bag, s in zip(bags, found)]
    return sorted(scored, key=lambda pair: -pair[0])


def _number_answer(question: str, ranked: list[tuple[float, str]]) -> str | None:
    """The number nearest a word of the question, in the best sentences; years last."""
    asked_numbers = set(numbers(question))
    asked = {stem(w) for w in content_words(question)}
    best = None
    for rank, (score, sentence) in enumerate(ranked[:3]):
        tokens = _TOKEN.findall(sentence)
        anchors = [i for i, t in enumerate(tokens) if stem(t.lower().strip(".,")) in asked]
        for i, token in enumerate(tokens):
            if not _NUMBER_TOKEN.fullmatch(token.rstrip(",.")):
                continue
            value = numbers(token)
            if not value or value[0] in asked_numbers:
                continue
            distance = min((abs(i - a) for a in anchors), default=99)
            key = (bool(re.fullmatch(r"\d{4}", token.rstrip(",."))), distance, rank)
            if best is None or key < best[0]:
                best = (key, token.rstrip(",."))
    return best[1] if best else None


def _date_answer(question: str, ranked: list[tuple[float, str]]) -> str | None:
    for _, sentence in ranked[:3]:
        for match in sorted(_DATE.finditer(sentence), key=lambda m: -len(m.group())):
            text = match.group().strip(" ,.")
            if text and text.lower() not in question.lower():
                return text
    return None


def _yes_no(question: str, passage: str) -> str | None:
    """Yes when a sentence, read with the two before it (which may name its subject), holds the
    question's content words with the question's negation."""
    asked = {stem(w) for w in content_words(question)}
    found = sentences(passage)
    if not asked or not found:
        return None
    for position, sentence in enumerate(found):
        held = asked & set(content_words(" ".join(found[max(0, position - 2) : position + 1])))
        same_polarity = (negation_count(question) > 0) == (negation_count(sentence) > 0)
        if len(held) / len(asked) >= 0.75 and same_polarity:
            return "yes"
    return "no"


def _span(question: str, ranked: list[tuple[float, str]]) -> str | None:
    asked = {stem(w) for w in content_words(question)}
    prefer_names = bool(re.match(r"\s*(who|whom|whose|where|which (?:city|country|company|person))\b", question, re.I))
    for _, sentence in ranked[:2]:
        tokens = _TOKEN.findall(sentence)
        keys = [stem(t.lower().strip(".,")) for t in tokens]
        anchors = [i for i, k in enumerate(keys) if k in asked]
        runs, current = [], []
        for i, (token, key) in enumerate(zip(tokens, keys)):
            inside = key not in asked and (key not in STOPWORDS or (current and key in _JOINERS and token[:1].islower()
                                                                       and i + 1 < len(tokens) and tokens[i + 1][:1].isupper()))
            if inside:
                current.append(i)
            elif current:
                runs.append(current)
                current = []
        if current:
            runs.append(current)
        if not runs:
            continue

        def rank(run: list[int]) -> tuple:
            distance = min((min(abs(i - a) for a in anchors) for i in run), default=len(tokens))
            named = all(tokens[i][:1].isupper() or keys[i] in _JOINERS for i in run)
            return (not (prefer_names and named), distance, len(run))

        best = min(runs, key=rank)
        return " ".join(tokens[i] for i in best).strip(" ,.")
    return None


def extractive_answer(question: str, answer_type: str, passage_text: str) -> str | None:
    ranked = [pair for pair in rank_sentences(question, passage_text) if pair[0] > 0]
    if not ranked:
        return None
    if answer_type == "number":
        return _number_answer(question, ranked)
    if answer_type == "date":
        return _date_answer(question, ranked)
    if answer_type == "yes_no":
        return _yes_no(question, passage_text)
    return _span(question, ranked)
