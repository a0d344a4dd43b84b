"""Connections to the catalog file, and its schema brought up to date on the first read-write one."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb

from tiers.catalog.migrations import LATEST, MIGRATIONS, relativize_paths
from tiers.catalog.views import refresh_views

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.duckdb"
CONNECT_WAIT_S = 10.0
COMMIT_WAIT_S = 120.0
_MIGRATED: set[Path] = set()  # catalogs this process has brought to LATEST


class CatalogError(RuntimeError):
    """The catalog cannot be opened, or a statement is not allowed on it."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class CatalogConnection:
    """The catalog of one data root: its file, its connections and its schema version."""

    def __init__(self, root: str | Path, commit_wait_s: float = COMMIT_WAIT_S):
        self.root = Path(root).resolve()
        self.path = self.root / CATALOG_FILE
        self.commit_wait_s = commit_wait_s
        self._session: duckdb.DuckDBPyConnection | None = None

    @contextmanager
    def session(self) -> Iterator[None]:
        """Keep one read-write connection open for the block, so that the calls inside it share it (a
        DuckDB connection costs about 13 ms of CPU to open and close)."""
        if self._session is not None:
            yield
            return
        with self.connect() as con:
            self._session = con
            try:
                yield
            finally:
                self._session = None

    @contextmanager
    def connect(self, read_only: bool = False, wait_s: float = CONNECT_WAIT_S) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with file_search_path at the root (the session's, inside `session`); waits up to
        `wait_s` while another process (a writer, or a read-only client when we write) holds the file.
        The first read-write connection of this process brings the catalog to the latest schema."""
        if self._session is not None:
            yield self._session
            return
        if read_only and not self.path.exists():
            raise CatalogError(f"no catalog at {self.path}; run a job with --root {self.root} first")
        self.root.mkdir(parents=True, exist_ok=True)
        migrated = self.path in _MIGRATED and self.path.exists()
        deadline = time.monotonic() + wait_s
        warned = False
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise CatalogError(
                        f"cannot open {self.path}: another process holds it ({str(exc).splitlines()[0]}); "
                        "close DuckDB clients that have it open"
                    ) from None
                if not warned:
                    log.warning("%s is open in another process; waiting up to %.0f s", self.path, wait_s)
                    warned = True
                time.sleep(0.2)
        try:
            con.execute("SET file_search_path = ?", [str(self.root)])
            if not read_only and not migrated:
                self._migrate(con)
            yield con
        finally:
            con.close()

    def relative(self, path: str | Path) -> str:
        candidate = Path(path)
        if not candidate.is_absolute():
            return str(candidate)
        try:
            return str(candidate.resolve().relative_to(self.root))
        except ValueError:
            raise CatalogError(f"{path} is outside the data root {self.root}: outputs must live inside it") from None

    def migrate(self) -> int:
        """Bring the catalog to the latest schema (any read-write connection does so first); returns its version."""
        with self.connect():
            pass
        return LATEST

    def _migrate(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ)"
        )
        current = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
        for version, description, sql in MIGRATIONS:
            if version <= current:
                continue
            con.execute("BEGIN")
            con.execute(sql)
            if version == 5:
                relativize_paths(con, self.root)
            con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [version, description, utc_now()])
            con.execute("COMMIT")
            log.info("catalog migrated to version %d (%s)", version, description)
        if current < LATEST:
            refresh_views(con, self.root)
        _MIGRATED.add(self.path)
