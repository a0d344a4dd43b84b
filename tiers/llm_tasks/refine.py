"""L3 work on a batch of documents, engine-agnostic: rubric scoring with retries on unparseable
answers, then rewriting of the documents that score at or above the threshold."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tiers.config import L3Config
from tiers.ids import doc_id_from_provenance
from tiers.llm.engine import ChatRequest, ChatResult, Sampling, Usage
from tiers.llm_tasks.parsing import parse_score
from tiers.llm_tasks.prompts import Prompt


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
    engine, ids: list[str], texts: list[str], prompt: Prompt, config: L3Config, usage: Usage, parallel: int = 1
) -> list[dict[str, Any]]:
    """Score every document; an unparseable answer is asked again at once (new seed), then recorded as failed.

    Documents run concurrently, each with its own retries, so one slow answer never holds back the rest.
    """
    lock = threading.Lock()

    def one(i: int) -> dict[str, Any]:
        result = ChatResult("", error="not sent")
        for attempt in range(config.parse_retries + 1):
            result = engine.complete(score_requests([texts[i]], prompt, config, attempt))[0]
            with lock:
                usage.add(result)
            parsed = parse_score(result.text) if result.ok else None
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
        return list(pool.map(one, range(len(ids))))


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
) -> RefineOutput:
    out = RefineOutput()
    out.scores = score_documents(engine, ids, texts, score_prompt, config, out.usage, parallel)
    chosen = [
        i
        for i, row in enumerate(out.scores)
        if row["llm_score"] is not None and row["llm_score"] >= config.rewrite_threshold
    ]
    out.rewrites, out.rewrite_failures = rewrite_documents(
        engine, [ids[i] for i in chosen], [texts[i] for i in chosen], tasks, config, model, out.usage
    )
    return out
