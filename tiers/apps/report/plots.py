"""Draw a panel's chart from its table with matplotlib, as inline SVG (no display, no network, no pyplot state)."""

from __future__ import annotations

import io
import re
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tiers.apps.report.model import Chart, Panel, Table

WIDTH = 7.2  # inches; the page is about 760 px wide
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
STATUS_COLOURS = {
    "committed": "#59a14f",
    "failed": "#e15759",
    "running": "#f28e2b",
    "skipped": "#bab0ac",
    "accepted": "#59a14f",
    "rejected": "#e15759",
}
STYLE = {
    "svg.fonttype": "none",  # text stays text: smaller files, selectable labels, the browser's own fonts
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _colour(value: Any, index: int) -> str:
    return STATUS_COLOURS.get(str(value), PALETTE[index % len(PALETTE)])


def _bar_label(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.3g}"


def _group_colours(table: Table, chart: Chart) -> list[str]:
    if chart.group is None:
        return [PALETTE[0]] * len(table.rows)
    groups = list(dict.fromkeys(table.column(chart.group)))
    return [_colour(g, groups.index(g)) for g in table.column(chart.group)]


def _legend_for_groups(ax: Axes, table: Table, chart: Chart) -> None:
    from matplotlib.patches import Patch

    groups = list(dict.fromkeys(table.column(chart.group))) if chart.group else []
    if len(groups) > 1:
        ax.legend(
            handles=[Patch(color=_colour(g, i), label=str(g)) for i, g in enumerate(groups)], fontsize=7, frameon=False
        )


def _barh(fig: Figure, table: Table, chart: Chart) -> None:
    labels = [str(v) for v in table.column(chart.x)]
    axes = fig.subplots(1, len(chart.y), sharey=True, squeeze=False)[0]
    colours = _group_colours(table, chart)
    positions = list(range(len(labels)))
    for ax, column in zip(axes, chart.y):
        raw = table.column(column)
        values = [_number(v) for v in raw]
        bars = ax.barh(positions, values, color=colours)
        ax.bar_label(bars, labels=[_bar_label(v) for v in raw], fontsize=7, padding=2)
        ax.set_title(column, fontsize=9)
        ax.set_xlabel(chart.xlabel if len(chart.y) == 1 else "")
        ax.margins(x=0.15)
        ax.grid(axis="y", visible=False)
    axes[0].set_yticks(positions, labels)
    axes[0].invert_yaxis()
    _legend_for_groups(axes[-1], table, chart)


def _hist(fig: Figure, table: Table, chart: Chart) -> None:
    assert chart.x2 is not None
    ax = fig.subplots()
    lows, highs = [_number(v) for v in table.column(chart.x)], [_number(v) for v in table.column(chart.x2)]
    edges = [*lows, highs[-1]] if lows else [0.0, 1.0]
    for index, column in enumerate(chart.y):
        counts = [_number(v) for v in table.column(column)] or [0.0]
        colour = PALETTE[index % len(PALETTE)]
        ax.stairs(counts, edges, fill=True, alpha=0.15, color=colour)
        ax.stairs(counts, edges, linewidth=1.6, color=colour, label=column)
    if chart.log_x:
        ax.set_xscale("log")
    if chart.vline is not None:
        ax.axvline(
            chart.vline,
            color="#333333",
            linestyle="--",
            linewidth=1.2,
            label=f"{chart.vline_label} {chart.vline:g}".strip(),
        )
    ax.set_xlabel(chart.xlabel)
    ax.set_ylabel(chart.ylabel)
    ax.legend(fontsize=7, frameon=False)


def _bars(fig: Figure, table: Table, chart: Chart) -> None:
    ax = fig.subplots()
    labels = [str(v) for v in table.column(chart.x)]
    width = 0.8 / len(chart.y)
    for index, column in enumerate(chart.y):
        values = [_number(v) for v in table.column(column)]
        offsets = [i + (index - (len(chart.y) - 1) / 2) * width for i in range(len(labels))]
        ax.bar(offsets, values, width=width, color=PALETTE[index % len(PALETTE)], label=column)
    ax.set_xticks(range(len(labels)), labels)
    if chart.log_y:
        ax.set_yscale("symlog", linthresh=1)
    ax.set_xlabel(chart.xlabel)
    ax.set_ylabel(chart.ylabel)
    if len(chart.y) > 1:
        ax.legend(fontsize=7, frameon=False)


def _intervals(fig: Figure, table: Table, chart: Chart) -> None:
    ax = fig.subplots()
    labels = [str(v) for v in table.column(chart.x)]
    point, low, high = ([_number(v) for v in table.column(c)] for c in chart.y)
    colours = _group_colours(table, chart)
    for i, (p, lo, hi, colour) in enumerate(zip(point, low, high, colours)):
        ax.errorbar([p], [i], xerr=[[max(p - lo, 0.0)], [max(hi - p, 0.0)]], fmt="o", color=colour, capsize=3)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    if chart.vline is not None:
        ax.axvline(chart.vline, color="#333333", linewidth=0.8)
    ax.set_xlabel(chart.xlabel)
    _legend_for_groups(ax, table, chart)


def _timeline(fig: Figure, table: Table, chart: Chart) -> None:
    ax = fig.subplots()
    labels = [str(v) for v in table.column(chart.x)]
    starts, durations = ([_number(v) for v in table.column(c)] for c in chart.y)
    ax.barh(range(len(labels)), [max(d, 0.05) for d in durations], left=starts, color=_group_colours(table, chart))
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(chart.xlabel)
    _legend_for_groups(ax, table, chart)


DRAW = {"barh": _barh, "hist": _hist, "bars": _bars, "intervals": _intervals, "timeline": _timeline}


def _height(table: Table, chart: Chart) -> float:
    if chart.kind in ("barh", "intervals", "timeline"):
        return min(1.0 + 0.24 * len(table.rows), 9.0)
    return 3.2


def figure_svg(panel: Panel) -> str:
    """The panel's chart as an <svg> element (XML prolog and doctype removed)."""
    assert panel.table is not None and panel.chart is not None
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH, _height(panel.table, panel.chart)), layout="constrained")
        DRAW[panel.chart.kind](fig, panel.table, panel.chart)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def strip_dimensions(svg: str) -> str:
    """Let CSS size the figure: drop the fixed width/height of the root element (viewBox keeps the shape)."""
    head, rest = svg.split(">", 1)
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    return head + ">" + rest
