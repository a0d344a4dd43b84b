"""Which engine runs a stage: Spark, or the local engine (the same job in this process, no JVM).

Ingest and the two L0-to-L1 jobs have both bodies; they share everything else (what to read, the
payload, the commit, the count and coverage checks), so a run's outputs and catalog entries are the
same whichever engine wrote them. `engine.kind: auto` runs a stage locally when no Spark session is
running yet, the master is local and the stage reads at most `engine.local_max_bytes`: a run of a
few thousand documents then costs its documents, not a JVM's start and tens of small Spark jobs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from tiers.config import TiersConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

LOCAL, SPARK = "local", "spark"


class Engine:
    """The Spark session, started on first use, and the choice of engine per stage."""

    def __init__(
        self,
        config: TiersConfig,
        session: "SparkSession | None" = None,
        on_start: Callable[["SparkSession"], None] | None = None,
    ):
        self.config = config
        self._session = session
        self._on_start = on_start
        self.spark_input_bytes = 0  # the input of the largest stage sent to Spark: sizes the session

    @property
    def started(self) -> bool:
        return self._session is not None

    def stop(self) -> None:
        """Stop the session and wait for its JVM (jobs/spark.py); a later stage starts a new one."""
        if self._session is not None:
            from jobs.spark import stop_spark

            stop_spark()
            self._session = None

    def spark(self) -> "SparkSession":
        if self._session is None:
            from jobs.spark import get_spark, stop_spark

            try:
                self._session = get_spark(self.config.spark, self.spark_input_bytes)
            except BaseException:  # a start cut short (SIGTERM, Ctrl-C, no memory) leaves no JVM behind
                stop_spark()
                raise
            if self._on_start is not None:
                self._on_start(self._session)
        return self._session

    def choose(self, stage: str, input_bytes: int) -> str:
        """LOCAL or SPARK for a stage that reads `input_bytes`."""
        kind = self.config.engine.kind
        if kind == "auto":
            master = self.config.spark.master or "local"
            small = input_bytes <= self.config.engine.local_max_bytes
            kind = LOCAL if not self.started and master.startswith("local") and small else SPARK
        if kind == SPARK:
            self.spark_input_bytes = max(self.spark_input_bytes, input_bytes)
        log.info("%s: %s engine (%.1f MB of input)", stage, kind, input_bytes / 1e6)
        return kind


def engine_of(spark: "SparkSession | Engine", config: TiersConfig) -> Engine:
    """An Engine for a job entry point that was handed either an Engine or a running session."""
    return spark if isinstance(spark, Engine) else Engine(config, spark)


def session_of(spark: "SparkSession | Engine") -> "SparkSession":
    """The Spark session for a stage that only runs on Spark (L1 to L2 and later)."""
    return spark.spark() if isinstance(spark, Engine) else spark
