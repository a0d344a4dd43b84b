"""The report's panel for `tiers allocate --search`: the latest search's trials with their intervals."""

from __future__ import annotations

import json

from tiers.apps.report.aggregates import finite
from tiers.apps.report.model import Chart, Panel, Table
from tiers.apps.report.source import CatalogSource


def mixture_trials(src: CatalogSource) -> Panel:
    key, title = "mixture_trials", "Allocation search: trials"
    if not src.has("mixture_searches", "search_id", "stage", "cells", "fit_json", "accepted", "plan_path"):
        return Panel.absent(key, title, "No allocation search in the catalog yet (tiers allocate --search).")
    searches = src.rows(
        "SELECT search_id, stage, cells, metric, fit_json, accepted, plan_path FROM mixture_searches "
        "ORDER BY created_at DESC"
    )
    if not searches:
        return Panel.absent(key, title, "No allocation search has run on this root yet (tiers allocate --search).")
    search_id, stage, cells, metric, fit_json, accepted, plan_path = searches[0]
    rows = src.rows(
        "SELECT kind, trial, weights, delta, ci_low, ci_high, predicted FROM mixture_trial_rows "
        "WHERE search_id = ? ORDER BY trial",
        [search_id],
    )
    table_rows = tuple(
        (
            f"{kind} {trial}",
            " ".join(f"{c}={w:.2f}" for c, w in zip(cells, weights)),
            *(
                None if v is None else round(v, 5)
                for v in map(finite, (delta, low, high) if delta is not None else (0.0,) * 3)
            ),
            None if predicted is None else round(predicted, 5),
            kind,
        )
        for kind, trial, weights, delta, low, high, predicted in rows
    )
    fit = json.loads(fit_json) if fit_json else {}
    rho = fit.get("held_out_rank_correlation")
    decision = (
        "not finished"
        if accepted is None
        else f"plan written: {plan_path}"
        if accepted
        else "the proposal did not beat the current plan: no plan written"
    )
    notes = [
        f"Search {search_id} on stage {stage}, metric {metric}; held-out rank correlation of the fit "
        f"{'n/a' if rho is None else f'{rho:.2f}'}; {decision}."
    ]
    if len(searches) > 1:
        notes.append(f"{len(searches) - 1} earlier search(es) not shown (view mixture_trials has them).")
    return Panel(
        key=key,
        title=title,
        caption="Each annealed mixture's gain over the current plan's, with its paired bootstrap interval.",
        table=Table(("trial", "weights", "delta", "ci low", "ci high", "predicted", "kind"), table_rows),
        chart=Chart("intervals", x="trial", y=("delta", "ci low", "ci high"), group="kind", xlabel="delta", vline=0.0),
        notes=tuple(notes),
    )
