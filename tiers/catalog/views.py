"""The catalog's views over committed Parquet: one per tier and per output kind, current versions only,
plus `membership` and `membership_history`. Before anything of a kind is committed its view is empty
with the columns of its schema in `tiers/schemas.py`, so a query over a tier that a root lacks still runs.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from tiers import schemas
from tiers.catalog.sql_text import identifier, literal
from tiers.names import DOCUMENT_TIERS, TIERS

_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "binary": "BLOB",
    "int64": "BIGINT",
    "int32": "INTEGER",
    "double": "DOUBLE",
    "float": "FLOAT",
    "bool": "BOOLEAN",
    "timestamp[us, tz=UTC]": "TIMESTAMPTZ",
    "list<item: string>": "VARCHAR[]",
}

TIER_SCHEMAS: dict[str, pa.Schema] = {
    tier: schemas.with_tokens(schema)
    for tier, schema in zip(TIERS, (schemas.L0, schemas.L1, schemas.L2, schemas.L3, schemas.L4))
}
"""The columns every file of a tier has (L1 and L2 files also have the columns their operators add)."""

KIND_SCHEMAS: dict[str, pa.Schema] = {
    "drops": schemas.DROPS,
    "quarantine": schemas.QUARANTINE,
    "l2_scores": schemas.L2_SCORES,
    "l3_scores": schemas.L3_SCORES,
    "l3_failures": schemas.L3_FAILURES,
    "l4_checks": schemas.L4_CHECKS,
    "l4_items": schemas.L4_ITEMS,
    "l4_passages": schemas.L4_PASSAGES,
    "l4_failures": schemas.L4_FAILURES,
    "l4_postings": schemas.L4_POSTINGS,
}
"""Output kinds read through a view of the same name."""


def empty_columns(schema: pa.Schema) -> str:
    """The select list of an empty view with `schema`'s columns."""
    return ", ".join(f"NULL::{_DUCKDB_TYPES[str(f.type)]} AS {identifier(f.name)}" for f in schema)


def _parquet_glob(relative: str) -> str:
    return literal(relative.rstrip("/") + "/**/*.parquet")


def _source(paths: list[str], columns: str, empty: str) -> str:
    if not paths:
        return f"SELECT {empty} WHERE false"
    return f"SELECT {columns} FROM read_parquet([{', '.join(map(_parquet_glob, paths))}], union_by_name = true)"


def refresh_views(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """(Re)create every view from the committed outputs whose folders exist under `root`."""
    rows = con.execute(
        "SELECT o.kind, o.tier, o.path, o.run_id, o.superseded_by FROM outputs o JOIN runs r USING (run_id) "
        "WHERE r.status = 'committed' ORDER BY o.committed_at"
    ).fetchall()
    current: dict[str, list[str]] = {}
    tiers: dict[str, list[str]] = {}
    history: list[tuple[str, str, str | None]] = []
    for kind, tier, path, run_id, superseded_by in rows:
        if not (root / path).is_dir():
            continue
        if tier in DOCUMENT_TIERS:
            history.append((tier, path, superseded_by))
        if superseded_by is None:
            current.setdefault(kind, []).append(path)
            if tier:
                tiers.setdefault(tier, []).append(path)

    membership = [
        _source(
            tiers.get(t, []),
            f"doc_id, '{t}' AS tier, run_id",
            f"NULL::VARCHAR AS doc_id, '{t}' AS tier, NULL::VARCHAR AS run_id",
        )
        for t in DOCUMENT_TIERS
    ]
    con.execute("CREATE OR REPLACE VIEW membership AS " + " UNION ALL ".join(membership))
    versions = [
        f"SELECT doc_id, '{tier}' AS tier, run_id, " + (literal(by) if by else "NULL::VARCHAR") + " AS superseded_by "
        f"FROM read_parquet({_parquet_glob(path)}, union_by_name = true)"
        for tier, path, by in history
    ] or [
        "SELECT NULL::VARCHAR AS doc_id, NULL::VARCHAR AS tier, NULL::VARCHAR AS run_id, NULL::VARCHAR AS superseded_by WHERE false"
    ]
    con.execute("CREATE OR REPLACE VIEW membership_history AS " + " UNION ALL ".join(versions))
    for kind, schema in KIND_SCHEMAS.items():
        con.execute(f"CREATE OR REPLACE VIEW {kind} AS " + _source(current.get(kind, []), "*", empty_columns(schema)))
    for tier, schema in TIER_SCHEMAS.items():
        view = _source(tiers.get(tier, []), "*", empty_columns(schema))
        con.execute(f"CREATE OR REPLACE VIEW {tier.lower()} AS " + view)
