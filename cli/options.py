"""One small dataclass per kind of command, built from the Typer arguments."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class JobOptions:
    root: str
    inputs: list[str] = field(default_factory=list)
    config: str | None = None
    overrides: list[str] = field(default_factory=list)
    force: bool = False


@dataclass(frozen=True)
class SqlOptions:
    root: str
    sql: str
    format: str = "table"
