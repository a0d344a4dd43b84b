"""Input discovery: expand files, directories and globs into (path, format, size) on the driver.

Only names and sizes are read here; file contents are opened inside executors.
"""

from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FORMATS = ("warc", "wet", "jsonl", "parquet")
_COMPRESSIONS = ("", ".gz", ".zst", ".zstd")


def detect_format(path: str) -> str | None:
    name = os.path.basename(path).lower()
    for suffix in _COMPRESSIONS:
        if suffix and not name.endswith(suffix):
            continue
        stem = name[: len(name) - len(suffix)] if suffix else name
        if stem.endswith(".wet") or stem.endswith(".warc.wet"):
            return "wet"
        if stem.endswith(".warc") or stem.endswith(".arc"):
            return "warc"
        if stem.endswith((".jsonl", ".json", ".ndjson")):
            return "jsonl"
        if stem.endswith(".parquet") and not suffix:
            return "parquet"
    return None


@dataclass(frozen=True)
class InputFile:
    path: str
    format: str
    size: int


class InputError(ValueError):
    """An input path matches nothing, or names a file of an unsupported format."""


def expand_inputs(patterns: list[str]) -> list[InputFile]:
    """Resolve paths, directories (recursive) and globs; sorted, de-duplicated, absolute."""
    found: dict[str, InputFile] = {}
    for pattern in patterns:
        explicit = os.path.isfile(pattern)
        if os.path.isdir(pattern):
            candidates = [str(p) for p in Path(pattern).rglob("*") if p.is_file()]
        else:
            candidates = glob.glob(pattern, recursive=True)
        if not candidates:
            raise InputError(f"input {pattern!r} matches no file")
        for candidate in candidates:
            fmt = detect_format(candidate)
            if fmt is None:
                if explicit:
                    raise InputError(
                        f"{candidate}: unsupported format; supported: {', '.join(FORMATS)} (plain, .gz or .zst)"
                    )
                log.info("skipping %s: not a supported input format", candidate)
                continue
            path = os.path.abspath(candidate)
            found[path] = InputFile(path, fmt, os.path.getsize(path))
    if not found:
        raise InputError(f"no supported input files in {patterns}; supported: {', '.join(FORMATS)}")
    return sorted(found.values(), key=lambda f: f.path)
