"""Rich progress for Spark work: polls the status tracker and shows tasks done per running stage."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from pyspark.sql import SparkSession
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True)


@contextmanager
def spark_progress(spark: SparkSession, description: str) -> Iterator[None]:
    tracker = spark.sparkContext.statusTracker()
    stop = threading.Event()
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("tasks"),
        TimeElapsedColumn(), console=console, transient=False,
    ) as progress:
        task = progress.add_task(description, total=None)

        def poll() -> None:
            while not stop.wait(0.5):
                done = total = 0
                for stage_id in tracker.getActiveStageIds():
                    info = tracker.getStageInfo(stage_id)
                    if info:
                        done += info.numCompletedTasks
                        total += info.numTasks
                if total:
                    progress.update(task, completed=done, total=total)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            progress.update(task, completed=1, total=1, description=f"{description} done")
