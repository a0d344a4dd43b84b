"""Which engine runs a stage: Spark, or the local engine (the same job in this process, no JVM).

Ingest, the two L0-to-L1 jobs and the two L1-to-L2 steps have both bodies; they share everything else
(what to read, the payload, the commit, the count and coverage checks), so a run's outputs and catalog
entries are the same whichever engine wrote them. Every body keeps one protocol (`Body`: inputs and the
run in, what the job checks out; a Spark body takes the session first), and `Execution.body` is the one
place that chooses between them. `engine.kind: auto` runs a stage locally when no Spark session is
running yet, the master is local and the stage reads at most `engine.local_max_bytes`: a run of a
few thousand documents then costs its documents, not a JVM's start and tens of small Spark jobs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Generic, Protocol, TypeVar

from tiers.config import TiersConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from jobs.runner import JobRun

log = logging.getLogger(__name__)

LOCAL, SPARK = "local", "spark"

In = TypeVar("In", contravariant=True)
Out = TypeVar("Out", covariant=True)


class Body(Protocol[In, Out]):
    """A stage's body on the engine chosen for it: writes the stage's outputs under `run`'s staging from
    `inputs` and returns what the job checks and commits."""

    def __call__(self, inputs: In, run: "JobRun") -> Out: ...


class SparkBody(Protocol[In, Out]):
    """A Spark body: a `Body` that is given the session first."""

    def __call__(self, spark: "SparkSession", inputs: In, run: "JobRun") -> Out: ...


@dataclass(frozen=True)
class StageBodies(Generic[In, Out]):
    """A stage's two bodies, each imported only when chosen (the Spark one imports pyspark)."""

    local: Callable[[], Body[In, Out]]
    spark: Callable[[], SparkBody[In, Out]]


class Execution:
    """How a run executes its stages: the Spark session, started on first use, and the engine per stage."""

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
    def spark_started(self) -> bool:
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
            kind = LOCAL if not self.spark_started and master.startswith("local") and small else SPARK
        if kind == SPARK:
            self.spark_input_bytes = max(self.spark_input_bytes, input_bytes)
        log.info("%s: %s engine (%.1f MB of input)", stage, kind, input_bytes / 1e6)
        return kind

    def body(self, stage: str, input_bytes: int, bodies: StageBodies[In, Out]) -> Body[In, Out]:
        """The body of the engine chosen for `stage`. Spark starts here, before the job's run exists: a
        machine without Java exits 2 with no failed run."""
        if self.choose(stage, input_bytes) == LOCAL:
            return bodies.local()
        session, spark_body = self.spark(), bodies.spark()
        checkpoint_dir = self.config.spark.checkpoint_dir

        def on_spark(inputs: In, run: "JobRun") -> Out:
            from jobs.spark import kept_rows

            with kept_rows(session, checkpoint_dir):
                return spark_body(session, inputs, run)

        return on_spark


def execution_of(execution: "Execution | SparkSession", config: TiersConfig) -> Execution:
    """An Execution for a job entry point that was handed either one or a running session (spark-submit)."""
    return execution if isinstance(execution, Execution) else Execution(config, execution)


def session_of(execution: "Execution | SparkSession") -> "SparkSession":
    """The Spark session for a stage that only runs on Spark (L2 to L3 and later)."""
    return execution.spark() if isinstance(execution, Execution) else execution
