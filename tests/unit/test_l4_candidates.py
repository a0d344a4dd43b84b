"""Parsing model output into candidates, verifier answers and judge verdicts."""

from __future__ import annotations

import pytest

from tiers.l4.candidates import MalformedOutput, SupportVerdict, parse_answer, parse_facts, parse_qa, parse_support
from tiers.l4.gates import run_gates

PASSAGE = "The Tay Bridge was designed by Thomas Bouch and opened on 1 June 1878. It was 3,264 metres long."
GOOD_QA = '{"question": "Who designed the Tay Bridge?", "answer": "Thomas Bouch", "answer_type": "Span", "evidence": "designed by Thomas Bouch"}'


@pytest.mark.parametrize(
    "raw",
    [
        '{"qa": [' + GOOD_QA + "]}",
        '```json\n{"qa": [' + GOOD_QA + "]}\n```",
        '```\n{"qa": [' + GOOD_QA + "]}\n```",
        'Sure! Here are the pairs:\n{"qa": [' + GOOD_QA + "]}\nI hope this helps.",
    ],
)
def test_qa_parses_whatever_surrounds_the_json(raw):
    [item] = parse_qa(raw)
    assert (item.kind, item.text, item.answer, item.answer_type) == (
        "qa",
        "Who designed the Tay Bridge?",
        "Thomas Bouch",
        "span",
    )
    assert item.evidence == "designed by Thomas Bouch"


def test_facts_parse_with_no_answer():
    [fact] = parse_facts(
        '{"facts": [{"statement": " The bridge opened in 1878. ", "evidence": "opened on 1 June 1878"}]}'
    )
    assert (fact.kind, fact.text, fact.answer, fact.answer_type) == ("fact", "The bridge opened in 1878.", None, None)
    assert parse_facts('{"facts": []}') == []


@pytest.mark.parametrize(
    "raw",
    [
        '{"qa": [{"question": "Who designed the Tay',  # truncated
        '```json\n{"qa": [' + GOOD_QA,  # truncated inside a fence
        "I cannot answer that.",
        '{"items": []}',
        '{"qa": "not a list"}',
        "[1, 2, 3]",
        "",
    ],
)
def test_a_whole_answer_that_is_not_the_expected_json_raises_with_the_raw_text(raw):
    with pytest.raises(MalformedOutput) as caught:
        parse_qa(raw)
    assert caught.value.raw == raw
    assert isinstance(caught.value, ValueError)


def test_one_broken_item_is_kept_for_the_gates_to_reject_with_a_reason():
    raw = (
        '{"qa": [' + GOOD_QA + ', {"question": 42, "answer_type": "colour", "evidence": null},'
        ' {"question": "When did the Tay Bridge open?", "answer": "1878", "answer_type": "colour", "evidence": "opened on 1 June 1878"},'
        ' "just a string"]}'
    )
    good, wrong_types, bad_answer_type, not_an_object = parse_qa(raw)
    assert run_gates(good, PASSAGE).passed
    assert run_gates(wrong_types, PASSAGE).reasons == ("text_length",)
    assert run_gates(bad_answer_type, PASSAGE).reasons == ("answer_type",)
    assert not run_gates(not_an_object, PASSAGE).passed
    [missing_evidence] = parse_facts('{"facts": [{"statement": "The Tay Bridge opened in 1878."}]}')
    assert run_gates(missing_evidence, PASSAGE).reasons == ("evidence_length",)


def test_numbers_given_as_json_numbers_become_text():
    [item] = parse_qa(
        '{"qa": [{"question": "How long was the Tay Bridge in metres?", "answer": 3264, "answer_type": "number",'
        ' "evidence": "It was 3,264 metres long."}]}'
    )
    assert item.answer == "3264" and run_gates(item, PASSAGE).passed


def test_verifier_answers():
    assert parse_answer('{"answer": "Thomas Bouch"}') == "Thomas Bouch"
    assert parse_answer('```json\n{"answer": 75}\n```') == "75"
    assert parse_answer('{"answer": true}') == "yes" and parse_answer('{"answer": false}') == "no"
    for nothing in ('{"answer": "unanswerable"}', '{"answer": "Unanswerable."}', '{"answer": ""}', '{"answer": null}'):
        assert parse_answer(nothing) is None, nothing
    for broken in ('{"answer": "Thom', '{"reply": "Thomas Bouch"}', "Thomas Bouch"):
        with pytest.raises(MalformedOutput):
            parse_answer(broken)


def test_support_verdicts():
    assert parse_support('{"verdict": "Supported", "quote": "designed by Thomas Bouch"}') == SupportVerdict(
        "supported", "designed by Thomas Bouch"
    )
    assert parse_support('{"verdict": "partial"}') == SupportVerdict("partial", "")
    assert parse_support('Verdict: {"verdict": "unsupported", "quote": ""}').verdict == "unsupported"
    for broken in ('{"verdict": "maybe"}', '{"verdict": "supp', '{"quote": "x"}'):
        with pytest.raises(MalformedOutput):
            parse_support(broken)
