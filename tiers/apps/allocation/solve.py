"""The allocation arithmetic, on aggregates only: how many tokens each stage takes from each cell.

A *cell* is a set of documents that the plan cannot tell apart: one home tier and, for L1/L2, one
quality bucket (`None`: no bucket). Its `unique_tokens` are the tokens of its documents, once each, and
its capacity across all stages is `cap(tier) * unique_tokens`. Stages are filled in plan order:

1. the budget (absolute, a share of the unique tokens its sources hold, or a share of an earlier
   stage's budget);
2. each source's target is its weight's share of the budget; a source that cannot give its target
   (its cells' remaining capacity) gives what it has and the shortfall moves to the stage's other
   sources in proportion to their weights, repeatedly, until the budget is met or no capacity is left;
3. a source's tokens are spread over its cells at equal epochs, cells at capacity giving what is left.

What no source can give is *missing*; `solve` returns it per stage and source, and `allocate` fails
with that table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tiers.apps.allocation.plan import Plan, PlanError, Source, Stage

EPSILON = 1e-6


@dataclass(frozen=True)
class Cell:
    tier: str
    bucket: int | None
    documents: int
    unique_tokens: int


@dataclass
class SourceResult:
    stage: str
    source: str
    weight: float
    target: float  # the weight's share of the budget
    capacity: float  # tokens its cells could still give when the stage started
    allocated: float = 0.0
    cells: dict[tuple[str, int | None], float] = field(default_factory=dict)  # tokens per (tier, bucket)

    @property
    def missing(self) -> float:
        return max(0.0, self.target - self.allocated)


@dataclass
class StageResult:
    stage: str
    budget: float
    available: float  # unique tokens of its sources' cells
    sources: list[SourceResult]

    @property
    def allocated(self) -> float:
        return sum(s.allocated for s in self.sources)

    @property
    def missing(self) -> float:
        return max(0.0, self.budget - self.allocated)


def cells_of(source: Source, cells: list[Cell]) -> list[Cell]:
    return [c for c in cells if c.tier in source.tiers and (source.buckets is None or c.bucket in source.buckets)]


def _budget(plan: Plan, index: int, stage: Stage, available: float, budgets: dict[str, float]) -> float:
    spec = stage.budget
    if spec.tokens is not None:
        value = float(spec.tokens)
    elif spec.of_stage is not None:
        value = spec.share * budgets[spec.of_stage]
    else:
        value = spec.share * available
    if stage.name == "decay" and "pretrain" in budgets and value < plan.min_decay_share * budgets["pretrain"] - EPSILON:
        raise PlanError(
            f"stages.{index}.budget: decay's {value:,.0f} tokens are less than min_decay_share "
            f"{plan.min_decay_share} of pretrain's {budgets['pretrain']:,.0f}"
        )
    return value


def _fill_cells(
    tokens: float, cells: list[Cell], remaining: dict[tuple[str, int | None], float]
) -> dict[tuple[str, int | None], float]:
    """Spread `tokens` over `cells` at equal epochs (tokens / unique tokens); a cell gives at most its
    remaining capacity, and what it cannot give goes to the others, again at equal epochs."""
    given: dict[tuple[str, int | None], float] = {}
    open_cells = [c for c in cells if c.unique_tokens > 0 and remaining[(c.tier, c.bucket)] > EPSILON]
    left = tokens
    while left > EPSILON and open_cells:
        epochs = left / sum(c.unique_tokens for c in open_cells)
        full = [c for c in open_cells if epochs * c.unique_tokens >= remaining[(c.tier, c.bucket)] - EPSILON]
        if not full:
            for c in open_cells:
                given[(c.tier, c.bucket)] = given.get((c.tier, c.bucket), 0.0) + epochs * c.unique_tokens
            left = 0.0
            break
        for c in full:
            key = (c.tier, c.bucket)
            amount = remaining[key]
            given[key] = given.get(key, 0.0) + amount
            remaining[key] = 0.0
            left -= amount
        open_cells = [c for c in open_cells if c not in full]
    for c in open_cells:  # the cells that were not full took their share above
        key = (c.tier, c.bucket)
        remaining[key] -= given.get(key, 0.0)
    return given


def solve(plan: Plan, cells: list[Cell]) -> list[StageResult]:
    """Tokens per stage, source and cell (see the module docstring); never raises for a shortfall."""
    remaining = {(c.tier, c.bucket): plan.caps[c.tier] * c.unique_tokens for c in cells}
    budgets: dict[str, float] = {}
    results = []
    for index, stage in enumerate(plan.stages):
        source_cells = [cells_of(source, cells) for source in stage.sources]
        available = float(sum(c.unique_tokens for group in source_cells for c in group))
        budget = _budget(plan, index, stage, available, budgets)
        budgets[stage.name] = budget
        total_weight = sum(s.weight for s in stage.sources)
        rows = [
            SourceResult(
                stage.name,
                s.name,
                s.weight,
                budget * s.weight / total_weight,
                sum(remaining[(c.tier, c.bucket)] for c in group),
            )
            for s, group in zip(stage.sources, source_cells)
        ]
        left = budget
        active = [i for i, row in enumerate(rows) if row.capacity > EPSILON]
        while left > EPSILON and active:
            weight = sum(rows[i].weight for i in active)
            for i in active:
                row = rows[i]
                row.allocated += min(left * row.weight / weight, row.capacity - row.allocated)
            left = budget - sum(r.allocated for r in rows)
            active = [i for i in active if rows[i].capacity - rows[i].allocated > EPSILON]
        for row, group in zip(rows, source_cells):
            row.cells = _fill_cells(row.allocated, group, remaining)
        results.append(StageResult(stage.name, budget, available, rows))
    return results


def shortfalls(results: list[StageResult], tolerance: float = 0.5) -> list[StageResult]:
    """The stages whose budget could not be met (by more than `tolerance` tokens)."""
    return [r for r in results if r.missing > tolerance]
