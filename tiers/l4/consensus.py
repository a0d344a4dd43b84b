"""The decision on one item, from its gates, its verifiers' answers and the support judge.

- Gates failed: `rejected` with the gates' reasons.
- A question: each verifier's answer is matched to the generated one (`matching.py`). `verified` when
  at least `min_agree` match; otherwise `failed` when the verifiers that errored (timeout, malformed
  JSON, engine error) could have made up the difference, so no verdict could be formed; otherwise
  `rejected` (`verifiers_disagree`).
- A fact: `verified` when the support judge says "supported" (`rejected` for partial or unsupported);
  with no judge, the gates alone verify it at grade C.

Grade and confidence count independent checks: the gates are one, each agreeing verifier and a
supporting judge one more. Grade A: three or more; B: two; C: the gates alone. Confidence: the share
of the checks tried that agreed (an errored verifier counts as tried).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from tiers.l4.candidates import Candidate, SupportVerdict
from tiers.l4.checks import Check
from tiers.l4.gates import GateOutcome
from tiers.l4.matching import match_answers


@dataclass(frozen=True)
class VerifierAnswer:
    verifier: str
    model: str | None
    answer: str | None
    error: str | None = None


@dataclass(frozen=True)
class Decision:
    status: Literal["verified", "rejected", "failed"]
    grade: str | None
    confidence: float
    reasons: tuple[str, ...]
    checks: tuple[Check, ...]


def _grade(agreeing_checks: int) -> str:
    return "A" if agreeing_checks >= 3 else "B" if agreeing_checks == 2 else "C"


def decide(
    candidate: Candidate,
    gates: GateOutcome,
    answers: Sequence[VerifierAnswer],
    support: SupportVerdict | None,
    min_agree: int,
    f1_threshold: float = 0.6,
) -> Decision:
    checks = list(gates.checks)
    if not gates.passed:
        return Decision("rejected", None, 0.0, gates.reasons, tuple(checks))
    if candidate.kind == "fact":
        if support is None:
            return Decision("verified", _grade(1), 0.5, (), tuple(checks))
        checks.append(
            Check(
                "support_judge", None, support.verdict == "supported", None, f"{support.verdict}: {support.quote[:200]}"
            )
        )
        if support.verdict != "supported":
            return Decision("rejected", None, 0.5, (f"judge_{support.verdict}",), tuple(checks))
        return Decision("verified", _grade(2), 1.0, (), tuple(checks))
    agree = errored = 0
    for a in answers:
        if a.error is not None:
            errored += 1
            checks.append(Check(f"verifier:{a.verifier}", a.model, False, None, a.error[:500]))
            continue
        matched, score = match_answers(
            candidate.answer or "", a.answer, candidate.answer_type or "short_text", f1_threshold
        )
        agree += matched
        checks.append(Check(f"verifier:{a.verifier}", a.model, matched, score, f"answer: {a.answer!r}"[:500]))
    tried = 1 + len(answers)
    confidence = (1 + agree) / tried
    if agree >= min_agree:
        return Decision("verified", _grade(1 + agree), confidence, (), tuple(checks))
    if errored and agree + errored >= min_agree:
        return Decision("failed", None, confidence, (f"verifiers_errored:{errored}",), tuple(checks))
    return Decision("rejected", None, confidence, (f"verifiers_disagree:{agree}_of_{len(answers)}",), tuple(checks))
