"""Rich progress for a stage: elapsed time, and once Spark runs, tasks done per running Spark stage."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from jobs.engine import Execution

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True)


@contextmanager
def stage_progress(execution: Execution, description: str) -> Iterator[None]:
    """A progress bar for one stage; the Spark status tracker is polled only once `execution` has started Spark
    (a stage on the local engine logs its own progress)."""
    stop = threading.Event()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("tasks"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=None)

        def poll() -> None:
            while not stop.wait(0.5):
                if not execution.spark_started:
                    continue
                tracker = execution.spark().sparkContext.statusTracker()
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
        state = "failed"
        try:
            yield
            state = "done"
        finally:
            stop.set()
            thread.join()
            if state == "done":
                progress.update(task, completed=1, total=1, description=f"{description} done")
            else:
                progress.update(task, description=f"{description} [red]failed[/red]")
