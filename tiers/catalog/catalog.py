"""The DuckDB catalog: runs, committed outputs and models as tables; tier data as views over Parquet.

Only the driver writes the catalog, in short transactions, while it holds the data root's write lock
(`tiers/catalog/lock.py`). Every path the catalog stores or a view reads is relative to the data root,
so a root can be moved or copied: connections made here set DuckDB's `file_search_path` to the root
(any other DuckDB client does the same with `SET file_search_path = '<root>'`, or opens the catalog
from inside the root folder).

Each tier has one current version: a committed run supersedes the earlier committed runs of the same
job over the same inputs (its *scope*: the set of ingest-level inputs it derives from), so re-selecting
L2 replaces the selection while a new crawl snapshot adds to L0. The views show current outputs only;
`membership_history` keeps every version with the run that superseded it.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb

from tiers import schemas
from tiers.catalog.migrations import LATEST, MIGRATIONS, relativize_paths
from tiers.catalog.sql_text import identifier
from tiers.catalog.readonly_sql import ReadOnlyViolation, checked_statements, restrict_to, run_without_writes

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.duckdb"
TIER_KINDS = ("L0", "L1", "L2", "L3", "L4")
DOCUMENT_TIERS = ("L0", "L1", "L2", "L3")  # tiers of documents (doc_id); L4 holds knowledge items (ki_id)
_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "int32": "INTEGER",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "list<item: string>": "VARCHAR[]",
}


def empty_columns(schema) -> str:
    """The select list of an empty view with `schema`'s columns (an Arrow schema of tiers/schemas.py)."""
    return ", ".join(f"NULL::{_DUCKDB_TYPES[str(f.type)]} AS {identifier(f.name)}" for f in schema)


# Output kinds read through a view of the same name (current versions only), with the columns an
# empty view has before anything of that kind is committed.
KIND_VIEWS: dict[str, str] = {
    "drops": "NULL::VARCHAR AS doc_id, NULL::VARCHAR AS stage, NULL::VARCHAR AS reason, NULL::VARCHAR AS details, "
    "NULL::VARCHAR AS run_id",
    "quarantine": 'NULL::VARCHAR AS file, NULL::BIGINT AS "offset", NULL::BIGINT AS line, NULL::VARCHAR AS error_type, '
    "NULL::VARCHAR AS error, NULL::VARCHAR AS run_id",
    "l2_scores": "NULL::VARCHAR AS doc_id, NULL::VARCHAR AS lang, NULL::VARCHAR AS model_lang, NULL::DOUBLE AS quality_score, "
    "NULL::VARCHAR AS run_id",
    "l3_scores": "NULL::VARCHAR AS doc_id, NULL::INTEGER AS llm_score, NULL::VARCHAR AS status, NULL::VARCHAR AS run_id",
    "l3_failures": "NULL::VARCHAR AS doc_id, NULL::VARCHAR AS task, NULL::VARCHAR AS error, NULL::VARCHAR AS run_id",
    "l4_checks": empty_columns(schemas.L4_CHECKS),
    "l4_items": empty_columns(schemas.L4_ITEMS),
    "l4_passages": empty_columns(schemas.L4_PASSAGES),
    "l4_failures": empty_columns(schemas.L4_FAILURES),
    "l4_postings": empty_columns(schemas.L4_POSTINGS),
}
CONNECT_WAIT_S = 10.0
_MIGRATED: set[Path] = set()  # catalogs this process has brought to LATEST
COMMIT_WAIT_S = 120.0
SUPERSEDED = "EXISTS (SELECT 1 FROM outputs o WHERE o.run_id = r.run_id AND o.superseded_by IS NOT NULL)"
"""SQL over `runs r`: the run has an output that a later run superseded (so it is not current)."""
FAIL_WAIT_S = 300.0


class CatalogError(RuntimeError):
    """The catalog cannot be opened, or a statement is not allowed on it."""


@dataclass(frozen=True)
class OutputRecord:
    kind: str
    path: str  # absolute when read back through Catalog; stored relative to the root
    rows: int
    bytes: int
    tier: str | None = None
    run_id: str | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _parquet_glob(relative: str) -> str:
    return "'" + (relative.rstrip("/") + "/**/*.parquet").replace("'", "''") + "'"


class Catalog:
    def __init__(self, root: str | Path, commit_wait_s: float = COMMIT_WAIT_S):
        self.root = Path(root).resolve()
        self.path = self.root / CATALOG_FILE
        self.commit_wait_s = commit_wait_s
        self._session: duckdb.DuckDBPyConnection | None = None

    # -- connections -----------------------------------------------------------------------

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
        `wait_s` while another process (a writer, or a read-only client when we write) holds the file."""
        if self._session is not None:
            yield self._session
            return
        if read_only and not self.path.exists():
            raise CatalogError(f"no catalog at {self.path}; run a job with --root {self.root} first")
        self.root.mkdir(parents=True, exist_ok=True)
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
        """Apply pending migrations; returns the schema version."""
        if self.path in _MIGRATED and self.path.exists():
            return LATEST
        with self.connect() as con:
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
                con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [version, description, _now()])
                con.execute("COMMIT")
                log.info("catalog migrated to version %d (%s)", version, description)
            if current < LATEST:
                self._refresh_views(con)
        _MIGRATED.add(self.path)
        return LATEST

    # -- runs ------------------------------------------------------------------------------

    def find_committed(self, job: str, config_hash: str) -> dict[str, Any] | None:
        """The latest committed run of `job` with this configuration (current or superseded)."""
        with self.connect() as con:
            row = con.execute(
                f"SELECT run_id, counts_json, {SUPERSEDED} FROM runs r WHERE job = ? AND config_hash = ? AND status = 'committed' "
                "ORDER BY ended_at DESC LIMIT 1",
                [job, config_hash],
            ).fetchone()
        return {"run_id": row[0], "counts": json.loads(row[1] or "{}"), "superseded": row[2]} if row else None

    def reinstate(self, run_id: str) -> None:
        """Make a superseded run current again (the same job and scope as before, re-run with its exact
        configuration): what superseded it is superseded by it, in one transaction."""
        with self.connect(wait_s=self.commit_wait_s) as con:
            con.execute("BEGIN")
            try:
                con.execute("UPDATE outputs SET superseded_by = NULL WHERE run_id = ?", [run_id])
                _supersede_covered(con, run_id)
                self._refresh_views(con)
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise

    def abandon_running(self) -> list[str]:
        """Mark every run left 'running' as failed (abandoned); returns their ids. Call only while holding
        the root's write lock: then no other live process can be running a job on this root."""
        with self.connect() as con:
            ids = [r[0] for r in con.execute("SELECT run_id FROM runs WHERE status = 'running'").fetchall()]
            if ids:
                con.execute(
                    "UPDATE runs SET status = 'failed', ended_at = ?, error = 'abandoned: process ended before commit' "
                    "WHERE list_contains(?, run_id)",
                    [_now(), ids],
                )
        return ids

    def scope_of(self, input_runs: list[str]) -> list[str]:
        """The ingest-level inputs a run over `input_runs` derives from (the union of theirs)."""
        if not input_runs:
            return []
        with self.connect() as con:
            rows = con.execute("SELECT scope FROM runs WHERE list_contains(?, run_id)", [input_runs]).fetchall()
        return sorted({root for (scope,) in rows for root in json.loads(scope or "[]")})

    def current_runs(self, job: str) -> list[tuple[str, list[str], dict[str, Any]]]:
        """(run_id, input_runs, payload) of the current committed runs of `job`, oldest first."""
        with self.connect() as con:
            rows = con.execute(
                f"SELECT run_id, input_runs, config_json FROM runs r WHERE job = ? AND status = 'committed' AND NOT {SUPERSEDED} "
                "ORDER BY started_at",
                [job],
            ).fetchall()
        return [(run_id, list(inputs or []), json.loads(config or "{}")) for run_id, inputs, config in rows]

    def consumed_inputs(self, job: str, settings: dict[str, Any]) -> set[str]:
        """The input runs read by the current committed runs of `job` whose payload `settings` equal these:
        what an incremental run of `job` with these settings need not read again."""
        wanted = json.loads(json.dumps(settings, sort_keys=True, default=str))
        return {
            run for _, inputs, payload in self.current_runs(job) if payload.get("settings") == wanted for run in inputs
        }

    def start_run(
        self,
        run_id: str,
        job: str,
        config: dict[str, Any],
        config_hash: str,
        code_version: str,
        input_runs: list[str] | None = None,
        scope: list[str] | None = None,
    ) -> None:
        with self.connect() as con:
            con.execute(
                "INSERT INTO runs (run_id, job, config_json, config_hash, code_version, started_at, status, input_runs, scope) "
                "VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                [
                    run_id,
                    job,
                    json.dumps(config, sort_keys=True),
                    config_hash,
                    code_version,
                    _now(),
                    input_runs or [],
                    json.dumps(scope or []),
                ],
            )

    def fail_run(self, run_id: str, error: str) -> None:
        """Mark a run failed; waits longer than a commit does, so a run is not left 'running' because a
        reader held the catalog through the commit's wait."""
        with self.connect(wait_s=max(self.commit_wait_s, FAIL_WAIT_S)) as con:
            con.execute(
                "UPDATE runs SET status = 'failed', ended_at = ?, error = ? WHERE run_id = ?",
                [_now(), error[:4000], run_id],
            )

    def commit_run(self, run_id: str, outputs: list[OutputRecord], counts: dict[str, Any]) -> list[str]:
        """Register outputs, supersede the earlier runs of the same job whose scope this run's covers,
        mark the run committed: one transaction. Returns the superseded run ids."""
        with self.connect(wait_s=self.commit_wait_s) as con:
            con.execute("BEGIN")
            try:
                now = _now()
                for out in outputs:
                    con.execute(
                        "INSERT INTO outputs (run_id, kind, tier, path, rows, bytes, committed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [run_id, out.kind, out.tier, self.relative(out.path), out.rows, out.bytes, now],
                    )
                superseded = _supersede_covered(con, run_id)
                con.execute(
                    "UPDATE runs SET status = 'committed', ended_at = ?, counts_json = ? WHERE run_id = ?",
                    [now, json.dumps(counts, sort_keys=True), run_id],
                )
                self._refresh_views(con)
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
        return superseded

    def record_model(
        self,
        model_hash: str,
        lang: str,
        path: str,
        tokenizer: str,
        seeds: dict,
        params: dict,
        metrics: dict,
        run_id: str | None,
    ) -> None:
        with self.connect() as con:
            con.execute("DELETE FROM models WHERE model_hash = ?", [model_hash])
            con.execute(
                "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    model_hash,
                    lang,
                    path,
                    tokenizer,
                    json.dumps(seeds),
                    json.dumps(params),
                    json.dumps(metrics),
                    run_id,
                    _now(),
                ],
            )

    def record_llm_usage(self, run_id: str, model: str, engine: str, usage: dict[str, Any]) -> None:
        columns = (
            "requests_sent",
            "cache_hits",
            "prompt_tokens",
            "completion_tokens",
            "wall_seconds",
            "tokens_per_second",
            "gpu_hours_per_billion_tokens",
        )
        with self.connect() as con:
            con.execute(
                f"INSERT OR REPLACE INTO llm_usage VALUES (?, ?, ?, {', '.join('?' * len(columns))})",
                [run_id, model, engine, *(usage.get(c) for c in columns)],
            )

    def record_llm_roles(self, run_id: str, roles: dict[str, dict[str, Any]]) -> None:
        """Usage per role of one run (L4: generator, verifier:<name>, judge), each with its model."""
        with self.connect() as con:
            for role, usage in roles.items():
                con.execute(
                    "INSERT OR REPLACE INTO llm_usage_roles VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        run_id,
                        role,
                        usage["model"],
                        usage.get("requests"),
                        usage.get("prompt_tokens"),
                        usage.get("completion_tokens"),
                        usage.get("engine_seconds"),
                    ],
                )

    def record_experiment(
        self,
        loop_id: str,
        round_index: int,
        pool: str,
        config_json: str,
        baseline_json: str,
        candidate_json: str,
        delta: float,
        low: float,
        high: float,
        accepted: bool,
        seconds: float,
        tokens: int,
    ) -> None:
        with self.connect() as con:
            con.execute(
                "INSERT INTO experiments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    loop_id,
                    round_index,
                    pool,
                    config_json,
                    baseline_json,
                    candidate_json,
                    delta,
                    low,
                    high,
                    accepted,
                    seconds,
                    tokens,
                    _now(),
                ],
            )

    # -- parameterised reads ---------------------------------------------------------------

    def committed_outputs(
        self, kind: str | None = None, run_id: str | None = None, current_only: bool = False
    ) -> list[OutputRecord]:
        """Committed outputs (absolute paths), oldest first; `current_only` leaves out superseded ones."""
        clauses, params = ["r.status = 'committed'"], []
        if kind:
            clauses.append("o.kind = ?")
            params.append(kind)
        if run_id:
            clauses.append("o.run_id = ?")
            params.append(run_id)
        if current_only:
            clauses.append("o.superseded_by IS NULL")
        with self.connect() as con:
            rows = con.execute(
                f"SELECT o.kind, o.path, o.rows, o.bytes, o.tier, o.run_id FROM outputs o JOIN runs r USING (run_id) "
                f"WHERE {' AND '.join(clauses)} ORDER BY o.committed_at",
                params,
            ).fetchall()
        return [
            OutputRecord(kind, str(self.root / path), n, size, tier, run) for kind, path, n, size, tier, run in rows
        ]

    def output_of(self, kind: str, run_id: str | None) -> OutputRecord | None:
        """The output of `kind` of the given run, or the latest current one when no run is given."""
        outputs = self.committed_outputs(kind=kind, run_id=run_id, current_only=run_id is None)
        return outputs[-1] if outputs else None

    def run_scope(self, run_id: str) -> list[str]:
        with self.connect() as con:
            row = con.execute("SELECT scope FROM runs WHERE run_id = ?", [run_id]).fetchone()
        return json.loads(row[0] or "[]") if row else []

    def run_counts(self, run_id: str) -> dict[str, Any]:
        with self.connect() as con:
            row = con.execute("SELECT counts_json FROM runs WHERE run_id = ?", [run_id]).fetchone()
        return json.loads(row[0] or "{}") if row else {}

    def latest_committed_run(self, job: str) -> str | None:
        """The latest current committed run of `job`."""
        if not self.path.exists():
            return None
        with self.connect(read_only=True) as con:
            row = con.execute(
                f"SELECT run_id FROM runs r WHERE job = ? AND status = 'committed' AND NOT {SUPERSEDED} "
                "ORDER BY ended_at DESC LIMIT 1",
                [job],
            ).fetchone()
        return row[0] if row else None

    def models_for(self, lang: str, tokenizer: str, fingerprint: str, params_json: str) -> list[tuple[str, str, str]]:
        """(model_hash, path, metrics_json) of stored models trained on these seeds with these parameters."""
        with self.connect(read_only=True) as con:
            return con.execute(
                "SELECT model_hash, path, metrics_json FROM models WHERE lang = ? AND tokenizer = ? "
                "AND json_extract_string(seeds_json, '$.fingerprint') = ? AND params_json = ?",
                [lang, tokenizer, fingerprint, params_json],
            ).fetchall()

    def latest_verified_model(self, lang: str) -> tuple[str, str, str] | None:
        """(model_hash, path, tokenizer) of the verification loop's latest classifier for `lang`."""
        if not self.path.exists():
            return None
        with self.connect(read_only=True) as con:
            return con.execute(
                "SELECT model_hash, path, tokenizer FROM models WHERE lang = ? AND "
                "json_extract_string(seeds_json, '$.source') = 'verification' ORDER BY created_at DESC LIMIT 1",
                [lang],
            ).fetchone()

    # -- views -----------------------------------------------------------------------------

    def _refresh_views(self, con: duckdb.DuckDBPyConnection) -> None:
        rows = con.execute(
            "SELECT o.kind, o.tier, o.path, o.run_id, o.superseded_by FROM outputs o JOIN runs r USING (run_id) "
            "WHERE r.status = 'committed' ORDER BY o.committed_at"
        ).fetchall()
        current: dict[str, list[str]] = {}
        tiers: dict[str, list[str]] = {}
        history: list[tuple[str, str, str | None]] = []
        for kind, tier, path, run_id, superseded_by in rows:
            if not (self.root / path).is_dir():
                continue
            if tier in DOCUMENT_TIERS:
                history.append((tier, path, superseded_by))
            if superseded_by is None:
                current.setdefault(kind, []).append(path)
                if tier:
                    tiers.setdefault(tier, []).append(path)

        def source(paths: list[str], columns: str, empty: str) -> str:
            if not paths:
                return f"SELECT {empty} WHERE false"
            return f"SELECT {columns} FROM read_parquet([{', '.join(map(_parquet_glob, paths))}], union_by_name = true)"

        membership = [
            source(
                tiers.get(t, []),
                f"doc_id, '{t}' AS tier, run_id",
                f"NULL::VARCHAR AS doc_id, '{t}' AS tier, NULL::VARCHAR AS run_id",
            )
            for t in DOCUMENT_TIERS
        ]
        con.execute("CREATE OR REPLACE VIEW membership AS " + " UNION ALL ".join(membership))
        versions = [
            f"SELECT doc_id, '{tier}' AS tier, run_id, " + (f"'{by}'" if by else "NULL::VARCHAR") + " AS superseded_by "
            f"FROM read_parquet({_parquet_glob(path)}, union_by_name = true)"
            for tier, path, by in history
        ] or [
            "SELECT NULL::VARCHAR AS doc_id, NULL::VARCHAR AS tier, NULL::VARCHAR AS run_id, NULL::VARCHAR AS superseded_by WHERE false"
        ]
        con.execute("CREATE OR REPLACE VIEW membership_history AS " + " UNION ALL ".join(versions))
        for kind, empty in KIND_VIEWS.items():
            con.execute(f"CREATE OR REPLACE VIEW {kind} AS " + source(current.get(kind, []), "*", empty))
        for tier in TIER_KINDS:
            empty = (
                "NULL::VARCHAR AS doc_id" if tier in DOCUMENT_TIERS else empty_columns(schemas.with_tokens(schemas.L4))
            )
            if tier == "L3":  # an empty L3 still answers queries that follow rewrites to their parents
                empty += (
                    ", NULL::VARCHAR AS parent_id, NULL::VARCHAR AS task, NULL::VARCHAR AS model, NULL::VARCHAR AS prompt_version, "
                    "NULL::VARCHAR AS text, NULL::BIGINT AS n_tokens, NULL::VARCHAR AS run_id"
                )
            con.execute(f"CREATE OR REPLACE VIEW {tier.lower()} AS " + source(tiers.get(tier, []), "*", empty))
        from tiers.allocation.store import ensure_tables  # the allocation's tables and its view `allocation`

        ensure_tables(con)

    # -- user SQL --------------------------------------------------------------------------

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


def _supersede_covered(con: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    """Mark superseded by `run_id` the current outputs of the other committed runs of its job whose scope
    is within its own (a run over snapshots 1 and 2 replaces the runs over 1 and over 2, not a run over 3);
    returns their run ids."""
    superseded = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT o.run_id FROM outputs o JOIN runs r USING (run_id) JOIN runs me ON me.run_id = ? "
            "WHERE r.job = me.job AND r.scope <> '[]' AND r.status = 'committed' AND o.run_id <> me.run_id "
            "AND o.superseded_by IS NULL "
            "AND list_has_all(from_json(me.scope, '[\"VARCHAR\"]'), from_json(r.scope, '[\"VARCHAR\"]'))",
            [run_id],
        ).fetchall()
    ]
    if superseded:
        con.execute(
            "UPDATE outputs SET superseded_by = ? WHERE list_contains(?, run_id) AND superseded_by IS NULL",
            [run_id, superseded],
        )
    return superseded
