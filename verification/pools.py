"""The YAML that names candidate pools, default data, negatives and reference text for the loop."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError

from classifiers.seeds import SeedSource, read_source
from tiers.config import ConfigError
from tiers.validation import StrictModel, format_validation_error


class LoopSettings(StrictModel):
    model: Literal["tiny", "small", "base"] = "tiny"
    base_steps: int = 300
    anneal_steps: int = 60
    seeds: list[int] = [0, 1, 2]
    candidate_share: float = 0.3
    metric: Literal["reference_bpb", "benchmarks"] = "reference_bpb"
    rounds: int = 2
    device: str = "cpu"


class PoolsFile(StrictModel):
    pools: dict[str, list[SeedSource]]
    default: list[SeedSource]
    negatives: list[SeedSource]
    reference: list[SeedSource]
    loop: LoopSettings = LoopSettings()


def load_pools(path: str | Path) -> PoolsFile:
    try:
        return PoolsFile.model_validate(yaml.safe_load(Path(path).read_text()))
    except FileNotFoundError:
        raise ConfigError(f"pools file not found: {path}") from None
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, PoolsFile, f"pools file {path}")) from None


def texts(sources: list[SeedSource], catalog) -> list[str]:
    return [t for source in sources for t in read_source(source, catalog)]
