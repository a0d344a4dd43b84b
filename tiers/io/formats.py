"""Input discovery: expand files, directories and globs into (path, format, size) on the driver.

Only names and sizes are read here; file contents are opened inside executors.
"""

from __future__ import annotations

import errno
import glob
import logging
import os
import stat
from dataclasses import dataclass, field

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
    identity: tuple[int, int] = (0, 0)  # (device, inode) when listed: a reader checks it opens the same file


@dataclass
class Listing:
    """What the inputs expand to: the files to read, and what was passed over with the reason."""

    files: list[InputFile]
    ignored: dict[str, str] = field(default_factory=dict)


class InputError(ValueError):
    """An input path matches nothing, or names a file of an unsupported format or kind."""


def _not_regular(path: str) -> str | None:
    """Why `path` cannot be read as an input file (a dangling or looping symlink, a FIFO, ...); None for a
    regular file (or a symlink to one)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        if os.path.islink(path):
            return f"dangling symlink to {os.readlink(path)!r}"
        return f"cannot be opened: {exc.strerror}"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "symlink to a folder (not followed)" if os.path.islink(path) else "folder"
    kinds = {
        stat.S_ISFIFO: "FIFO",
        stat.S_ISSOCK: "socket",
        stat.S_ISCHR: "character device",
        stat.S_ISBLK: "block device",
    }
    return "not a regular file: " + next((name for test, name in kinds.items() if test(mode)), "unknown kind")


def _inside(path: str, folder: str | None) -> bool:
    if folder is None:
        return False
    real = os.path.realpath(path)
    return real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)


def _walk(folder: str, data_root: str | None, ignored: dict[str, str]) -> list[str]:
    """Every entry under `folder` that is not a folder, not following symlinked folders; the data root
    (and anything inside it) is left out and recorded."""
    found = []
    for parent, dirs, files in os.walk(folder, followlinks=False):
        for name in list(dirs):
            path = os.path.join(parent, name)
            if _inside(path, data_root):
                ignored[os.path.abspath(path)] = "the data root: its outputs are not inputs"
                dirs.remove(name)
            elif os.path.islink(path):
                ignored[os.path.abspath(path)] = "symlink to a folder (not followed)"
        found += [os.path.join(parent, name) for name in files]
    return found


def list_inputs(patterns: list[str], data_root: str | None = None) -> Listing:
    """Resolve paths, folders (recursive) and globs into the files to read (sorted, de-duplicated,
    absolute) and what was ignored with the reason: files of no supported format, entries that are not
    regular files, and the data root `data_root` when an input folder contains it."""
    root = os.path.realpath(data_root) if data_root else None
    found: dict[str, InputFile] = {}
    ignored: dict[str, str] = {}
    for pattern in patterns:
        named = os.path.lexists(pattern) and not os.path.isdir(pattern)
        if os.path.isdir(pattern):
            if _inside(pattern, root):
                raise InputError(f"input {pattern!r} is inside the data root {data_root}: its outputs are not inputs")
            candidates = _walk(pattern, root, ignored)
        elif named:
            candidates = [pattern]
        else:
            candidates = glob.glob(pattern, recursive=True)
        if not candidates and not named:
            raise InputError(f"input {pattern!r} matches no file")
        for candidate in candidates:
            path = os.path.abspath(candidate)
            if _inside(path, root):
                ignored[path] = "inside the data root: its outputs are not inputs"
                continue
            why = _not_regular(candidate)
            if why is not None:
                if named:
                    raise InputError(f"input {pattern!r} cannot be read: {why}")
                ignored[path] = why
                continue
            fmt = detect_format(candidate)
            if fmt is None:
                if named:
                    raise InputError(
                        f"{candidate}: unsupported format; supported: {', '.join(FORMATS)} (plain, .gz or .zst)"
                    )
                ignored[path] = "not a supported input format"
                continue
            info = os.stat(path)
            found[path] = InputFile(path, fmt, info.st_size, (info.st_dev, info.st_ino))
    for path, why in sorted(ignored.items()):
        log.log(
            logging.INFO if why == "not a supported input format" else logging.WARNING, "skipping %s: %s", path, why
        )
    if not found:
        raise InputError(f"no supported input files in {patterns}; supported: {', '.join(FORMATS)}")
    return Listing(sorted(found.values(), key=lambda f: f.path), ignored)


def expand_inputs(patterns: list[str], data_root: str | None = None) -> list[InputFile]:
    """The files `list_inputs` finds."""
    return list_inputs(patterns, data_root).files
