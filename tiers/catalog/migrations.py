"""Catalog schema, versioned: each migration runs once, in order, recorded in `schema_version`."""

from __future__ import annotations

from tiers.dedup.reasons import EXACT_REASON, NEAR_REASON

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "runs and committed outputs",
        """
        CREATE TABLE runs (
            run_id      VARCHAR PRIMARY KEY,
            job         VARCHAR NOT NULL,
            config_json VARCHAR NOT NULL,
            config_hash VARCHAR NOT NULL,
            code_version VARCHAR,
            started_at  TIMESTAMPTZ NOT NULL,
            ended_at    TIMESTAMPTZ,
            status      VARCHAR NOT NULL CHECK (status IN ('running', 'committed', 'failed', 'skipped')),
            counts_json VARCHAR,
            error       VARCHAR
        );
        CREATE TABLE outputs (
            run_id  VARCHAR NOT NULL REFERENCES runs(run_id),
            kind    VARCHAR NOT NULL,
            tier    VARCHAR,
            path    VARCHAR NOT NULL,
            rows    BIGINT NOT NULL,
            bytes   BIGINT NOT NULL,
            committed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (run_id, kind)
        );
        """,
    ),
    (
        2,
        "classifier models",
        """
        CREATE TABLE models (
            model_hash  VARCHAR PRIMARY KEY,
            lang        VARCHAR NOT NULL,
            path        VARCHAR NOT NULL,
            tokenizer   VARCHAR NOT NULL,
            seeds_json  VARCHAR NOT NULL,
            params_json VARCHAR NOT NULL,
            metrics_json VARCHAR,
            run_id      VARCHAR,
            created_at  TIMESTAMPTZ NOT NULL
        );
        """,
    ),
]

MIGRATIONS.append(
    (
        3,
        "LLM usage and cost per run",
        """
        CREATE TABLE llm_usage (
            run_id VARCHAR PRIMARY KEY,
            model VARCHAR NOT NULL,
            engine VARCHAR NOT NULL,
            requests_sent BIGINT,
            cache_hits BIGINT,
            prompt_tokens BIGINT,
            completion_tokens BIGINT,
            wall_seconds DOUBLE,
            tokens_per_second DOUBLE,
            gpu_hours_per_billion_tokens DOUBLE
        );
        """,
    )
)

MIGRATIONS.append(
    (
        4,
        "verification experiments",
        """
        CREATE TABLE experiments (
            loop_id VARCHAR NOT NULL,
            round INTEGER NOT NULL,
            pool VARCHAR NOT NULL,
            config_json VARCHAR NOT NULL,
            baseline_json VARCHAR NOT NULL,
            candidate_json VARCHAR NOT NULL,
            delta DOUBLE,
            ci_low DOUBLE,
            ci_high DOUBLE,
            accepted BOOLEAN,
            seconds DOUBLE,
            tokens_per_arm BIGINT,
            created_at TIMESTAMPTZ NOT NULL
        );
        """,
    )
)


MIGRATIONS.append(
    (
        5,
        "current versions and lineage of runs; paths relative to the root",
        """
        ALTER TABLE runs ADD COLUMN input_runs VARCHAR[];
        ALTER TABLE runs ADD COLUMN scope VARCHAR;
        ALTER TABLE outputs ADD COLUMN superseded_by VARCHAR;
        """,
    )
)

MIGRATIONS.append(
    (
        6,
        "L4: LLM usage per role (generator, each verifier, the support judge); views l4_items, l4_passages, "
        "l4_failures, l4_postings",
        """
        CREATE TABLE llm_usage_roles (
            run_id VARCHAR NOT NULL,
            role VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            requests BIGINT,
            prompt_tokens BIGINT,
            completion_tokens BIGINT,
            engine_seconds DOUBLE,
            PRIMARY KEY (run_id, role)
        );
        """,
    )
)

MIGRATIONS.append(
    (
        7,
        "allocation search: searches, their trials (one row per annealed mixture), view mixture_trials",
        """
        CREATE TABLE mixture_searches (
            search_id VARCHAR PRIMARY KEY,
            stage VARCHAR NOT NULL,
            plan_hash VARCHAR NOT NULL,
            cells VARCHAR[] NOT NULL,
            settings_json VARCHAR NOT NULL,
            metric VARCHAR NOT NULL,
            fit_json VARCHAR,
            accepted BOOLEAN,
            plan_path VARCHAR,
            created_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ
        );
        CREATE TABLE mixture_trial_rows (
            search_id VARCHAR NOT NULL,
            kind VARCHAR NOT NULL CHECK (kind IN ('current', 'candidate', 'proposal')),
            trial INTEGER NOT NULL,
            weights DOUBLE[] NOT NULL,
            scores_json VARCHAR NOT NULL,
            score DOUBLE,
            delta DOUBLE,
            ci_low DOUBLE,
            ci_high DOUBLE,
            predicted DOUBLE,
            seconds DOUBLE,
            tokens_per_run BIGINT,
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (search_id, kind, trial)
        );
        CREATE VIEW mixture_trials AS
        SELECT t.search_id, s.stage, t.kind, t.trial, s.metric,
               map(s.cells, t.weights) AS weights,
               t.score, t.delta, t.ci_low, t.ci_high, t.predicted, t.seconds, t.tokens_per_run, s.accepted,
               t.created_at
        FROM mixture_trial_rows t JOIN mixture_searches s USING (search_id);
        """,
    )
)

MIGRATIONS.append(
    (
        8,
        "view dedup_clusters: near-duplicate clusters with their measured Jaccard",
        f"""
        CREATE VIEW IF NOT EXISTS drops AS SELECT NULL::VARCHAR AS doc_id, NULL::VARCHAR AS stage,
            NULL::VARCHAR AS reason, NULL::VARCHAR AS details, NULL::VARCHAR AS run_id WHERE false;
        CREATE OR REPLACE VIEW dedup_clusters AS
        WITH named AS (
            SELECT json_extract_string(details, '$.kept') AS kept_id, reason,
                   json_extract_string(details, '$.component') AS component,
                   TRY_CAST(json_extract(details, '$.jaccard') AS DOUBLE) AS jaccard,
                   json_extract_string(details, '$.source') AS source
            FROM drops WHERE reason IN ('{EXACT_REASON}', '{NEAR_REASON}')
        )
        SELECT kept_id AS cluster_id, kept_id, count(*) + 1 AS size,
               count(*) FILTER (WHERE reason = '{NEAR_REASON}') AS near_duplicates,
               min(jaccard) AS min_jaccard, median(jaccard) AS median_jaccard,
               mode(source) AS source, min(component) AS component
        FROM named GROUP BY kept_id;
        """,
    )
)

MIGRATIONS.append(
    (
        9,
        "allocation: plans, targets, cells, rows, evaluation-overlap flags; view allocation (the current one)",
        # IF NOT EXISTS: catalogs from before this version already have the tables (allocation made them).
        """
        CREATE TABLE IF NOT EXISTS allocation_plans (
            allocation_id VARCHAR PRIMARY KEY, plan_hash VARCHAR, plan_json VARCHAR, catalog_state VARCHAR,
            eval_index VARCHAR, manifest_hash VARCHAR, documents BIGINT, tokens BIGINT, is_current BOOLEAN,
            created_at TIMESTAMPTZ
        );
        CREATE TABLE IF NOT EXISTS allocation_targets (
            allocation_id VARCHAR, stage VARCHAR, stage_index INTEGER, source VARCHAR, tiers VARCHAR[],
            buckets INTEGER[], weight DOUBLE, budget_tokens DOUBLE, target_tokens DOUBLE, capacity_tokens DOUBLE,
            allocated_tokens DOUBLE, realized_tokens BIGINT, documents BIGINT
        );
        CREATE TABLE IF NOT EXISTS allocation_cells (
            allocation_id VARCHAR, stage VARCHAR, stage_index INTEGER, source VARCHAR, tier VARCHAR, bucket INTEGER,
            unique_tokens BIGINT, epochs DOUBLE, tokens DOUBLE
        );
        CREATE TABLE IF NOT EXISTS allocation_rows (
            allocation_id VARCHAR, doc_id VARCHAR, stage VARCHAR, stage_index INTEGER, tier VARCHAR, bucket INTEGER,
            source VARCHAR, repeats INTEGER, n_tokens BIGINT
        );
        CREATE TABLE IF NOT EXISTS eval_overlap (
            doc_id VARCHAR, tier VARCHAR, benchmark VARCHAR, index_id VARCHAR, checked_at TIMESTAMPTZ
        );
        CREATE OR REPLACE VIEW allocation AS
        SELECT r.doc_id, r.stage, r.tier, r.repeats FROM allocation_rows r
        JOIN allocation_plans p ON p.allocation_id = r.allocation_id AND p.is_current;
        """,
    )
)

MIGRATIONS.append(
    (
        10,
        "verification: per-benchmark results (experiment_parts) and pairwise comparisons (experiment_pairs)",
        # IF NOT EXISTS: catalogs from before this version may already have them (the loop made them).
        """
        CREATE TABLE IF NOT EXISTS experiment_parts (
            loop_id VARCHAR NOT NULL, round INTEGER NOT NULL, pool VARCHAR NOT NULL, part VARCHAR NOT NULL,
            metric VARCHAR, delta DOUBLE, ci_low DOUBLE, ci_high DOUBLE,
            created_at TIMESTAMPTZ DEFAULT current_timestamp
        );
        CREATE TABLE IF NOT EXISTS experiment_pairs (
            loop_id VARCHAR NOT NULL, round INTEGER NOT NULL, better VARCHAR NOT NULL, worse VARCHAR NOT NULL,
            delta DOUBLE, ci_low DOUBLE, ci_high DOUBLE, resolved BOOLEAN,
            created_at TIMESTAMPTZ DEFAULT current_timestamp
        );
        """,
    )
)

LATEST = MIGRATIONS[-1][0]


def relativize_paths(con, root) -> None:
    """Version 5: output paths stored under the root become relative to it (older catalogs stored them absolute)."""
    prefix = str(root).rstrip("/") + "/"
    con.execute("UPDATE outputs SET path = substr(path, ?) WHERE starts_with(path, ?)", [len(prefix) + 1, prefix])
