"""What a report holds: sections of panels, each a small table of catalog aggregates and how to chart it.

The chart is drawn from the panel's own table, so the figure and the numbers printed under it cannot
disagree. Nothing here knows about SQL or about plotting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ChartKind = Literal["barh", "hist", "bars", "intervals", "timeline"]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


@dataclass(frozen=True)
class Chart:
    """How to draw a panel's table.

    - ``barh``: categories from ``x``, one horizontal-bar subplot per column in ``y``.
    - ``hist``: bins from ``x`` (lower edge) and ``x2`` (upper edge), one overlaid series per ``y``.
    - ``bars``: vertical bars, categories from ``x``, one grouped series per ``y``.
    - ``intervals``: label ``x``, point ``y[0]``, interval ``y[1]``..``y[2]``, colour by ``group``.
    - ``timeline``: label ``x``, start ``y[0]``, duration ``y[1]``, colour by ``group``.
    """

    kind: ChartKind
    x: str
    y: tuple[str, ...]
    x2: str | None = None
    group: str | None = None
    xlabel: str = ""
    ylabel: str = ""
    log_x: bool = False
    log_y: bool = False
    vline: float | None = None
    vline_label: str = ""


@dataclass(frozen=True)
class Panel:
    """One figure with a one-line caption and its table; or, when the data does not exist, one line saying so."""

    key: str
    title: str
    caption: str = ""
    table: Table | None = None
    chart: Chart | None = None
    missing: str | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def absent(cls, key: str, title: str, why: str) -> "Panel":
        return cls(key=key, title=title, missing=why)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    panels: tuple[Panel, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportData:
    root: str
    generated_at: str
    run_id: str | None
    schema_version: int | None
    sections: tuple[Section, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = ()

    def panels(self) -> list[Panel]:
        return [panel for section in self.sections for panel in section.panels]
