"""An OpenAI-compatible chat-completions client: several endpoints, bounded concurrency, timeouts,
retries with exponential back-off and jitter, JSON-schema structured output where supported."""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import httpx

from tiers.llm.engine import ChatRequest, ChatResult

log = logging.getLogger(__name__)

StructuredOutput = Literal["json_schema", "json_object", "none"]
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIHttpEngine:
    def __init__(
        self,
        endpoints: list[str],
        model: str,
        concurrency: int = 4,
        timeout_s: float = 120.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        structured_output: StructuredOutput = "json_schema",
        api_key: str | None = None,
    ):
        if not endpoints:
            raise ValueError("at least one endpoint is needed")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self.model = model
        self.concurrency = concurrency
        self.retries = retries
        self.backoff_s = backoff_s
        self.structured_output = structured_output
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {api_key}"} if api_key else None,
            timeout=httpx.Timeout(timeout_s, connect=10.0),
            limits=httpx.Limits(max_connections=concurrency * len(self.endpoints)),
        )
        self._next = itertools.cycle(range(len(self.endpoints)))
        self._lock = threading.Lock()
        self._down_until: dict[str, float] = {}
        self.requests_sent = 0

    def _endpoint(self, avoid: str | None = None) -> str:
        """Round-robin over endpoints, skipping those that failed recently and the one that just failed."""
        with self._lock:
            self.requests_sent += 1
            now = time.monotonic()
            for _ in range(len(self.endpoints)):
                endpoint = self.endpoints[next(self._next)]
                if endpoint != avoid and self._down_until.get(endpoint, 0) <= now:
                    return endpoint
            return self.endpoints[next(self._next)]

    def _mark_down(self, endpoint: str) -> None:
        with self._lock:
            self._down_until[endpoint] = time.monotonic() + max(self.backoff_s, 1.0) * 5

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        s = request.sampling
        body: dict[str, Any] = {
            "model": self.model,
            "messages": request.payload_messages(),
            "temperature": s.temperature,
            "max_tokens": s.max_tokens,
            "top_p": s.top_p,
        }
        if s.seed is not None:
            body["seed"] = s.seed
        if request.json_schema is not None and self.structured_output == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": request.json_schema},
            }
        elif request.json_schema is not None and self.structured_output == "json_object":
            body["response_format"] = {"type": "json_object", "schema": request.json_schema}
        return body

    def complete_one(self, request: ChatRequest) -> ChatResult:
        body = self._body(request)
        error = "no attempt made"
        failed: str | None = None
        for attempt in range(1, self.retries + 2):
            endpoint = self._endpoint(avoid=failed)
            start = time.perf_counter()
            try:
                response = self._client.post(f"{endpoint}/chat/completions", json=body)
                if response.status_code in RETRYABLE_STATUS:
                    error = f"{endpoint}: HTTP {response.status_code}: {response.text[:200]}"
                    failed = endpoint
                elif response.status_code >= 400:
                    return ChatResult(
                        "", error=f"{endpoint}: HTTP {response.status_code}: {response.text[:500]}", attempts=attempt
                    )
                else:
                    data = response.json()
                    usage = data.get("usage") or {}
                    return ChatResult(
                        data["choices"][0]["message"].get("content") or "",
                        prompt_tokens=int(usage.get("prompt_tokens", 0)),
                        completion_tokens=int(usage.get("completion_tokens", 0)),
                        seconds=time.perf_counter() - start,
                        attempts=attempt,
                    )
            except httpx.TransportError as exc:
                error = f"{endpoint}: {type(exc).__name__}: {exc}"
                failed = endpoint
                if len(self.endpoints) > 1:
                    self._mark_down(endpoint)
            except (ValueError, KeyError) as exc:
                error = f"{endpoint}: malformed response: {type(exc).__name__}: {exc}"
            if attempt <= self.retries:
                delay = self.backoff_s * (2 ** (attempt - 1)) * (0.5 + random.random())
                log.warning("request failed (%s); retry %d/%d in %.1fs", error, attempt, self.retries, delay)
                time.sleep(delay)
        return ChatResult("", error=f"failed after {self.retries + 1} attempts: {error}", attempts=self.retries + 1)

    def complete(self, requests: list[ChatRequest]) -> list[ChatResult]:
        if len(requests) <= 1:
            return [self.complete_one(r) for r in requests]
        workers = max(1, min(len(requests), self.concurrency * len(self.endpoints)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self.complete_one, requests))

    def close(self) -> None:
        self._client.close()
