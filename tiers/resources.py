"""Project files (conf/) read from the source tree or from inside the spark-submit --py-files zip."""
from __future__ import annotations

import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def read_project_text(relative: str) -> str:
    path = PROJECT / relative
    if path.is_file():
        return path.read_text(encoding="utf-8")
    archive, sep, _ = str(PROJECT).partition(".zip")
    if sep:
        with zipfile.ZipFile(archive + ".zip") as zf:
            return zf.read(relative).decode("utf-8")
    raise FileNotFoundError(path)


def list_project_files(folder: str, suffix: str) -> list[str]:
    """Names (without suffix) of the files in a project folder, on disk or in the zip."""
    path = PROJECT / folder
    if path.is_dir():
        return sorted(p.stem for p in path.glob(f"*{suffix}"))
    archive, sep, _ = str(PROJECT).partition(".zip")
    if sep:
        with zipfile.ZipFile(archive + ".zip") as zf:
            return sorted(Path(n).stem for n in zf.namelist() if n.startswith(folder + "/") and n.endswith(suffix))
    return []
