"""SQL a user types (`tiers sql`) and the status summary: reads only, confined to committed outputs."""

from __future__ import annotations

from typing import Any

import duckdb

from tiers.catalog.connection import CatalogConnection, CatalogError
from tiers.catalog.readonly_sql import ReadOnlyViolation, checked_statements, restrict_to, run_without_writes


class CatalogSql(CatalogConnection):
    """Read-only SQL over the catalog, each statement classified before it runs."""

    def readable_directories(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        """The output-kind folders of committed outputs, relative and absolute (the only files user SQL may read)."""
        kinds = {
            path.split("/", 1)[0]
            for (path,) in con.execute(
                "SELECT DISTINCT o.path FROM outputs o JOIN runs r USING (run_id) WHERE r.status = 'committed'"
            ).fetchall()
        }
        return sorted({f"{kind}/" for kind in kinds} | {f"{self.root / kind}/" for kind in kinds}) or [
            f"{self.root}/L0/"
        ]

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Run SQL that only reads (tiers/catalog/readonly_sql.py): every statement is classified by DuckDB's
        parser first, then all run in a process that cannot write, on a connection that can open only the
        root's committed outputs. Returns the last statement's result."""
        try:
            statements = checked_statements(sql)
        except ReadOnlyViolation as exc:
            raise CatalogError(str(exc)) from None
        if not self.path.exists():
            raise CatalogError(f"no catalog at {self.path}; run a job with --root {self.root} first")
        try:
            return run_without_writes(lambda scratch: self._run_queries(statements, scratch))
        except CatalogError:
            raise
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback, for whatever ended the query
            raise CatalogError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None

    def _run_queries(self, statements: list[str], scratch: str) -> tuple[list[str], list[tuple]]:
        with self.connect(read_only=True) as con:
            try:
                restrict_to(con, self.readable_directories(con), scratch)
                cursor = None
                for statement in statements:
                    cursor = con.execute(statement)
                columns = [d[0] for d in cursor.description] if cursor.description else []
                return columns, cursor.fetchall()
            except duckdb.Error as exc:
                raise CatalogError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None

    def status(self) -> dict[str, Any]:
        """Per tier: current documents (L4: items), bytes, runs; drops by stage and reason; quarantine count;
        L3 scoring and L4 items by status."""
        with self.connect(read_only=True) as con:
            sizes = dict(
                con.execute(
                    "SELECT o.tier, sum(o.bytes) FROM outputs o JOIN runs r USING (run_id) "
                    "WHERE o.tier IS NOT NULL AND o.superseded_by IS NULL AND r.status = 'committed' GROUP BY 1"
                ).fetchall()
            )
            tiers = {
                tier: {"documents": docs, "bytes": int(sizes.get(tier) or 0), "runs": runs}
                for tier, docs, runs in con.execute(
                    "SELECT tier, count(DISTINCT doc_id), count(DISTINCT run_id) FROM membership GROUP BY tier"
                ).fetchall()
                if docs
            }
            drops = con.execute(
                "SELECT stage, reason, count(DISTINCT doc_id) FROM drops GROUP BY ALL ORDER BY 1, 3 DESC"
            ).fetchall()
            quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
            runs = con.execute("SELECT status, count(*) FROM runs GROUP BY 1").fetchall()
            l3_status = con.execute("SELECT status, count(*) FROM l3_scores GROUP BY 1 ORDER BY 2 DESC").fetchall()
            l4 = con.execute("SELECT count(*), count(DISTINCT run_id) FROM l4").fetchone()
            if l4[0]:
                tiers["L4"] = {"documents": l4[0], "bytes": int(sizes.get("L4") or 0), "runs": l4[1]}
            l4_status = con.execute("SELECT status, count(*) FROM l4_items GROUP BY 1 ORDER BY 2 DESC").fetchall()
            no_model = con.execute(
                "SELECT coalesce(lang, 'unknown'), count(*) FROM l2_scores WHERE model_lang IS NULL GROUP BY 1 ORDER BY 2 DESC"
            ).fetchall()
        return {
            "tiers": tiers,
            "drops": drops,
            "quarantine": quarantined,
            "runs": dict(runs),
            "l3_status": dict(l3_status),
            "l4_status": dict(l4_status),
            "no_model_languages": dict(no_model),
        }
