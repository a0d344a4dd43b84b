"""The decision on one item, with verifiers that agree, disagree, time out or answer malformed JSON."""

from __future__ import annotations

import itertools

import pytest

from tiers.l4.candidates import Candidate, SupportVerdict
from tiers.l4.consensus import VerifierAnswer, decide
from tiers.l4.gates import run_gates

PASSAGE = (
    "The Tay Bridge was designed by Thomas Bouch and opened on 1 June 1878. It was 3,264 metres long.\n"
    "It collapsed in a storm on 28 December 1879, killing 75 people."
)
QUESTION = Candidate(
    "qa",
    "How many people died when the Tay Bridge collapsed?",
    "75",
    "number",
    "It collapsed in a storm on 28 December 1879, killing 75 people.",
)
FACT = Candidate(
    "fact", "The Tay Bridge was designed by Thomas Bouch.", None, None, "The Tay Bridge was designed by Thomas Bouch"
)

AGREE = VerifierAnswer("extractive", None, "75")
AGREE_LLM = VerifierAnswer("llm", "m", "75 people")
WRONG = VerifierAnswer("llm", "m", "28")
UNANSWERED = VerifierAnswer("llm", "m", None)
TIMEOUT = VerifierAnswer("llm", "m", None, error="engine error: timed out after 60 s")
MALFORMED = VerifierAnswer("llm", "m", None, error='malformed: {"answ')


def _decide(answers, min_agree):
    return decide(QUESTION, run_gates(QUESTION, PASSAGE), answers, None, min_agree)


def test_agreeing_verifiers_verify_with_a_grade_from_the_checks_that_agreed():
    two = _decide([AGREE, AGREE_LLM], min_agree=2)
    assert (two.status, two.grade, two.confidence, two.reasons) == ("verified", "A", 1.0, ())
    one = _decide([AGREE], min_agree=1)
    assert (one.status, one.grade) == ("verified", "B")
    assert _decide([AGREE, WRONG], min_agree=1).confidence < two.confidence
    assert {c.name for c in two.checks} >= {"schema", "evidence_found", "verifier:extractive", "verifier:llm"}


@pytest.mark.parametrize("other", [WRONG, UNANSWERED])
def test_a_disagreeing_or_unanswering_verifier_rejects_when_agreement_is_required(other):
    decision = _decide([AGREE, other], min_agree=2)
    assert decision.status == "rejected" and decision.reasons == ("verifiers_disagree:1_of_2",)
    assert [c.passed for c in decision.checks if c.name.startswith("verifier:")] == [True, False]


@pytest.mark.parametrize("broken", [TIMEOUT, MALFORMED])
def test_an_errored_verifier_never_agrees_and_its_error_is_recorded(broken):
    failed = _decide([AGREE, broken], min_agree=2)
    assert failed.status == "failed" and failed.reasons == ("verifiers_errored:1",)
    assert any(
        c.name == "verifier:llm" and c.model == "m" and not c.passed and c.detail == broken.error for c in failed.checks
    )
    assert _decide([AGREE, broken], min_agree=1).status == "verified"  # not needed: the verdict stands
    assert _decide([broken, broken], min_agree=1).status == "failed"  # every verifier errored
    assert _decide([WRONG, broken], min_agree=2).status == "rejected"  # even agreeing, it could not make two


def test_the_gates_reject_before_any_verifier_counts():
    swapped = Candidate("qa", QUESTION.text, "76", "number", QUESTION.evidence)
    decision = decide(swapped, run_gates(swapped, PASSAGE), [VerifierAnswer("llm", "m", "76")] * 3, None, 1)
    assert decision.status == "rejected" and decision.grade is None
    assert decision.reasons[0].startswith("number_not_in_evidence")


def test_facts_follow_the_support_judge_or_else_the_gates_at_grade_c():
    gates = run_gates(FACT, PASSAGE)
    assert gates.passed
    supported = decide(FACT, gates, [], SupportVerdict("supported", "designed by Thomas Bouch"), 1)
    assert (supported.status, supported.grade) == ("verified", "B")
    assert any(c.name == "support_judge" and c.passed for c in supported.checks)
    for verdict in ("partial", "unsupported"):
        rejected = decide(FACT, gates, [], SupportVerdict(verdict, ""), 1)
        assert rejected.status == "rejected" and rejected.reasons == (f"judge_{verdict}",)
    alone = decide(FACT, gates, [], None, 1)
    assert (alone.status, alone.grade) == ("verified", "C") and alone.confidence < supported.confidence


def test_every_combination_ends_in_exactly_one_status_with_reasons_unless_verified():
    pool = [AGREE, AGREE_LLM, WRONG, UNANSWERED, TIMEOUT, MALFORMED]
    swapped = Candidate("qa", QUESTION.text, "76", "number", QUESTION.evidence)
    for item in (QUESTION, swapped):
        gates = run_gates(item, PASSAGE)
        for k in range(0, 3):
            for answers in itertools.combinations(pool, k):
                for min_agree in (1, 2):
                    d = decide(item, gates, answers, None, min_agree)
                    assert d.status in ("verified", "rejected", "failed")
                    assert (d.grade is not None) == (d.status == "verified")
                    assert bool(d.reasons) == (d.status != "verified")
                    assert 0.0 <= d.confidence <= 1.0
