"""Typed configuration: YAML in conf/ validated into pydantic models, with `--set` overrides.

Layers, each merged key by key over the one before: the shipped defaults (`conf/pipeline.yaml`), a
`--config` file, then `--set section.key=value` assignments (a key with dots is quoted:
`--set 'spark.conf."spark.sql.shuffle.partitions"=8'`). Every error names the key path and what is
allowed, and is raised before any work starts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from tiers.llm.prompts import load_score_prompt
from tiers.ops.registry import OperatorModuleError, validate_step
from tiers.resources import read_project_text
from tiers.validation import FieldProblem, StrictModel, format_validation_error, load_yaml

DEFAULT_CONFIG = "conf/pipeline.yaml"


class ConfigError(ValueError):
    """A configuration key is unknown or its value is not allowed."""


Strict = StrictModel

MASTER = re.compile(r"^(local(\[(\d+|\*)(,\d+)?\])?|yarn|spark://[^\s/]+(,[^\s/]+)*|k8s://\S+|mesos://\S+)$")
MEMORY = re.compile(r"^\d+[kmgt]?$", re.IGNORECASE)
LOCAL_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
"""JVM options of a local-mode session: the C1 compiler only and the serial collector cut the JVM's own
CPU (start, JIT, GC threads) by 15-25 CPU-seconds per run up to 30,000 documents (bench/README.md, issue 17)."""


LARGE_INPUT_JAVA_OPTIONS = "-XX:+UseSerialGC"
"""JVM options of a local-mode session started for a stage that reads more than `large_input_bytes`: the
JVM's tiered JIT (C2 too) costs about 27 CPU-seconds more per run but 0.12 ms less per document at the
margin (dedup's JVM work), a break-even near 226,000 documents of the dense corpus, about 236 MB of
gzipped JSONL (bench/README.md, issue 32)."""


class SparkConfig(Strict):
    """`local_java_options` applies to local masters only, unless `conf` sets spark.driver.extraJavaOptions;
    a session started for a stage that reads more than `large_input_bytes` uses `large_input_java_options`
    instead (long runs, where C2-compiled code pays for its compile time).
    `class_archive_dir` holds the local JVMs' class-data archive (jobs/jvm_classes.py); null: none.
    `checkpoint_dir`: null keeps the rows a stage computes once as local checkpoints in the executors
    (cheapest; a lost executor fails the stage); a folder on storage every executor reaches keeps them
    there instead (reliable checkpoints, removed when the stage ends), so a run survives lost executors."""

    master: str | None = None
    app_name: str = "tiers"
    driver_memory: str = "4g"
    local_java_options: str = LOCAL_JAVA_OPTIONS
    large_input_java_options: str = LARGE_INPUT_JAVA_OPTIONS
    large_input_bytes: int = Field(256 * 1024 * 1024, ge=0)
    class_archive_dir: str | None = "~/.cache/tiers"
    bytes_per_partition: int = Field(64 * 1024 * 1024, gt=0)
    checkpoint_dir: str | None = None
    conf: dict[str, str] = Field(default_factory=dict)

    @field_validator("master")
    @classmethod
    def _master(cls, value: str | None) -> str | None:
        if value is not None and not MASTER.match(value):
            raise ValueError("allowed: local, local[N], local[*], spark://HOST:PORT, yarn, k8s://URL, mesos://URL")
        return value

    @field_validator("driver_memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        if not MEMORY.match(value):
            raise ValueError("allowed: a size such as 512m, 4g or 1t")
        return value

    @field_validator("conf", mode="before")
    @classmethod
    def _settings_as_text(cls, value: Any) -> Any:
        """Spark settings are strings; numbers and booleans from YAML are written as Spark reads them."""
        if isinstance(value, dict):
            return {
                k: str(v).lower() if isinstance(v, bool) else str(v) if isinstance(v, (int, float)) else v
                for k, v in value.items()
            }
        return value


class IngestConfig(Strict):
    html_extractor: Literal["resiliparse", "trafilatura"] = "resiliparse"
    max_record_bytes: int = Field(10 * 1024 * 1024, gt=0)
    text_field: str = "text"
    id_field: str | None = None


class StepConfig(Strict):
    """One L1 operator by name with its parameters; checked against the registry by L1Config."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class MinHashConfig(Strict):
    enabled: bool = True
    ngram: int = Field(5, ge=1)
    num_perm: int = Field(112, ge=8)
    bands: int = Field(22, ge=1)
    rows: int = Field(5, ge=1)
    threshold: float | None = Field(None, gt=0, lt=1)
    verify: Literal["exact", "signature", "none"] = "exact"
    jaccard_threshold: float = Field(0.7, gt=0, le=1)
    seed: int = 1
    max_cluster_comparisons: int = Field(20_000_000, ge=1)  # per component (tiers/dedup/clusters.py)

    @model_validator(mode="after")
    def _layout_fits(self) -> "MinHashConfig":
        if self.threshold is None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands * rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        return self


class DedupFlagsConfig(Strict):
    """What the job summary and `tiers report` flag: components above `component_size` documents, and
    sources (the `source` column, or a URL's domain) losing more than `source_drop_share` of their
    documents (of at least `source_min_docs`) to dedup."""

    component_size: int = Field(1000, ge=2)
    source_drop_share: float = Field(0.8, gt=0, le=1)
    source_min_docs: int = Field(20, ge=1)


class DedupConfig(Strict):
    exact: bool = True
    minhash: MinHashConfig = MinHashConfig()
    flags: DedupFlagsConfig = DedupFlagsConfig()


class L1Config(Strict):
    operator_modules: list[str] = Field(
        default_factory=list
    )  # extra modules whose @register'ed operators steps may name
    steps: list[StepConfig] = Field(default_factory=list)
    extra_steps: list[StepConfig] = Field(default_factory=list)  # run after `steps`, without restating them
    dedup: DedupConfig = DedupConfig()

    @model_validator(mode="after")
    def _known_operators(self) -> "L1Config":
        for key in ("steps", "extra_steps"):
            for index, step in enumerate(getattr(self, key)):
                try:
                    validate_step(step.name, step.params, self.operator_modules)
                except OperatorModuleError as exc:
                    raise FieldProblem(("operator_modules",), str(exc)) from None
                except ValueError as exc:
                    raise FieldProblem((key, index), str(exc)) from None
        return self

    @model_validator(mode="after")
    def _append_extra_steps(self) -> "L1Config":
        """`extra_steps` joins the end of `steps`, so what runs (and what a run's identity hashes) is the
        same as a configuration that restates every step; validating the result again changes nothing."""
        if self.extra_steps:
            object.__setattr__(self, "steps", [*self.steps, *self.extra_steps])
            object.__setattr__(self, "extra_steps", [])
        return self


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
    # Documents of a language no model scores: drop (stay in L1, dropped from L2 as no_model_for_language)
    # or keep (enter L2 unscored). Drop by default: L2's promise is "a quality model judged it".
    languages_without_model: Literal["drop", "keep"] = "drop"
    seeds: str | None = None  # null: the shipped models; a seeds file (conf/seeds/) trains the root's own
    train: ClassifierTrainConfig = ClassifierTrainConfig()


class ServerConfig(Strict):
    """A server the job launches and supervises (engine: managed)."""

    command: str = (
        "{python} -m llama_cpp.server --model {model_path} --host 127.0.0.1 --port {port} --n_ctx 4096 "
        "--api_key {api_key}"
    )
    model_path: str | None = None
    port: int | None = Field(None, gt=0, lt=65536)  # None: a free port picked at each start
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
    rewrite_threshold: int = Field(3, ge=0)  # on the score prompt's scale; its highest + 1 rewrites nothing
    tasks: list[str] = Field(default_factory=lambda: ["textbook", "wikipedia", "qa", "conversation"])
    temperature: float = Field(0.7, ge=0)
    max_tokens: int = Field(4096, ge=1)
    max_input_chars: int = Field(8000, ge=100)
    docs_per_partition: int = Field(
        64, ge=1
    )  # tasks = docs / this; each keeps llm.concurrency requests per endpoint in flight
    max_engine_error_share: float = Field(0.05, ge=0, le=1)  # above this share of engine_error documents the job fails
    # documents of known quality the model scores before the stage counts its scores (null: no check)
    calibration: str | None = "conf/prompts/edu_score_calibration_v1.yaml"


class L4InputConfig(Strict):
    """What L3 to L4 reads: the current L3 documents and, when `l2_min_llm_score` is set, the L2 documents
    whose L3 rubric score (l3_scores.llm_score) is at or above it."""

    l3: bool = True
    l2_min_llm_score: int | None = None  # on the scale of l3.score_prompt

    @model_validator(mode="after")
    def _reads_something(self) -> "L4InputConfig":
        if not self.l3 and self.l2_min_llm_score is None:
            raise ValueError("nothing to read: set l3: true or l2_min_llm_score (a score on l3.score_prompt's scale)")
        return self


class PassageConfig(Strict):
    min_tokens: int = Field(30, ge=1)
    max_tokens: int = Field(512, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> "PassageConfig":
        if self.min_tokens > self.max_tokens:
            raise ValueError(f"min_tokens ({self.min_tokens}) is above max_tokens ({self.max_tokens})")
        return self


class KnowledgePromptsConfig(Strict):
    """Versioned prompts (conf/prompts/); each begins with the passage, identical in all four."""

    facts: str = "conf/prompts/knowledge_facts_v1.yaml"
    qa: str = "conf/prompts/knowledge_qa_v1.yaml"
    answer: str = "conf/prompts/knowledge_answer_v1.yaml"
    support: str = "conf/prompts/knowledge_support_v2.yaml"


class GenerationConfig(Strict):
    kinds: list[Literal["fact", "qa"]] = Field(default_factory=lambda: ["fact", "qa"], min_length=1)
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(1024, ge=1)
    answer_max_tokens: int = Field(128, ge=1)
    parse_retries: int = Field(1, ge=0)  # a malformed answer is asked again this many times (new seed), then recorded


class VerifierConfig(Strict):
    """One independent re-solver: `extractive` (built in, no LLM) or `llm` (an engine; `llm: null` uses the
    `llm` section, else a full engine such as another model on another endpoint)."""

    name: str = Field(min_length=1)
    kind: Literal["extractive", "llm"]
    llm: LLMConfig | None = None

    @model_validator(mode="after")
    def _engine_for_llm_only(self) -> "VerifierConfig":
        if self.kind == "extractive" and self.llm is not None:
            raise ValueError("an extractive verifier takes no llm settings")
        return self


class SupportJudgeConfig(Strict):
    enabled: bool = True
    llm: LLMConfig | None = None  # null: the `llm` section


class L4Config(Strict):
    input: L4InputConfig = L4InputConfig()
    passages: PassageConfig = PassageConfig()
    prompts: KnowledgePromptsConfig = KnowledgePromptsConfig()
    generation: GenerationConfig = GenerationConfig()
    verifiers: list[VerifierConfig] = Field(
        default_factory=lambda: [
            VerifierConfig(name="extractive", kind="extractive"),
            VerifierConfig(name="llm", kind="llm"),
        ],
        min_length=1,
    )
    min_agree: int = Field(2, ge=1)  # m of the k verifiers must match the generated answer
    support_judge: SupportJudgeConfig = SupportJudgeConfig()
    f1_threshold: float = Field(0.6, gt=0, le=1)
    merge_threshold: float = Field(0.8, gt=0, le=1)
    eval_dir: str | None = "builtin"  # items with a 13-gram in these sets are flagged, never promoted
    docs_per_partition: int = Field(16, ge=1)
    max_engine_error_share: float = Field(0.05, ge=0, le=1)  # above this share of failed documents the job fails

    @model_validator(mode="after")
    def _verifiers(self) -> "L4Config":
        names = [v.name for v in self.verifiers]
        if len(set(names)) != len(names):
            raise FieldProblem(("verifiers",), f"names must be unique (got {', '.join(names)})")
        if self.min_agree > len(self.verifiers):
            raise FieldProblem(("min_agree",), f"must be at most the number of verifiers ({len(self.verifiers)})")
        return self


class TokensConfig(Strict):
    """The tokenizer that counts n_tokens in every tier: gguf:smollm2, gguf:PATH or PATH/tokenizer.json (tiers/tokens.py)."""

    tokenizer: str = "gguf:smollm2"
    count_l0: bool = False
    """Count L0's tokens at ingest as well. Off by default: nothing trains on L0, most of it is dropped
    before L1, and tokenizing raw text costs about 10x parsing it (bench/README.md, issue 17); L0's
    n_tokens is then null and every later tier counts its own."""


class EngineConfig(Strict):
    """Where ingest and L0 to L1 run (jobs/engine.py). `local`: in the calling process, without Spark;
    `spark`: on Spark; `auto`: local when no Spark session is running yet, the master is local and
    the stage's input is at most `local_max_bytes`, so a small run does not pay for a JVM. Later
    tiers always run on Spark."""

    kind: Literal["auto", "local", "spark"] = "auto"
    local_max_bytes: int = Field(256 * 1024 * 1024, ge=0)


class TiersConfig(Strict):
    engine: EngineConfig = EngineConfig()
    spark: SparkConfig = SparkConfig()
    ingest: IngestConfig = IngestConfig()
    l1: L1Config = L1Config()
    l2: L2Config = L2Config()
    llm: LLMConfig = LLMConfig()
    l3: L3Config = L3Config()
    l4: L4Config = L4Config()
    tokens: TokensConfig = TokensConfig()

    @model_validator(mode="after")
    def _managed_servers_on_their_own_ports(self) -> "TiersConfig":
        """A verifier or judge with its own managed server needs a port no other managed server uses."""
        ports = {self.llm.server.port: "llm"} if self.llm.engine == "managed" and self.llm.server.port else {}
        engines = [(("l4", "verifiers", i, "llm"), v.llm) for i, v in enumerate(self.l4.verifiers)]
        engines.append((("l4", "support_judge", "llm"), self.l4.support_judge.llm))
        for path, llm in engines:
            if llm is None or llm == self.llm or llm.engine != "managed" or llm.server.port is None:
                continue
            owner = ports.setdefault(llm.server.port, ".".join(map(str, path)))
            if owner != ".".join(map(str, path)):
                raise FieldProblem(
                    (*path, "server", "port"), f"port {llm.server.port} is already used by {owner}'s server"
                )
        return self

    @model_validator(mode="after")
    def _scores_on_the_rubric_scale(self) -> "TiersConfig":
        """l3.rewrite_threshold and l4.input.l2_min_llm_score are scores of the rubric that l3.score_prompt
        names, so its `scale` bounds them (the threshold may be one above the highest: rewrite nothing)."""
        try:
            low, high = load_score_prompt(self.l3.score_prompt).scale
        except (OSError, ValueError, KeyError, yaml.YAMLError) as exc:
            missing = "missing key " if isinstance(exc, KeyError) else ""
            raise FieldProblem(("l3", "score_prompt"), f"cannot read the rubric prompt: {missing}{exc}") from None
        bounds = [(("l3", "rewrite_threshold"), self.l3.rewrite_threshold, high + 1)]
        if self.l4.input.l2_min_llm_score is not None:
            bounds.append((("l4", "input", "l2_min_llm_score"), self.l4.input.l2_min_llm_score, high))
        for path, value, top in bounds:
            if not low <= value <= top:
                raise FieldProblem(path, f"{value} is off the scale of {self.l3.score_prompt}: allowed {low} to {top}")
        return self


def _key_path(key: str) -> list[str]:
    """`a.b."c.d"` -> ['a', 'b', 'c.d']: dots inside double quotes belong to the key."""
    parts, current, quoted = [], "", False
    for char in key:
        if char == '"':
            quoted = not quoted
        elif char == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    if quoted or not all(parts):
        raise ValueError('expected section.key (quote a key that has dots: spark.conf."spark.x.y")')
    return parts


def _apply_override(data: dict[str, Any], assignment: str) -> None:
    key, sep, raw = assignment.partition("=")
    try:
        if not sep or not key:
            raise ValueError("expected section.key=value")
        parts = _key_path(key.strip())
        value = load_yaml(raw) if raw else None
    except (ValueError, yaml.YAMLError) as exc:
        detail = str(exc).splitlines()[0]
        raise ConfigError(f"--set {assignment!r}: {detail}") from None
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {assignment!r}: {part} is not a section")
        node = child
    node[parts[-1]] = value


def merge(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """`layer` over `base`, key by key: mappings merge, anything else (lists included) replaces."""
    merged = dict(base)
    for key, value in layer.items():
        merged[key] = (
            merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def _read_yaml(text_of: Any, source: str) -> dict[str, Any]:
    try:
        data = load_yaml(text_of())
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {source}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {source} is a directory; give a YAML file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {source} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {source}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {' '.join(str(exc).split())}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: top level must be a mapping of sections ({', '.join(TiersConfig.model_fields)})")
    return data


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> TiersConfig:
    """The shipped defaults, a `--config` file merged over them, then `key=value` overrides; validated."""
    data = _read_yaml(lambda: read_project_text(DEFAULT_CONFIG), DEFAULT_CONFIG)
    if path:
        layer = _read_yaml(lambda: Path(path).read_text(encoding="utf-8"), str(path))
        if not set(layer) & set(TiersConfig.model_fields):
            raise ConfigError(
                f"{path} sets nothing tiers knows: its top-level keys must be among "
                f"{', '.join(TiersConfig.model_fields)} (got {', '.join(map(str, layer)) or 'nothing'})"
            )
        data = merge(data, layer)
    for assignment in overrides:
        _apply_override(data, assignment)
    try:
        return TiersConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, TiersConfig)) from None
