"""Arrow schemas as Spark DDL (the output schema `mapInArrow` needs); Spark stays out of tiers/."""

from __future__ import annotations

import pyarrow as pa
from pyspark.sql.pandas.types import from_arrow_schema


def spark_ddl(schema: pa.Schema) -> str:
    """Spark DDL string for an Arrow schema."""
    return from_arrow_schema(schema).simpleString()
