"""`tiers config show`: the effective configuration (shipped defaults, then --config, then --set)."""

from __future__ import annotations

from typing import Optional

import typer
import yaml

from tiers.config import ConfigError, load_config
from tiers.exit_codes import EXIT_USAGE

app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)


@app.command()
def show(
    config: Optional[str] = typer.Option(None, "--config", help="YAML merged over conf/pipeline.yaml, key by key"),
    overrides: list[str] = typer.Option([], "--set", help="override a config key: section.key=value; repeatable"),
) -> None:
    """Print the configuration a run with these options would use, as YAML."""
    try:
        effective = load_config(config, overrides)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_USAGE)
    typer.echo(yaml.safe_dump(effective.model_dump(mode="json"), sort_keys=False, allow_unicode=True), nl=False)
