"""SQL from users runs read-only for the whole machine, not only for the catalog file.

Every statement of the string is parsed and must be a query (SELECT, or EXPLAIN of one) before any of
them runs; the connection can read only the data root's output folders and cannot change its own
settings, so COPY ... TO, EXPORT, ATTACH, INSTALL/LOAD, SET, PRAGMA, CALL and file functions pointed
elsewhere are all refused.
"""

from __future__ import annotations

import duckdb

ALLOWED_TYPES = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}


class ReadOnlyViolation(ValueError):
    """A statement that could write, change settings or reach outside the data root."""


def checked_statements(con: duckdb.DuckDBPyConnection, sql: str) -> list:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise ReadOnlyViolation(f"cannot parse the SQL: {str(exc).splitlines()[0]}") from None
    if not statements:
        raise ReadOnlyViolation("no SQL statement given")
    for statement in statements:
        if statement.type not in ALLOWED_TYPES:
            kind = str(statement.type).rsplit(".", 1)[-1]
            raise ReadOnlyViolation(
                f"SQL here is read-only: only queries (SELECT, EXPLAIN) run; refused a {kind} statement: "
                f"{statement.query.strip()[:80]}"
            )
    return statements


def restrict_to(con: duckdb.DuckDBPyConnection, directories: list[str]) -> None:
    """Allow file access only under `directories` (relative ones resolve against file_search_path), then lock."""
    con.execute("SET allowed_directories = ?", [directories])
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")
