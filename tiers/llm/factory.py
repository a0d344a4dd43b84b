"""Build the configured engine (inside executors for HTTP, on the driver for vLLM offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from tiers.llm.cache import CachedEngine, RequestCache
from tiers.llm.http_client import OpenAIHttpEngine


class EngineSettings(Protocol):
    """What an engine is built from (config's LLMConfig has these fields)."""

    engine: str
    model: str
    concurrency: int
    timeout_s: float
    retries: int
    backoff_s: float
    structured_output: str
    offline_args: dict[str, Any]


def build_engine(
    config: EngineSettings, endpoints: list[str], cache_path: str | Path | None, api_key: str | None = None
):
    """The engine for `config`; `api_key` is the managed server's per-launch key (None for other endpoints)."""
    if config.engine == "vllm_offline":
        from tiers.llm.offline_vllm import VllmOfflineEngine

        engine = VllmOfflineEngine(config.model, **config.offline_args)
    else:
        engine = OpenAIHttpEngine(
            endpoints,
            config.model,
            config.concurrency,
            config.timeout_s,
            config.retries,
            config.backoff_s,
            config.structured_output,
            api_key,
        )
    return CachedEngine(engine, RequestCache(cache_path)) if cache_path else engine
