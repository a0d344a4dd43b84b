"""Deterministic gates, no model: every item passes all of them or is rejected with their reasons.

- `schema`: the kind's fields are present, of an allowed answer type, within length bounds;
- `self_contained`: no reference to "the passage" / "this article"..., no pronoun that opens the item
  or comes in a question before any word it could refer to (a name, a noun after an article, for
  "they" / "their" any noun), no "it" in a question that names nothing else ("When did it
  collapse?"), and a question ends with "?";
- `evidence_found`: the evidence quote is the passage's own text: found exactly, or exactly after a fixed
  normalisation of both (whitespace, quote marks, dashes, case); its offsets are kept and the stored
  quote is the passage's span (a quote one word from a real sentence is not found);
- `numbers_in_passage`: every number, and every month, in the item occurs in the passage (those of
  the answer or statement, in its evidence; a number in words counts as its value);
- `content_in_evidence`: most content words of the answer (QA) or statement (fact) occur in the
  evidence, at most `max_missing_words` do not and no capitalised name is among them, and a
  statement holds as many negations as its evidence;
- `values_in_context`: each number or name of a fact has, among the `context_words` words around it,
  one that is also among the `evidence_context_words` words around the same value in the evidence
  (a value moved to another slot of its sentence fails), no value is said more often than the
  evidence says it (a name copied over another one of the sentence fails), and two values side by
  side in the fact ("Saraki Bukola") are side by side in that order in the evidence;
- `question_in_passage`: every name of a question is in the passage;
- `meaning_agrees`: the words that carry meaning agree between item and evidence and no name, number or
  opposite stands in another's place (`agreement.py`); a plain changed word or a changed order of a
  fact is `undecided`, for the support judge (rejected without one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tiers.l4.candidates import ANSWER_TYPES, Candidate
from tiers.l4.checks import Check
from tiers.l4.agreement import QUESTION_WORDS, meaning_conflict, roles_swapped, substitutions
from tiers.l4.language import MONTHS, STOPWORDS, content_words, months, negation_count, numbers, stem, words
from tiers.l4.number_words import number_values

_REFERENCES = re.compile(
    r"\b(?:the|this|that|above|following|given)\s+(?:passage|article|text|document|excerpt|paragraph|"
    r"story|author|writer|section|source|report|post)\b|\baccording to (?:the|this)\b|\bmentioned above\b",
    re.IGNORECASE,
)
_OPENING_PRONOUN = re.compile(
    r"^(?:he|she|it|they|this|these|those(?! (?:in|of|who|whose|which|that|with|at|on|from|under|over)\b)|his|her|its|"
    r"their|him|them)\b",
    re.IGNORECASE,
)
_QUESTION_NOUNS = {
    "year",
    "years",
    "date",
    "day",
    "month",
    "time",
    "number",
    "amount",
    "kind",
    "type",
    "way",
    "percentage",
}
_ARTICLES = {"the", "a", "an", "this", "that", "each", "every"}
_PLURAL = {"they", "them", "their", "theirs"}
_PRONOUNS = {"he", "she", "him", "her", "his", "hers", "they", "them", "their", "theirs"}


@dataclass(frozen=True)
class GateSettings:
    min_text_chars: int = 10
    max_text_chars: int = 400
    max_answer_chars: int = 200
    min_evidence_chars: int = 10
    max_evidence_chars: int = 1200
    min_content_share: float = 0.75
    max_missing_words: int = 1
    context_words: int = 3
    evidence_context_words: int = 5


@dataclass(frozen=True)
class GateOutcome:
    passed: bool
    reasons: tuple[str, ...]
    evidence_start: int | None
    evidence_end: int | None
    checks: tuple[Check, ...]
    undecided: tuple[str, ...] = ()  # what no deterministic check could settle (a changed word), for the LLM judge


def _schema(c: Candidate, s: GateSettings) -> str | None:
    if c.kind not in ("fact", "qa"):
        return "unknown_kind"
    if not s.min_text_chars <= len(c.text) <= s.max_text_chars:
        return "text_length"
    if not s.min_evidence_chars <= len(c.evidence) <= s.max_evidence_chars:
        return "evidence_length"
    if c.kind == "qa":
        if c.answer_type not in ANSWER_TYPES:
            return "answer_type"
        if not c.answer or len(c.answer) > s.max_answer_chars:
            return "answer_length"
    return None


def _antecedent_before(tokens: list[str], plural: bool) -> bool:
    """Is there, before a pronoun, something it can refer to: a name, a noun after an article ("the
    mayor said his", "did the team win their"), or for "they" / "their" any noun ("people who had
    forgotten their passwords"), but not a question's own noun ("what year")?"""
    previous = ""
    for token in tokens:
        word = re.sub(r"[^\w'’-]", "", token)
        lower = word.lower()
        if word and lower not in STOPWORDS and lower not in QUESTION_WORDS and lower not in _QUESTION_NOUNS:
            if word[:1].isupper() or ((plural or previous in _ARTICLES) and content_words(word)):
                return True
        previous = lower
    return False


def _named_after_clause(tokens: list[str]) -> bool:
    """Does a name open the clause after the pronoun's own ("In his last match, Nadal ...")?"""
    for token, following in zip(tokens, tokens[1:]):
        if token.endswith(",") and following[:1].isupper() and following.lower() not in STOPWORDS:
            return True
    return False


def _self_contained(c: Candidate) -> str | None:
    said = f"{c.text} {c.answer or ''}"
    if _REFERENCES.search(said):
        return "refers_to_the_source"
    if _OPENING_PRONOUN.match(c.text.strip()):
        return "dangling_pronoun"
    if c.kind == "qa":
        if not c.text.rstrip().endswith("?"):
            return "question_without_question_mark"
        tokens = c.text.split()
        for position, token in enumerate(tokens):
            pronoun = re.sub(r"\W", "", token).lower()
            if pronoun in _PRONOUNS and not (
                _antecedent_before(tokens[:position], pronoun in _PLURAL) or _named_after_clause(tokens[position:])
            ):
                return "dangling_pronoun"
        named = any(t[:1].isupper() for t in tokens[1:])
        if not named and len(content_words(c.text)) <= 1 and re.search(r"\bit\b", c.text, re.IGNORECASE):
            return "dangling_pronoun"
    return None


_QUOTE_MARKS = str.maketrans({c: '"' for c in "“”„‟″«»"} | {c: "'" for c in "‘’‚‛′`"})
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})


def _fold(text: str) -> tuple[str, list[int]]:
    """`text` in the fixed normal form (lower case, one space for any run of spaces, straight quote marks,
    "-" for every dash) and, per character of it, its position in `text`."""
    folded, positions = [], []
    for i, ch in enumerate(text.translate(_QUOTE_MARKS).translate(_DASHES)):
        if ch.isspace():
            if not folded or folded[-1] == " ":
                continue
            ch = " "
        folded.append(ch.lower())
        positions.append(i)
    while folded and folded[-1] == " ":
        folded.pop()
        positions.pop()
    return "".join(folded), positions


def locate(evidence: str, passage: str) -> tuple[int, int] | None:
    """(start, end) of the evidence in the passage: an exact match after the fixed normalisation of both
    (whitespace, quote marks, dashes, case); a quote that differs by one word is not found."""
    at = passage.find(evidence)
    if at >= 0 and evidence:
        return at, at + len(evidence)
    target, _ = _fold(evidence)
    folded, positions = _fold(passage)
    at = folded.find(target) if target else -1
    if at < 0:
        return None
    return positions[at], positions[at + len(target) - 1] + 1


def _numbers_in_passage(c: Candidate, passage: str, evidence: str) -> str | None:
    """Numbers and months of the question must be in the passage; those of the claim (answer or
    statement), in its evidence."""
    claim = c.answer or "" if c.kind == "qa" else c.text
    for said, source, where in ((c.text if c.kind == "qa" else "", passage, "passage"), (claim, evidence, "evidence")):
        present = set(number_values(source))
        missing = [n for n in numbers(said) if n not in present]
        if missing:
            return f"number_not_in_{where}:{missing[0]:g}"
        if not months(said) <= months(source):
            return f"date_not_in_{where}"
    return None


def _content_in_evidence(c: Candidate, evidence: str, s: GateSettings) -> tuple[str | None, float]:
    claim = c.answer if c.kind == "qa" else c.text
    wanted = content_words(claim or "")
    have = set(content_words(evidence)) | {stem(w) for w in words(evidence)}
    if not wanted:
        return None, 1.0
    missing = [w for w in wanted if w not in have]
    share = 1 - len(missing) / len(wanted)
    names = [
        w for w in _names(claim or "") if w.lower() not in MONTHS and any(stem(part) not in have for part in words(w))
    ]
    if names:
        return "name_not_in_evidence", share
    if c.kind == "qa" and share < s.min_content_share:
        return "answer_not_in_evidence", share
    if c.kind == "fact":
        if share < s.min_content_share or len(missing) > s.max_missing_words:
            return "statement_not_in_evidence", share
        if negation_count(c.text) != negation_count(evidence):
            return "negation_mismatch", share
    return None, share


def _names(text: str) -> list[str]:
    """Capitalised words that are not stopwords, wherever they stand (at the start, after punctuation)."""
    return [w for w in re.findall(r"(?<![\w'’-])[A-Z][\w'’-]*", text) if w.lower() not in STOPWORDS]


def _question_in_passage(c: Candidate, evidence: str, passage: str) -> str | None:
    """Every name of a question is in the passage; one that stands where the evidence has another name
    (a subject swapped, the answer kept) is caught by `meaning_agrees`."""
    if c.kind != "qa":
        return None
    have = {stem(w) for w in words(evidence)} | {stem(w) for w in words(passage)}
    for name in _names(c.text):
        if name.lower() in QUESTION_WORDS:
            continue
        if any(stem(part) not in have for part in words(name)):
            return f"question_name_not_in_passage:{name}"
    return None


def _meaning_agrees(c: Candidate, evidence: str) -> tuple[str | None, tuple[str, ...]]:
    """(reason, undecided): the small words that carry meaning agree (`agreement.meaning_conflict`),
    no name, number or opposite is put in another's place (`agreement.substitutions`); a plain changed
    word of a fact is returned as undecided, for the LLM judge."""
    question = c.kind == "qa"
    claim = f"{c.text} {c.answer}" if question and c.answer_type != "yes_no" else c.text
    problem = meaning_conflict(claim, evidence, question=question)
    if problem:
        return problem, ()
    found = substitutions(c.text, evidence, question=question, answer=c.answer or "")
    for sub in found:
        if sub.kind != "changed_word":
            return sub.reason, ()
    undecided = [sub.reason for sub in found]
    if not question:
        swapped, order = roles_swapped(c.text, evidence)
        if swapped:
            return swapped, ()
        undecided += [order] if order else []
    return None, tuple(undecided)


def _values(text: str) -> tuple[list[str], set[str]]:
    """The text's words, and those that are values: numbers and capitalised words past the first."""
    capitalised = {w.lower() for w in re.findall(r"(?<=\w)[^\w\n]+([A-Z][\w'’-]*)", text)}
    tokens = words(text)
    return tokens, {w for w in tokens if w.isdigit() or (w in capitalised and w not in STOPWORDS)}


def _neighbours(tokens: list[str], at: int, width: int, values: set[str]) -> set[str]:
    return {stem(w) for w in tokens[max(0, at - width) : at + width + 1] if w not in STOPWORDS and w not in values}


def _values_in_context(c: Candidate, evidence: str, s: GateSettings) -> str | None:
    """A fact's numbers and names are said no more often than in the evidence and stand next to the
    same words: a value moved to another slot of the same sentence ("in 17 of 1 observations") keeps
    every word but loses its neighbours. A value with no content word beside it is not checked."""
    if c.kind != "fact":
        return None
    said, said_values = _values(c.text)
    quoted, quoted_values = _values(evidence)
    values = said_values | quoted_values
    for value in sorted(said_values):
        if 0 < quoted.count(value) < said.count(value):
            return f"value_repeated:{value}"
    pairs = set(zip(quoted, quoted[1:]))
    for a, b in zip(said, said[1:]):
        if a in said_values and b in said_values and a != b and a in quoted and b in quoted and (a, b) not in pairs:
            return f"values_reordered:{a} {b}"
    for at, value in enumerate(said):
        if value not in said_values:
            continue
        mine = _neighbours(said, at, s.context_words, values)
        places = [j for j, w in enumerate(quoted) if w == value]
        if not mine or not places:
            continue
        if not any(mine & _neighbours(quoted, j, s.evidence_context_words, values) for j in places):
            return f"value_out_of_context:{value}"
    return None


def run_gates(candidate: Candidate, passage_text: str, settings: GateSettings = GateSettings()) -> GateOutcome:
    checks: list[Check] = []
    reasons: list[str] = []

    def record(name: str, problem: str | None, score: float | None = None, detail: str = "") -> None:
        checks.append(Check(name, None, problem is None, score, problem or detail))
        if problem:
            reasons.append(problem)

    record("schema", _schema(candidate, settings))
    if reasons:
        return GateOutcome(False, tuple(reasons), None, None, tuple(checks))
    record("self_contained", _self_contained(candidate))
    found = locate(candidate.evidence, passage_text)
    record(
        "evidence_found",
        None if found else "evidence_not_found",
        1.0 if found else 0.0,
        f"{found[0]}:{found[1]}" if found else "",
    )
    evidence = passage_text[found[0] : found[1]] if found else candidate.evidence
    record("numbers_in_passage", _numbers_in_passage(candidate, passage_text, evidence))
    problem, share = _content_in_evidence(candidate, evidence, settings)
    record("content_in_evidence", problem, share)
    record("values_in_context", _values_in_context(candidate, evidence, settings))
    record("question_in_passage", _question_in_passage(candidate, evidence, passage_text))
    problem, undecided = _meaning_agrees(candidate, evidence)
    record("meaning_agrees", problem, None, "; ".join(undecided))
    return GateOutcome(
        not reasons,
        tuple(reasons),
        found[0] if found else None,
        found[1] if found else None,
        tuple(checks),
        undecided if not reasons else (),
    )
