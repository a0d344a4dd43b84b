"""Panels for the LLM tiers (L3 usage and failures, L4 items), the verification loop and allocation."""

from __future__ import annotations

from tiers.catalog.runs import LLM_USAGE_COLUMNS
from tiers.apps.report.aggregates import finite
from tiers.apps.report.model import Chart, Panel, Table
from tiers.apps.report.source import CatalogSource


def llm_usage(src: CatalogSource) -> Panel:
    key, title = "llm_usage", "L3: requests, tokens, throughput and cost"
    if not src.has("llm_usage", "run_id", *LLM_USAGE_COLUMNS):
        return Panel.absent(key, title, "No llm_usage table in the catalog yet.")
    where, params = ("WHERE run_id = ?", [src.run_id]) if src.run_id else ("", [])
    rows = src.rows(
        f"SELECT run_id, model, engine, {', '.join(LLM_USAGE_COLUMNS)} FROM llm_usage {where} ORDER BY run_id", params
    )
    if not rows:
        return Panel.absent(key, title, "No L3 run has recorded LLM usage yet (l2-to-l3 has not run).")
    rows = [tuple(round(v, 2) if isinstance(v, float) else v for v in map(finite, row)) for row in rows]
    return Panel(
        key=key,
        title=title,
        caption="Per L3 run: requests sent, cache hits, tokens, wall time, tokens per second and projected GPU-hours per billion tokens.",
        table=Table(
            (
                "run_id",
                "model",
                "engine",
                "requests",
                "cache hits",
                "prompt tokens",
                "completion tokens",
                "wall seconds",
                "tokens per second",
                "GPU-hours per B tokens",
            ),
            tuple(rows),
        ),
        chart=Chart("barh", x="run_id", y=("tokens per second", "GPU-hours per B tokens")),
    )


def l3_status(src: CatalogSource) -> Panel:
    key, title = "l3_status", "L3: scoring outcomes by status"
    if not src.has("l3_scores", "status"):
        return Panel.absent(key, title, "No L3 scores yet (l2-to-l3 has not run).")
    rows = src.rows(
        f"SELECT status, count(*) FROM {src.rel('l3_scores')} WHERE status IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    if not rows:
        return Panel.absent(key, title, "No L3 scores yet (l2-to-l3 has not run).")
    return Panel(
        key=key,
        title=title,
        caption="L2 documents by scoring outcome: scored, unparseable after re-asking, or engine error.",
        table=Table(("status", "documents"), tuple(rows)),
        chart=Chart("barh", x="status", y=("documents",), xlabel="documents"),
    )


def _l4_counts(src: CatalogSource, view: str, column: str, key: str, title: str, caption: str) -> Panel:
    if not src.exists(view) or not src.rows(f"SELECT 1 FROM {src.rel(view)} LIMIT 1"):
        return Panel.absent(key, title, f"L4 is not built yet: the catalog has no committed items in {view}.")
    if not src.has(view, column):
        return Panel.absent(key, title, f"The view {view} has no {column} column.")
    rows = src.rows(f"SELECT CAST({column} AS VARCHAR), count(*) FROM {src.rel(view)} GROUP BY 1 ORDER BY 2 DESC, 1")
    if not rows:
        return Panel.absent(key, title, f"The view {view} is empty.")
    return Panel(
        key=key,
        title=title,
        caption=caption,
        table=Table((column, "items"), tuple(rows)),
        chart=Chart("barh", x=column, y=("items",), xlabel="items"),
    )


def l4_grades(src: CatalogSource) -> Panel:
    return _l4_counts(src, "l4", "grade", "l4_grades", "L4: items by grade", "Verified knowledge items per grade.")


def l4_checks(src: CatalogSource) -> Panel:
    return _l4_counts(
        src, "l4_checks", "check_name", "l4_checks", "L4: items by check", "L4 verification results per check."
    )


def experiments(src: CatalogSource) -> Panel:
    key, title = "experiments", "Verification loop: delta per pool and round"
    if not src.has("experiments", "loop_id", "round", "pool", "delta", "ci_low", "ci_high", "accepted"):
        return Panel.absent(key, title, "No experiments table in the catalog yet.")
    loop = src.rows("SELECT loop_id, count(*) FROM experiments GROUP BY 1 ORDER BY max(created_at) DESC")
    if not loop:
        return Panel.absent(key, title, "The verification loop has not run on this root yet (tiers verify seeds).")
    loop_id = loop[0][0]
    rows = src.rows(
        "SELECT round, pool, delta, ci_low, ci_high, CASE WHEN accepted THEN 'accepted' ELSE 'rejected' END "
        "FROM experiments WHERE loop_id = ? ORDER BY round, pool, created_at",
        [loop_id],
    )
    rows = [
        (
            f"round {r} · {pool}",
            r,
            pool,
            *(None if v is None else round(v, 4) for v in map(finite, (d, lo, hi))),
            verdict,
        )
        for r, pool, d, lo, hi, verdict in rows
    ]
    notes = [f"Loop {loop_id}; {len(loop) - 1} earlier loop(s) not shown."] if len(loop) > 1 else [f"Loop {loop_id}."]
    if src.run_id:
        notes.append("Experiments are not tied to a run id, so this section is not restricted to the chosen run.")
    return Panel(
        key=key,
        title=title,
        caption="Gain of the candidate arm over a same-size control of ordinary crawl, with its bootstrap 95 % interval over base models x anneal seeds; a pool is accepted when the interval lies above zero.",
        table=Table(("experiment", "round", "pool", "delta", "ci low", "ci high", "decision"), tuple(rows)),
        chart=Chart(
            "intervals", x="experiment", y=("delta", "ci low", "ci high"), group="decision", xlabel="delta", vline=0.0
        ),
        notes=tuple(notes),
    )


def experiment_pairs(src: CatalogSource) -> Panel:
    key, title = "experiment_pairs", "Verification loop: every pool against every other"
    if not src.has("experiment_pairs", "loop_id", "round", "better", "worse", "delta", "ci_low", "ci_high", "resolved"):
        return Panel.absent(key, title, "No pairwise comparisons in the catalog yet (tiers verify seeds records them).")
    loop = src.rows("SELECT loop_id FROM experiment_pairs GROUP BY 1 ORDER BY max(created_at) DESC LIMIT 1")
    if not loop:
        return Panel.absent(key, title, "The verification loop has not compared two pools on this root yet.")
    rows = src.rows(
        "SELECT better, worse, delta, ci_low, ci_high, CASE WHEN resolved THEN 'better' ELSE 'undecided' END "
        "FROM experiment_pairs WHERE loop_id = ? AND round = 0 ORDER BY ci_low DESC",
        [loop[0][0]],
    )
    table = tuple(
        (f"{b} - {w}", b, w, *(None if v is None else round(v, 4) for v in map(finite, (d, lo, hi))), verdict)
        for b, w, d, lo, hi, verdict in rows
    )
    return Panel(
        key=key,
        title=title,
        caption="Paired difference of two pools' anneals run by run, with its bootstrap 95 % interval; 'better' when it lies above zero.",
        table=Table(("pair", "better", "worse", "delta", "ci low", "ci high", "decision"), table),
        notes=(f"Loop {loop[0][0]}, round 0.",),
    )


def allocation(src: CatalogSource) -> Panel:
    """The current allocation (`tiers allocate`): per stage and home tier, documents, unique tokens, tokens
    with repeats and the epochs they make, from `allocation_rows` of the current plan."""
    key, title = "allocation", "Allocation to training stages"
    if not src.has("allocation_rows", "allocation_id", "stage", "stage_index", "tier", "repeats", "n_tokens") or not (
        src.has("allocation_plans", "allocation_id", "is_current")
    ):
        return Panel.absent(key, title, "No allocation in the catalog yet (run `tiers allocate`).")
    current = src.one("SELECT allocation_id FROM allocation_plans WHERE is_current LIMIT 1")
    if current is None:
        return Panel.absent(key, title, "No current allocation in the catalog (run `tiers allocate`).")
    rows = src.rows(
        "SELECT stage, tier, count(*)::BIGINT, sum(n_tokens)::BIGINT, sum(repeats * n_tokens)::BIGINT "
        "FROM allocation_rows WHERE allocation_id = ? GROUP BY stage_index, stage, tier ORDER BY stage_index, tier",
        [current],
    )
    if not rows:
        return Panel.absent(key, title, f"Allocation {current} holds no documents.")
    table_rows = tuple(
        (stage, tier, docs, unique, tokens, round(tokens / unique, 2) if unique else None)
        for stage, tier, docs, unique, tokens in rows
    )
    return Panel(
        key=key,
        title=title,
        caption=f"Allocation {current}: per training stage and home tier, the documents drawn, their tokens once "
        "each, the tokens with repeats, and the epochs (tokens with repeats / unique tokens).",
        table=Table(("stage", "tier", "documents", "unique tokens", "tokens", "epochs"), table_rows),
        chart=Chart("barh", x="stage", y=("tokens",), group="tier", xlabel="tokens with repeats"),
    )
