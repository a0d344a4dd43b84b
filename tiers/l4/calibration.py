"""Calibration canaries: a small built-in set of known true and false items that every LLM verifier and
the support judge answer before a run counts their votes. A judge that calls the false statements
"supported" as readily as the true ones (or a verifier that cannot answer the known questions) cannot
tell them apart; it is reported and its votes are not counted.

The canaries are written here, by hand, about made-up places and people, so no model can know them
from training; each false statement differs from a true one by the kinds of change that the
deterministic checks cannot always see (an opposite, a quantifier, a swapped role).
"""

from __future__ import annotations

from dataclasses import dataclass

from tiers.l4.matching import match_answers

PASSAGES = (
    "The village of Korveth lies on the eastern bank of the Malden River. In 1912 a stone bridge replaced "
    "the old ferry, and the population rose from 400 to 1,100 within ten years. Most families farmed "
    "barley, although some kept sheep on the hills above the village.",
    "Ines Harrow founded the Tolsby choir in 1987 and led it until 2004, when Paul Werner took over. "
    "Under Werner the choir won the regional contest twice but never toured abroad. The choir rehearses "
    "in the old grain hall on Thursdays.",
)
# (passage index, statement, supported?)
FACTS = (
    (0, "Korveth lies on the eastern bank of the Malden River.", True),
    (0, "Korveth lies on the western bank of the Malden River.", False),
    (0, "The population of Korveth rose from 400 to 1,100 within ten years.", True),
    (0, "The population of Korveth fell from 1,100 to 400 within ten years.", False),
    (0, "Most families in Korveth farmed barley.", True),
    (0, "All families in Korveth kept sheep.", False),
    (1, "Ines Harrow founded the Tolsby choir in 1987.", True),
    (1, "Paul Werner founded the Tolsby choir in 1987.", False),
    (1, "Under Werner the choir never toured abroad.", True),
    (1, "Under Werner the choir toured abroad twice.", False),
)
# (passage index, question, answer type, answer)
QUESTIONS = (
    (0, "In what year did a stone bridge replace the ferry at Korveth?", "date", "1912"),
    (0, "On which river does Korveth lie?", "span", "Malden River"),
    (0, "What did most families in Korveth farm?", "span", "barley"),
    (1, "Who founded the Tolsby choir?", "span", "Ines Harrow"),
    (1, "Who took over the Tolsby choir in 2004?", "span", "Paul Werner"),
    (1, "Did the Tolsby choir tour abroad under Werner?", "yes_no", "no"),
)


@dataclass(frozen=True)
class Calibration:
    """How one LLM did on the canaries; `counted` says whether its votes count in this run."""

    role: str
    model: str | None
    correct: int
    asked: int
    true_right: int
    false_right: int
    counted: bool

    @property
    def detail(self) -> str:
        state = "counted" if self.counted else "NOT counted: it cannot tell known true items from false ones"
        return (
            f"{self.role} ({self.model}): {self.correct}/{self.asked} canaries right "
            f"(true {self.true_right}, false {self.false_right}); {state}"
        )


def judge_calibration(role: str, model: str | None, verdicts: list[str | None], min_share: float = 0.8) -> Calibration:
    """`verdicts`, one per `FACTS` entry ("supported" / "partial" / "unsupported" / None when no answer):
    counted when at least `min_share` are right and at least one true and one false statement are."""
    true_right = sum(1 for (_, _, truth), v in zip(FACTS, verdicts) if truth and v == "supported")
    false_right = sum(
        1 for (_, _, truth), v in zip(FACTS, verdicts) if not truth and v is not None and v != "supported"
    )
    correct = true_right + false_right
    counted = correct >= min_share * len(FACTS) and true_right > 0 and false_right > 0
    return Calibration(role, model, correct, len(FACTS), true_right, false_right, counted)


def verifier_calibration(
    role: str, model: str | None, answers: list[str | None], min_share: float = 0.8, f1_threshold: float = 0.6
) -> Calibration:
    """`answers`, one per `QUESTIONS` entry: counted when at least `min_share` match the known answers."""
    right = [
        match_answers(expected, got, kind, f1_threshold)[0] for (_, _, kind, expected), got in zip(QUESTIONS, answers)
    ]
    correct = sum(right)
    counted = correct >= min_share * len(QUESTIONS)
    return Calibration(role, model, correct, len(QUESTIONS), correct, 0, counted)
