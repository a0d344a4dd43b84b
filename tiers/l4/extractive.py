"""Verifier 0, no LLM: answer a question from the passage alone.

Sentences are ranked by the IDF-weighted share of the question's content words they hold (IDF over
the passage's sentences); then a candidate of the answer type is taken from the best sentences:
a number or a date not already in the question, yes/no by whether the best sentence holds the
question's content with as many negations, and for spans the run of words outside the question
nearest to the words it shares with the question (capitalised runs first for who/where questions).
"""

from __future__ import annotations

import math
import re

from tiers.l4.agreement import meaning_conflict, substitutions
from tiers.l4.language import STOPWORDS, content_words, negation_count, numbers, stem, words

EXTRACTIVE_MODEL = "builtin-extractive"  # the model name of verifier 0 in answers and check rows
_SENTENCE_BREAK = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’)]))\s+|\n+")
_TOKEN = re.compile(r"[A-Za-z0-9\u00C0-\uFFFF][\w'’\-.,]*[A-Za-z0-9\u00C0-\uFFFF%]|[A-Za-z0-9\u00C0-\uFFFF%]")
_DATE = re.compile(
    r"\b(?:\d{1,2}\s+)?(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?)?,?"
    r"(?:\s+\d{4})?\b|\b\d{4}\b"
)
_NUMBER_TOKEN = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?%?")
_JOINERS = {"of", "de", "von", "van", "&"}
_TYPE_WORDS = {"year", "date", "day", "month", "many", "much", "number", "amount"}


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_BREAK.split(text) if s and s.strip()]


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


def _anchors(tokens: list[str], asked: set[str]) -> list[int]:
    return [i for i, t in enumerate(tokens) if set(content_words(t)) & asked]


def _number_answer(question: str, ranked: list[tuple[float, str]]) -> str | None:
    """The number best placed: in a sentence that matches the question well, near a word of the
    question; years only when the question asks for a year."""
    asked_numbers = set(numbers(question))
    asked = set(content_words(question)) - _TYPE_WORDS
    wants_year = bool(re.search(r"\b(?:what|which)\s+year\b|\byear\s+(?:did|was|were|is|does|will)\b", question, re.I))
    best = None
    for score, sentence in ranked:
        tokens = _TOKEN.findall(sentence)
        anchors = _anchors(tokens, asked)
        for i, token in enumerate(tokens):
            token = token.rstrip(",.")
            if not _NUMBER_TOKEN.fullmatch(token):
                continue
            value = numbers(token)
            if not value or value[0] in asked_numbers:
                continue
            is_year = bool(re.fullmatch(r"(1[5-9]|20)\d\d", token))
            distance = min((abs(i - a) for a in anchors), default=20)
            key = (is_year != wants_year, -(score - 0.01 * distance))
            if best is None or key < best[0]:
                best = (key, token)
    return best[1] if best else None


def _date_answer(question: str, ranked: list[tuple[float, str]]) -> str | None:
    for _, sentence in ranked[:3]:
        for match in sorted(_DATE.finditer(sentence), key=lambda m: -len(m.group())):
            text = match.group().strip(" ,.")
            if text and text.lower() not in question.lower():
                return text
    return None


def _yes_no(question: str, passage: str) -> str | None:
    """Yes when a sentence holds at least half of the question's content words itself, the rest with
    the two sentences before it (which may name its subject), and, aligned with the question, agrees
    with it: as many negations, no opposite, no quantifier, order word, cause or number the sentence
    lacks, no name or number put in another's place, no name the sentence does not hold."""
    asked = set(content_words(question))
    found = sentences(passage)
    if not asked or not found:
        return None
    for position, sentence in enumerate(found):
        own = asked & set(content_words(sentence))
        held = asked & set(content_words(" ".join(found[max(0, position - 2) : position + 1])))
        if 2 * len(own) >= len(asked) and len(asked - held) <= len(asked) // 5:
            context = " ".join(found[max(0, position - 2) : position + 1])
            agrees = (
                meaning_conflict(question, sentence, question=True) is None
                and not substitutions(question, sentence, question=True, plain_changes=True)
                and not _names_missing(question, context)
            )
            same_polarity = negation_count(question) == negation_count(sentence)
            return "yes" if agrees and same_polarity else "no"
    return "no"


def _names_missing(question: str, context: str) -> bool:
    have = {stem(w) for w in words(context)}
    names = [w for w in re.findall(r"(?<![\w'’-])[A-Z][\w'’-]*", question) if w.lower() not in STOPWORDS]
    return any(stem(part) not in have for name in names for part in words(name))


def _tokens(sentence: str) -> tuple[list[str], set[int]]:
    """Tokens without trailing commas and full stops, and the positions of those followed by punctuation."""
    found = list(_TOKEN.finditer(sentence))
    initial = re.compile(r"[A-Z]")
    breaks = {
        i
        for i, m in enumerate(found)
        if m.group()[-1] in ",."
        or (
            i + 1 < len(found)
            and sentence[m.end() : found[i + 1].start()].strip()
            and not (initial.fullmatch(m.group()) and sentence[m.end()] == ".")
        )
    }
    return [m.group().rstrip(",.") for m in found], breaks


def _entities(tokens: list[str], breaks: set[int] = frozenset()) -> list[list[int]]:
    """Runs of capitalised tokens (joined by "of", "de"...) not broken by punctuation, the sentence's
    first word only when the next one is capitalised too."""
    runs, current = [], []
    for i, token in enumerate(tokens):
        if current and current[-1] in breaks:
            runs.append(current)
            current = []
        capital = token[:1].isupper() or (token[:1].isdigit() and current)
        joiner = token.lower() in _JOINERS and current and i + 1 < len(tokens) and tokens[i + 1][:1].isupper()
        if (capital or joiner) and not (i == 0 and not (i + 1 < len(tokens) and tokens[1][:1].isupper())):
            current.append(i)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _span(question: str, ranked: list[tuple[float, str]]) -> str | None:
    """A named entity of the best sentences that the question does not already name: from the best
    ranked sentence, the one with the most question words around it, then the nearest, then one that
    directly follows a question word
    ("publication DigiTimes"); else the nearest run of content words outside the question."""
    asked = set(content_words(question))
    best, fallback = None, None
    for rank, (score, sentence) in enumerate(ranked[:3]):
        tokens, breaks = _tokens(sentence)
        in_question = [bool(set(content_words(t)) and set(content_words(t)) <= asked) for t in tokens]
        anchors = [i for i, q in enumerate(in_question) if q]

        def key(run: list[int]) -> tuple:
            near = sum(1 for a in anchors if run[0] - 4 <= a <= run[-1] + 4)
            distance = min((abs(i - a) for i in run for a in anchors), default=len(tokens))
            follows = run[0] - 1 in anchors
            return (-round(score, 2), -near, distance, not follows, rank)

        for run in _entities(tokens, breaks):
            while run and (in_question[run[0]] or tokens[run[0]].lower() in STOPWORDS):
                run = run[1:]
            if any(not in_question[i] and tokens[i].lower() not in STOPWORDS for i in run):
                candidate = (key(run), " ".join(tokens[i] for i in run))
                best = min(best, candidate) if best else candidate
        if fallback is None:
            runs, current = [], []
            for i, token in enumerate(tokens):
                if not in_question[i] and token.lower() not in STOPWORDS:
                    current.append(i)
                elif current:
                    runs.append(current)
                    current = []
            if current:
                runs.append(current)
            if runs:
                fallback = " ".join(tokens[i] for i in min(runs, key=key))
    return best[1] if best else fallback


def extractive_answer(question: str, answer_type: str, passage_text: str) -> str | None:
    if answer_type in ("number", "date"):
        question_for_ranking = " ".join(w for w in question.split() if stem(w.lower().strip("?,.")) not in _TYPE_WORDS)
    else:
        question_for_ranking = question
    ranked = [pair for pair in rank_sentences(question_for_ranking, passage_text) if pair[0] > 0]
    if not ranked:
        return None
    if answer_type == "number":
        return _number_answer(question, ranked)
    if answer_type == "date":
        return _date_answer(question, ranked)
    if answer_type == "yes_no":
        return _yes_no(question, passage_text)
    return _span(question, ranked)
