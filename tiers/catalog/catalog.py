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

from tiers.catalog.connection import CatalogError
from tiers.catalog.runs import CatalogRuns, OutputRecord
from tiers.catalog.user_sql import CatalogSql

__all__ = ["Catalog", "CatalogError", "OutputRecord"]


class Catalog(CatalogRuns, CatalogSql):
    """The façade: connections and schema (`connection.py`), runs and outputs (`runs.py`), views
    (`views.py`, refreshed on every commit) and read-only user SQL (`user_sql.py`)."""
