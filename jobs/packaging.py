"""Ship the project to cluster executors: a zip of its packages for `spark-submit --py-files`.

Third-party dependencies travel as a packed virtual environment (`venv-pack`, see docs/cluster.md).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from tiers.resources import PROJECT

PACKAGES = ("tiers", "jobs", "classifiers", "verification", "cli", "conf")


def build_pyfiles(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    archive = out / "tiers_pyfiles.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for package in PACKAGES:
            for path in sorted((PROJECT / package).rglob("*")):
                if (
                    path.is_file()
                    and "__pycache__" not in path.parts
                    and path.suffix in (".py", ".yaml", ".txt", ".json", ".ftz", ".jsonl", ".bz2", ".lst", ".md")
                ):
                    zf.write(path, path.relative_to(PROJECT))
    return archive
