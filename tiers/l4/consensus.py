"""The decision on one item, from its gates, its verifiers' answers and the support judge.

- Gates failed: `rejected` with the gates' reasons.
- A question: each verifier's answer is matched to the generated one (`matching.py`). `verified` when
  at least `min_agree` match; otherwise `failed` when the verifiers that errored (timeout, malformed
  JSON, engine error) could have made up the difference, so no verdict could be formed; otherwise
  `rejected` (`verifiers_disagree`).
- A fact: `verified` when the support judge says "supported" (`rejected` for partial or unsupported);
  with no judge, the gates alone verify it at grade C, unless they left something undecided (a word
  changed into one no word list knows, an order changed): then it is `rejected`
  (`undecided_without_llm:...`), since only an LLM could say whether it still means the same.
Every decision ends with a `decided_by` check naming the path (gates, gates+verifiers[+llm],
gates+llm_judge, llm_judge when the judge settled what the gates could not).

Grade and confidence count independent checks: the gates are one, each agreeing verifier and a
supporting judge one more. Grade A: three or more; B: two; C: the gates alone. Confidence: the share
of the checks tried that agreed (an errored verifier counts as tried).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

from tiers.l4.candidates import Candidate, SupportVerdict
from tiers.l4.checks import Check
from tiers.l4.extractive import EXTRACTIVE_MODEL
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


def _decided_by(path: str, undecided: Sequence[str] = ()) -> Check:
    """The check row that names which path decided the item: the gates alone, the gates and the
    verifiers, or the LLM judge on what the gates left undecided."""
    return Check("decided_by", None, True, None, path + (f" ({'; '.join(undecided)})" if undecided else ""))


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
        return Decision("rejected", None, 0.0, gates.reasons, (*checks, _decided_by("gates")))
    if candidate.kind == "fact":
        if support is None:
            if gates.undecided:
                reasons = tuple(f"undecided_without_llm:{u}" for u in gates.undecided)
                return Decision("rejected", None, 0.0, reasons, (*checks, _decided_by("gates")))
            return Decision("verified", _grade(1), 0.5, (), (*checks, _decided_by("gates")))
        checks.append(
            Check(
                "support_judge", None, support.verdict == "supported", None, f"{support.verdict}: {support.quote[:200]}"
            )
        )
        path = _decided_by("llm_judge" if gates.undecided else "gates+llm_judge", gates.undecided)
        if support.verdict != "supported":
            return Decision("rejected", None, 0.5, (f"judge_{support.verdict}",), (*checks, path))
        return Decision("verified", _grade(2), 1.0, (), (*checks, path))
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
    llm = any(a.model not in (None, EXTRACTIVE_MODEL) for a in answers)
    checks.append(_decided_by("gates+verifiers" + ("+llm" if llm else "")))
    if agree >= min_agree:
        return Decision("verified", _grade(1 + agree), confidence, (), tuple(checks))
    if errored and agree + errored >= min_agree:
        return Decision("failed", None, confidence, (f"verifiers_errored:{errored}",), tuple(checks))
    return Decision("rejected", None, confidence, (f"verifiers_disagree:{agree}_of_{len(answers)}",), tuple(checks))
