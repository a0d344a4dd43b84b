"""Project files (conf/, the language-ID model, the tokenizer, the evaluation sets) wherever the code runs from.

Three layouts: the source tree (or an editable install), the `spark-submit --py-files` zip, and an
installed wheel, where `conf/` travels inside the package as `tiers/conf` (a symlink in the source
tree that the wheel build resolves into files).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
PROJECT = PACKAGE.parent
LID_MODEL = PACKAGE / "assets" / "lid.176.ftz"


def _zip_archive() -> str | None:
    archive, sep, _ = str(PROJECT).partition(".zip")
    return archive + ".zip" if sep else None


def _on_disk(relative: str) -> Path | None:
    for base in (PROJECT, PACKAGE):
        path = base / relative
        if path.exists():
            return path
    return None


def read_project_text(relative: str) -> str:
    path = _on_disk(relative)
    if path is not None and path.is_file():
        return path.read_text(encoding="utf-8")
    archive = _zip_archive()
    if archive:
        with zipfile.ZipFile(archive) as zf:
            return zf.read(relative).decode("utf-8")
    raise FileNotFoundError(PROJECT / relative)


def list_project_files(folder: str, suffix: str) -> list[str]:
    """Names (without suffix) of the files in a project folder, on disk or in the zip."""
    path = _on_disk(folder)
    if path is not None and path.is_dir():
        return sorted(p.stem for p in path.glob(f"*{suffix}"))
    archive = _zip_archive()
    if archive:
        with zipfile.ZipFile(archive) as zf:
            return sorted(Path(n).stem for n in zf.namelist() if n.startswith(folder + "/") and n.endswith(suffix))
    return []


def materialize(relative: str, cache_dir: str | Path) -> Path:
    """A real file path for a project file (binary files inside the zip are extracted once to `cache_dir`)."""
    path = _on_disk(relative)
    if path is not None and path.is_file():
        return path
    archive = _zip_archive()
    if archive:
        target = Path(cache_dir) / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(archive) as zf:
                partial = target.with_suffix(target.suffix + ".part")
                partial.write_bytes(zf.read(relative))
                partial.replace(target)
        return target
    raise FileNotFoundError(PROJECT / relative)


def materialize_folder(relative: str, cache_dir: str | Path) -> Path:
    """A real folder for a project folder (from inside the zip, its files are extracted once to `cache_dir`)."""
    path = _on_disk(relative)
    if path is not None and path.is_dir():
        return path
    archive = _zip_archive()
    if archive:
        with zipfile.ZipFile(archive) as zf:
            members = [n for n in zf.namelist() if n.startswith(relative.rstrip("/") + "/") and not n.endswith("/")]
        if members:
            for member in members:
                materialize(member, cache_dir)
            return Path(cache_dir) / relative
    raise FileNotFoundError(PROJECT / relative)
