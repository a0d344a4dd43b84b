"""Progress of LLM work spread over executors, logged by the driver with an estimate of the time left.

Each partition counts the documents it has finished in a small file of its own under a shared folder
(`ProgressCounter`); the driver sums the files every few seconds (`logged_progress`) and logs done of
total, the rate and the time left. On a cluster whose executors do not share the driver's file system
the driver sees no files and logs only the elapsed time.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)


def duration(seconds: float) -> str:
    """'45 s', '4 min 20 s', '2 h 05 min'."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class ProgressCounter:
    """Executor side: `counter(n)` adds n finished documents; the file is rewritten at most once a second."""

    def __init__(self, folder: str | None, min_interval_s: float = 1.0):
        self.path = Path(folder) / f"{uuid.uuid4().hex}.count" if folder else None
        self.done = 0
        self.min_interval_s = min_interval_s
        self._written = 0.0
        self._lock = threading.Lock()

    def __call__(self, n: int) -> None:
        with self._lock:
            self.done += n
            if time.monotonic() - self._written >= self.min_interval_s:
                self._write()

    def flush(self) -> None:
        with self._lock:
            self._write()

    def _write(self) -> None:
        self._written = time.monotonic()
        if self.path is None:
            return
        try:
            partial = self.path.with_suffix(".tmp")
            partial.write_text(str(self.done))
            partial.replace(self.path)
        except OSError:
            self.path = None  # the folder is not here (an executor on another machine): no progress from it


def read_done(folder: Path) -> int:
    done = 0
    for path in folder.glob("*.count"):
        try:
            done += int(path.read_text() or 0)
        except (OSError, ValueError):
            continue
    return done


def progress_line(label: str, done: int, total: int, elapsed: float) -> str:
    done = min(done, total)
    if not done:
        return f"{label}: 0 of {total} documents after {duration(elapsed)} (waiting for the first answers)"
    if done >= total:
        return f"{label}: all {total} documents done after {duration(elapsed)}; finishing the stage (L3: rewrites; then the outputs)"
    rate = done / elapsed if elapsed else 0.0
    left = (total - done) / rate if rate else 0.0
    return (
        f"{label}: {done} of {total} documents in {duration(elapsed)} ({rate * 60:.1f} per minute), "
        f"about {duration(left)} left"
    )


@contextlib.contextmanager
def logged_progress(
    folder: str | Path, total: int, label: str, every_s: float = 10.0, quiet_max_s: float = 60.0
) -> Iterator[str]:
    """Yields the folder to give each partition's ProgressCounter; logs a line every `every_s` when the count
    moved, and at least every `quiet_max_s`. The folder is removed afterwards."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    start = time.monotonic()

    def watch() -> None:
        last_done, last_line = -1, start
        while not stop.wait(every_s):
            done = read_done(folder)
            now = time.monotonic()
            if done != last_done or now - last_line >= quiet_max_s:
                log.info(progress_line(label, done, total, now - start))
                last_done, last_line = done, now

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield str(folder)
    finally:
        stop.set()
        thread.join()
        shutil.rmtree(folder, ignore_errors=True)
