"""A job's life in the catalog: lock the root, skip if committed, write to staging, check counts, move,
register.

A job holds the data root's write lock (`tiers/catalog/lock.py`) from start to end, so two jobs never
write one root. A killed job leaves a 'running' row and a staging folder; the next job on the root
(holding the lock, so no other job can be live) marks that row failed and removes its folders, so
nothing half-written is ever registered or read.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import logging
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tiers.catalog import Catalog, OutputRecord
from tiers.catalog.lock import RootLock
from jobs.signals import stop_signal
from tiers.ids import new_run_id

log = logging.getLogger(__name__)

STAGING = "_staging"
_ACTIVE_RUNS: set[str] = set()  # runs of this process between start and end: their staging is not orphaned


class CountMismatch(RuntimeError):
    """Records in and records out of a job differ: something would be lost, so nothing is committed."""


class DiskFull(OSError):
    """No space left where a job writes; the run is failed and its staging removed."""


def disk_full(exc: BaseException) -> bool:
    """True for ENOSPC, whether raised here or reported by Spark's JVM in an error's text."""
    return (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left on device" in str(exc)


def _stop_spark() -> None:
    """Stop a running Spark session and wait for its JVM (a job on the local engine started none)."""
    if "pyspark" in sys.modules:
        from jobs.spark import stop_spark

        stop_spark()


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
        if out.returncode == 0:
            return out.stdout.strip()
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tiers")
    except PackageNotFoundError:
        return "unknown"


def config_hash(job: str, payload: dict[str, Any]) -> str:
    blob = json.dumps({"job": job, **payload}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parquet_stats(path: str) -> tuple[int, int]:
    """(rows, bytes) of a Parquet folder, from footers only."""
    files = [p for p in Path(path).rglob("*.parquet")]
    if not files:
        return 0, 0
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in files)
    return rows, sum(p.stat().st_size for p in files)


@dataclass
class JobResult:
    run_id: str
    skipped: bool
    counts: dict[str, Any]
    outputs: dict[str, str] = field(default_factory=dict)


class JobRun:
    """Use as a context manager around a job body; call `stage()` for paths and `commit()` at the end."""

    def __init__(
        self,
        catalog: Catalog,
        job: str,
        payload: dict[str, Any],
        force: bool = False,
        input_runs: list[str] | None = None,
        lock_wait_s: float = 0.0,
    ):
        self.catalog = catalog
        self.job = job
        self.payload = payload
        self.hash = config_hash(job, payload)
        self.force = force
        self.input_runs = sorted(set(input_runs or []))
        self.run_id = new_run_id(job)
        self.staging = catalog.root / STAGING / self.run_id
        self.previous: dict[str, Any] | None = None
        self._tiers: dict[str, str | None] = {}
        self._lock = RootLock(catalog.root, job, wait_s=lock_wait_s)

    def scope(self) -> list[str]:
        """The ingest-level inputs this run derives from: its input runs' scopes, or (for a job that reads
        no run, such as ingest) a digest of its own inputs."""
        if self.input_runs:
            return self.catalog.scope_of(self.input_runs)
        inputs = self.payload.get("inputs", self.payload)
        return [
            self.job + ":" + hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:16]
        ]

    def __enter__(self) -> "JobRun":
        self._lock.acquire()
        try:
            return self._start()
        except BaseException as exc:  # e.g. SIGTERM between creating staging and registering the run
            shutil.rmtree(self.staging, ignore_errors=True)
            _ACTIVE_RUNS.discard(self.run_id)
            self._lock.release()
            if disk_full(exc) and not isinstance(exc, DiskFull):
                raise DiskFull(
                    errno.ENOSPC,
                    f"disk full: no space left on the device holding {self.catalog.root}; "
                    f"job {self.job} could not register its run",
                ) from exc
            raise

    def _start(self) -> "JobRun":
        with self.catalog.session():
            return self._start_in_session()

    def _start_in_session(self) -> "JobRun":
        self.catalog.migrate()
        for stale in self.catalog.abandon_running():
            log.warning("run %s was left running by a killed process; marked failed", stale)
            self._remove_run_folders(stale)
        self._remove_orphan_staging()
        if not self.force:
            self.previous = self.catalog.find_committed(self.job, self.hash)
            if self.previous:
                log.info(
                    "%s: identical configuration already committed as %s; skipping", self.job, self.previous["run_id"]
                )
                if self.previous["superseded"]:
                    self.catalog.reinstate(self.previous["run_id"])
                    log.info("%s: run %s is current again", self.job, self.previous["run_id"])
                return self
        _ACTIVE_RUNS.add(self.run_id)
        self.staging.mkdir(parents=True, exist_ok=True)
        self.catalog.start_run(
            self.run_id, self.job, self.payload, self.hash, code_version(), self.input_runs, self.scope()
        )
        return self

    @property
    def skipped(self) -> bool:
        return self.previous is not None

    def stage(self, kind: str, tier: str | None = None) -> str:
        """Staging folder for one output kind (e.g. 'L0', 'quarantine')."""
        self._tiers[kind] = tier
        return str(self.staging / kind)

    def final_path(self, kind: str) -> Path:
        return self.catalog.root / kind / self.run_id

    def commit(self, counts: dict[str, Any]) -> JobResult:
        outputs = []
        for kind, tier in self._tiers.items():
            source = self.staging / kind
            if not source.exists():
                source.mkdir(parents=True)
            rows, size = parquet_stats(str(source))
            target = self.final_path(kind)
            target.parent.mkdir(parents=True, exist_ok=True)
            source.rename(target)
            outputs.append(OutputRecord(kind=kind, path=str(target), rows=rows, bytes=size, tier=tier))
        superseded = self.catalog.commit_run(self.run_id, outputs, counts)
        shutil.rmtree(self.staging, ignore_errors=True)
        if superseded:
            log.info("%s: run %s supersedes %s", self.job, self.run_id, ", ".join(superseded))
        log.info("%s: committed run %s %s", self.job, self.run_id, counts)
        return JobResult(self.run_id, False, counts, {o.kind: o.path for o in outputs})

    def __exit__(self, exc_type, exc, tb) -> bool:
        full = exc is not None and disk_full(exc)  # before Spark stops: a JVM error's text comes from the JVM
        try:
            if exc is not None and not self.skipped:
                message = f"{exc_type.__name__}: {exc}"
                if stop_signal():
                    message = f"stopped by {stop_signal()} ({message[:300]})"
                if full:
                    _stop_spark()  # its JVM holds the deleted staging files open: the space comes back only then
                    message = (
                        f"disk full: no space left on the device holding {self.catalog.root} ({exc_type.__name__})"
                    )
                self._remove_run_folders(self.run_id)
                self.catalog.fail_run(self.run_id, message)
        finally:
            _ACTIVE_RUNS.discard(self.run_id)
            self._lock.release()
        if full and not isinstance(exc, DiskFull):
            raise DiskFull(
                errno.ENOSPC,
                f"disk full: no space left on the device holding {self.catalog.root}; "
                f"run {self.run_id} is marked failed and its staging removed",
            ) from exc
        return False

    def _remove_orphan_staging(self) -> None:
        """Staging folders of no running run (a process killed before it registered its run): holding the
        lock, no other job can be writing them."""
        staging = self.catalog.root / STAGING
        if not staging.is_dir():
            return
        for folder in staging.iterdir():
            if folder.name not in _ACTIVE_RUNS:
                log.warning("removing %s, left by a job that ended before registering its run", folder)
                shutil.rmtree(folder, ignore_errors=True)

    def _remove_run_folders(self, run_id: str) -> None:
        shutil.rmtree(self.catalog.root / STAGING / run_id, ignore_errors=True)
        for kind_dir in self.catalog.root.iterdir():
            candidate = kind_dir / run_id
            if kind_dir.name != STAGING and candidate.is_dir():
                shutil.rmtree(candidate, ignore_errors=True)
