"""`tiers l4 ...`: search the verified knowledge items (BM25) and export them as training data."""

from __future__ import annotations

import json
from enum import Enum

import typer
from rich.markup import escape
from rich.console import Console

from tiers.catalog import Catalog, CatalogError
from tiers.exit_codes import EXIT_CATALOG

app = typer.Typer(help="L4 knowledge items: search and export.", no_args_is_help=True)
console = Console()
RootOpt = typer.Option(..., "--root", help="data root holding catalog.duckdb")


class Kind(str, Enum):
    rl = "rl"
    midtrain = "midtrain"


class Format(str, Enum):
    jsonl = "jsonl"
    parquet = "parquet"


@app.command()
def search(
    query: str = typer.Argument(..., help="words to look for"),
    root: str = RootOpt,
    limit: int = typer.Option(10, "--limit", min=1, help="most items shown"),
    everything: bool = typer.Option(False, "--all", help="search every generated item (any status), not only L4"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per line"),
) -> None:
    """Items ranked by BM25 over their text and answer, with evidence, confidence and lineage."""
    from tiers.l4.search import search as run_search

    try:
        with Catalog(root).connect(read_only=True) as con:
            hits = run_search(con, query, limit, everything)
    except CatalogError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_CATALOG)
    for rank, hit in enumerate(hits, 1):
        if as_json:
            typer.echo(json.dumps({"rank": rank, **hit.__dict__}, default=str))
            continue
        console.print(
            f"[bold]{rank}. {escape(str(hit.text))}[/bold]" + (f"  → {escape(str(hit.answer))}" if hit.answer else "")
        )
        console.print(
            f"   {hit.kind}, {hit.status}, grade {hit.grade}, confidence {hit.confidence}, "
            f"corroboration {hit.corroboration}, BM25 {hit.score:.3f}, ki_id {hit.ki_id}",
            markup=False,
        )
        console.print(f"   evidence: “{hit.evidence}”", markup=False)
        lin = hit.lineage
        console.print(
            f"   from {lin['source_tier']} {lin['source_doc_id']} (passage {lin['passage_id']})"
            + (f" ← {lin['l3_task']} rewrite of {lin['parent_id']}" if lin["parent_id"] else "")
            + (f" ← L0 {lin['l0_file']} @ {lin['l0_offset']}" if lin["l0_file"] else ""),
            markup=False,
        )
    if not hits and not as_json:
        console.print("no matching items")


@app.command()
def export(
    root: str = RootOpt,
    kind: Kind = typer.Option(
        ..., "--kind", help="rl: verifiable-answer records; midtrain: passages with their verified QA pairs appended"
    ),
    out: str = typer.Option(..., "--out", help="folder for the file"),
    fmt: Format = typer.Option(Format.jsonl, "--format", help="jsonl or parquet"),
) -> None:
    """Export the current L4 as training data."""
    from tiers.l4.export import export_l4

    try:
        with Catalog(root).connect(read_only=True) as con:
            path, count = export_l4(con, kind.value, out, fmt.value)
    except CatalogError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_CATALOG)
    typer.echo(f"{count} records -> {path}")
