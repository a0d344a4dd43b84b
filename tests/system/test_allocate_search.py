"""`tiers allocate --search` as a subprocess on the CPU (tiny preset, 4 candidates) over a small root
whose two cells have known quality: gold article bodies (L2, bucket 1) against generated spam (L1,
bucket 0), scored by bits per byte on held-out gold articles. A plan starting from 90 % spam is beaten
and a new plan is written (and allocates); a plan already at the most gold its caps allow is not, and
nothing is written. A search killed between trials resumes without re-running them."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest
import yaml

from tests.allocation_roots import Doc, build_root

pytest.importorskip("torch")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
ARTICLES = SHARED / "scrapinghub-article-extraction" / "ground-truth.json"
pytestmark = pytest.mark.skipif(not ARTICLES.exists(), reason=f"needs {ARTICLES}")
SPAM_WORDS = "buy cheap pills casino free click here win bonus now offer loan deal $$$ !!! www best price".split()


def gold_articles() -> list[str]:
    bodies = [v["articleBody"] for _, v in sorted(json.loads(ARTICLES.read_text()).items())]
    return [b for b in bodies if len(b) > 1500][:50]


def spam(i: int) -> str:
    rng = random.Random(i)
    return " ".join(rng.choice(SPAM_WORDS) + str(rng.randint(0, 99)) for _ in range(250))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A root: 20 spam documents in L1 (scores 0.1..), 30 gold in L2 (scores 0.9..), 100 tokens each, so
    bucket edge 0.4 puts spam in bucket 0 and gold in bucket 1; 20 held-out gold articles as reference."""
    tmp = tmp_path_factory.mktemp("search")
    articles = gold_articles()
    l1 = [Doc(f"s{i:02d}", spam(i), 100, score=0.1 + i / 1000) for i in range(20)]
    l1 += [Doc(f"g{i:02d}", text, 100, score=0.9 + i / 1000) for i, text in enumerate(articles[:30])]
    build_root(tmp / "root", l1, {d.doc_id for d in l1 if d.doc_id.startswith("g")})
    (tmp / "reference.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in articles[30:]))
    eval_dir = tmp / "eval" / "arc_easy"
    eval_dir.mkdir(parents=True)
    (eval_dir / "arc_easy.jsonl").write_text(
        json.dumps({"query": "Question: which gas do plants take in from the air", "choices": ["a"], "gold": 0}) + "\n"
    )
    pools = {
        "pools": {},
        "default": [{"sql": "SELECT text FROM l1 ORDER BY hash(doc_id)"}],
        "negatives": [{"sql": "SELECT text FROM l1 LIMIT 1"}],
        "reference": [{"jsonl": {"path": str(tmp / "reference.jsonl"), "field": "text"}}],
        "loop": {
            "model": "tiny",
            "base_steps": 60,
            "anneal_steps": 40,
            "seeds": [0, 1, 2],
            "candidate_share": 0.5,
            "metric": "reference_bpb",
            "eval_dir": str(tmp / "eval"),
        },
    }
    (tmp / "pools.yaml").write_text(yaml.safe_dump(pools))
    return tmp


def write_plan(tmp: Path, name: str, gold_weight: float, budget: int, gold_cap: float) -> Path:
    data = {
        "seed": 1,
        "buckets": {"edges": [0.4]},
        "caps": {"L1": 4, "L2": gold_cap},
        "eval_dir": str(tmp / "eval"),
        "stages": [
            {
                "name": "decay",
                "budget": {"tokens": budget},
                "sources": [
                    {"name": "spam", "tiers": ["L1"], "buckets": [0], "weight": round(1 - gold_weight, 6)},
                    {"name": "gold", "tiers": ["L2"], "buckets": [1], "weight": gold_weight},
                ],
            }
        ],
    }
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def command(tmp: Path, root: Path, plan: Path, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "cli", "allocate", "--search", "--stage", "decay", "--root", str(root),
        "--plan", str(plan), "--pools", str(tmp / "pools.yaml"), "--candidates", "4", "--preset", "tiny",
        "--out", str(out),
    ]  # fmt: skip


ENV = {"COLUMNS": "250", "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def trials(root: Path) -> list[tuple]:
    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT kind, trial, weights, delta, ci_low, ci_high, created_at FROM mixture_trials ORDER BY created_at"
        ).fetchall()
    finally:
        con.close()


def test_search_beats_a_spam_plan_resumes_after_kill_and_the_plan_allocates(setup):
    tmp = setup
    root = tmp / "root"
    plan = write_plan(tmp, "spammy", 0.1, 1000, 4)
    out = tmp / "searched.yaml"
    process = subprocess.Popen(
        command(tmp, root, plan, out), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV
    )
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("candidate 2:"):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert any(line.startswith("search search-") and "18 anneals" in line for line in seen), "".join(seen)
    before = trials(root)
    assert [(k, t) for k, t, *_ in before] == [("current", 0), ("candidate", 1), ("candidate", 2)]
    assert not out.exists()

    run = subprocess.run(command(tmp, root, plan, out), capture_output=True, text=True, env=ENV, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "9 anneals of 40 steps still to run" in run.stdout  # 3 of 6 trials x 3 seeds left
    for name in ("current 0", "candidate 1", "candidate 2"):
        assert f"{name}:" in run.stdout and "(finished earlier)" in run.stdout.split(f"{name}:")[1].splitlines()[0]
    after = trials(root)
    assert after[:3] == before  # the finished trials were not run or written again
    assert [(k, t) for k, t, *_ in after] == before_keys() + [("candidate", 3), ("candidate", 4), ("proposal", 5)]

    # Candidates are the seeded draws around the plan's mixture [spam 0.9, gold 0.1] (both caps loose).
    from tiers.apps.allocation.mixture import sample_mixtures

    expected = sample_mixtures(np.array([0.9, 0.1]), np.ones(2), 4, seed=0)
    np.testing.assert_allclose(
        [[w["L1_b0"], w["L2_b1"]] for k, _, w, *_ in after if k == "candidate"], expected, rtol=0, atol=1e-12
    )

    proposal = after[-1]
    assert proposal[2]["L2_b1"] > 0.5  # the proposal moves to gold
    assert proposal[4] > 0  # interval above zero: the plan is written
    assert "plan written" in run.stdout and out.exists()
    written = yaml.safe_load(out.read_text())
    assert written["provenance"]["search_id"] in run.stdout and written["provenance"]["ci_low"] > 0
    weights = {s["name"]: s["weight"] for s in written["stages"][0]["sources"]}
    assert weights["L2_b1"] == pytest.approx(proposal[2]["L2_b1"], abs=1e-6)

    allocate = subprocess.run(
        [sys.executable, "-m", "cli", "allocate", "--root", str(root), "--plan", str(out)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert allocate.returncode == 0, allocate.stderr
    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    allocated = dict(con.execute("SELECT source, allocated_tokens FROM allocation_targets").fetchall())
    con.close()
    assert allocated["L2_b1"] == pytest.approx(1000 * weights["L2_b1"] / sum(weights.values()), abs=1)
    export = subprocess.run(
        [sys.executable, "-m", "cli", "export", "--root", str(root), "--stage", "decay", "--out", str(tmp / "export")],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert export.returncode == 0, export.stderr
    assert json.loads((tmp / "export" / "manifest.json").read_text())["tokens"] > 0


def before_keys() -> list[tuple[str, int]]:
    return [("current", 0), ("candidate", 1), ("candidate", 2)]


def test_no_plan_when_the_caps_already_hold_the_best_mixture(setup):
    """Gold may give at most its 3,000 tokens (cap 1 epoch) of a 3,750-token budget: the plan's 0.8 gold
    is the most any mixture can have, so no proposal can beat it."""
    tmp = setup
    root = tmp / "root"
    plan = write_plan(tmp, "capped", 0.8, 3750, 1)
    out = tmp / "capped-searched.yaml"
    run = subprocess.run(command(tmp, root, plan, out), capture_output=True, text=True, env=ENV, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no plan written" in run.stdout and not out.exists()
    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    search_id, accepted, path = con.execute(
        "SELECT search_id, accepted, plan_path FROM mixture_searches ORDER BY created_at DESC LIMIT 1"
    ).fetchone()
    rows = con.execute(
        "SELECT kind, weights['L2_b1'], ci_low FROM mixture_trials WHERE search_id = ? ORDER BY trial", [search_id]
    ).fetchall()
    con.close()
    assert accepted is False and path is None and len(rows) == 6
    assert all(gold <= 0.8 + 1e-9 for _, gold, _ in rows)
    assert rows[-1][0] == "proposal" and not rows[-1][2] > 0

    from tiers.apps.report.mixture import mixture_trials
    from tiers.apps.report.source import CatalogSource

    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    panel = mixture_trials(CatalogSource(con))
    con.close()
    assert [row[0] for row in panel.table.rows] == ["current 0"] + [f"candidate {i}" for i in range(1, 5)] + [
        "proposal 5"
    ]
    assert search_id in panel.notes[0] and "no plan written" in panel.notes[0]
