"""`tiers classifier train | eval | score`: the fastText quality classifier outside the pipeline."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Optional

import numpy as np
import typer

from tiers.config import ConfigError, load_config
from tiers.exit_codes import EXIT_USAGE

app = typer.Typer(help="Train, evaluate and apply the fastText quality classifier.", no_args_is_help=True)


@dataclass(frozen=True)
class TrainOptions:
    root: str
    lang: str
    seeds: str | None
    config: str | None


DEFAULT_ROOT_SEEDS = "conf/seeds/root_en.yaml"


def _fail(message: str, code: int = EXIT_USAGE) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def train(
    root: str = typer.Option(..., help="data root (its catalog answers SQL seed sources; the model is stored there)"),
    lang: str = typer.Option("en", help="language of the model"),
    seeds: Optional[str] = typer.Option(
        None, help="seeds YAML (default: l2.seeds from the config, else conf/seeds/root_en.yaml)"
    ),
    config: Optional[str] = typer.Option(None, help="pipeline YAML (for l2.train settings)"),
) -> None:
    """Train a model from positive and negative seed sets; record hash, seeds and held-out metrics."""
    from classifiers.registry import train_language
    from classifiers.train import NotEnoughSeeds
    from tiers.catalog import Catalog

    options = TrainOptions(root, lang, seeds, config)
    try:
        cfg = load_config(options.config, [f"l2.seeds={options.seeds}"] if options.seeds else [])
        if cfg.l2.seeds is None:
            cfg = load_config(options.config, [f"l2.seeds={DEFAULT_ROOT_SEEDS}"])
        catalog = Catalog(options.root)
        catalog.migrate()
        spec = cfg.l2.models.get(options.lang)
        ref = train_language(catalog, cfg.l2, options.lang, spec.tokenizer if spec else "builtin")
    except (ConfigError, NotEnoughSeeds) as exc:
        _fail(str(exc))
    typer.echo(json.dumps({"lang": ref.lang, "path": ref.path, "model_hash": ref.model_hash, "metrics": ref.metrics}))


@app.command("eval")
def evaluate(
    model: str = typer.Option(..., help="fastText .bin"),
    positives: str = typer.Option(..., help="JSONL of positive documents"),
    negatives: str = typer.Option(..., help="JSONL of negative documents"),
    field: str = typer.Option("text", help="JSONL field holding the text"),
    tokenizer: str = typer.Option("builtin", help="builtin or a tokenizer.json"),
    threshold: float = typer.Option(0.5, help="score at or above which a document counts as positive"),
) -> None:
    """Precision, recall, F1 and ROC AUC of a model on labelled JSONL files."""
    from classifiers.evaluate import classification_metrics
    from classifiers.model import QualityModel

    qm = QualityModel(model, tokenizer)
    pos, neg = _read_jsonl(positives, field), _read_jsonl(negatives, field)
    scores = qm.score(pos + neg)
    labels = np.array([1] * len(pos) + [0] * len(neg))
    typer.echo(json.dumps(classification_metrics(scores, labels, threshold)))


@app.command()
def score(
    model: str = typer.Option(..., help="fastText .bin"),
    input: str = typer.Option(..., "--input", help="JSONL of documents"),
    field: str = typer.Option("text", help="JSONL field holding the text"),
    tokenizer: str = typer.Option("builtin", help="builtin or a tokenizer.json"),
) -> None:
    """Print each JSONL record with `quality_score` = p(pos) added."""
    from classifiers.model import QualityModel

    qm = QualityModel(model, tokenizer)
    with open(input, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    scores = qm.score([str(r.get(field, "")) for r in records])
    for record, value in zip(records, scores):
        record["quality_score"] = round(float(value), 6)
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


def _read_jsonl(path: str, field: str) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [str(json.loads(line).get(field, "")) for line in handle if line.strip()]
