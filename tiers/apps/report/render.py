"""Render a report as one self-contained HTML page: inline CSS and inline SVG figures, no scripts, no links out."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

from tiers.apps.report.model import Panel, ReportData, Section, Table
from tiers.apps.report.plots import figure_svg, strip_dimensions

log = logging.getLogger(__name__)

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 980px;
       padding: 1rem 1.5rem 4rem; color: #222; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ddd; margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 0.3rem; }
.meta, .note, figcaption { color: #555; font-size: 0.9rem; }
.missing { color: #777; font-style: italic; }
nav a { margin-right: 0.8rem; }
figure { margin: 0.4rem 0 1.2rem; overflow-x: auto; }
figure svg { width: 100%; height: auto; max-width: 760px; display: block; }
figcaption { margin: 0.2rem 0 0.5rem; }
table { border-collapse: collapse; font-size: 0.8rem; margin-top: 0.3rem; }
th, td { border: 1px solid #ddd; padding: 2px 8px; white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; text-align: left; }
details summary { cursor: pointer; color: #444; font-size: 0.85rem; }
"""


def format_value(value: Any) -> str:
    """Integers with thousands separators, floats with up to 4 significant digits, None as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"
    return str(value)


def _table_html(key: str, table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = "".join(
            f'<td class="n">{format_value(v)}</td>'
            if isinstance(v, (int, float)) and not isinstance(v, bool)
            else f"<td>{html.escape(format_value(v))}</td>"
            for v in row
        )
        body.append(f"<tr>{cells}</tr>")
    return f'<table data-panel="{key}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _panel_html(panel: Panel) -> str:
    title = f"<h3>{html.escape(panel.title)}</h3>"
    if panel.missing is not None:
        return f'{title}<p class="missing" data-panel="{panel.key}">{html.escape(panel.missing)}</p>'
    assert panel.table is not None
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in panel.notes)
    svg = ""
    if panel.chart is not None:
        svg = strip_dimensions(figure_svg(panel))
    rows = len(panel.table.rows)
    table = _table_html(panel.key, panel.table)
    table = table if rows <= 14 else f"<details><summary>the numbers ({rows} rows)</summary>{table}</details>"
    return (
        f'{title}<figure id="panel-{panel.key}" data-panel="{panel.key}">{svg}'
        f"<figcaption>{html.escape(panel.caption)}</figcaption>{table}</figure>{notes}"
    )


def _section_html(section: Section) -> str:
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in section.notes)
    panels = "".join(_panel_html(p) for p in section.panels)
    return f'<section id="{section.key}"><h2>{html.escape(section.title)}</h2>{notes}{panels}</section>'


def render_html(report: ReportData) -> str:
    scope = f"run {report.run_id}" if report.run_id else "all committed data"
    version = f", catalog schema v{report.schema_version}" if report.schema_version is not None else ""
    nav = "".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in report.sections)
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in report.notes)
    body = "".join(_section_html(s) for s in report.sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>tiers report: {html.escape(report.root)}</title><style>{CSS}</style></head><body>"
        f'<h1>tiers report</h1><p class="meta">{html.escape(report.root)} · {html.escape(scope)} · '
        f"generated {html.escape(report.generated_at)}{version}</p><nav>{nav}</nav>{notes}{body}</body></html>\n"
    )


def write_report(report: ReportData, out: str | Path) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = render_html(report)
    path.write_text(text, encoding="utf-8")
    log.info("report: wrote %s (%d bytes)", path, len(text.encode("utf-8")))
    return path
