"""What every engine takes and returns."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.7
    max_tokens: int = 4096
    top_p: float = 1.0
    seed: int | None = 0


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[tuple[str, str], ...]
    sampling: Sampling = Sampling()
    json_schema: dict[str, Any] | None = None
    prompt_version: str = ""

    def payload_messages(self) -> list[dict[str, str]]:
        return [{"role": role, "content": content} for role, content in self.messages]

    def cache_key(self, model: str) -> str:
        """Hash of model, prompt version, messages and sampling settings: equal keys, equal answers."""
        blob = json.dumps(
            {
                "model": model,
                "prompt": self.prompt_version,
                "messages": self.messages,
                "sampling": asdict(self.sampling),
                "schema": self.json_schema,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class ChatResult:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cached: bool = False
    error: str | None = None
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Usage:
    """Requests, tokens and engine seconds summed over results."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    engine_seconds: float = 0.0

    def add(self, result: ChatResult) -> None:
        self.requests += 1
        self.prompt_tokens += result.prompt_tokens
        self.completion_tokens += result.completion_tokens
        self.engine_seconds += result.seconds


class Engine(Protocol):
    model: str

    def complete(self, requests: list[ChatRequest]) -> list[ChatResult]:
        """One result per request, in order; failures are results with `error` set, never exceptions."""

    def close(self) -> None: ...
