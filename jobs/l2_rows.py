"""What both L2 bodies compute, over Arrow batches: the scores of a batch, and the drop rows of the
documents not selected. The Spark body runs these inside mapInArrow, the local body in this process,
so both write the same values (down to the JSON of a drop's details)."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pyarrow as pa

from classifiers.model import QualityModel
from classifiers.registry import ModelRef
from tiers import schemas

SCORE_COLUMNS = pa.schema([f for f in schemas.L2_SCORES if f.name != "run_id"])
SELECT_STAGE = "quality_classifier"
BELOW_THRESHOLD, NO_MODEL = "below_quality_threshold", "no_model_for_language"


def route(lang: str | None, models: dict[str, ModelRef], fallback: str | None) -> str | None:
    """The model language for a document language: its own model, else the fallback, else none."""
    if lang in models:
        return lang
    return fallback if fallback in models else None


def score_batch(
    batch: pa.RecordBatch, loaded: dict[str, QualityModel], models: dict[str, ModelRef], fallback: str | None
) -> pa.RecordBatch:
    """`SCORE_COLUMNS` for a batch of (doc_id, lang, text): each document scored by its language's model."""
    ids = batch.column("doc_id")
    langs = batch.column("lang").to_pylist()
    texts = batch.column("text").to_pylist()
    routed = [route(lang, models, fallback) for lang in langs]
    scores = np.full(len(langs), np.nan)
    by_model: dict[str, list[int]] = defaultdict(list)
    for i, model_lang in enumerate(routed):
        if model_lang is not None:
            by_model[model_lang].append(i)
    for model_lang, rows in by_model.items():
        scores[rows] = loaded[model_lang].score([texts[i] for i in rows])
    return pa.RecordBatch.from_arrays(
        [
            ids.cast(pa.string()),
            pa.array(langs, pa.string()),
            pa.array(routed, pa.string()),
            pa.array([models[m].model_hash if m else None for m in routed], pa.string()),
            pa.array(scores, pa.float64(), mask=np.isnan(scores)),
        ],
        schema=SCORE_COLUMNS,
    )


def selected(scores: pa.Array, threshold: float, keep_unscored: bool) -> np.ndarray:
    """Which documents enter L2: score at or above the threshold; unscored ones only when kept by policy."""
    values = scores.to_numpy(zero_copy_only=False).astype(np.float64)
    unscored = np.isnan(values)
    return np.where(unscored, keep_unscored, np.nan_to_num(values, nan=-1.0) >= threshold)


def drop_batch(batch: pa.RecordBatch, threshold: float, run_id: str) -> pa.RecordBatch:
    """Drop rows for not-selected documents of a batch of (doc_id, lang, quality_score)."""
    langs = batch.column("lang").to_pylist()
    scores = batch.column("quality_score").to_pylist()
    reasons, details = [], []
    for lang, score in zip(langs, scores):
        reasons.append(NO_MODEL if score is None else BELOW_THRESHOLD)
        details.append(json.dumps({"lang": lang, "quality_score": score, "threshold": threshold}))
    n = batch.num_rows
    return pa.RecordBatch.from_arrays(
        [
            batch.column("doc_id").cast(pa.string()),
            pa.array([SELECT_STAGE] * n, pa.string()),
            pa.array(reasons, pa.string()),
            pa.array(details, pa.string()),
            pa.array([run_id] * n, pa.string()),
        ],
        schema=schemas.DROPS,
    )
