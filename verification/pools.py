"""The YAML that names candidate pools, default data, negatives and reference text for the loop, and
where the default mixture and the control texts come from: the root's L1 when it is large enough."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError, field_validator, model_validator

from classifiers.seeds import SeedSource, read_source
from tiers.catalog.catalog import CatalogError
from tiers.config import ConfigError
from tiers.eval_overlap import BUILTIN, EvalIndex, build_index
from tiers.resources import read_project_text
from tiers.validation import FieldProblem, StrictModel, format_validation_error
from verification.benchmarks import BENCHMARKS
from verification.data import encode
from verification.experiment import VerifyConfig
from verification.loop import LoopConfig
from verification.ranking import AcceptRule
from verification.metrics import EvalMaterial, Metric, load_material
from verification.model import ModelConfig


log = logging.getLogger(__name__)
BenchmarkName = Literal[tuple(BENCHMARKS)]


class AcceptSettings(StrictModel):
    margin: float = 0.0
    top_k: int | None = None


class LoopSettings(StrictModel):
    model: Literal["tiny", "small", "base"] = "tiny"
    base_steps: int = 300
    base_seeds: list[int] = [0, 1]
    anneal_steps: int = 60
    seeds: list[int] = [0, 1, 2]
    candidate_share: float = 0.3
    metric: Metric = "benchmark_bpb"
    eval_dir: str = BUILTIN  # the sets shipped in tiers/assets/eval (OpenBookQA is not among them)
    benchmarks: list[BenchmarkName] = [name for name in BENCHMARKS if name != "openbookqa"]
    items_per_benchmark: int = 500
    accept: AcceptSettings = AcceptSettings()
    rounds: int = 2
    device: str = "cpu"

    @field_validator("base_seeds", "seeds")
    @classmethod
    def _at_least_two(cls, value: list[int]) -> list[int]:
        if len(value) < 2 or len(set(value)) != len(value):
            raise ValueError("needs at least two distinct seeds")
        return value

    def loop_config(self) -> LoopConfig:
        verify = VerifyConfig(
            tuple(self.seeds), self.candidate_share, self.anneal_steps, metric=self.metric, device=self.device
        )
        return LoopConfig(
            ModelConfig.preset(self.model),
            self.base_steps,
            verify,
            self.rounds,
            accept=AcceptRule(self.accept.margin, self.accept.top_k),
            base_seeds=tuple(self.base_seeds),
        )

    def material(self, reference_texts: list[str]) -> EvalMaterial:
        return load_material(
            self.metric,
            self.eval_dir,
            list(self.benchmarks),
            self.items_per_benchmark,
            encode(reference_texts) if self.metric == "reference_bpb" else None,
        )


class PoolsFile(StrictModel):
    pools: dict[str, list[SeedSource]]
    default: list[SeedSource]
    negatives: list[SeedSource]
    reference: list[SeedSource] = []  # held-out text, read only by metric reference_bpb
    loop: LoopSettings = LoopSettings()

    @model_validator(mode="after")
    def _reference_when_needed(self) -> "PoolsFile":
        if self.loop.metric == "reference_bpb" and not self.reference:
            raise FieldProblem(("reference",), "metric reference_bpb needs reference sources")
        return self


def load_pools(path: str | Path) -> PoolsFile:
    try:
        source = Path(path)
        text = source.read_text() if source.is_absolute() or source.is_file() else read_project_text(str(path))
        return PoolsFile.model_validate(yaml.safe_load(text))
    except FileNotFoundError:
        raise ConfigError(f"pools file not found: {path}") from None
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, PoolsFile, f"pools file {path}")) from None


def texts(sources: list[SeedSource], catalog) -> list[str]:
    return [t for source in sources for t in read_source(source, catalog)]


def eval_index(settings: LoopSettings) -> EvalIndex:
    """The 13-gram index of the evaluation folder the loop scores on (and keeps out of training)."""
    try:
        return build_index(settings.eval_dir)
    except FileNotFoundError:
        raise ConfigError(f"loop.eval_dir: no evaluation folder at {settings.eval_dir}") from None


def root_l1(catalog, max_bytes: int) -> list[str]:
    """Texts of the root's current L1 in a fixed random order (by hash of doc_id), up to `max_bytes` in
    all, so that a large L1 is never read whole into memory; none when the root has no L1 yet."""
    sql = (
        "SELECT text FROM (SELECT text, sum(strlen(text) + 1) OVER (ORDER BY hash(doc_id), doc_id) AS upto "
        f"FROM l1 WHERE text IS NOT NULL AND text <> '') WHERE upto <= {int(max_bytes)} ORDER BY upto"
    )
    try:
        _, rows = catalog.query(sql)
    except CatalogError:
        return []
    return [r[0] for r in rows if isinstance(r[0], str) and r[0]]


def default_mixture(l1: list[str], configured: list[str], budget_bytes: int) -> tuple[list[str], str]:
    """(default texts, where they come from): the root's L1 when it holds at least the base's budget, so
    that no base repeats its data; else the pools file's `default` sources, with a warning when those
    are smaller than the budget."""
    if sum(len(t.encode("utf-8", "replace")) + 1 for t in l1) >= budget_bytes:
        return l1, "root L1"
    size = sum(len(t.encode("utf-8", "replace")) + 1 for t in configured)
    if size < budget_bytes:
        log.warning(
            "default data: %d bytes for a base budget of %d: each base will repeat it %.1f times "
            "(neither the root's L1 nor the pools file's `default` holds the budget)",
            size,
            budget_bytes,
            budget_bytes / max(size, 1),
        )
    return configured, "pools file default"
