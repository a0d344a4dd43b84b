"""Seeded generator of write attempts for `tiers catalog sql`.

One base statement per statement type DuckDB's parser knows (and a few plain queries that call
functions with side effects), each aimed at a file under the data root (an L0 part file, the catalog,
a new file) or outside it; then every base wrapped the ways a user could hide it: EXPLAIN, EXPLAIN
ANALYZE, EXPLAIN (ANALYZE), a CTE in front, behind or before another statement, comments, odd case
and whitespace. `coverage_types()` says which statement types the bases parse as, so a test can check
that none is missing.

    python -m tests.fuzz.sql_writes --root /tmp/root --part L0/<run>/part-0.parquet | head
"""

from __future__ import annotations

import argparse
import random
import re

import duckdb


def bases(part: str, root: str, outside: str) -> list[str]:
    """Statements that write, change settings, or run code, aimed at `part` (a committed file under the
    root, relative), `root` (absolute) and `outside` (a path outside the root)."""
    return [
        f"COPY (SELECT 'x' AS doc_id) TO '{part}' (FORMAT parquet)",
        f"COPY (SELECT 'x' AS doc_id) TO '{root}/{part}' (FORMAT parquet)",
        f"COPY runs TO '{root}/runs.csv'",
        f"COPY (SELECT 1) TO '{outside}'",
        "COPY runs FROM 'L0/nothing.csv'",
        f"EXPORT DATABASE '{root}/exported'",
        f"ATTACH '{root}/other.duckdb' AS other",
        "ATTACH ':memory:' AS scratch",
        "DETACH other",
        "COPY FROM DATABASE memory TO catalog",
        "CREATE TABLE t AS SELECT 1 AS a",
        "CREATE OR REPLACE VIEW l0 AS SELECT 'x' AS doc_id",
        "CREATE MACRO m(a) AS a + 1",
        "CREATE FUNCTION f(a) AS a + 1",
        "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v')",
        "ALTER TABLE runs ADD COLUMN x INTEGER",
        "ALTER VIEW l0 RENAME TO l0_old",
        "DROP VIEW l0",
        "DROP TABLE runs",
        "INSERT INTO runs (run_id) VALUES ('x')",
        "INSERT INTO runs (run_id) SELECT 'x' RETURNING *",
        "UPDATE runs SET status = 'failed'",
        "DELETE FROM outputs",
        "MERGE INTO runs USING (SELECT 'x' AS run_id) s ON runs.run_id = s.run_id WHEN MATCHED THEN DELETE",
        "TRUNCATE runs",
        "VACUUM",
        "VACUUM ANALYZE runs",
        "ANALYZE",
        "ANALYZE runs",
        "CHECKPOINT",
        "FORCE CHECKPOINT",
        "BEGIN TRANSACTION",
        "COMMIT",
        "PREPARE p AS SELECT 1",
        "EXECUTE p",
        "DEALLOCATE p",
        "SET threads = 1",
        "SET enable_external_access = true",
        "RESET allowed_directories",
        "SET VARIABLE v = 1",
        "PRAGMA enable_profiling = 'json'",
        f"PRAGMA profiling_output = '{root}/profile.json'",
        "PRAGMA enable_checkpoint_on_shutdown",
        "PRAGMA force_checkpoint",
        "CALL enable_logging()",
        f"CALL enable_logging(storage = 'file', storage_path = '{root}/logs')",
        "CALL checkpoint()",
        "INSTALL httpfs",
        "LOAD json",
        "FORCE INSTALL parquet",
        "UPDATE EXTENSIONS",
        "CREATE EXTENSION REPOSITORY example.com",
        "PIVOT runs ON status USING count(*)",
        "USE memory",
        "SELECT * FROM enable_logging()",
        f"SELECT * FROM enable_logging(storage = 'file', storage_path = '{root}/logs')",
        "SELECT * FROM checkpoint()",
        "SELECT * FROM force_checkpoint()",
        f"SELECT * FROM query('COPY (SELECT 1) TO ''{root}/q.csv''')",
        f"SELECT * FROM read_text('{outside}')",
        "SELECT * FROM read_csv('/etc/hostname')",
        "SELECT setseed(0.5)",
        "SELECT nextval('nope')",
    ]


def _odd_case(statement: str, rng: random.Random) -> str:
    """Keywords in random case; quoted text (paths, strings) untouched."""
    parts = re.split(r"('(?:[^']|'')*')", statement)
    return "".join(
        part if part.startswith("'") else "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in part)
        for part in parts
    )


def _odd_space(statement: str, rng: random.Random) -> str:
    parts = re.split(r"('(?:[^']|'')*')", statement)
    return "".join(
        part if part.startswith("'") else re.sub(r" ", lambda _: rng.choice([" \n", "\t", "  ", "\r\n "]), part)
        for part in parts
    )


WRAPPERS = [
    ("plain", lambda s, rng: s),
    ("explain", lambda s, rng: f"EXPLAIN {s}"),
    ("explain analyze", lambda s, rng: f"EXPLAIN ANALYZE {s}"),
    ("explain (analyze)", lambda s, rng: f"EXPLAIN (ANALYZE) {s}"),
    ("explain (format json)", lambda s, rng: f"EXPLAIN (FORMAT json, ANALYZE) {s}"),
    ("cte", lambda s, rng: f"WITH x AS (SELECT 1 AS a) {s}"),
    ("after a select", lambda s, rng: f"SELECT 1; {s}"),
    ("before a select", lambda s, rng: f"{s}; SELECT 1"),
    ("comments", lambda s, rng: f"/* read only */ -- really\n{s} -- done"),
    ("comment in explain", lambda s, rng: f"EXPLAIN /* x */ ANALYZE\n{s}"),
    ("odd case", _odd_case),
    ("odd whitespace", lambda s, rng: "\n\t " + _odd_space(s, rng) + " ;\n"),
    ("explain, odd case", lambda s, rng: _odd_case(f"explain analyze {s}", rng)),
]


def family(part: str, root: str, outside: str, seed: int = 31) -> list[tuple[str, str]]:
    """(wrapper name, statement) for every base under every wrapper."""
    rng = random.Random(seed)
    return [(name, wrap(base, rng)) for base in bases(part, root, outside) for name, wrap in WRAPPERS]


def coverage_types(part: str, root: str, outside: str) -> set[str]:
    """The statement types DuckDB's parser gives the bases (those that parse)."""
    found = set()
    for base in bases(part, root, outside):
        try:
            parsed = duckdb.extract_statements(base)
        except duckdb.Error:
            continue
        for statement in parsed:
            try:
                found.add(str(statement.type).rsplit(".", 1)[-1])
            except ValueError:  # a type the Python module cannot name (UPDATE EXTENSIONS in DuckDB 2.0)
                found.add("unnamed")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--part", required=True, help="a committed file, relative to the root")
    parser.add_argument("--outside", default="/tmp/tiers-outside.csv")
    args = parser.parse_args()
    for name, statement in family(args.part, args.root, args.outside):
        print(f"-- {name}\n{statement}")


if __name__ == "__main__":
    main()
