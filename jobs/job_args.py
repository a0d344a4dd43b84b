"""Command-line arguments shared by every job's `main` (the spark-submit entry points)."""

from __future__ import annotations

import argparse
import logging

from jobs.signals import exit_cleanly_on_signals
from tiers.config import TiersConfig, load_config


def job_parser(description: str, with_inputs: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    if with_inputs:
        parser.add_argument("--input", action="append", required=True, help="file, directory or glob; repeatable")
    parser.add_argument("--root", required=True, help="data root holding the tiers and catalog.duckdb")
    parser.add_argument("--config", default=None, help="YAML config (default: conf/pipeline.yaml)")
    parser.add_argument("--set", action="append", default=[], dest="overrides", help="section.key=value override")
    parser.add_argument("--force", action="store_true", help="redo even if an identical run is committed")
    return parser


def parse_job_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> tuple[argparse.Namespace, TiersConfig]:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    exit_cleanly_on_signals()
    args = parser.parse_args(argv)
    return args, load_config(args.config, args.overrides)
