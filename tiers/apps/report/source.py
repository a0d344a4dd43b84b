"""Read-only access to the catalog for the report: which tables and views exist, their columns, and
relations optionally restricted to one run. Only aggregates leave DuckDB."""

from __future__ import annotations

import logging
from typing import Any

import duckdb

from tiers.catalog.sql_text import identifier

log = logging.getLogger(__name__)


class CatalogSource:
    """Wraps a read-only DuckDB connection to the catalog; `run_id` restricts relations that carry a run_id."""

    def __init__(self, con: duckdb.DuckDBPyConnection, run_id: str | None = None):
        self.con = con
        self.run_id = run_id
        if run_id is not None:  # bound once; `rel()` reads it back, so no run id is written into SQL
            con.execute("SET VARIABLE tiers_report_run = ?", [run_id])
        self._relations = {
            name: kind
            for name, kind in con.execute(
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        self._columns: dict[str, list[str]] = {}

    def exists(self, name: str) -> bool:
        return name in self._relations

    def columns(self, name: str) -> list[str]:
        """Column names of a table or view; [] when it does not exist or cannot be read (e.g. files removed)."""
        if name not in self._columns:
            if not self.exists(name):
                self._columns[name] = []
            else:
                try:
                    cursor = self.con.execute(f"SELECT * FROM {identifier(name)} LIMIT 0")
                    self._columns[name] = [d[0] for d in cursor.description]
                except duckdb.Error as exc:
                    log.warning("report: cannot read %s: %s", name, exc)
                    self._columns[name] = []
        return self._columns[name]

    def has(self, name: str, *columns: str) -> bool:
        present = self.columns(name)
        return bool(present) and all(c in present for c in columns)

    def rel(self, name: str) -> str:
        """SQL for `name`, restricted to the report's run when one is given and the relation has run_id."""
        if self.run_id is None:
            return identifier(name)
        if "run_id" in self.columns(name):
            return f"(SELECT * FROM {identifier(name)} WHERE run_id = getvariable('tiers_report_run'))"
        return f"(SELECT * FROM {identifier(name)} WHERE false)"

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def one(self, sql: str, params: list[Any] | None = None) -> Any:
        row = self.con.execute(sql, params or []).fetchone()
        return row[0] if row else None
