"""What the LLM stages (L2 to L3, L3 to L4) share around their Spark work: where the request cache and the
progress counters live, the endpoints and the managed server for the job's lifetime, the first log line
naming the model, the engine-error share that fails a job, and the usage summary for `llm_usage`."""

from __future__ import annotations

import collections
import contextlib
import json
import logging
from typing import Iterator

import pyarrow.compute as pc
import pyarrow.dataset as ds

from tiers.config import TiersConfig
from tiers.l3.refine import STRONGER_MODEL_HINT
from tiers.llm.local_model import smollm2_gguf
from tiers.llm.server import ManagedServer

log = logging.getLogger(__name__)

CACHE = "llm_cache/requests.sqlite"
PROGRESS = "llm_cache/progress"
DEFAULT_MODEL = "SmolLM2-135M-Instruct"


class EngineFailure(RuntimeError):
    """Too many documents ended in engine_error: the stage would commit the engine's failure as data."""


@contextlib.contextmanager
def engine_endpoints(
    config: TiersConfig, server: ManagedServer | None
) -> Iterator[tuple[list[str], str | None, ManagedServer | None]]:
    """The endpoints executors use, the API key they send, and the supervised server for `managed` (launched
    for the job's lifetime)."""
    if config.llm.engine != "managed":
        yield list(config.llm.endpoints), None, None
        return
    if server is not None:
        yield [server.url], server.api_key if server.keyed else None, server
        return
    spec = config.llm.server
    with ManagedServer(
        spec.command, spec.port, spec.health_path, spec.startup_timeout_s, model_path=spec.model_path or smollm2_gguf()
    ) as launched:
        yield [launched.url], launched.api_key if launched.keyed else None, launched


def check_server_identity(server: ManagedServer | None) -> None:
    """A managed server that was restarted and could not be verified: its answers do not count."""
    if server is not None and server.identity_failure:
        raise EngineFailure(f"answers cannot be trusted: {server.identity_failure}")


def announce_model(config: TiersConfig, stage: str) -> None:
    """The job's first line: which model answers, and whether it is the default plumbing model."""
    if config.llm.model == DEFAULT_MODEL:
        log.warning(
            "%s runs on %s, the default model: it is there to check the plumbing and is too small to judge "
            "quality (it tends to give every document the same score); for real data, %s",
            stage,
            DEFAULT_MODEL,
            STRONGER_MODEL_HINT,
        )
    else:
        log.info("%s runs on %s (engine %s)", stage, config.llm.model, config.llm.engine)


def check_engine_errors(scores_path: str, share_allowed: float, server: ManagedServer | None) -> int:
    """Number of engine_error documents; raises EngineFailure when their share is above `share_allowed`."""
    table = ds.dataset(scores_path, format="parquet").to_table(columns=["status", "raw_answer"])
    total = table.num_rows
    errors = table.filter(pc.equal(table.column("status"), "engine_error"))
    if not total or errors.num_rows / total <= share_allowed:
        if errors.num_rows:
            log.warning(
                "%d of %d documents ended in engine_error (allowed share %.0f%%); committing",
                errors.num_rows,
                total,
                share_allowed * 100,
            )
        return errors.num_rows
    cause = server.failure_summary() if server is not None else ""
    if not cause:
        answers = collections.Counter(a or "" for a in errors.column("raw_answer").to_pylist())
        cause = answers.most_common(1)[0][0][:300]
    raise EngineFailure(
        f"{errors.num_rows} of {total} documents ended in engine_error (more than {share_allowed:.0%} allowed): {cause}"
    )


def usage_summary(stats_rows: list[str], wall: float, gpus: float) -> dict[str, float]:
    merged: dict[str, float] = {}
    for details in stats_rows:
        for key, value in json.loads(details).items():
            merged[key] = merged.get(key, 0) + value
    tokens = merged.get("prompt_tokens", 0) + merged.get("completion_tokens", 0)
    tokens_per_s = tokens / wall if wall else 0.0
    return {
        "requests_sent": int(merged.get("sent", 0)),
        "cache_hits": int(merged.get("cache_hits", 0)),
        "prompt_tokens": int(merged.get("prompt_tokens", 0)),
        "completion_tokens": int(merged.get("completion_tokens", 0)),
        "wall_seconds": round(wall, 3),
        "tokens_per_second": round(tokens_per_s, 2),
        "gpu_hours_per_billion_tokens": round(1e9 / tokens_per_s / 3600 * gpus, 2) if tokens_per_s else None,
    }
