"""Calibration canaries: an LLM judge or verifier counts only when it tells known true items from false ones.

The judges and verifiers here are scripted stand-ins (named as such): one copies what the shipped
SmolLM2-135M judge did on a hidden sample (it called every statement "supported"), one reads the canary
set's own labels, so the behaviour under test is the run's, not a model's."""

from __future__ import annotations

import json

from tiers.config import load_config
from tiers.l4 import calibration
from tiers.l4.candidates import Candidate
from tiers.l4.gates import run_gates
from tiers.llm.engine import ChatResult
from tiers.l4.knowledge import Engines, KnowledgeOutput, KnowledgePrompts, Verifier, _Item, resolve
from tiers.l4.passages import split_passages


class ScriptedModel:
    """A stand-in for an LLM engine: answers every request with `answer(user_text)`."""

    def __init__(self, model: str, answer):
        self.model = model
        self.answer = answer
        self.asked: list[str] = []

    def complete(self, requests):
        out = []
        for request in requests:
            user = dict(request.messages)["user"]
            self.asked.append(user)
            out.append(ChatResult(json.dumps(self.answer(user))))
        return out


def always_supported(_user: str) -> dict:
    return {"verdict": "supported", "quote": "1"}


def knows_the_canaries(user: str) -> dict:
    for _, statement, truth in calibration.FACTS:
        if f"Statement: {statement}" in user:
            return {"verdict": "supported" if truth else "unsupported", "quote": statement}
    return {"verdict": "supported", "quote": ""}


def test_a_judge_that_says_supported_to_everything_is_not_counted():
    verdicts = ["supported"] * len(calibration.FACTS)
    found = calibration.judge_calibration("judge", "smollm2", verdicts)
    assert not found.counted and found.false_right == 0 and "NOT counted" in found.detail


def test_a_judge_that_tells_true_from_false_is_counted():
    verdicts = ["supported" if truth else "unsupported" for _, _, truth in calibration.FACTS]
    assert calibration.judge_calibration("judge", "m", verdicts).counted
    one_wrong = ["unsupported"] + verdicts[1:]
    assert calibration.judge_calibration("judge", "m", one_wrong).counted  # 9 of 10 right
    assert not calibration.judge_calibration("judge", "m", [None] * len(verdicts)).counted


def test_a_verifier_is_counted_only_when_it_answers_the_known_questions():
    right = [answer for _, _, _, answer in calibration.QUESTIONS]
    assert calibration.verifier_calibration("verifier:x", "m", right).counted
    assert not calibration.verifier_calibration("verifier:x", "m", ["unknown"] * len(right)).counted


def test_every_canary_fact_holds_against_its_own_passage_by_hand():
    for p, statement, truth in calibration.FACTS:
        words = set(statement.lower().rstrip(".").split())
        assert words & set(calibration.PASSAGES[p].lower().split()), statement


def _items(statement: str, evidence: str, passage_text: str) -> list[_Item]:
    passage = split_passages("doc", passage_text, 1, 512)[0]
    candidate = Candidate("fact", statement, None, None, evidence)
    item = _Item(candidate, passage, "ki")
    item.gates = run_gates(candidate, passage.text)
    return [item]


def test_an_uncalibrated_judge_is_reported_and_its_vote_not_counted():
    config = load_config(None).l4
    prompts = KnowledgePrompts.load(config)
    text = "The committee praised the new budget on Friday. It meets again in June."
    items = _items(
        "The committee criticised the new budget on Friday.", "The committee praised the new budget on Friday.", text
    )
    assert items[0].gates.passed and items[0].gates.undecided
    judge = ScriptedModel("stand-in-always-supported", always_supported)
    out = KnowledgeOutput()
    resolve(Engines(None, [Verifier("extractive")], judge), items, prompts, config, out)
    assert "judge" in out.uncounted and not out.calibration[0].counted
    assert items[0].support is None  # the item was never put to a judge whose vote does not count


def test_a_calibrated_judge_is_asked_the_specific_question_on_what_the_gates_left_open():
    config = load_config(None).l4
    prompts = KnowledgePrompts.load(config)
    text = "The committee praised the new budget on Friday. It meets again in June."
    items = _items(
        "The committee criticised the new budget on Friday.", "The committee praised the new budget on Friday.", text
    )
    judge = ScriptedModel("stand-in-knows-canaries", knows_the_canaries)
    out = KnowledgeOutput()
    resolve(Engines(None, [Verifier("extractive")], judge), items, prompts, config, out)
    assert out.calibration[0].counted and not out.uncounted
    asked = judge.asked[-1]
    assert '"criticised"' in asked and '"praised"' in asked and "opposite" in asked
