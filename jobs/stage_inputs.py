"""What each stage's two bodies read (jobs/engine.py's `Body` protocol): one frozen record per stage,
built by the job, so the local and the Spark body of a stage are called the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from classifiers.registry import ModelRef
    from tiers.config import TiersConfig
    from tiers.io.formats import InputFile


@dataclass(frozen=True)
class IngestInputs:
    """The files to read, and the current L0 outputs this run does not replace (ids found there are not
    written again)."""

    config: TiersConfig
    files: list[InputFile]
    existing: list[str]


@dataclass(frozen=True)
class FilterInputs:
    """The L0 output folders the operators read, and their size on disk."""

    config: TiersConfig
    paths: list[str]
    l0_bytes: int


@dataclass(frozen=True)
class DedupInputs:
    """The `filtered` output to deduplicate, its size, and the dedup indexes of the L1 runs it is
    deduplicated against."""

    config: TiersConfig
    source: str
    bytes_in: int
    references: list[str]


@dataclass(frozen=True)
class ScoreInputs:
    """The L1 output to score, the model of each language, and the language of documents without one."""

    source: str
    models: dict[str, ModelRef]
    fallback: str | None


@dataclass(frozen=True)
class SelectInputs:
    """The L1 output and its scores; the threshold is `config.l2.threshold`."""

    config: TiersConfig
    source: str
    scores_path: str
    keep_unscored: bool
