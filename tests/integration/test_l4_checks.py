"""L4's deterministic checks on hand-checked passages of two real articles (../shared/data): every true
item passes the gates, every perturbed one (number swap, date shift, entity swap, negation, an
unsupported added clause) is rejected, and the extractive verifier answers the span and number
questions with exact match of at least 0.8."""
from __future__ import annotations

import pytest

from tests.l4_fixtures import EUROPA, MACBOOK, TRUE_FACTS, TRUE_QA, passage, perturbed
from tiers.l4.extractive import extractive_answer
from tiers.l4.gates import run_gates
from tiers.l4.matching import normalize_answer
from tiers.l4.passages import split_passages

KEYS = [EUROPA, MACBOOK]


@pytest.mark.parametrize("key", KEYS)
def test_true_items_pass_the_gates_with_their_evidence_located(key):
    text = passage(key)
    for item in TRUE_QA[key] + TRUE_FACTS[key]:
        outcome = run_gates(item, text)
        assert outcome.passed, (item, outcome.reasons)
        quoted = text[outcome.evidence_start : outcome.evidence_end]
        assert " ".join(quoted.split()).lower() == " ".join(item.evidence.split()).lower()


@pytest.mark.parametrize("key", KEYS)
def test_every_perturbed_item_is_rejected_with_a_reason(key):
    for kind, item in perturbed()[key]:
        outcome = run_gates(item, passage(key))
        assert not outcome.passed and outcome.reasons, (kind, item)


def test_all_five_kinds_of_perturbation_are_covered():
    kinds = {kind for items in perturbed().values() for kind, _ in items}
    assert kinds == {"number_swap", "date_shift", "entity_swap", "negation", "unsupported_clause"}


def test_extractive_answers_span_and_number_questions():
    questions = [(key, q) for key in KEYS for q in TRUE_QA[key] if q.answer_type in ("span", "number")]
    exact = sum(normalize_answer(extractive_answer(q.text, q.answer_type, passage(key)) or "") == normalize_answer(q.answer)
                for key, q in questions)
    assert len(questions) >= 8
    assert exact / len(questions) >= 0.8


@pytest.mark.parametrize("key", KEYS)
def test_passages_of_a_real_article_are_whole_lines_within_bounds(key):
    text = passage(key, paragraphs=100)
    passages = split_passages(key, text, min_tokens=30, max_tokens=120)
    assert len(passages) >= 2
    covered = "".join(text[p.start : p.end] for p in passages)
    assert "".join(covered.split()) == "".join(text.split())  # every non-space character, once, in order
    for p in passages:
        assert text[p.start : p.end] == p.text
        assert p.start == 0 or text[p.start - 1] in "\n " or text[: p.start].rstrip()[-1:] in ".!?\"”"
        assert len(p.text.split()) * 1.3 <= 120 + 30 + 2
    again = split_passages(key, text, min_tokens=30, max_tokens=120)
    assert [p.passage_id for p in again] == [p.passage_id for p in passages]
    assert len({p.passage_id for p in passages}) == len(passages)
