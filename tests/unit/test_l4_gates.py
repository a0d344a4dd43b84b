"""The deterministic gates on inline passages for each rule (the hand-checked passages of two real articles,
with true items and five kinds of perturbed negatives, are in tests/integration/test_l4_real_articles.py)."""

from __future__ import annotations

import pytest

from tests.l4_fixtures import EUROPA, MACBOOK
from tiers.l4.candidates import Candidate
from tiers.l4.gates import GateSettings, run_gates

PASSAGE = (
    "The Tay Bridge was designed by Thomas Bouch and opened on 1 June 1878. It was 3,264 metres long.\n"
    "The Tay Bridge collapsed in a storm on 28 December 1879, killing 75 people."
)
COLLAPSE = "The Tay Bridge collapsed in a storm on 28 December 1879"


def qa(question, answer, answer_type, evidence=COLLAPSE):
    return Candidate("qa", question, answer, answer_type, evidence)


def fact(statement, evidence=COLLAPSE):
    return Candidate("fact", statement, None, None, evidence)


def failed_checks(item, text=PASSAGE):
    return {c.name for c in run_gates(item, text).checks if not c.passed}


def test_a_true_item_passes_every_gate_with_offsets_of_its_evidence():
    outcome = run_gates(qa("When did the Tay Bridge collapse?", "28 December 1879", "date"), PASSAGE)
    assert outcome.passed and outcome.reasons == ()
    assert PASSAGE[outcome.evidence_start : outcome.evidence_end] == COLLAPSE
    assert [c.name for c in outcome.checks] == [
        "schema",
        "self_contained",
        "evidence_found",
        "numbers_in_passage",
        "content_in_evidence",
        "values_in_context",
        "question_in_passage",
        "meaning_agrees",
    ]


@pytest.mark.parametrize(
    "answer, answer_type",
    [
        ("28th December 1879", "date"),
        ("December 28, 1879", "date"),
        ("Dec 28 1879", "date"),
        ("1879", "date"),
    ],
)
def test_dates_written_differently_still_pass(answer, answer_type):
    assert run_gates(qa("When did the Tay Bridge collapse?", answer, answer_type), PASSAGE).passed


@pytest.mark.parametrize(
    "answer",
    [
        "29 December 1879",
        "27 December 1879",
        "28 December 1880",
        "28 December 1878",
        "28 November 1879",
        "January 28, 1879",
    ],
)
def test_a_date_shifted_by_a_day_a_month_or_a_year_fails(answer):
    assert "numbers_in_passage" in failed_checks(qa("When did the Tay Bridge collapse?", answer, "date"))
    assert "numbers_in_passage" in failed_checks(fact(f"The Tay Bridge collapsed in a storm on {answer}."))


def test_numbers_are_compared_as_values():
    length = "It was 3,264 metres long"
    for answer in ("3264", "3,264", "3264 metres"):
        assert run_gates(qa("How long was the Tay Bridge in metres?", answer, "number", length), PASSAGE).passed, answer
    for answer in ("3,265", "3,624", "326"):
        assert "numbers_in_passage" in failed_checks(
            qa("How long was the Tay Bridge in metres?", answer, "number", length)
        )
    assert "numbers_in_passage" in failed_checks(
        qa("How many of the 80 passengers died on the Tay Bridge?", "75", "number", "killing 75 people")
    )  # a number of the question, not in the passage


def test_evidence_is_the_passage_own_text_after_a_fixed_normalisation_only():
    for quote in (
        COLLAPSE,
        "the tay bridge   collapsed\nin a storm on 28 december 1879",
        "THE TAY BRIDGE COLLAPSED IN A STORM ON 28 DECEMBER 1879",
    ):
        outcome = run_gates(fact("The Tay Bridge collapsed in a storm in 1879.", quote), PASSAGE)
        assert outcome.passed, (quote, outcome.reasons)
        assert PASSAGE[outcome.evidence_start : outcome.evidence_end] == COLLAPSE
    for near_copy in (
        "The Tay Bridge colapsed in a storm on 28 Decembre 1879",  # misspelt: a model's string, not the passage's
        "The Tay Bridge survived a storm on 28 December 1879",  # one word changed
        "The Tay Bridge was rebuilt in stone after the storm",  # invented
    ):
        outcome = run_gates(fact("The Tay Bridge collapsed in a storm in 1879.", near_copy), PASSAGE)
        assert "evidence_not_found" in outcome.reasons and outcome.evidence_start is None, near_copy


def test_quote_marks_and_dashes_are_normalised_and_the_passage_span_is_kept():
    passage = "He called it “the best bridge in Scotland” — a claim that failed."
    outcome = run_gates(
        fact('He called it "the best bridge in Scotland".', 'called it "the best bridge in Scotland" - a claim'),
        passage,
    )
    assert outcome.evidence_start is not None
    assert passage[outcome.evidence_start : outcome.evidence_end] == "called it “the best bridge in Scotland” — a claim"


@pytest.mark.parametrize(
    "item",
    [
        qa("What does the passage say about the Tay Bridge?", "it collapsed", "short_text"),
        qa("According to the article, when did the Tay Bridge collapse?", "28 December 1879", "date"),
        qa("When did it collapse?", "28 December 1879", "date"),
        qa("When did they open the Tay Bridge?", "1878", "date", "opened on 1 June 1878"),
        qa("When did the Tay Bridge collapse", "28 December 1879", "date"),
        fact("It collapsed in a storm on 28 December 1879."),
        fact("This bridge collapsed in a storm on 28 December 1879."),
        fact("The author says the Tay Bridge collapsed in a storm on 28 December 1879."),
    ],
)
def test_items_that_are_not_self_contained_fail(item):
    assert "self_contained" in failed_checks(item)


def test_content_words_of_the_claim_must_be_in_the_evidence():
    assert run_gates(fact("The Tay Bridge collapsed in a storm."), PASSAGE).passed
    assert "content_in_evidence" in failed_checks(fact("The Tay Bridge collapsed in a violent winter storm."))
    assert "content_in_evidence" in failed_checks(fact("The Forth Bridge collapsed in a storm."))  # a name swapped
    assert "content_in_evidence" in failed_checks(fact("The Tay Bridge did not collapse in a storm."))  # negated
    assert "content_in_evidence" in failed_checks(
        qa("Who designed the Tay Bridge?", "Benjamin Baker", "span", "The Tay Bridge was designed by Thomas Bouch")
    )


def test_schema_limits_come_from_the_settings():
    long_fact = fact("The Tay Bridge collapsed in a storm on 28 December 1879 " + "and it was a disaster " * 30 + ".")
    assert run_gates(long_fact, PASSAGE).reasons[0] == "text_length"
    assert run_gates(qa("When?", "1879", "date"), PASSAGE).reasons == ("text_length",)
    assert run_gates(qa("When did the Tay Bridge collapse?", "", "date"), PASSAGE).reasons == ("answer_length",)
    assert run_gates(qa("When did the Tay Bridge collapse?", "1879", "date", "1879"), PASSAGE).reasons == (
        "evidence_length",
    )
    assert run_gates(
        qa("When did the Tay Bridge collapse?", "1879", "date", "1879 storm"),
        PASSAGE,
        GateSettings(min_evidence_chars=20),
    ).reasons == ("evidence_length",)


REAL = [EUROPA, MACBOOK]


KECK = "Out of 17 observations by the Keck Observatory, the scientists spotted water vapor in 3."
MATCHES = "Serbia takes on Japan and Britain plays the Netherlands."
SARAKI = "Bukola Saraki, President of the Senate, went to court."


@pytest.mark.parametrize(
    "statement, evidence, reason",
    [
        (
            "Out of 3 observations by the Keck Observatory, the scientists spotted water vapor in 17.",
            KECK,
            "value_out_of_context:3",
        ),
        ("Serbia takes on Britain and Britain plays the Netherlands.", MATCHES, "value_repeated:britain"),
        ("Then Saraki Bukola, President of the Senate, went to court.", SARAKI, "values_reordered:saraki bukola"),
    ],
)
def test_a_value_moved_within_its_own_sentence_fails(statement, evidence, reason):
    assert reason in run_gates(fact(statement, evidence), f"{MATCHES}\n{KECK} {SARAKI}").reasons


@pytest.mark.parametrize(
    "statement, evidence",
    [
        ("The scientists spotted water vapor in 3 of the 17 observations by the Keck Observatory.", KECK),
        ("Serbia takes on Japan, and Britain plays the Netherlands.", MATCHES),
        ("Bukola Saraki, the President of the Senate, went to court.", SARAKI),
    ],
)
def test_the_same_values_in_a_reworded_fact_pass(statement, evidence):
    outcome = run_gates(fact(statement, evidence), f"{MATCHES}\n{KECK} {SARAKI}")
    assert outcome.passed, outcome.reasons
