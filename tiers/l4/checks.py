"""One check of one item: a row of the catalog view `l4_checks`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str
    model: str | None
    passed: bool
    score: float | None
    detail: str
