"""The YAML that names candidate pools, default data, negatives and reference text for the loop."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from classifiers.seeds import SeedSource, read_source
from tiers.config import ConfigError


class LoopSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    model: Literal["tiny", "small", "base"] = "tiny"
    base_steps: int = 300
    anneal_steps: int = 60
    seeds: list[int] = [0, 1, 2]
    candidate_share: float = 0.3
    metric: Literal["reference_bpb", "benchmarks"] = "reference_bpb"
    rounds: int = 2
    device: str = "cpu"


class PoolsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
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
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None


def texts(sources: list[SeedSource], catalog) -> list[str]:
    return [t for source in sources for t in read_source(source, catalog)]
