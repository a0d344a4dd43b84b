"""The YAML that names candidate pools, default data, negatives and reference text for the loop."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError, model_validator

from classifiers.seeds import SeedSource, read_source
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


BenchmarkName = Literal[tuple(BENCHMARKS)]


class AcceptSettings(StrictModel):
    margin: float = 0.0
    top_k: int | None = None


class LoopSettings(StrictModel):
    model: Literal["tiny", "small", "base"] = "tiny"
    base_steps: int = 300
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
