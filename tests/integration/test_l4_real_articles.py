"""L4 on hand-checked passages of two real articles (../shared/data; moved from tests/unit, issue 28): the
extractive answerer, the deterministic gates with true items and five kinds of perturbed negatives, passages."""

from __future__ import annotations

import pytest

from tests.l4_fixtures import EUROPA, MACBOOK, TRUE_FACTS, TRUE_QA, passage, perturbed
from tests.unit.test_l4_passages import _check_exact
from tiers.l4.extractive import extractive_answer
from tiers.l4.gates import run_gates
from tiers.l4.matching import normalize_answer
from tiers.l4.passages import estimate_tokens, split_passages

REAL = [EUROPA, MACBOOK]


@pytest.mark.shared_data
def test_span_and_number_questions_of_the_real_articles_reach_exact_match_of_0_8():
    questions = [(key, q) for key in (EUROPA, MACBOOK) for q in TRUE_QA[key] if q.answer_type in ("span", "number")]
    exact = [
        normalize_answer(extractive_answer(q.text, q.answer_type, passage(key)) or "") == normalize_answer(q.answer)
        for key, q in questions
    ]
    assert len(questions) >= 8
    assert sum(exact) / len(exact) >= 0.8, list(zip([q.text for _, q in questions], exact))


@pytest.mark.shared_data
@pytest.mark.parametrize("key", REAL)
def test_hand_checked_true_items_pass_with_their_evidence_located(key):
    text = passage(key)
    for item in TRUE_QA[key] + TRUE_FACTS[key]:
        outcome = run_gates(item, text)
        assert outcome.passed, (item, outcome.reasons)
        located = text[outcome.evidence_start : outcome.evidence_end]
        assert " ".join(located.split()).lower() == " ".join(item.evidence.split()).lower()


@pytest.mark.shared_data
@pytest.mark.parametrize("key", REAL)
def test_every_hand_checked_perturbation_is_rejected_by_the_gate_made_for_it(key):
    expected_gate = {
        "number_swap": "numbers_in_passage",
        "date_shift": "numbers_in_passage",
        "entity_swap": "content_in_evidence",
        "negation": "content_in_evidence",
        "unsupported_clause": "content_in_evidence",
    }
    for kind, item in perturbed()[key]:
        outcome = run_gates(item, passage(key))
        assert not outcome.passed and outcome.reasons, (kind, item)
        assert expected_gate[kind] in {c.name for c in outcome.checks if not c.passed}, (kind, item, outcome.reasons)


@pytest.mark.shared_data
def test_the_fixtures_cover_the_five_kinds_of_perturbation():
    kinds = {kind for items in perturbed().values() for kind, _ in items}
    assert kinds == {"number_swap", "date_shift", "entity_swap", "negation", "unsupported_clause"}


@pytest.mark.shared_data
@pytest.mark.parametrize("key", [EUROPA, MACBOOK])
def test_a_real_article_is_cut_into_whole_lines_with_exact_offsets(key):
    text = passage(key, paragraphs=100)
    passages = split_passages(key, text, min_tokens=30, max_tokens=120)
    _check_exact(text, passages)
    assert len(passages) >= 2
    assert all(estimate_tokens(p.text) <= 120 + 30 for p in passages)
