"""Train a fastText quality classifier with Ultra-FineWeb's settings on balanced, held-out-split seeds."""

from __future__ import annotations

import logging
import math
import multiprocessing
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifiers.evaluate import classification_metrics
from classifiers.model import NEGATIVE, POSITIVE, QualityModel, file_hash
from classifiers.preprocess import preprocess
from classifiers.tokenizers import load_tokenizer
from tiers.config import ClassifierTrainConfig

log = logging.getLogger(__name__)


MIN_HELD_OUT = 30  # per class: fewer make the held-out ROC AUC too noisy to judge a model by


class NotEnoughSeeds(ValueError):
    """Too few positive or negative seed documents to train and evaluate."""


@dataclass
class TrainedModel:
    path: str
    model_hash: str
    metrics: dict[str, float]
    train_counts: dict[str, int]
    params: dict[str, int | float]


def balanced_split(
    pos: list[str], neg: list[str], config: ClassifierTrainConfig
) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Downsample the larger class to the smaller one (and to max_per_class), shuffle, hold out a fraction."""
    rng = random.Random(config.seed)
    pos, neg = [t for t in pos if t and t.strip()], [t for t in neg if t and t.strip()]
    n = min(len(pos), len(neg))
    if config.max_per_class:
        n = min(n, config.max_per_class)
    if n < 4:
        raise NotEnoughSeeds(f"need at least 4 documents per class, have {len(pos)} positive and {len(neg)} negative")
    pos, neg = rng.sample(pos, n), rng.sample(neg, n)
    held = max(int(n * config.holdout_fraction), min(MIN_HELD_OUT, n // 4)) if config.holdout_fraction else 0
    train = [(1, t) for t in pos[held:]] + [(0, t) for t in neg[held:]]
    test = [(1, t) for t in pos[:held]] + [(0, t) for t in neg[:held]]
    rng.shuffle(train)
    return train, test


def _fit(train_file: str, out_path: str, params: dict, errors) -> None:
    import fasttext

    try:
        fasttext.train_supervised(input=train_file, verbose=0, **params).save_model(out_path)
    except Exception as exc:  # noqa: BLE001 - reported to the parent process
        errors.put(f"{type(exc).__name__}: {exc}")


def training_params(config: ClassifierTrainConfig, n_train: int) -> dict[str, int | float]:
    """fastText parameters for `n_train` documents: the configured ones, scaled to small seed sets when asked."""
    params = {
        "dim": config.dim,
        "lr": config.lr,
        "wordNgrams": config.word_ngrams,
        "minCount": config.min_count,
        "epoch": config.epoch,
        "bucket": config.bucket,
        "seed": config.seed,
        "thread": 1,
    }
    if config.scale_to_seeds and n_train:
        params["epoch"] = max(config.epoch, min(config.max_epoch, math.ceil(config.min_examples_seen / n_train)))
        if n_train < 10_000:
            params["minCount"] = 1
        params["bucket"] = min(config.bucket, max(50_000, 200 * n_train))
    return params


def fit_in_subprocess(train_file: str, out_path: Path, params: dict[str, int | float]) -> None:
    """fastText training in a fresh process: fasttext-numpy2 diverges (NaN) when a process trains
    more than twice, and a 2 GB model's memory is returned when the process ends."""
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    process = context.Process(target=_fit, args=(train_file, str(out_path), params, errors))
    process.start()
    process.join()
    if not errors.empty():
        raise RuntimeError(f"fastText training failed: {errors.get()}")
    if process.exitcode != 0:
        raise RuntimeError(f"fastText training process exited with code {process.exitcode}")


def train_classifier(
    pos: list[str], neg: list[str], out_path: str | Path, config: ClassifierTrainConfig, tokenizer: str = "builtin"
) -> TrainedModel:
    train, test = balanced_split(pos, neg, config)
    tok = load_tokenizer(tokenizer)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as handle:
        for label, text in train:
            handle.write(f"{POSITIVE if label else NEGATIVE} {preprocess(text, tok)}\n")
        train_file = handle.name
    params = training_params(config, len(train))
    try:
        fit_in_subprocess(train_file, out_path, params)
    finally:
        Path(train_file).unlink(missing_ok=True)
    metrics: dict[str, float] = {}
    if test:
        scored = QualityModel(out_path, tok)
        scores = scored.score([t for _, t in test])
        metrics = classification_metrics(scores, np.array([label for label, _ in test]))
    log.info("trained %s on %d documents with %s; held-out %s", out_path, len(train), params, metrics)
    return TrainedModel(str(out_path), file_hash(out_path), metrics, {"train": len(train), "test": len(test)}, params)
