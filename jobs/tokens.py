"""`n_tokens` for a tier's rows, counted inside the executors in Arrow batches (`mapInArrow`).

One call before a job writes its tier: `frame = with_token_counts(frame, spec)`. A frame that already
has `n_tokens` (L2 inherits L1's) is returned unchanged, so counting happens once per text.
"""

from __future__ import annotations

import logging
from typing import Iterator

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StructField, StructType

from tiers import schemas
from jobs.token_spec import can_count_tokens
from tiers.tokens import DEFAULT_TOKENIZER, count_tokens

TOKENS_COLUMN = schemas.N_TOKENS.name
log = logging.getLogger(__name__)


def _count_batches(batches: Iterator[pa.RecordBatch], spec: str, text_column: str) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        counts = count_tokens(batch.column(text_column).to_pylist(), spec)
        yield pa.RecordBatch.from_arrays(
            [*batch.columns, pa.array(counts, pa.int64())], names=[*batch.schema.names, TOKENS_COLUMN]
        )


def without_token_counts(frame: DataFrame) -> DataFrame:
    """`frame` plus an empty `n_tokens`, so a tier written without counting keeps its schema."""
    return frame.withColumn(TOKENS_COLUMN, F.lit(None).cast(LongType()))


def with_token_counts(frame: DataFrame, spec: str = DEFAULT_TOKENIZER, text_column: str = "text") -> DataFrame:
    """`frame` plus `n_tokens` (tokens of `text_column` under the tokenizer `spec`; 0 for a null text)."""
    if TOKENS_COLUMN in frame.columns:
        return frame
    if not can_count_tokens(spec):
        return without_token_counts(frame)
    schema = StructType([*frame.schema.fields, StructField(TOKENS_COLUMN, LongType(), False)])
    return frame.mapInArrow(lambda batches: _count_batches(batches, spec, text_column), schema)
