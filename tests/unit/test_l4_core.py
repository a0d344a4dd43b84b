"""L4's pure parts on small hand-made inputs: parsing model output, answer matching, the consensus
decision with verifiers that time out, answer malformed JSON or disagree, identity and merging."""
from __future__ import annotations

import pytest

from tiers.l4.candidates import Candidate, MalformedOutput, SupportVerdict, parse_answer, parse_facts, parse_qa, parse_support
from tiers.l4.consensus import VerifierAnswer, decide
from tiers.l4.gates import run_gates
from tiers.l4.identity import ki_id
from tiers.l4.matching import match_answers
from tiers.l4.merge import canonical_groups

PASSAGE = ("The Tay Bridge was designed by Thomas Bouch and opened on 1 June 1878. It was 3,264 metres long.\n"
           "It collapsed in a storm on 28 December 1879, killing 75 people.")
QUESTION = Candidate("qa", "How many people died when the Tay Bridge collapsed?", "75", "number",
                     "It collapsed in a storm on 28 December 1879, killing 75 people.")


def test_parsers_tolerate_fences_and_prose_and_refuse_what_is_not_json():
    fenced = '```json\n{"qa": [{"question": "Who designed the Tay Bridge?", "answer": "Thomas Bouch", "answer_type": "Span", "evidence": "designed by Thomas Bouch"}]}\n```'
    [item] = parse_qa(fenced)
    assert (item.text, item.answer, item.answer_type) == ("Who designed the Tay Bridge?", "Thomas Bouch", "span")
    [fact] = parse_facts('Here you go: {"facts": [{"statement": "The bridge opened in 1878.", "evidence": "opened on 1 June 1878"}]} Done.')
    assert fact.kind == "fact" and fact.answer is None
    for broken in ('{"qa": [{"question": "Who', "no json at all", '{"items": []}', '{"qa": "not a list"}'):
        with pytest.raises(MalformedOutput):
            parse_qa(broken)
    [wrong] = parse_qa('{"qa": [{"question": 42, "answer_type": "colour", "evidence": null}]}')
    assert not run_gates(wrong, PASSAGE).passed and run_gates(wrong, PASSAGE).reasons == ("text_length",)
    assert parse_answer('{"answer": "unanswerable"}') is None and parse_answer('{"answer": true}') == "yes"
    assert parse_answer('{"answer": 75}') == "75"
    assert parse_support('{"verdict": "Supported", "quote": "x"}') == SupportVerdict("supported", "x")
    with pytest.raises(MalformedOutput):
        parse_support('{"verdict": "maybe"}')


def test_answer_matching():
    assert match_answers("1,000", "1000 people", "number") == (True, 1.0)
    assert not match_answers("75", "76", "number")[0]
    assert match_answers("28 December 1879", "December 28, 1879", "date")[0]
    assert not match_answers("28 December 1879", "28 December 1878", "date")[0]
    assert not match_answers("28 December 1879", "28 November 1879", "date")[0]
    assert match_answers("yes", "Yes, it did.", "yes_no")[0] and not match_answers("yes", "no", "yes_no")[0]
    assert match_answers("the Goddard Space Flight Center", "Goddard Space Flight Center", "span") == (True, 1.0)
    matched, score = match_answers("Goddard Space Flight Center", "Goddard Space Flight", "span", f1_threshold=0.6)
    assert matched and 0.6 < score < 1
    assert match_answers("Thomas Bouch", None, "span") == (False, 0.0)


def test_self_contained_gate():
    for text in ("What does the passage say about the bridge?", "When did he open the bridge?",
                 "It opened on 1 June 1878.", "Who designed the Tay Bridge"):
        kind = "fact" if text.endswith(".") else "qa"
        item = Candidate(kind, text, "1878" if kind == "qa" else None, "date" if kind == "qa" else None, "opened on 1 June 1878")
        assert "self_contained" in {c.name for c in run_gates(item, PASSAGE).checks if not c.passed}, text


def _decide(answers, min_agree=2):
    return decide(QUESTION, run_gates(QUESTION, PASSAGE), answers, None, min_agree)


def test_consensus_with_agreeing_disagreeing_and_failing_verifiers():
    agree = VerifierAnswer("extractive", None, "75")
    other = VerifierAnswer("llm", "m", "75 people")
    wrong = VerifierAnswer("llm", "m", "28")
    timeout = VerifierAnswer("llm", "m", None, error="engine error: timed out")
    malformed = VerifierAnswer("llm", "m", None, error="malformed: {\"answ")
    verified = _decide([agree, other])
    assert verified.status == "verified" and verified.grade == "A" and verified.confidence == 1.0
    assert _decide([agree], min_agree=1).grade == "B"
    disagree = _decide([agree, wrong])
    assert disagree.status == "rejected" and disagree.reasons == ("verifiers_disagree:1_of_2",)
    for broken in (timeout, malformed):
        failed = _decide([agree, broken])
        assert failed.status == "failed" and failed.reasons == ("verifiers_errored:1",)
        assert any(c.name == "verifier:llm" and not c.passed and c.detail == broken.error for c in failed.checks)
    assert _decide([wrong, timeout], min_agree=1).status == "failed"  # the errored verifier alone could have verified it
    assert _decide([wrong, timeout], min_agree=2).status == "rejected"  # even agreeing, it could not have made two
    gated = Candidate("qa", QUESTION.text, "76", "number", QUESTION.evidence)
    rejected = decide(gated, run_gates(gated, PASSAGE), [agree, other], None, 1)
    assert rejected.status == "rejected" and rejected.reasons[0].startswith("number_not_in")


def test_facts_follow_the_support_judge():
    fact = Candidate("fact", "The Tay Bridge was designed by Thomas Bouch.", None, None, "The Tay Bridge was designed by Thomas Bouch")
    gates = run_gates(fact, PASSAGE)
    assert gates.passed
    assert decide(fact, gates, [], SupportVerdict("supported", "designed by Thomas Bouch"), 1).grade == "B"
    short = Candidate("fact", fact.text, None, None, "designed by Thomas Bouch")
    assert run_gates(short, PASSAGE).reasons == ("name_not_in_evidence",)  # the evidence must name the bridge too
    assert decide(fact, gates, [], SupportVerdict("partial", ""), 1).status == "rejected"
    assert decide(fact, gates, [], None, 1).grade == "C"


def test_identity_and_merging():
    assert ki_id("qa", "When did the Tay Bridge open?", "1878", "p1") == ki_id("qa", "when did the tay bridge open", "1878.", "p1")
    assert ki_id("qa", "When did the Tay Bridge open?", "1878", "p1") != ki_id("qa", "When did the Tay Bridge open?", "1878", "p2")
    groups = canonical_groups([("qa", "When did the Tay Bridge open?", "1878"),
                               ("qa", "When was the Tay Bridge opened?", "1878"),
                               ("qa", "When did the Tay Bridge open?", "1879"),
                               ("fact", "When did the Tay Bridge open?", None),
                               ("qa", "when did the tay bridge open", "1878")])
    assert groups == [0, 0, 2, 3, 0]
