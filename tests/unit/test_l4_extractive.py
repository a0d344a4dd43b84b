"""Verifier 0, the extractive answerer, on inline passages for each answer type (the hand-checked questions
of two real articles are in tests/integration/test_l4_real_articles.py)."""

from __future__ import annotations

import pytest

from tiers.l4.extractive import extractive_answer, rank_sentences
from tiers.l4.matching import match_answers

PASSAGE = (
    "The Tay Bridge was designed by Thomas Bouch and opened on 1 June 1878. It was 3,264 metres long.\n"
    "It collapsed in a storm on 28 December 1879, killing 75 people. The replacement bridge was not designed by Bouch; "
    "William Henry Barlow designed it.\nThe replacement opened in 1887 and carries trains across the Firth of Tay."
)


def test_sentences_are_ranked_by_the_question_words_they_hold():
    ranked = rank_sentences("Who designed the replacement bridge?", PASSAGE)
    assert ranked[0][1].startswith("The replacement bridge was not designed")
    assert ranked[0][0] > ranked[1][0] > ranked[-1][0]


@pytest.mark.parametrize(
    "question, answer_type, expected",
    [
        ("Who designed the Tay Bridge?", "span", "Thomas Bouch"),
        ("Who designed the replacement bridge?", "span", "William Henry Barlow"),
        ("How many people were killed when the bridge collapsed in a storm?", "number", "75"),
        ("How long was the Tay Bridge in metres?", "number", "3,264"),
        ("When did the bridge collapse in a storm?", "date", "28 December 1879"),
        ("In what year did the replacement open?", "date", "1887"),
        ("Was the Tay Bridge designed by Thomas Bouch?", "yes_no", "yes"),
        ("Was the replacement bridge designed by Bouch?", "yes_no", "no"),  # the passage negates it
        ("Was the replacement bridge not designed by Bouch?", "yes_no", "yes"),
        ("Did the Tay Bridge survive the storm without damage?", "yes_no", "no"),
    ],
)
def test_answers_of_each_type(question, answer_type, expected):
    got = extractive_answer(question, answer_type, PASSAGE)
    assert match_answers(expected, got, answer_type)[0], (question, got)


def test_no_answer_when_nothing_in_the_passage_relates_to_the_question():
    assert extractive_answer("Which composer wrote the opera Aida?", "span", PASSAGE) is None
    assert extractive_answer("How many moons orbit Jupiter?", "number", "Jupiter is large.") is None


def test_yes_no_counts_negations_rather_than_noticing_one():
    text = "TNG50 is the latest simulation of the IllustrisTNG Project, built without sacrificing detail."
    assert (
        extractive_answer("Is TNG50 the latest simulation built without sacrificing detail?", "yes_no", text) == "yes"
    )
    assert (
        extractive_answer("Is TNG50 not the latest simulation built without sacrificing detail?", "yes_no", text)
        == "no"
    )
