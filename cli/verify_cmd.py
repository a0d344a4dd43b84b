"""`tiers verify seeds`: the verification loop that chooses the quality classifier's seeds."""

from __future__ import annotations

import json
from dataclasses import dataclass

import typer

from tiers.config import ConfigError

app = typer.Typer(
    help="The small-model verification loop (needs torch: the `verify` extra of tiers).", no_args_is_help=True
)


@dataclass(frozen=True)
class SeedsOptions:
    root: str
    pools: str


@app.command()
def seeds(
    root: str = typer.Option(..., help="data root (its catalog answers SQL sources and records the experiments)"),
    pools: str = typer.Option("conf/seed_pools.yaml", help="pools YAML"),
) -> None:
    """Verify each pool, rank them, train the classifier on the accepted ones, verify its selection, repeat."""
    from tiers.catalog import Catalog
    from verification.leakage import EvalLeak
    from verification.loop import run_loop, summary
    from verification.pools import eval_index, load_pools, texts

    options = SeedsOptions(root, pools)
    try:
        spec = load_pools(options.pools)
        index = eval_index(spec.loop)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    catalog = Catalog(options.root)
    catalog.migrate()
    try:
        result = run_loop(
            {name: texts(sources, catalog) for name, sources in spec.pools.items()},
            texts(spec.default, catalog),
            texts(spec.negatives, catalog),
            spec.loop.material(texts(spec.reference, catalog)),
            catalog.root / "models",
            spec.loop.loop_config(),
            catalog,
            index,
        )
    except EvalLeak as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    typer.echo(json.dumps(summary(result), indent=1, default=float))


@app.command()
def pretrain(
    root: str = typer.Option(..., help="data root (its catalog answers SQL sources)"),
    pools: str = typer.Option("conf/seed_pools.yaml", help="pools YAML: its `default` data and `loop` settings"),
    out: str = typer.Option(..., help="where to save the base model (.pt)"),
) -> None:
    """Build the nearly trained base model on default data (warmup and stable phases of WSD)."""
    import dataclasses

    import torch

    from tiers.catalog import Catalog
    from verification.data import MixtureSampler, encode
    from verification.model import ModelConfig
    from verification.pools import load_pools, texts
    from verification.train import pretrain as pretrain_model

    spec = load_pools(pools)
    config = ModelConfig.preset(spec.loop.model)
    default = encode(texts(spec.default, Catalog(root)))
    model, stats = pretrain_model(
        config,
        MixtureSampler(default, None, 0.0, config.context, 0),
        spec.loop.base_steps,
        16,
        0,
        device=spec.loop.device,
    )
    torch.save({"config": dataclasses.asdict(config), "state": model.state_dict()}, out)
    typer.echo(json.dumps({"out": out, "parameters": model.parameters_count(), **dataclasses.asdict(stats)}))


@app.command()
def anneal(
    root: str = typer.Option(..., help="data root (its catalog answers SQL sources and records the experiment)"),
    base: str = typer.Option(..., help="base model saved by `tiers verify pretrain`"),
    pool: str = typer.Option(..., help="name of the candidate pool in the pools YAML"),
    pools: str = typer.Option("conf/seed_pools.yaml", help="pools YAML"),
) -> None:
    """Anneal the base on 30 % candidate / 70 % default data against default only, over the seeds; print the verdict."""
    import dataclasses

    import torch

    from tiers.catalog import Catalog
    from verification.data import encode
    from verification.experiment import verify_pool
    from verification.leakage import refuse_eval_overlap
    from verification.loop import record
    from verification.model import ModelConfig, TinyLM
    from verification.pools import eval_index, load_pools, texts

    spec = load_pools(pools)
    if pool not in spec.pools:
        typer.echo(f"error: pool {pool!r} not in {pools}; allowed: {', '.join(spec.pools)}", err=True)
        raise typer.Exit(2)
    saved = torch.load(base)
    model = TinyLM(ModelConfig(**saved["config"]))
    model.load_state_dict(saved["state"])
    catalog = Catalog(root)
    catalog.migrate()
    default, candidate = texts(spec.default, catalog), texts(spec.pools[pool], catalog)
    try:
        refuse_eval_overlap({pool: candidate, "default": default}, eval_index(spec.loop))
    except (ConfigError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    result = verify_pool(
        pool,
        model,
        encode(default),
        encode(candidate),
        spec.loop.material(texts(spec.reference, catalog)),
        spec.loop.loop_config().verify,
    )
    record(catalog, "manual", 0, result)
    typer.echo(
        json.dumps(
            {
                "pool": pool,
                **dataclasses.asdict(result.verdict),
                "baseline": result.baseline,
                "candidate": result.candidate,
                "parts": result.parts_summary(),
            },
            default=float,
        )
    )
