"""Seed sets for classifier training: files or catalog queries, declared in YAML (conf/seeds/)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError, model_validator

from classifiers.shipped import shipped_seed_texts
from tiers.catalog import Catalog
from tiers.config import ConfigError
from tiers.resources import PROJECT, read_project_text
from tiers.validation import StrictModel
from tiers.validation import format_validation_error


class JsonValues(StrictModel):
    """A JSON object whose values are records; `field` names the text (e.g. ground-truth.json)."""

    path: str
    field: str


class JsonlField(StrictModel):
    path: str
    field: str = "text"


SOURCE_KINDS = ("json_values", "jsonl", "text_files", "sql", "shipped")


class SeedSource(StrictModel):
    json_values: JsonValues | None = None
    jsonl: JsonlField | None = None
    text_files: str | None = None
    sql: str | None = None
    shipped: Literal["openstax_en"] | None = None  # seed text inside the package (its train split)

    @model_validator(mode="after")
    def _exactly_one(self) -> "SeedSource":
        given = [k for k in SOURCE_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(SOURCE_KINDS)} (got {given or 'none'})")
        return self


class LanguageSeeds(StrictModel):
    positive: list[SeedSource]
    negative: list[SeedSource]


class SeedsConfig(StrictModel):
    languages: dict[str, LanguageSeeds]


def load_seeds(path: str | Path) -> SeedsConfig:
    """A seeds YAML: an absolute path, or a project file such as conf/seeds/bootstrap.yaml (also read from
    inside the spark-submit zip)."""
    source = Path(path)
    try:
        text = (
            source.read_text(encoding="utf-8")
            if source.is_absolute() or source.is_file()
            else read_project_text(str(path))
        )
        return SeedsConfig.model_validate(yaml.safe_load(text))
    except FileNotFoundError:
        raise ConfigError(f"seeds file not found: {source}") from None
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, SeedsConfig, f"seeds file {source}")) from None


def _resolve(path: str) -> Path:
    """Seed data paths are relative to the project folder in a source tree, else to the working directory
    (the code runs from a zip or an installed wheel)."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    base = PROJECT if PROJECT.is_dir() and (PROJECT / "conf").is_dir() else Path.cwd()
    return (base / candidate).resolve()


def source_path(source: SeedSource) -> Path | None:
    """The file (or, for text_files, the folder the glob runs in) a source reads; None for SQL."""
    if source.json_values:
        return _resolve(source.json_values.path)
    if source.jsonl:
        return _resolve(source.jsonl.path)
    if source.text_files:
        return _resolve(".")
    return None


def read_source(source: SeedSource, catalog: Catalog | None) -> list[str]:
    if source.shipped:
        return shipped_seed_texts("train")
    if source.json_values:
        data: dict[str, Any] = json.loads(_resolve(source.json_values.path).read_text(encoding="utf-8"))
        return [v[source.json_values.field] for v in data.values() if isinstance(v.get(source.json_values.field), str)]
    if source.jsonl:
        texts = []
        path = _resolve(source.jsonl.path)
        with (
            gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")
        ) as handle:
            for line in handle:
                value = json.loads(line).get(source.jsonl.field) if line.strip() else None
                if isinstance(value, str):
                    texts.append(value)
        return texts
    if source.text_files:
        return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(_resolve(".").glob(source.text_files))]
    if catalog is None:
        raise ConfigError("a sql seed source needs a catalog (--root)")
    _, rows = catalog.query(source.sql or "")
    return [r[0] for r in rows if isinstance(r[0], str)]


def collect(seeds: LanguageSeeds, catalog: Catalog | None) -> tuple[list[str], list[str]]:
    pos = [t for s in seeds.positive for t in read_source(s, catalog)]
    neg = [t for s in seeds.negative for t in read_source(s, catalog)]
    return pos, neg


def seeds_fingerprint(pos: list[str], neg: list[str]) -> str:
    digest = hashlib.sha256()
    for label, texts in (("pos", pos), ("neg", neg)):
        for text in sorted(texts):
            digest.update(label.encode())
            digest.update(text.encode("utf-8", "replace"))
    return digest.hexdigest()[:16]
