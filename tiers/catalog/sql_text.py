"""The one place that writes names and values into SQL text, for the few spots where DuckDB cannot bind
a parameter (a view's body, a fragment shared by several statements). Everywhere else values are bound
as parameters (`?` or `$name`)."""

from __future__ import annotations

from pathlib import Path


def identifier(name: str) -> str:
    """A quoted SQL identifier: `"name"`, with inner double quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str | Path) -> str:
    """A SQL string literal: `'value'`, with inner single quotes doubled (a path, a document id)."""
    return "'" + str(value).replace("'", "''") + "'"
