"""Matching a verifier's answer to the generated one."""

from __future__ import annotations

import pytest

from tiers.l4.matching import match_answers, normalize_answer


def test_normalize_answer_is_squad_style():
    assert normalize_answer("  The Goddard  Space-Flight Center! ") == "goddard spaceflight center"
    assert normalize_answer("An apple, a pear") == "apple pear"


@pytest.mark.parametrize(
    "expected, got, answer_type",
    [
        ("1,000", "1000 people", "number"),
        ("13.3", "13.3 inches", "number"),
        ("75", "about 75", "number"),
        ("28 December 1879", "December 28, 1879", "date"),
        ("5 May 2019", "May 5th, 2019", "date"),
        ("2020", "in 2020", "date"),
        ("yes", "Yes, it did.", "yes_no"),
        ("no", "No.", "yes_no"),
        ("the Goddard Space Flight Center", "Goddard Space Flight Center", "span"),
        ("Goddard Space Flight Center", "Goddard Space Flight", "span"),
    ],
)
def test_equal_answers_match(expected, got, answer_type):
    matched, score = match_answers(expected, got, answer_type)
    assert matched and 0.6 <= score <= 1.0


@pytest.mark.parametrize(
    "expected, got, answer_type",
    [
        ("75", "76", "number"),
        ("1,000", "100", "number"),
        ("28 December 1879", "28 December 1878", "date"),
        ("28 December 1879", "29 December 1879", "date"),
        ("28 December 1879", "28 November 1879", "date"),
        ("yes", "no", "yes_no"),
        ("yes", "maybe", "yes_no"),
        ("Thomas Bouch", "William Henry Barlow", "span"),
        ("Goddard Space Flight Center", "Jet Propulsion Laboratory", "span"),
        ("Thomas Bouch", None, "span"),
        ("Thomas Bouch", "  ", "short_text"),
    ],
)
def test_different_answers_do_not(expected, got, answer_type):
    assert not match_answers(expected, got, answer_type)[0]


def test_the_f1_threshold_decides_partial_overlaps():
    matched, score = match_answers("Goddard Space Flight Center", "Goddard Space", "span", f1_threshold=0.6)
    assert 0.6 < score < 0.7 and matched
    assert not match_answers("Goddard Space Flight Center", "Goddard Space", "span", f1_threshold=0.7)[0]
