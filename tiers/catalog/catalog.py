"""The DuckDB catalog: runs, committed outputs and models as tables; tier data as views over Parquet.

Only the driver touches the catalog, and only for short transactions, so a read-only SQL session can
open it while a job runs between commits.
"""
from __future__ import annotations

import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb

from tiers.catalog.migrations import LATEST, MIGRATIONS

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.duckdb"
TIER_KINDS = ("L0", "L1", "L2", "L3")


class CatalogError(RuntimeError):
    """The catalog cannot be opened, or a statement is not allowed on it."""


@dataclass(frozen=True)
class OutputRecord:
    kind: str
    path: str
    rows: int
    bytes: int
    tier: str | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "/**/*.parquet'" for p in paths) + "]"


class Catalog:
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.path = self.root / CATALOG_FILE

    # -- connections -----------------------------------------------------------------------

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if read_only and not self.path.exists():
            raise CatalogError(f"no catalog at {self.path}; run a job with --root {self.root} first")
        self.root.mkdir(parents=True, exist_ok=True)
        con = None
        for attempt in range(50):
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or attempt == 49:
                    raise CatalogError(f"cannot open {self.path}: {exc}") from exc
                time.sleep(0.2)
        assert con is not None
        try:
            yield con
        finally:
            con.close()

    def migrate(self) -> int:
        """Apply pending migrations; returns the schema version."""
        with self.connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ)")
            current = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
            for version, description, sql in MIGRATIONS:
                if version <= current:
                    continue
                con.execute("BEGIN")
                con.execute(sql)
                con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [version, description, _now()])
                con.execute("COMMIT")
                log.info("catalog migrated to version %d (%s)", version, description)
            if current < LATEST:
                self._refresh_views(con)
        return LATEST

    # -- runs ------------------------------------------------------------------------------

    def find_committed(self, job: str, config_hash: str) -> dict[str, Any] | None:
        with self.connect() as con:
            row = con.execute(
                "SELECT run_id, counts_json FROM runs WHERE job = ? AND config_hash = ? AND status = 'committed' "
                "ORDER BY ended_at DESC LIMIT 1",
                [job, config_hash],
            ).fetchone()
        return {"run_id": row[0], "counts": json.loads(row[1] or "{}")} if row else None

    def abandon_running(self, job: str) -> list[str]:
        """Mark runs of `job` left 'running' by a killed process as failed; returns their ids."""
        with self.connect() as con:
            ids = [r[0] for r in con.execute("SELECT run_id FROM runs WHERE job = ? AND status = 'running'", [job]).fetchall()]
            if ids:
                con.execute(
                    "UPDATE runs SET status = 'failed', ended_at = ?, error = 'abandoned: process ended before commit' "
                    "WHERE job = ? AND status = 'running'",
                    [_now(), job],
                )
        return ids

    def start_run(self, run_id: str, job: str, config: dict[str, Any], config_hash: str, code_version: str) -> None:
        with self.connect() as con:
            con.execute(
                "INSERT INTO runs (run_id, job, config_json, config_hash, code_version, started_at, status) "
                "VALUES (?, ?, ?, ?, ?, ?, 'running')",
                [run_id, job, json.dumps(config, sort_keys=True), config_hash, code_version, _now()],
            )

    def fail_run(self, run_id: str, error: str) -> None:
        with self.connect() as con:
            con.execute("UPDATE runs SET status = 'failed', ended_at = ?, error = ? WHERE run_id = ?", [_now(), error[:4000], run_id])

    def commit_run(self, run_id: str, outputs: list[OutputRecord], counts: dict[str, Any]) -> None:
        """Register outputs and mark the run committed, in one transaction."""
        with self.connect() as con:
            con.execute("BEGIN")
            try:
                now = _now()
                for out in outputs:
                    con.execute(
                        "INSERT INTO outputs VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [run_id, out.kind, out.tier, out.path, out.rows, out.bytes, now],
                    )
                con.execute(
                    "UPDATE runs SET status = 'committed', ended_at = ?, counts_json = ? WHERE run_id = ?",
                    [now, json.dumps(counts, sort_keys=True), run_id],
                )
                self._refresh_views(con)
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise

    def record_model(self, model_hash: str, lang: str, path: str, tokenizer: str, seeds: dict, params: dict, metrics: dict, run_id: str | None) -> None:
        with self.connect() as con:
            con.execute("DELETE FROM models WHERE model_hash = ?", [model_hash])
            con.execute(
                "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [model_hash, lang, path, tokenizer, json.dumps(seeds), json.dumps(params), json.dumps(metrics), run_id, _now()],
            )

    def record_llm_usage(self, run_id: str, model: str, engine: str, usage: dict[str, Any]) -> None:
        columns = ("requests_sent", "cache_hits", "prompt_tokens", "completion_tokens", "wall_seconds",
                   "tokens_per_second", "gpu_hours_per_billion_tokens")
        with self.connect() as con:
            con.execute(f"INSERT OR REPLACE INTO llm_usage VALUES (?, ?, ?, {', '.join('?' * len(columns))})",
                        [run_id, model, engine, *(usage.get(c) for c in columns)])

    def record_experiment(self, loop_id: str, round_index: int, pool: str, config_json: str, baseline_json: str,
                          candidate_json: str, delta: float, low: float, high: float, accepted: bool, seconds: float,
                          tokens: int) -> None:
        with self.connect() as con:
            con.execute("INSERT INTO experiments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [loop_id, round_index, pool, config_json, baseline_json, candidate_json, delta, low, high, accepted,
                         seconds, tokens, _now()])

    def committed_outputs(self, kind: str | None = None, run_id: str | None = None) -> list[OutputRecord]:
        clauses, params = ["r.status = 'committed'"], []
        if kind:
            clauses.append("o.kind = ?")
            params.append(kind)
        if run_id:
            clauses.append("o.run_id = ?")
            params.append(run_id)
        with self.connect() as con:
            rows = con.execute(
                f"SELECT o.kind, o.path, o.rows, o.bytes, o.tier FROM outputs o JOIN runs r USING (run_id) "
                f"WHERE {' AND '.join(clauses)} ORDER BY o.committed_at",
                params,
            ).fetchall()
        return [OutputRecord(*row) for row in rows]

    # -- views -----------------------------------------------------------------------------

    def _refresh_views(self, con: duckdb.DuckDBPyConnection) -> None:
        rows = con.execute(
            "SELECT o.kind, o.tier, o.path FROM outputs o JOIN runs r USING (run_id) "
            "WHERE r.status = 'committed' ORDER BY o.committed_at"
        ).fetchall()
        by_kind: dict[str, list[str]] = {}
        tiers: dict[str, list[str]] = {}
        for kind, tier, path in rows:
            if os.path.isdir(path):
                by_kind.setdefault(kind, []).append(path)
                if tier:
                    tiers.setdefault(tier, []).append(path)

        def source(paths: list[str], columns: str, empty: str) -> str:
            if not paths:
                return f"SELECT {empty} WHERE false"
            return f"SELECT {columns} FROM read_parquet({_sql_list(paths)}, union_by_name = true)"

        membership = [
            source(tiers.get(t, []), f"doc_id, '{t}' AS tier, run_id", f"NULL::VARCHAR AS doc_id, '{t}' AS tier, NULL::VARCHAR AS run_id")
            for t in TIER_KINDS
        ]
        con.execute("CREATE OR REPLACE VIEW membership AS " + " UNION ALL ".join(membership))
        con.execute(
            "CREATE OR REPLACE VIEW drops AS "
            + source(by_kind.get("drops", []), "doc_id, stage, reason, details, run_id",
                     "NULL::VARCHAR AS doc_id, NULL::VARCHAR AS stage, NULL::VARCHAR AS reason, NULL::VARCHAR AS details, NULL::VARCHAR AS run_id")
        )
        con.execute(
            "CREATE OR REPLACE VIEW quarantine AS "
            + source(by_kind.get("quarantine", []), "file, \"offset\", line, error_type, error, run_id",
                     "NULL::VARCHAR AS file, NULL::BIGINT AS \"offset\", NULL::BIGINT AS line, NULL::VARCHAR AS error_type, NULL::VARCHAR AS error, NULL::VARCHAR AS run_id")
        )
        for tier in TIER_KINDS:
            name = tier.lower()
            con.execute(f"CREATE OR REPLACE VIEW {name} AS " + source(tiers.get(tier, []), "*", "NULL::VARCHAR AS doc_id"))
        for kind, empty in (("l2_scores", "NULL::VARCHAR AS doc_id, NULL::DOUBLE AS quality_score"),
                            ("l3_scores", "NULL::VARCHAR AS doc_id, NULL::INTEGER AS llm_score, NULL::VARCHAR AS status")):
            con.execute(f"CREATE OR REPLACE VIEW {kind} AS " + source(by_kind.get(kind, []), "*", empty))

    def refresh_views(self) -> None:
        with self.connect() as con:
            self._refresh_views(con)

    # -- queries ---------------------------------------------------------------------------

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run SQL on a read-only connection; a write is refused with a CatalogError."""
        with self.connect(read_only=True) as con:
            try:
                cursor = con.execute(sql)
            except (duckdb.InvalidInputException, duckdb.PermissionException) as exc:
                if "read-only" in str(exc).lower() or "read only" in str(exc).lower():
                    raise CatalogError("the catalog is opened read-only for SQL; statements that write are not allowed") from None
                raise CatalogError(str(exc)) from None
            except duckdb.Error as exc:
                raise CatalogError(str(exc)) from None
            columns = [d[0] for d in cursor.description] if cursor.description else []
            return columns, cursor.fetchall()

    def status(self) -> dict[str, Any]:
        """Per tier: distinct documents, bytes, runs; drops by stage and reason; quarantine count."""
        with self.connect(read_only=True) as con:
            tiers = {
                tier: {"documents": docs, "bytes": int(size or 0), "runs": runs}
                for tier, docs, size, runs in con.execute(
                    "SELECT m.tier, count(DISTINCT m.doc_id), "
                    "(SELECT sum(o.bytes) FROM outputs o JOIN runs r USING (run_id) WHERE o.tier = m.tier AND r.status = 'committed'), "
                    "count(DISTINCT m.run_id) FROM membership m GROUP BY m.tier"
                ).fetchall()
            }
            drops = con.execute("SELECT stage, reason, count(DISTINCT doc_id) FROM drops GROUP BY ALL ORDER BY 1, 3 DESC").fetchall()
            quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
            runs = con.execute("SELECT status, count(*) FROM runs GROUP BY 1").fetchall()
        return {"tiers": tiers, "drops": drops, "quarantine": quarantined, "runs": dict(runs)}
