"""`tiers allocate --search` on a data root: the stage's cells from the catalog, the loop's settings and
default data from the pools file (`conf/seed_pools.yaml`), the search (`mixture_search.py`) with its
trials in the catalog, and a new plan file when the proposal's interval clears the margin."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tiers.apps.allocation.cells import StageCells, plan_with_mixture, read_stage_cells
from tiers.apps.allocation.plan import Plan, Provenance, load_plan, write_plan
from tiers.apps.allocation.trials import CatalogTrials
from tiers.catalog import Catalog
from verification.data import encode
from verification.leakage import refuse_eval_overlap
from verification.mixture_search import (
    Cost,
    SearchConfig,
    SearchInputs,
    SearchResult,
    base_model,
    estimate,
    remaining_anneals,
    run_search,
)
from verification.model import ModelConfig
from verification.pools import eval_index, load_pools, texts

log = logging.getLogger(__name__)
MIN_BASE_STEPS_FOR_BASE_PRESET = 600


@dataclass(frozen=True)
class SearchOptions:
    root: str
    stage: str
    plan: str = "conf/allocation.yaml"
    pools: str = "conf/seed_pools.yaml"
    candidates: int = 4
    preset: str | None = None  # tiny, small, base (default: the pools file's loop.model)
    out: str | None = None  # where an accepted plan goes (default <root>/plans/allocation-<search_id>.yaml)
    seed: int = 0
    eval_dir: str | None = None  # the plan's evaluation folder unless given
    max_bytes_per_cell: int = 8_000_000


@dataclass
class PreparedSearch:
    options: SearchOptions
    plan: Plan
    cells: StageCells
    inputs: SearchInputs
    config: SearchConfig
    search_id: str
    catalog: Catalog
    cost: Cost

    @property
    def base_path(self) -> Path:
        return self.catalog.root / "models" / f"mixture-base-{self.search_id}.pt"


def search_id_of(plan: Plan, cells: StageCells, config: SearchConfig, default: np.ndarray) -> str:
    """The same root, plan, stage, settings and default data give the same id (so a rerun resumes)."""
    key = {
        "plan": plan.plan_hash(),
        "stage": cells.stage,
        "cells": [(c.name, c.unique_tokens, round(c.current, 9), round(c.upper, 9)) for c in cells.cells],
        "texts": hashlib.sha256("\x00".join(t for n in cells.names for t in cells.texts[n]).encode()).hexdigest(),
        "settings": config.settings(),
        "default": hashlib.sha256(default.tobytes()).hexdigest(),
    }
    return "search-" + hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]


def prepare(options: SearchOptions) -> PreparedSearch:
    """Everything before the first anneal, including the cost estimate (the caller holds the root's lock)."""
    plan = load_plan(options.plan)
    spec = load_pools(options.pools)
    index = eval_index(spec.loop)
    cells = read_stage_cells(options.root, plan, options.stage, options.eval_dir, options.max_bytes_per_cell)
    catalog = Catalog(options.root)
    default_texts = texts(spec.default, catalog)
    refuse_eval_overlap({"default": default_texts, **cells.texts}, index)
    loop = spec.loop.loop_config()
    verify = dataclasses.replace(loop.verify, min_delta=spec.loop.accept.margin)
    model = ModelConfig.preset(options.preset) if options.preset else loop.model
    config = SearchConfig(options.candidates, options.seed, base_steps=loop.base_steps, model=model, verify=verify)
    if (options.preset or spec.loop.model) == "base" and loop.base_steps < MIN_BASE_STEPS_FOR_BASE_PRESET:
        log.warning(
            "loop.base_steps is %d: a `base` model needs at least %d steps before its anneals measure anything "
            "(bench/README.md, issue 33: at 300 steps it scored about 8 bits per byte and the search's fit was noise)",
            loop.base_steps,
            MIN_BASE_STEPS_FOR_BASE_PRESET,
        )
    default = encode(default_texts)
    inputs = SearchInputs(
        cells.names,
        [encode(cells.texts[name]) for name in cells.names],
        cells.current,
        cells.upper,
        default,
        spec.loop.material(texts(spec.reference, catalog)),
    )
    search_id = search_id_of(plan, cells, config, default)
    prepared = PreparedSearch(options, plan, cells, inputs, config, search_id, catalog, Cost(0, 0, 0.0))
    done = CatalogTrials(catalog).finished(search_id)
    base_steps = 0 if prepared.base_path.exists() else config.base_steps
    prepared.cost = estimate(config, inputs.material, default, remaining_anneals(done, config), base_steps)
    return prepared


def run(prepared: PreparedSearch, progress=lambda trial, resumed: None) -> tuple[SearchResult, Path | None]:
    """Run (or resume) the search; returns its result and the plan file written (None when not accepted)."""
    store = CatalogTrials(prepared.catalog)
    config, cells = prepared.config, prepared.cells
    store.start(
        prepared.search_id,
        cells.stage,
        prepared.plan.plan_hash(),
        cells.names,
        config.settings(),
        config.verify.metric,
    )
    base = base_model(prepared.inputs.default, config, prepared.base_path)
    result = run_search(prepared.inputs, config, store, prepared.search_id, base, progress)
    path = None
    if result.accepted:
        v = result.verdict
        provenance = Provenance(
            search_id=prepared.search_id,
            stage=cells.stage,
            metric=config.verify.metric,
            delta=v.delta,
            ci_low=v.low,
            ci_high=v.high,
            confidence=v.confidence,
            baseline_plan=prepared.plan.plan_hash(),
        )
        searched = plan_with_mixture(prepared.plan, cells.stage, cells.cells, result.proposal, cells.budget, provenance)
        out = prepared.options.out or prepared.catalog.root / "plans" / f"allocation-{prepared.search_id}.yaml"
        path = write_plan(searched, out)
    store.finish(prepared.search_id, result.fit, result.accepted, None if path is None else str(path))
    return result, path
