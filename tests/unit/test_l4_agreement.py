"""The meaning checks of L4 (tiers/l4/agreement.py, lexicon.py, number_words.py), each with a true twin
(the evidence sentence itself, which must pass) and a false twin (one word changed, which must fail with
the reason of its check). Sentences are written here by hand, not taken from the code under test."""

import pytest

from tiers.l4.agreement import meaning_conflict, roles_swapped, substitutions
from tiers.l4.candidates import Candidate
from tiers.l4.consensus import decide
from tiers.l4.extractive import extractive_answer
from tiers.l4.gates import run_gates
from tiers.l4.lexicon import negated_by_prefix, opposites
from tiers.l4.language import stem
from tiers.l4.number_words import word_numbers

CASES = [
    # (evidence, false claim, the check that must name it)
    (
        "Exports rose by 4 percent in 2019 after the new trade deal.",
        "Exports fell by 4 percent in 2019 after the new trade deal.",
        "opposite",
    ),
    ("The museum opened before the war began.", "The museum opened after the war began.", "opposite"),
    (
        "The council supported the plan to widen the road.",
        "The council opposed the plan to widen the road.",
        "opposite",
    ),
    (
        "The new drug is available in most pharmacies.",
        "The new drug is unavailable in most pharmacies.",
        "negative_prefix",
    ),
    (
        "Some residents complained about the noise.",
        "All residents complained about the noise.",
        "quantifier_not_in_evidence",
    ),
    ("Storms often flood the lower town.", "Storms always flood the lower town.", "quantifier_not_in_evidence"),
    ("The vaccine may reduce hospital stays.", "The vaccine will reduce hospital stays.", "modal_not_in_evidence"),
    ("About 300 people attended the meeting.", "Exactly 300 people attended the meeting.", "strength_not_in_evidence"),
    ("About 300 people attended the meeting.", "300 people attended the meeting.", "hedge_dropped"),
    (
        "Lake Victoria is one of the largest lakes in Africa.",
        "Lake Victoria is the largest lake in Africa.",
        "hedge_dropped",
    ),
    (
        "Three firefighters were injured in the blaze.",
        "Four firefighters were injured in the blaze.",
        "number_word_not_in_evidence",
    ),
    ("The team hired twenty-one new players.", "The team hired twenty-two new players.", "number_word_not_in_evidence"),
    (
        "The bridge closed in May. Traffic moved to the ferry.",
        "The bridge closed in May, so traffic moved to the ferry.",
        "cause_not_in_evidence",
    ),
]


@pytest.mark.parametrize("evidence, claim, check", CASES)
def test_a_changed_meaning_word_is_named_and_its_true_twin_passes(evidence, claim, check):
    assert meaning_conflict(evidence, evidence) is None
    found = meaning_conflict(claim, evidence)
    assert found is not None and found.startswith(check), found


@pytest.mark.parametrize("evidence, claim, check", CASES)
def test_the_gates_reject_the_false_twin_and_pass_the_true_one(evidence, claim, check):
    passage = f"Local news. {evidence} More text follows here."
    assert run_gates(Candidate("fact", evidence, None, None, evidence), passage).passed
    false = run_gates(Candidate("fact", claim, None, None, evidence), passage)
    assert not false.passed and any(r.startswith(check) for r in false.reasons), false.reasons


def test_number_words_are_values():
    assert word_numbers("twenty-one players and two hundred and five fans") == [21, 205]
    assert word_numbers("3 million people, a dozen eggs, the fifth time") == [3_000_000, 12, 5]


def test_the_word_lists_hold_opposites_and_prefixes_but_not_look_alikes():
    assert "fell" in opposites(stem("rose")) and "less" in opposites("more")
    assert negated_by_prefix("unavailable", "available") and negated_by_prefix("non-profit", "profit")
    assert not negated_by_prefix("discover", "cover") and not negated_by_prefix("invest", "vest")


def test_two_names_exchanged_are_roles_swapped_and_a_paraphrased_order_is_undecided():
    evidence = "Spain beat Canada in the final on Sunday."
    assert roles_swapped(evidence, evidence) == (None, None)
    reason, _ = roles_swapped("Canada beat Spain in the final on Sunday.", evidence)
    assert reason and reason.startswith("roles_swapped")
    reason, undecided = roles_swapped("Canada was beaten by Spain in the final.", evidence)
    assert reason is None and undecided.startswith("order_changed")


def test_a_name_swapped_at_the_start_of_a_sentence_is_rejected():
    passage = "Mayer spoke first. Disney plans a new service, Mayer said on Tuesday."
    evidence = "Disney plans a new service, Mayer said on Tuesday."
    assert run_gates(Candidate("fact", evidence, None, None, evidence), passage).passed
    assert not run_gates(
        Candidate("fact", "Netflix plans a new service, Mayer said on Tuesday.", None, None, evidence), passage
    ).passed
    assert not run_gates(
        Candidate("fact", "Disney plans a new service, Netflix said on Tuesday.", None, None, evidence), passage
    ).passed


def test_a_plain_changed_word_is_left_to_the_llm_and_rejected_without_one():
    evidence = "The committee praised the new budget on Friday."
    passage = f"News. {evidence}"
    claim = Candidate("fact", "The committee criticised the new budget on Friday.", None, None, evidence)
    assert [s.kind for s in substitutions(claim.text, evidence)] == ["changed_word"]
    gates = run_gates(claim, passage)
    assert gates.passed and gates.undecided
    decision = decide(claim, gates, [], None, 1)
    assert decision.status == "rejected" and decision.reasons[0].startswith("undecided_without_llm")
    assert [c.detail for c in decision.checks if c.name == "decided_by"] == ["gates"]


def test_a_question_with_its_subject_swapped_for_another_name_of_the_passage_is_rejected():
    passage = "Ford sells trucks. Tesla builds cars in Texas, and Ford builds them in Michigan."
    evidence = "Tesla builds cars in Texas"
    true = Candidate("qa", "Where does Tesla build cars?", "Texas", "span", evidence)
    swapped = Candidate("qa", "Where does Ford build cars?", "Texas", "span", evidence)
    assert run_gates(true, passage).passed
    assert not run_gates(swapped, passage).passed


def test_yes_no_is_answered_by_aligning_the_question_with_the_sentence():
    passage = "The river rose sharply in March. The old mill was supported by the town council."
    assert extractive_answer("Was the old mill supported by the town council?", "yes_no", passage) == "yes"
    assert extractive_answer("Was the old mill opposed by the town council?", "yes_no", passage) == "no"
    assert extractive_answer("Did the river fall sharply in March?", "yes_no", passage) == "no"


@pytest.mark.parametrize(
    "question, dangling",
    [
        ("How many goals did the team score in their first season?", False),
        ("Where did the mayor say his office would move?", False),
        ("Where did Smith say his office would move?", False),
        ("In his speech, Smith said the office would move to which city?", False),
        ("How many goals did he score in 2019?", True),
        ("What did his company sell in 2019?", True),
    ],
)
def test_a_pronoun_whose_antecedent_is_in_the_question_is_not_dangling(question, dangling):
    passage = "Smith said his office would move to Leeds. The team scored 40 goals in their first season."
    outcome = run_gates(
        Candidate("qa", question, "Leeds", "span", "Smith said his office would move to Leeds"), passage
    )
    assert ("dangling_pronoun" in outcome.reasons) == dangling, outcome.reasons


def test_the_judge_decides_what_the_gates_left_open_and_the_grade_says_so():
    from tiers.l4.candidates import SupportVerdict

    evidence = "The committee praised the new budget on Friday."
    claim = Candidate("fact", "The committee criticised the new budget on Friday.", None, None, evidence)
    gates = run_gates(claim, f"News. {evidence}")
    decision = decide(claim, gates, [], SupportVerdict("unsupported", evidence), 1)
    assert decision.status == "rejected" and decision.reasons == ("judge_unsupported",)
    path = [c.detail for c in decision.checks if c.name == "decided_by"]
    assert len(path) == 1 and path[0].startswith("llm_judge") and "changed_word" in path[0]
