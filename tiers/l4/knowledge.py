"""L4 work on a batch of documents, engine-agnostic: split into passages, generate facts and QA pairs,
run the deterministic gates, re-solve each question with every verifier (the built-in extractive one and
the LLM engines), judge facts, and decide every item.

Requests go out in rounds over the whole batch (generation, then re-solving and judging), each round one
`engine.complete` call per engine so the engine's concurrency is used; every request goes through the
engine given, normally a `CachedEngine`, so a re-run sends nothing already answered. Every generated item
ends `verified`, `rejected` (reasons) or `failed` (raw answers); every generation request that fails
(engine error, or malformed after the retries) becomes one failure row with the raw answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from tiers.config import L4Config
from tiers.l4 import calibration
from tiers.l4.candidates import Candidate, MalformedOutput, parse_answer, parse_facts, parse_qa, parse_support
from tiers.l4.checks import Check
from tiers.l4.consensus import Decision, VerifierAnswer, decide
from tiers.l4.extractive import EXTRACTIVE_MODEL, extractive_answer
from tiers.l4.gates import run_gates
from tiers.l4.identity import ki_id
from tiers.l4.passages import Passage, split_passages
from tiers.llm.engine import ChatRequest, ChatResult, Sampling, Usage
from tiers.llm.prompts import Prompt, load_prompt


log = logging.getLogger(__name__)

GATES_MODEL = "gates"
TASKS = {"fact": "facts", "qa": "qa"}


@dataclass(frozen=True)
class KnowledgePrompts:
    facts: Prompt
    qa: Prompt
    answer: Prompt
    support: Prompt

    @classmethod
    def load(cls, config: L4Config) -> "KnowledgePrompts":
        p = config.prompts
        return cls(load_prompt(p.facts), load_prompt(p.qa), load_prompt(p.answer), load_prompt(p.support))

    def versions(self) -> dict[str, str]:
        """Each prompt's version and a digest of its text and schema (an edit without a new version still counts)."""
        out = {}
        for name in ("facts", "qa", "answer", "support"):
            prompt = getattr(self, name)
            blob = json.dumps([prompt.system, prompt.user, prompt.schema], sort_keys=True).encode()
            out[name] = f"{prompt.version}:{hashlib.sha256(blob).hexdigest()[:12]}"
        return out


@dataclass
class Verifier:
    """One re-solver: `engine` None is the built-in extractive answerer."""

    name: str
    engine: Any = None

    @property
    def model(self) -> str:
        return self.engine.model if self.engine is not None else EXTRACTIVE_MODEL


@dataclass
class Engines:
    generator: Any
    verifiers: list[Verifier]
    judge: Any = None


@dataclass
class KnowledgeOutput:
    passages: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    repeated_in_passage: int = 0
    usage: dict[str, Usage] = field(default_factory=dict)
    calibration: list[Any] = field(default_factory=list)  # tiers.l4.calibration.Calibration per LLM asked
    uncounted: set[str] = field(default_factory=set)  # roles whose votes do not count (failed the canaries)

    def add_usage(self, role: str, result: ChatResult) -> None:
        self.usage.setdefault(role, Usage()).add(result)


@dataclass
class _Item:
    candidate: Candidate
    passage: Passage
    ki_id: str
    gates: Any = None
    answers: list[VerifierAnswer] = field(default_factory=list)
    support: Any = None
    raw: dict[str, str] = field(default_factory=dict)


def _ask(
    engine,
    requests: list[ChatRequest],
    parsers: Sequence[Callable[[str], Any]],
    retries: int,
    role: str,
    out: KnowledgeOutput,
) -> list[tuple[Any, ChatResult, int]]:
    """Send `requests` (one `complete` call per round); re-ask those whose answer does not parse with a new
    seed, up to `retries` times. Per request: (parsed value or None, last result, attempts); a malformed
    last answer leaves the parser's message in `result.extra["malformed"]`."""
    done: list[tuple[Any, ChatResult, int]] = [(None, ChatResult("", error="not sent"), 0)] * len(requests)
    pending = list(range(len(requests)))
    for attempt in range(retries + 1):
        if not pending:
            break
        batch = [requests[i] if attempt == 0 else _reseeded(requests[i], attempt) for i in pending]
        still = []
        for i, result in zip(pending, engine.complete(batch)):
            out.add_usage(role, result)
            done[i] = (None, result, attempt + 1)
            if not result.ok:
                continue
            try:
                done[i] = (parsers[i](result.text), result, attempt + 1)
            except MalformedOutput as exc:
                result.extra["malformed"] = str(exc)
                still.append(i)
        pending = still
    return done


def _reseeded(request: ChatRequest, seed: int) -> ChatRequest:
    s = request.sampling
    return ChatRequest(
        request.messages,
        Sampling(s.temperature, s.max_tokens, s.top_p, seed),
        request.json_schema,
        request.prompt_version,
    )


def _raw(result: ChatResult) -> str:
    return result.text if result.ok else f"engine error: {result.error}"


def passage_requests(
    passages: Sequence[Passage], prompts: KnowledgePrompts, config: L4Config
) -> list[tuple[Passage, str, ChatRequest]]:
    """One generation request per passage and configured kind; the passage opens every prompt."""
    sampling = Sampling(temperature=config.generation.temperature, max_tokens=config.generation.max_tokens, seed=0)
    out = []
    for passage in passages:
        for kind in config.generation.kinds:
            prompt = prompts.facts if kind == "fact" else prompts.qa
            out.append(
                (passage, kind, ChatRequest(prompt.messages(passage.text), sampling, prompt.schema, prompt.version))
            )
    return out


def generate(
    engine, passages: Sequence[Passage], prompts: KnowledgePrompts, config: L4Config, out: KnowledgeOutput
) -> list[_Item]:
    """Facts and QA pairs of every passage. A failed request becomes a row of `out.failures` (engine error,
    or malformed after the retries, with the raw answer); a repeat within a passage (same ki_id) is counted
    in `out.repeated_in_passage`."""
    jobs = passage_requests(passages, prompts, config)
    parsers = [parse_facts if kind == "fact" else parse_qa for _, kind, _ in jobs]
    answers = _ask(engine, [r for _, _, r in jobs], parsers, config.generation.parse_retries, "generator", out)
    items: list[_Item] = []
    seen: set[str] = set()
    for (passage, kind, _), (candidates, result, attempts) in zip(jobs, answers):
        if candidates is None:
            malformed = result.ok
            out.failures.append(
                {
                    "doc_id": passage.doc_id,
                    "passage_id": passage.passage_id,
                    "task": TASKS[kind],
                    "status": "malformed" if malformed else "engine_error",
                    "error": result.extra.get("malformed", "") if malformed else result.error,
                    "raw_answer": _raw(result),
                    "attempts": attempts,
                }
            )
            continue
        for candidate in candidates:
            item_id = ki_id(candidate.kind, candidate.text, candidate.answer, passage.passage_id)
            if item_id in seen:
                out.repeated_in_passage += 1
                continue
            seen.add(item_id)
            items.append(_Item(candidate, passage, item_id))
    return items


def _verifier_answer(verifier: Verifier, parsed: Any, result: ChatResult) -> VerifierAnswer:
    if not result.ok:
        return VerifierAnswer(verifier.name, verifier.model, None, error=f"engine error: {result.error}")
    if "malformed" in result.extra:
        return VerifierAnswer(verifier.name, verifier.model, None, error=f"malformed: {result.text[:500]}")
    return VerifierAnswer(verifier.name, verifier.model, parsed)


def _focus(undecided: Sequence[str]) -> str:
    """The specific question on what the gates could not settle, for the support judge."""
    lines = []
    for reason in undecided:
        kind, _, detail = reason.partition(":")
        if kind == "changed_word" and "->" in detail:
            said, quoted = detail.split("->", 1)
            lines.append(
                f'Check this especially: where the statement says "{said}", the passage says "{quoted}". '
                "Does the passage say what the statement says, or something else or the opposite?"
            )
        elif kind == "order_changed" and "<->" in detail:
            a, b = detail.split("<->", 1)
            lines.append(
                f'Check this especially: does the passage give "{a}" and "{b}" the roles the statement gives '
                "them, or the other way round?"
            )
    return "\n".join(lines)


def _focus_field(prompt: Prompt, undecided: Sequence[str]) -> dict[str, str]:
    """`focus` for a support prompt that asks for it (v2 on); an older prompt gets none."""
    return {"focus": _focus(undecided)} if "{focus}" in prompt.user else {}


def _calibrate_verifier(verifier: Verifier, sampling: Sampling, prompts: KnowledgePrompts, retries: int, out) -> bool:
    """Ask the verifier the canary questions; True when its votes count."""
    requests = [
        ChatRequest(
            prompts.answer.messages(calibration.PASSAGES[p], question=q),
            sampling,
            prompts.answer.schema,
            prompts.answer.version,
        )
        for p, q, _, _ in calibration.QUESTIONS
    ]
    answered = _ask(
        verifier.engine, requests, [parse_answer] * len(requests), retries, f"verifier:{verifier.name}", out
    )
    found = calibration.verifier_calibration(f"verifier:{verifier.name}", verifier.model, [a for a, _, _ in answered])
    return _report(found, out)


def _calibrate_judge(judge, sampling: Sampling, prompts: KnowledgePrompts, retries: int, out) -> bool:
    """Ask the support judge the canary statements; True when its verdicts count."""
    requests = [
        ChatRequest(
            prompts.support.messages(calibration.PASSAGES[p], statement=statement, **_focus_field(prompts.support, ())),
            sampling,
            prompts.support.schema,
            prompts.support.version,
        )
        for p, statement, _ in calibration.FACTS
    ]
    answered = _ask(judge, requests, [parse_support] * len(requests), retries, "judge", out)
    verdicts = [a.verdict if a is not None else None for a, _, _ in answered]
    return _report(calibration.judge_calibration("judge", judge.model, verdicts), out)


def _report(found: calibration.Calibration, out: KnowledgeOutput) -> bool:
    out.calibration.append(found)
    (log.info if found.counted else log.warning)("L4 calibration canaries: %s", found.detail)
    return found.counted


def resolve(
    engines: Engines, items: Sequence[_Item], prompts: KnowledgePrompts, config: L4Config, out: KnowledgeOutput
) -> None:
    """Re-solve every question that passed its gates with every verifier (the question only, never the
    generated answer), and judge every fact that passed with the support judge when one is configured,
    asking it specifically about what the gates left undecided. Each LLM first answers the calibration
    canaries; one that cannot tell known true items from false ones is reported and not counted."""
    sampling = Sampling(temperature=0.0, max_tokens=config.generation.answer_max_tokens, seed=0)
    retries = config.generation.parse_retries
    questions = [it for it in items if it.candidate.kind == "qa" and it.gates.passed]
    for verifier in engines.verifiers:
        if verifier.engine is None:
            for it in questions:
                answer = extractive_answer(it.candidate.text, it.candidate.answer_type, it.passage.text)
                it.answers.append(VerifierAnswer(verifier.name, verifier.model, answer))
            continue
        if not questions:
            continue
        if not _calibrate_verifier(verifier, sampling, prompts, retries, out):
            out.uncounted.add(f"verifier:{verifier.name}")
            continue
        requests = [
            ChatRequest(
                prompts.answer.messages(it.passage.text, question=it.candidate.text),
                sampling,
                prompts.answer.schema,
                prompts.answer.version,
            )
            for it in questions
        ]
        for it, (parsed, result, _) in zip(
            questions,
            _ask(verifier.engine, requests, [parse_answer] * len(requests), retries, f"verifier:{verifier.name}", out),
        ):
            it.answers.append(_verifier_answer(verifier, parsed, result))
            it.raw[verifier.name] = _raw(result)
    if engines.judge is None:
        return
    facts = [it for it in items if it.candidate.kind == "fact" and it.gates.passed]
    if not facts:
        return
    if not _calibrate_judge(engines.judge, sampling, prompts, retries, out):
        out.uncounted.add("judge")
        return
    requests = [
        ChatRequest(
            prompts.support.messages(
                it.passage.text, statement=it.candidate.text, **_focus_field(prompts.support, it.gates.undecided)
            ),
            sampling,
            prompts.support.schema,
            prompts.support.version,
        )
        for it in facts
    ]
    for it, (parsed, result, _) in zip(
        facts, _ask(engines.judge, requests, [parse_support] * len(requests), retries, "judge", out)
    ):
        it.support = parsed
        it.raw["support_judge"] = _raw(result)


def _stored_evidence(it: _Item) -> str:
    """The passage's own span when the quote was found in it; the model's string only for an item
    rejected because it was not (kept so that the reason can be read)."""
    if it.gates.evidence_start is None:
        return it.candidate.evidence
    return it.passage.text[it.gates.evidence_start : it.gates.evidence_end]


def _item_row(it: _Item, decision, generator_model: str) -> dict[str, Any]:
    c = it.candidate
    return {
        "ki_id": it.ki_id,
        "kind": c.kind,
        "text": c.text,
        "answer": c.answer,
        "answer_type": c.answer_type,
        "evidence": _stored_evidence(it),
        "evidence_start": it.gates.evidence_start,
        "evidence_end": it.gates.evidence_end,
        "passage_id": it.passage.passage_id,
        "source_doc_id": it.passage.doc_id,
        "model": generator_model,
        "status": decision.status,
        "grade": decision.grade,
        "confidence": decision.confidence,
        "reasons": list(decision.reasons),
        "verifier_answers": json.dumps(
            [{"verifier": a.verifier, "model": a.model, "answer": a.answer, "error": a.error} for a in it.answers]
        ),
        "raw_answer": json.dumps(it.raw) if decision.status == "failed" else None,
    }


def _check_row(item_id: str, check: Check, judge_model: str | None) -> dict[str, Any]:
    """One `l4_checks` row; a check without a model is a gate ("gates") or the support judge's."""
    model = check.model or (judge_model if check.name == "support_judge" else GATES_MODEL)
    return {
        "ki_id": item_id,
        "check_name": check.name,
        "model": model,
        "passed": check.passed,
        "score": None if check.score is None else float(check.score),
        "detail": check.detail,
    }


def _judge_failed(it: _Item, judge_model: str) -> Decision:
    """A fact whose support judge gave no verdict (engine error or malformed answer): failed, not verified."""
    check = Check("support_judge", judge_model, False, None, it.raw.get("support_judge", "")[:500])
    return Decision("failed", None, 0.0, ("support_judge_failed",), (*it.gates.checks, check))


def knowledge_batch(
    engines: Engines,
    docs: Sequence[tuple[str, str]],
    prompts: KnowledgePrompts,
    config: L4Config,
    count_tokens: Callable[[str], int] | None = None,
) -> KnowledgeOutput:
    """Passages, items (each decided), checks and failures of a batch of (doc_id, text) documents."""
    out = KnowledgeOutput()
    passages: list[Passage] = []
    for doc_id, text in docs:
        split = split_passages(doc_id, text or "", config.passages.min_tokens, config.passages.max_tokens, count_tokens)
        passages += split
        out.documents.append({"doc_id": doc_id, "passages": len(split)})
    out.passages = [
        {"passage_id": p.passage_id, "doc_id": p.doc_id, "start": p.start, "end": p.end, "text": p.text}
        for p in passages
    ]
    items = generate(engines.generator, passages, prompts, config, out)
    for it in items:
        it.gates = run_gates(it.candidate, it.passage.text)
    resolve(engines, items, prompts, config, out)
    judge_model = engines.judge.model if engines.judge is not None and "judge" not in out.uncounted else None
    counted = sum(1 for v in engines.verifiers if f"verifier:{v.name}" not in out.uncounted)
    min_agree = max(1, min(config.min_agree, counted))
    for it in items:
        if judge_model and it.candidate.kind == "fact" and it.gates.passed and it.support is None:
            decision = _judge_failed(it, judge_model)
        else:
            decision = decide(it.candidate, it.gates, it.answers, it.support, min_agree, config.f1_threshold)
        out.items.append(_item_row(it, decision, engines.generator.model))
        names = {c.name for c in decision.checks}
        checks = [*decision.checks, *(c for c in it.gates.checks if c.name not in names)]
        out.checks += [_check_row(it.ki_id, c, judge_model) for c in checks]
    failed_docs = {f["doc_id"] for f in out.failures}
    for doc in out.documents:
        doc["status"] = "failed" if doc["doc_id"] in failed_docs else "processed"
    return out
