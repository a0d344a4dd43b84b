"""`tiers verify seeds|pretrain|anneal`: the verification loop that chooses the quality classifier's seeds."""

from __future__ import annotations

import json
from dataclasses import dataclass

import typer

from tiers.config import ConfigError
from tiers.exit_codes import EXIT_USAGE

app = typer.Typer(
    help="The small-model verification loop (needs torch: the `verify` extra of tiers).", no_args_is_help=True
)


@dataclass(frozen=True)
class SeedsOptions:
    root: str
    pools: str


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def _inputs(root: str, pools: str):
    """(pools spec, catalog, default texts and where they come from, control texts); exit 2 on a bad file."""
    from tiers.catalog import Catalog
    from verification.pools import default_mixture, load_pools, root_l1, texts

    try:
        spec = load_pools(pools)
    except ConfigError as exc:
        _fail(str(exc))
    catalog = Catalog(root)
    catalog.migrate()
    budget = spec.loop.loop_config().base_spec().budget_bytes()
    l1 = root_l1(catalog, 2 * budget)  # enough for the default mixture; controls are sampled from it too
    default, source = default_mixture(l1, texts(spec.default, catalog), budget)
    return spec, catalog, default, source, l1 or default


@app.command()
def seeds(
    root: str = typer.Option(..., help="data root (its catalog answers SQL sources and records the experiments)"),
    pools: str = typer.Option("conf/seed_pools.yaml", help="pools YAML"),
) -> None:
    """Verify each pool against a same-size control, rank and compare them, train the classifier on the
    accepted ones, verify its selection, repeat."""
    from verification.leakage import EvalLeak
    from verification.loop import run_loop, summary
    from verification.pools import eval_index, texts

    options = SeedsOptions(root, pools)
    spec, catalog, default, source, control = _inputs(options.root, options.pools)
    try:
        index = eval_index(spec.loop)
        result = run_loop(
            {name: texts(sources, catalog) for name, sources in spec.pools.items()},
            default,
            texts(spec.negatives, catalog),
            spec.loop.material(texts(spec.reference, catalog)),
            catalog.root / "models",
            spec.loop.loop_config(),
            catalog,
            index,
            control,
        )
    except (ConfigError, EvalLeak) as exc:
        _fail(str(exc))
    typer.echo(json.dumps({"default_source": source, **summary(result)}, indent=1, default=float))


@app.command()
def pretrain(
    root: str = typer.Option(..., help="data root (its L1, or SQL sources, give the default data)"),
    pools: str = typer.Option("conf/seed_pools.yaml", help="pools YAML: its `default` data and `loop` settings"),
    out: str = typer.Option(..., help="where to save the base models (.pt)"),
) -> None:
    """Build the nearly trained base models, one per base seed, on default data read once (warmup and
    stable phases of WSD)."""
    import dataclasses

    from verification.bases import train_bases
    from verification.checkpoint import save_bases
    from verification.data import encode

    spec, _, default, source, _ = _inputs(root, pools)
    config = spec.loop.loop_config()
    bases = train_bases(encode(default), config.base_spec(), spec.loop.device)
    save_bases(out, bases.models, bases.seeds, {"default_source": source, "passes": bases.passes})
    typer.echo(
        json.dumps(
            {
                "out": out,
                "parameters": bases.models[0].parameters_count(),
                "seeds": bases.seeds,
                "default_source": source,
                "passes_over_default": round(bases.passes, 3),
                "seconds": round(bases.seconds, 2),
                "model": dataclasses.asdict(config.model),
            }
        )
    )


@app.command()
def anneal(
    root: str = typer.Option(..., help="data root (its catalog answers SQL sources and records the experiment)"),
    base: str = typer.Option(..., help="base models saved by `tiers verify pretrain`"),
    pool: str = typer.Option(..., help="name of the candidate pool in the pools YAML"),
    pools: str = typer.Option("conf/seed_pools.yaml", help="pools YAML"),
) -> None:
    """Anneal every base on 30 % candidate / 70 % default data against a same-size control, over the
    seeds; print the verdict."""
    import dataclasses

    from verification.checkpoint import load_bases
    from verification.control import Controls
    from verification.data import encode
    from verification.experiment import verify_pool
    from verification.leakage import refuse_eval_overlap
    from verification.loop import record
    from verification.pools import eval_index, texts

    spec, catalog, default, _, control = _inputs(root, pools)
    if pool not in spec.pools:
        _fail(f"pool {pool!r} not in {pools}; allowed: {', '.join(spec.pools)}")
    models, _ = load_bases(base, spec.loop.device)
    candidate = texts(spec.pools[pool], catalog)
    try:
        refuse_eval_overlap({pool: candidate, "default": default, "control": control}, eval_index(spec.loop))
    except (ConfigError, ValueError) as exc:
        _fail(str(exc))
    verify = spec.loop.loop_config().verify
    result = verify_pool(
        pool,
        models,
        encode(default),
        encode(candidate),
        Controls(control, verify.control_seed),
        spec.loop.material(texts(spec.reference, catalog)),
        verify,
    )
    record(catalog, "manual", 0, result)
    typer.echo(
        json.dumps(
            {
                "pool": pool,
                **dataclasses.asdict(result.verdict),
                "pool_bytes": result.pool_bytes,
                "control": result.control,
                "candidate": result.candidate,
                "parts": result.parts_summary(),
            },
            default=float,
        )
    )
