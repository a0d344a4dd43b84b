"""L3 work on a batch of documents, engine-agnostic: rubric scoring with retries on unparseable
answers, then rewriting of the documents that score at or above the threshold; and the calibration a
scoring model passes before its scores count."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

from tiers.resources import read_project_text

from tiers.config import L3Config, TiersConfig
from tiers.ids import doc_id_from_provenance
from tiers.llm.engine import ChatRequest, ChatResult, Sampling, Usage
from tiers.llm.factory import build_engine
from tiers.l3.parsing import parse_score
from tiers.llm.prompts import Prompt

log = logging.getLogger(__name__)


@dataclass
class RefineOutput:
    scores: list[dict[str, Any]] = field(default_factory=list)
    rewrites: list[dict[str, Any]] = field(default_factory=list)
    rewrite_failures: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)


def score_requests(texts: list[str], prompt: Prompt, config: L3Config, attempt: int) -> list[ChatRequest]:
    sampling = Sampling(temperature=config.score_temperature, max_tokens=config.score_max_tokens, seed=attempt)
    return [
        ChatRequest(prompt.messages(t[: config.max_input_chars]), sampling, prompt.schema, prompt.version)
        for t in texts
    ]


def score_documents(
    engine,
    ids: list[str],
    texts: list[str],
    prompt: Prompt,
    config: L3Config,
    usage: Usage,
    parallel: int = 1,
    on_scored: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Score every document; an unparseable answer is asked again at once (new seed), then recorded as failed.

    Documents run concurrently, each with its own retries, so one slow answer never holds back the rest.
    `on_scored(1)` is called as each document ends (progress).
    """
    lock = threading.Lock()

    def counted(i: int) -> dict[str, Any]:
        row = one(i)
        if on_scored is not None:
            on_scored(1)
        return row

    def one(i: int) -> dict[str, Any]:
        result = ChatResult("", error="not sent")
        for attempt in range(config.parse_retries + 1):
            result = engine.complete(score_requests([texts[i]], prompt, config, attempt))[0]
            with lock:
                usage.add(result)
            parsed = parse_score(result.text, *prompt.scale) if result.ok else None
            if parsed is not None:
                return {
                    "doc_id": ids[i],
                    "llm_score": parsed[0],
                    "llm_reason": parsed[1],
                    "status": "scored",
                    "raw_answer": None,
                    "attempts": attempt + 1,
                }
        return {
            "doc_id": ids[i],
            "llm_score": None,
            "llm_reason": None,
            "status": "engine_error" if result.error else "unparseable",
            "raw_answer": result.error or result.text,
            "attempts": config.parse_retries + 1,
        }

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(ids) or 1))) as pool:
        return list(pool.map(counted, range(len(ids))))


def rewrite_documents(
    engine, ids: list[str], texts: list[str], tasks: dict[str, Prompt], config: L3Config, model: str, usage: Usage
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    sampling = Sampling(temperature=config.temperature, max_tokens=config.max_tokens, seed=0)
    jobs = [(i, name, prompt) for i in range(len(ids)) for name, prompt in tasks.items()]
    requests = [
        ChatRequest(p.messages(texts[i][: config.max_input_chars]), sampling, None, p.version) for i, _, p in jobs
    ]
    results = engine.complete(requests) if requests else []
    rewrites, failures = [], []
    for (i, name, prompt), result in zip(jobs, results):
        usage.add(result)
        if not result.ok or not result.text.strip():
            failures.append({"doc_id": ids[i], "task": name, "error": result.error or "empty answer"})
            continue
        rewrites.append(
            {
                "doc_id": doc_id_from_provenance("l3", ids[i], name, model, prompt.version),
                "parent_id": ids[i],
                "task": name,
                "model": model,
                "prompt_version": prompt.version,
                "text": result.text.strip(),
            }
        )
    return rewrites, failures


def refine_batch(
    engine,
    ids: list[str],
    texts: list[str],
    score_prompt: Prompt,
    tasks: dict[str, Prompt],
    config: L3Config,
    model: str,
    parallel: int = 1,
    on_scored: Callable[[int], None] | None = None,
) -> RefineOutput:
    out = RefineOutput()
    out.scores = score_documents(engine, ids, texts, score_prompt, config, out.usage, parallel, on_scored)
    chosen = [
        i
        for i, row in enumerate(out.scores)
        if row["llm_score"] is not None and row["llm_score"] >= config.rewrite_threshold
    ]
    out.rewrites, out.rewrite_failures = rewrite_documents(
        engine, [ids[i] for i in chosen], [texts[i] for i in chosen], tasks, config, model, out.usage
    )
    return out


STRONGER_MODEL_HINT = (
    "point the stage at a stronger model: serve one with `vllm serve Qwen/Qwen2.5-7B-Instruct --port 8000` "
    "(or use any OpenAI-compatible endpoint) and run with --set llm.engine=http "
    "--set 'llm.endpoints=[\"http://127.0.0.1:8000/v1\"]' --set llm.model=Qwen/Qwen2.5-7B-Instruct "
    "--set llm.structured_output=json_schema"
)


class CalibrationFailed(RuntimeError):
    """The scoring model gave the calibration documents scores that carry no signal."""


@dataclass(frozen=True)
class CalibrationDocument:
    text: str
    expected: str  # "high" or "low"


@dataclass(frozen=True)
class Calibration:
    """The model's scores (None: no usable answer) for each calibration document, in order."""

    documents: tuple[CalibrationDocument, ...]
    scores: tuple[int | None, ...]

    @property
    def summary(self) -> str:
        return ", ".join(f"{d.expected}: {'-' if s is None else s}" for d, s in zip(self.documents, self.scores))

    @property
    def ordered(self) -> bool:
        """Every high document scored above every low one."""
        high = [s for d, s in zip(self.documents, self.scores) if d.expected == "high" and s is not None]
        low = [s for d, s in zip(self.documents, self.scores) if d.expected == "low" and s is not None]
        return bool(high and low) and min(high) > max(low)


def load_calibration(path: str) -> tuple[CalibrationDocument, ...]:
    data = yaml.safe_load(read_project_text(path))
    return tuple(CalibrationDocument(d["text"], d["expected"]) for d in data["documents"])


def calibrate(
    engine, prompt: Prompt, config: L3Config, model: str, documents: tuple[CalibrationDocument, ...]
) -> Calibration:
    """Score the calibration documents; raises CalibrationFailed when the model gives them all the same
    score (or no usable answer): such a model's scores would select nothing, or everything, at random."""
    rows = score_documents(
        engine,
        [f"calibration-{i}" for i in range(len(documents))],
        [d.text for d in documents],
        prompt,
        config,
        Usage(),
        parallel=len(documents),
    )
    result = Calibration(documents, tuple(r["llm_score"] for r in rows))
    if len({s for s in result.scores if s is not None}) < 2:
        errors = {r["raw_answer"] for r in rows if r["status"] == "engine_error"}
        if errors:
            raise CalibrationFailed(f"the scoring engine failed on the calibration documents: {sorted(errors)[0]}")
        raise CalibrationFailed(
            f"{model} gave all {len(documents)} calibration documents of known quality the same score "
            f"({result.summary}), so its scores carry no signal; {STRONGER_MODEL_HINT}. "
            "To run the plumbing with this model anyway: --set l3.calibration=null"
        )
    return result


def check_calibration(
    config: TiersConfig, prompt: Prompt, endpoints: list[str], api_key: str | None, cache_path: str
) -> None:
    """The model scores the built-in calibration documents first; CalibrationFailed when it cannot tell them apart."""
    if config.l3.calibration is None:
        log.warning("l3.calibration is null: the model's scores are used without a calibration check")
        return
    if config.llm.engine == "vllm_offline":
        log.warning("calibration is skipped for engine vllm_offline (it would load the model on the driver too)")
        return
    engine = build_engine(config.llm, endpoints, cache_path, api_key)
    try:
        result = calibrate(engine, prompt, config.l3, config.llm.model, load_calibration(config.l3.calibration))
    finally:
        engine.close()
    if not result.ordered:
        log.warning(
            "%s does not score every high-quality calibration document above every low one (%s)",
            config.llm.model,
            result.summary,
        )
    else:
        log.info("calibration passed: %s", result.summary)
