"""The catalog's record of runs: starting, failing and committing them (with their outputs and the
versions they supersede), the models and LLM usage they record, and parameterised reads of all that."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from tiers.catalog.connection import CatalogConnection, utc_now
from tiers.catalog.views import refresh_views

SUPERSEDED = "EXISTS (SELECT 1 FROM outputs o WHERE o.run_id = r.run_id AND o.superseded_by IS NOT NULL)"
"""SQL over `runs r`: the run has an output that a later run superseded (so it is not current)."""
FAIL_WAIT_S = 300.0
LLM_USAGE_COLUMNS = (
    "requests_sent",
    "cache_hits",
    "prompt_tokens",
    "completion_tokens",
    "wall_seconds",
    "tokens_per_second",
    "gpu_hours_per_billion_tokens",
)
"""The measures of table `llm_usage`, after run_id, model and engine (migration 3)."""


@dataclass(frozen=True)
class OutputRecord:
    kind: str
    path: str  # absolute when read back through Catalog; stored relative to the root
    rows: int
    bytes: int
    tier: str | None = None
    run_id: str | None = None


class CatalogRuns(CatalogConnection):
    """Runs, their outputs, models, LLM usage and experiments: written in short transactions by the driver."""

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
                refresh_views(con, self.root)
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
                    [utc_now(), ids],
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
                    utc_now(),
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
                [utc_now(), error[:4000], run_id],
            )

    def commit_run(self, run_id: str, outputs: list[OutputRecord], counts: dict[str, Any]) -> list[str]:
        """Register outputs, supersede the earlier runs of the same job whose scope this run's covers,
        mark the run committed: one transaction. Returns the superseded run ids."""
        with self.connect(wait_s=self.commit_wait_s) as con:
            con.execute("BEGIN")
            try:
                now = utc_now()
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
                refresh_views(con, self.root)
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
                    utc_now(),
                ],
            )

    def record_llm_usage(self, run_id: str, model: str, engine: str, usage: dict[str, Any]) -> None:
        with self.connect() as con:
            con.execute(
                f"INSERT OR REPLACE INTO llm_usage VALUES (?, ?, ?, {', '.join('?' * len(LLM_USAGE_COLUMNS))})",
                [run_id, model, engine, *(usage.get(c) for c in LLM_USAGE_COLUMNS)],
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
                    utc_now(),
                ],
            )

    # reads

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
