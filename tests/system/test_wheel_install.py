"""pip alone: build the wheel, install it into a fresh venv, run L0 to L2 on the sample crawl (issues 11, 25).

Nothing from the source tree is visible to the installed package: it runs from another directory, so
conf/, the language-ID model and the shipped quality model must come from the wheel. The installed
model also scores held-out shipped positives against held-out raw-crawl negatives (read here from
../shared, the held-out rule applied here): ROC AUC at least 0.9.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.helpers import DOLMA_CC

SAMPLE_CRAWL = Path(__file__).resolve().parents[2] / "samples" / "crawl"
SCORE_HELD_OUT = """
import json, sys
import numpy as np
from classifiers.evaluate import classification_metrics
from classifiers.model import QualityModel
from classifiers.shipped import shipped_model_path, shipped_seed_texts
assert "site-packages" in str(shipped_model_path("en")), shipped_model_path("en")
negatives = [json.loads(line)["text"] for line in open(sys.argv[1], encoding="utf-8")]
positives = shipped_seed_texts("heldout")
scores = QualityModel(shipped_model_path("en")).score(positives + negatives)
labels = np.array([1] * len(positives) + [0] * len(negatives))
print(json.dumps(classification_metrics(scores, labels)))
"""

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run(cmd: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith(("PYSPARK_", "SPARK_"))
    }
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, f"{cmd[:4]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.mark.skipif(not DOLMA_CC.exists(), reason=f"sample data missing: {DOLMA_CC}")
def test_wheel_installs_with_pip_alone_and_runs_l0_to_l2(tmp_path):
    dist, venv, root = tmp_path / "dist", tmp_path / "venv", tmp_path / "root"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(REPO)], cwd=tmp_path)
    wheel = next(dist.glob("tiers-*.whl"))
    base_python = getattr(sys, "_base_executable", sys.executable)
    run([base_python, "-m", "venv", str(venv)], cwd=tmp_path)
    run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        cwd=tmp_path,
    )
    run(
        [
            str(venv / "bin" / "tiers"),
            "run",
            "l0-to-l2",
            "--input",
            str(SAMPLE_CRAWL),
            "--root",
            str(root),
            "--set",
            "spark.master=local[1]",
        ],
        cwd=tmp_path,
    )
    with duckdb.connect(str(root / "catalog.duckdb"), read_only=True) as con:
        statuses = dict(con.execute("SELECT job, status FROM runs").fetchall())
    assert statuses and set(statuses.values()) == {"committed"}, statuses
    l2_files = list((root / "L2").rglob("*.parquet"))
    with duckdb.connect() as con:
        assert con.execute("SELECT count(*) FROM read_parquet(?)", [[str(p) for p in l2_files]]).fetchone()[0] > 0
    from scripts import build_default_model as builder

    negatives = tmp_path / "heldout-negatives.jsonl"
    with open(negatives, "w", encoding="utf-8") as handle:
        for text in builder.crawl_texts():
            if builder.is_heldout(builder._text_key(text)):
                handle.write(json.dumps({"text": text}) + "\n")
    scored = run([str(venv / "bin" / "python"), "-c", SCORE_HELD_OUT, str(negatives)], cwd=tmp_path)
    assert json.loads(scored.stdout.strip().splitlines()[-1])["roc_auc"] >= 0.9, scored.stdout
    l1_files = list((root / "L1").rglob("*.parquet"))
    with duckdb.connect() as con:
        langs = con.execute(
            "SELECT count(*), count(DISTINCT lang), count(n_tokens) FROM read_parquet(?)", [[str(p) for p in l1_files]]
        ).fetchone()
    assert langs[0] > 0 and langs[1] >= 1, langs
    assert langs[2] == langs[0], langs  # the base install counts tokens: the tokenizer ships in the wheel


def test_the_wheel_carries_every_default_asset(tmp_path):
    """Everything a default reads is inside the wheel: the tokenizer, the evaluation sets with their READMEs
    (licenses and attribution), the calibration documents, the NOTICE; OpenBookQA is not redistributed."""
    import zipfile

    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)], cwd=tmp_path)
    names = set(zipfile.ZipFile(next(tmp_path.glob("tiers-*.whl"))).namelist())
    shipped = {p.relative_to(REPO).as_posix() for p in (REPO / "tiers" / "assets").rglob("*") if p.is_file()}
    assert shipped <= names, sorted(shipped - names)
    for benchmark in ("arc_easy", "boolq", "hellaswag", "lambada_openai", "piqa", "winogrande"):
        assert f"tiers/assets/eval/{benchmark}/README.md" in names
    assert "tiers/assets/smollm2_tokenizer.json" in names and "tiers/assets/NOTICE.md" in names
    assert "tiers/conf/prompts/edu_score_calibration_v1.yaml" in names
    assert not any("openbookqa" in name for name in names)
