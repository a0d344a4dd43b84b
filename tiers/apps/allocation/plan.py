"""The training plan (`conf/allocation.yaml`) validated into frozen typed objects.

A plan lists training stages in their canonical order (a subset of pretrain, decay, midtrain, sft,
rl). Each stage has a token budget (absolute `tokens`, a `share` of the tokens its sources hold, or a
`share` of another stage's budget with `of_stage`), an order policy and sources with weights. A source
draws from documents by their *home tier* (the highest document tier a document reached: an L2
document is not also drawn as L1; name both tiers to draw from L1 as a whole) and, for L1/L2, from
quality buckets. Caps bound the epochs of one document across all stages, per home tier.
Errors name the key path and what is allowed, like `conf/pipeline.yaml`'s.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from tiers.resources import read_project_text
from tiers.validation import FieldProblem, StrictModel, format_validation_error, load_yaml
from tiers.names import L1, L2, L3, L4

STAGE_ORDER = ("pretrain", "decay", "midtrain", "sft", "rl")
ALLOCATABLE_TIERS = (L1, L2, L3, L4)
BUCKETED_TIERS = (L1, L2)
# Published defaults: real web data at most 4 epochs (Muennighoff et al. 2023, "Scaling Data-Constrained
# Language Models"); LLM rewrites at most 2 (Nemotron-CC repeats its synthetic data less than real data).
DEFAULT_CAPS = {"L1": 4.0, "L2": 4.0, "L3": 2.0, "L4": 4.0}
DEFAULT_PLAN = "conf/allocation.yaml"


class PlanError(ValueError):
    """The plan file is missing, not YAML, or a key has a value that is not allowed."""


class BucketsSpec(StrictModel):
    """Quality buckets: `count` equal token-weighted percentile ranges of quality_score, or explicit
    increasing percentile `edges` in (0, 1) (n edges make n + 1 buckets). Bucket 0 is the lowest."""

    count: int = Field(20, ge=1, le=1000)
    edges: list[float] | None = None

    @model_validator(mode="after")
    def _edges(self) -> "BucketsSpec":
        if self.edges is not None:
            if any(not 0 < e < 1 for e in self.edges):
                raise FieldProblem(("edges",), "every edge must lie strictly between 0 and 1")
            if any(b <= a for a, b in zip(self.edges, self.edges[1:])):
                raise FieldProblem(("edges",), "edges must increase")
        return self

    def resolved_edges(self) -> list[float]:
        return list(self.edges) if self.edges is not None else [i / self.count for i in range(1, self.count)]

    @property
    def n_buckets(self) -> int:
        return len(self.resolved_edges()) + 1


class Budget(StrictModel):
    """Exactly one of: `tokens`; `share` (of the unique tokens the stage's sources hold); `share` with
    `of_stage` (of an earlier stage's budget)."""

    tokens: int | None = Field(None, gt=0)
    share: float | None = Field(None, gt=0)
    of_stage: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> "Budget":
        if (self.tokens is None) == (self.share is None):
            raise FieldProblem((), "give exactly one of tokens or share")
        if self.of_stage is not None and self.share is None:
            raise FieldProblem(("of_stage",), "of_stage needs a share")
        return self


class Source(StrictModel):
    name: str = Field(min_length=1)
    tiers: list[Literal["L1", "L2", "L3", "L4"]] = Field(min_length=1)
    buckets: list[int] | None = None
    weight: float = Field(gt=0)

    @model_validator(mode="after")
    def _buckets_on_scored_tiers(self) -> "Source":
        if len(set(self.tiers)) != len(self.tiers):
            raise FieldProblem(("tiers",), "a tier is named twice")
        if self.buckets is not None:
            if not self.buckets:
                raise FieldProblem(("buckets",), "give at least one bucket, or leave buckets out for all")
            unscored = [t for t in self.tiers if t not in BUCKETED_TIERS]
            if unscored:
                raise FieldProblem(
                    ("buckets",), f"buckets apply to L1 and L2 only (quality_score); {', '.join(unscored)} has none"
                )
        return self

    def overlaps(self, other: "Source") -> bool:
        if not set(self.tiers) & set(other.tiers):
            return False
        return self.buckets is None or other.buckets is None or bool(set(self.buckets) & set(other.buckets))


class Stage(StrictModel):
    name: Literal["pretrain", "decay", "midtrain", "sft", "rl"]
    budget: Budget
    order: Literal["shuffle", "curriculum"] | None = None  # None: the plan's order
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct_sources(self) -> "Stage":
        names = [s.name for s in self.sources]
        for i, source in enumerate(self.sources):
            if source.name in names[:i]:
                raise FieldProblem(("sources", i, "name"), f"source {source.name!r} is named twice in this stage")
            for earlier in self.sources[:i]:
                if source.overlaps(earlier):
                    raise FieldProblem(
                        ("sources", i),
                        f"{source.name!r} draws documents that {earlier.name!r} also draws "
                        "(same tier, overlapping buckets); split them by buckets or tiers",
                    )
        return self


class Provenance(StrictModel):
    """Where a plan written by `tiers allocate --search` came from: the search (its trials are in the
    catalog's `mixture_trials` view), the stage it set, and the verified gain of its mixture over the
    plan the search started from (`delta` with its interval at `confidence`, in units of `metric`)."""

    search_id: str = Field(min_length=1)
    stage: Literal["pretrain", "decay", "midtrain", "sft", "rl"]
    metric: str
    delta: float
    ci_low: float
    ci_high: float
    confidence: float = Field(gt=0, lt=1)
    baseline_plan: str  # plan_hash of the plan the search started from


class Plan(StrictModel):
    seed: int = 0
    order: Literal["shuffle", "curriculum"] = "shuffle"
    buckets: BucketsSpec = BucketsSpec()
    caps: dict[Literal["L1", "L2", "L3", "L4"], float] = Field(default_factory=lambda: dict(DEFAULT_CAPS))
    l4_stages: list[Literal["pretrain", "decay", "midtrain", "sft", "rl"]] = Field(
        default_factory=lambda: ["midtrain", "sft", "rl"]
    )
    min_decay_share: float = Field(0.10, ge=0, le=1)  # decay tokens >= this share of pretrain tokens
    eval_dir: str | None = "builtin"  # documents with a 13-gram in these sets are never allocated
    overlap_ngram: int = Field(13, ge=3)
    stages: list[Stage] = Field(min_length=1)
    provenance: Provenance | None = None  # set by `tiers allocate --search`

    @model_validator(mode="after")
    def _stages(self) -> "Plan":
        caps = {**DEFAULT_CAPS, **self.caps}
        object.__setattr__(self, "caps", caps)
        for tier, cap in caps.items():
            if not cap > 0:
                raise FieldProblem(("caps", tier), f"must be > 0 (got {cap})")
        names = [s.name for s in self.stages]
        for i, stage in enumerate(self.stages):
            if stage.name in names[:i]:
                raise FieldProblem(("stages", i, "name"), f"stage {stage.name!r} is listed twice")
            earlier = names[:i]
            if earlier and STAGE_ORDER.index(stage.name) < STAGE_ORDER.index(earlier[-1]):
                raise FieldProblem(
                    ("stages", i, "name"),
                    f"stages run in the order {', '.join(STAGE_ORDER)}; {stage.name!r} cannot follow {earlier[-1]!r}",
                )
            ref = stage.budget.of_stage
            if ref is not None and ref not in earlier:
                raise FieldProblem(
                    ("stages", i, "budget", "of_stage"),
                    f"must name an earlier stage (earlier: {', '.join(earlier) or 'none'})",
                )
            for j, source in enumerate(stage.sources):
                if "L4" in source.tiers and stage.name not in self.l4_stages:
                    raise FieldProblem(
                        ("stages", i, "sources", j, "tiers"),
                        f"L4 items are allowed only in {', '.join(self.l4_stages)} (l4_stages), not in {stage.name}",
                    )
                for bucket in source.buckets or []:
                    if not 0 <= bucket < self.buckets.n_buckets:
                        raise FieldProblem(
                            ("stages", i, "sources", j, "buckets"),
                            f"bucket {bucket} does not exist: buckets are 0 to {self.buckets.n_buckets - 1}",
                        )
        if self.provenance is not None and self.provenance.stage not in names:
            raise FieldProblem(("provenance", "stage"), f"must name a stage of this plan ({', '.join(names)})")
        if "decay" in names and "pretrain" in names:
            decay, pretrain = self.stage("decay").budget, self.stage("pretrain").budget
            if (
                decay.tokens is not None
                and pretrain.tokens is not None
                and decay.tokens < self.min_decay_share * pretrain.tokens
            ):
                raise FieldProblem(
                    ("stages", names.index("decay"), "budget", "tokens"),
                    f"decay must be at least min_decay_share {self.min_decay_share} of pretrain's "
                    f"{pretrain.tokens} tokens (got {decay.tokens})",
                )
            if decay.of_stage == "pretrain" and decay.share < self.min_decay_share:
                raise FieldProblem(
                    ("stages", names.index("decay"), "budget", "share"),
                    f"decay must be at least min_decay_share {self.min_decay_share} of pretrain (got {decay.share})",
                )
        return self

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    def order_of(self, stage: Stage) -> str:
        return stage.order or self.order

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def plan_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:16]


def parse_plan(data: object, where: str = "plan") -> Plan:
    if not isinstance(data, dict):
        raise PlanError(f"{where}: top level must be a mapping with keys {', '.join(Plan.model_fields)}")
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(format_validation_error(exc, Plan, where=f"invalid plan {where}")) from None


def write_plan(plan: Plan, path: str | Path) -> Path:
    """The plan as YAML that `load_plan` reads back to an equal plan."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(plan.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
    return path


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file; every problem is a PlanError naming the key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        try:  # a project path such as the default conf/allocation.yaml, also inside an installed package
            text = read_project_text(str(path)) if not path.is_absolute() else ""
        except FileNotFoundError:
            text = ""
        if not text:
            raise PlanError(f"plan file not found: {path}") from None
    except OSError as exc:
        raise PlanError(f"cannot read plan file {path}: {exc.strerror}") from None
    try:
        data = load_yaml(text)
    except Exception as exc:  # yaml.YAMLError and the duplicate-key ConstructorError
        raise PlanError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    return parse_plan(data, str(path))
