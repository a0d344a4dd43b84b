"""Typed configuration: YAML in conf/ validated into pydantic models, with `--set` overrides.

Every error names the key path and what is allowed, and is raised before any work starts.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from tiers.resources import read_project_text
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_CONFIG = "conf/pipeline.yaml"


class ConfigError(ValueError):
    """A configuration key is unknown or its value is not allowed."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SparkConfig(Strict):
    master: str | None = None
    app_name: str = "tiers"
    driver_memory: str = "4g"
    bytes_per_partition: int = Field(64 * 1024 * 1024, gt=0)
    conf: dict[str, str] = Field(default_factory=dict)


class IngestConfig(Strict):
    html_extractor: Literal["resiliparse", "trafilatura"] = "resiliparse"
    max_record_bytes: int = Field(10 * 1024 * 1024, gt=0)
    text_field: str = "text"
    id_field: str | None = None


class StepConfig(Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_operator(self) -> "StepConfig":
        from tiers.ops.registry import validate_step

        validate_step(self.name, self.params)
        return self


class MinHashConfig(Strict):
    enabled: bool = True
    ngram: int = Field(5, ge=1)
    num_perm: int = Field(112, ge=8)
    bands: int = Field(14, ge=1)
    rows: int = Field(8, ge=1)
    threshold: float | None = Field(None, gt=0, lt=1)
    verify: Literal["exact", "signature", "none"] = "exact"
    jaccard_threshold: float = Field(0.7, gt=0, le=1)
    seed: int = 1

    @model_validator(mode="after")
    def _layout_fits(self) -> "MinHashConfig":
        if self.threshold is None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands * rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        return self


class DedupConfig(Strict):
    exact: bool = True
    minhash: MinHashConfig = MinHashConfig()


class L1Config(Strict):
    steps: list[StepConfig] = Field(default_factory=list)
    dedup: DedupConfig = DedupConfig()


class ClassifierTrainConfig(Strict):
    dim: int = 256
    lr: float = 0.1
    word_ngrams: int = 3
    min_count: int = 5
    epoch: int = 3
    bucket: int = Field(2_000_000, ge=1000)
    holdout_fraction: float = Field(0.1, ge=0, lt=1)
    max_per_class: int | None = None
    seed: int = 42
    # Ultra-FineWeb's settings assume millions of seeds; with a few hundred, 3 epochs over 2M buckets
    # learn nothing. When scaling, epochs rise until training sees `min_examples_seen` examples (at most
    # `max_epoch`), rare words count (minCount 1) and the hash table shrinks to the data.
    scale_to_seeds: bool = True
    min_examples_seen: int = Field(15_000, ge=0)
    max_epoch: int = Field(50, ge=1)


class LanguageModelConfig(Strict):
    path: str | None = None
    tokenizer: str = "builtin"

    @field_validator("tokenizer")
    @classmethod
    def _tokenizer_kind(cls, value: str) -> str:
        if value != "builtin" and not value.endswith(".json"):
            raise ValueError("allowed: 'builtin' or a path to a Hugging Face tokenizer.json")
        return value


class L2Config(Strict):
    threshold: float = Field(0.5, ge=0, le=1)
    min_auc: float = Field(0.7, ge=0, le=1)  # a trained model below this held-out ROC AUC fails the job
    min_score_spread: float = Field(0.05, ge=0, le=1)  # p95 - p5 of a model's corpus scores below this fails the job
    models: dict[str, LanguageModelConfig] = Field(default_factory=dict)
    fallback_language: str | None = None
    seeds: str = "conf/seeds/bootstrap.yaml"
    train: ClassifierTrainConfig = ClassifierTrainConfig()


class ServerConfig(Strict):
    """A server the job launches and supervises (engine: managed)."""

    command: str = "{python} -m llama_cpp.server --model {model_path} --host 127.0.0.1 --port {port} --n_ctx 4096"
    model_path: str | None = None
    port: int = Field(8089, gt=0, lt=65536)
    startup_timeout_s: float = Field(180, gt=0)
    health_path: str = "/v1/models"


class LLMConfig(Strict):
    engine: Literal["http", "managed", "vllm_offline"] = "managed"
    model: str = "SmolLM2-135M-Instruct"
    endpoints: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8089/v1"])
    concurrency: int = Field(4, ge=1)
    timeout_s: float = Field(300, gt=0)
    retries: int = Field(3, ge=0)
    backoff_s: float = Field(1.0, ge=0)
    structured_output: Literal["json_schema", "json_object", "none"] = "json_object"
    gpus_per_endpoint: float = Field(1.0, ge=0)
    server: ServerConfig = ServerConfig()
    offline_args: dict[str, Any] = Field(default_factory=dict)


class L3Config(Strict):
    score_prompt: str = "conf/prompts/edu_score_v1.yaml"
    rewrite_prompts: str = "conf/prompts/rewrite_v1.yaml"
    score_max_tokens: int = Field(256, ge=1)
    score_temperature: float = Field(0.0, ge=0)
    parse_retries: int = Field(2, ge=0)
    rewrite_threshold: int = Field(3, ge=0, le=6)
    tasks: list[str] = Field(default_factory=lambda: ["textbook", "wikipedia", "qa", "conversation"])
    temperature: float = Field(0.7, ge=0)
    max_tokens: int = Field(4096, ge=1)
    max_input_chars: int = Field(8000, ge=100)
    docs_per_partition: int = Field(64, ge=1)  # tasks = docs / this; each keeps llm.concurrency requests per endpoint in flight
    max_engine_error_share: float = Field(0.05, ge=0, le=1)  # above this share of engine_error documents the job fails


class TiersConfig(Strict):
    spark: SparkConfig = SparkConfig()
    ingest: IngestConfig = IngestConfig()
    l1: L1Config = L1Config()
    l2: L2Config = L2Config()
    llm: LLMConfig = LLMConfig()
    l3: L3Config = L3Config()

    def section_hash(self, *sections: str) -> str:
        """Stable hash of the named sections, used to recognise an identical job configuration."""
        payload = {name: self.model_dump(mode="json")[name] for name in sections}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    model: Any = TiersConfig
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return sorted(getattr(model, "model_fields", {}))


def _format_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        path = ".".join(str(p) for p in loc) or "<root>"
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc)
            lines.append(f"{path}: unknown key; allowed keys here: {', '.join(allowed)}")
        else:
            message = item["msg"].removeprefix("Value error, ")
            lines.append(f"{path}: {message} (got {item.get('input')!r})")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _apply_override(data: dict[str, Any], assignment: str) -> None:
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {assignment!r}: expected section.key=value")
    value = yaml.safe_load(raw) if raw else None
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {assignment!r}: {part} is not a section")
        node = child
    node[parts[-1]] = value


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> TiersConfig:
    """Load YAML (the project default when no path is given), apply `key=value` overrides, validate."""
    source = Path(path) if path else Path(DEFAULT_CONFIG)
    try:
        data = yaml.safe_load(source.read_text() if path else read_project_text(DEFAULT_CONFIG)) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {source}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping of sections")
    for assignment in overrides:
        _apply_override(data, assignment)
    try:
        return TiersConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None
