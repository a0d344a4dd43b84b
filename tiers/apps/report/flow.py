"""Panels about how documents flow: the tier funnel, drops by reason, per-operator work, and the runs."""

from __future__ import annotations

from tiers.dedup.reasons import EXACT_REASON, NEAR_REASON
from tiers.apps.report.aggregates import current_runs, job_runs, share
from tiers.apps.report.model import Chart, Panel, Table
from tiers.apps.report.source import CatalogSource
from tiers.names import L1_DEDUP, L1_FILTER, TIERS

DEDUP_REASONS = {EXACT_REASON: "exact dedup", NEAR_REASON: "near dedup (MinHash)"}
MAX_RUNS = 40


def tier_counts(src: CatalogSource) -> dict[str, tuple[int | None, int | None]]:
    """tier -> (distinct documents, sum of n_tokens or None); (None, None) for a tier without a view."""
    counts: dict[str, tuple[int | None, int | None]] = {}
    for tier in TIERS:
        view = tier.lower()
        if not src.has(view, "doc_id"):
            counts[tier] = (None, None)
            continue
        tokens = "sum(n_tokens)::BIGINT" if src.has(view, "n_tokens") else "NULL"
        docs, total = src.con.execute(f"SELECT count(DISTINCT doc_id), {tokens} FROM {src.rel(view)}").fetchone()
        counts[tier] = (int(docs), None if total is None else int(total))
    return counts


def funnel(src: CatalogSource) -> Panel:
    counts = tier_counts(src)
    quarantined = int(src.one(f"SELECT count(*) FROM {src.rel('quarantine')}")) if src.exists("quarantine") else None
    with_tokens = any(src.has(t.lower(), "n_tokens") for t in TIERS)
    l0_docs = counts["L0"][0]
    rows = []
    for tier in TIERS:
        docs, tokens = counts[tier]
        rows.append((tier, docs, *((tokens,) if with_tokens else ()), share(docs, l0_docs)))
    rows.append(("quarantine", quarantined, *((None,) if with_tokens else ()), None))
    columns = ("stage", "documents", *(("tokens",) if with_tokens else ()), "% of L0")
    notes = [f"{t}: not built yet (no view {t.lower()} in the catalog)." for t in TIERS if counts[t][0] is None]
    if not with_tokens:
        notes.append("Tokens: no tier has an n_tokens column yet, so the funnel counts documents only.")
    return Panel(
        key="funnel",
        title="Funnel L0 → L4",
        caption="Distinct documents in each tier (and tokens where tiers carry n_tokens); quarantine holds records that could not be parsed.",
        table=Table(columns, tuple(rows)),
        chart=Chart(
            "barh", x="stage", y=("documents", "tokens") if with_tokens else ("documents",), xlabel="documents"
        ),
        notes=tuple(notes),
    )


def drops_by_reason(src: CatalogSource) -> Panel:
    key, title = "drops", "Drops by stage and reason"
    if not src.has("drops", "stage", "reason"):
        return Panel.absent(key, title, "No drops view in the catalog yet.")
    rows = src.rows(
        f"SELECT stage, reason, count(DISTINCT doc_id) AS documents FROM {src.rel('drops')} "
        "GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2"
    )
    if not rows:
        return Panel.absent(key, title, "No documents dropped yet (no L1 or L2 run has committed).")
    return Panel(
        key=key,
        title=title,
        caption="Documents each stage removed, by reason (colour = stage).",
        table=Table(("stage", "reason", "documents"), tuple(rows)),
        chart=Chart("barh", x="reason", y=("documents",), group="stage", xlabel="documents dropped"),
    )


def operators(src: CatalogSource) -> Panel:
    """Per L1 operator: documents in, dropped and seconds, from the l1_filter runs' counts (those feeding the
    current L1 through l1_dedup); dedup from the drops view."""
    key, title = "operators", "Per operator: documents in, dropped, seconds"
    dedup_runs = job_runs(src, L1_DEDUP, prefer=current_runs(src, "l1"))
    runs = job_runs(src, L1_FILTER, prefer={counts.get("filter_run") for _, _, counts in dedup_runs})
    if not runs:
        return Panel.absent(key, title, "No committed L0 → L1 run yet, so no per-operator counts.")
    totals: dict[str, list[float]] = {}
    order: list[str] = []
    seconds_recorded = True
    for _, config, counts in runs:
        settings = config.get("settings", config)  # the l1_filter payload keeps the operator list under settings
        steps = [s.get("name") for s in settings.get("steps", []) if isinstance(s, dict)]
        for name in steps + sorted(counts.get("operators", {})):
            if name and name not in order:
                order.append(name)
        for name, stats in counts.get("operators", {}).items():
            entry = totals.setdefault(name, [0, 0, 0.0])
            entry[0] += stats.get("docs_in", 0)
            entry[1] += stats.get("docs_in", 0) - stats.get("docs_out", 0)
            seconds_recorded &= "seconds" in stats
            entry[2] += stats.get("seconds", 0.0)
    rows = []
    last_out = 0
    for name in order:
        if name not in totals:
            continue
        docs_in, dropped, seconds = totals[name]
        last_out = int(docs_in - dropped)
        rate = round(docs_in / seconds) if seconds_recorded and seconds > 0 else None
        rows.append((name, int(docs_in), int(dropped), round(seconds, 3) if seconds_recorded else None, rate))
    notes = [] if seconds_recorded else ["Per-operator seconds are not recorded in these runs' counts."]
    run_ids = [r[0] for r in dedup_runs]
    if run_ids and src.has("drops", "reason", "run_id"):
        placeholders = ", ".join("?" * len(run_ids))
        dedup = dict(
            src.rows(
                f"SELECT reason, count(*) FROM drops WHERE run_id IN ({placeholders}) AND reason IN ('{EXACT_REASON}', '{NEAR_REASON}') GROUP BY 1",
                run_ids,
            )
        )
        filtered = [counts.get("filtered_in") for _, _, counts in dedup_runs]
        docs_in = sum(filtered) if all(isinstance(n, int) for n in filtered) else last_out
        for reason, label in DEDUP_REASONS.items():
            removed = int(dedup.get(reason, 0))
            rows.append((label, docs_in, removed, None, None))
            docs_in -= removed
        notes.append(
            "Dedup runs after the operators, in its own job (l1_dedup); its seconds are not recorded per step."
        )
    return Panel(
        key=key,
        title=title,
        caption=f"L1 operators in pipeline order over {len(runs)} L0 → L1 run(s): documents in, dropped, seconds inside the operator summed over the engine's batches.",
        table=Table(("operator", "documents in", "dropped", "seconds", "docs per second"), tuple(rows)),
        chart=Chart("barh", x="operator", y=("dropped", "seconds")),
        notes=tuple(notes),
    )


def runs_panel(src: CatalogSource) -> Panel:
    key, title = "runs", "Runs"
    if not src.exists("runs"):
        return Panel.absent(key, title, "No runs table: nothing has run on this root yet.")
    where, params = ("WHERE run_id = ?", [src.run_id]) if src.run_id else ("", [])
    rows = src.rows(
        "SELECT job, run_id, status, started_at, epoch(started_at), "
        "round(epoch(coalesce(ended_at, started_at)) - epoch(started_at), 1) AS duration_s, "
        f"config_hash, code_version FROM runs {where} ORDER BY started_at DESC LIMIT {MAX_RUNS}",
        params,
    )
    if not rows:
        return Panel.absent(key, title, "No runs recorded yet.")
    total = src.one("SELECT count(*) FROM runs")
    first = min(r[4] for r in rows)
    rows = [
        (
            job,
            run_id,
            status,
            started.strftime("%Y-%m-%d %H:%M:%S"),
            round(epoch - first, 1),
            duration,
            config_hash,
            code or "",
        )
        for job, run_id, status, started, epoch, duration, config_hash, code in reversed(rows)
    ]
    notes = [f"Showing the latest {MAX_RUNS} of {total} runs."] if total > len(rows) else []
    return Panel(
        key=key,
        title=title,
        caption="Every job run: when it started, how long it took, and the config hash and code version it ran with.",
        table=Table(
            ("job", "run_id", "status", "started (UTC)", "start (s)", "duration (s)", "config hash", "code version"),
            tuple(rows),
        ),
        chart=Chart(
            "timeline",
            x="run_id",
            y=("start (s)", "duration (s)"),
            group="status",
            xlabel="seconds since the first run shown",
        ),
        notes=tuple(notes),
    )


def funnel_line(tiers: dict[str, dict], quarantine: int) -> str:
    """One line for `tiers catalog status`: documents per tier with the share of L0, and quarantine."""
    l0 = tiers.get("L0", {}).get("documents", 0)
    parts = []
    for tier in TIERS[:4]:
        docs = tiers.get(tier, {}).get("documents", 0)
        pct = share(docs, l0)
        parts.append(f"{tier} {docs:,}" + (f" ({pct:g}%)" if pct is not None and tier != "L0" else ""))
    l4 = tiers.get("L4", {}).get("documents", 0)
    return (
        "funnel: "
        + " → ".join(parts)
        + (f" → L4 {l4:,} items" if l4 else " → L4 (not built)")
        + f"; quarantine {quarantine:,}"
    )
