"""On the sample data (l0-to-l2 through Spark): n_tokens in every tier equals the tokenizer's count of
the stored text, the shipped plan allocates as it is, no evaluation-overlap document is allocated, and
the exported pretrain shards load in datasets with the tokens allocation chose, within half a largest
document per source of the plan's target."""

from __future__ import annotations

import json

import pytest

from tests.helpers import SHARED_DATA, open_catalog
from tiers.apps.allocation.allocate import allocate
from tiers.eval_overlap import build_index
from tiers.apps.allocation.export import export_stage
from tiers.apps.allocation.plan import load_plan
from tiers.resources import PROJECT
from tiers.tokens import count_tokens

EVAL = SHARED_DATA / "eval"


@pytest.fixture(scope="module")
def allocated(pipeline_run):
    root, _ = pipeline_run
    plan = load_plan(PROJECT / "conf" / "allocation.yaml")
    return root, allocate(root, plan, eval_dir=EVAL)


def test_tiers_have_true_token_counts(pipeline_run):
    root, _ = pipeline_run
    con = open_catalog(root)
    assert con.execute("SELECT count(n_tokens), count(*) > 0 FROM l0").fetchone() == (0, True)  # tokens.count_l0: false
    for tier in ("l1", "l2"):
        rows = con.execute(f"SELECT text, n_tokens FROM {tier} ORDER BY doc_id LIMIT 300").fetchall()
        assert rows, tier
        assert [n for _, n in rows] == count_tokens([t for t, _ in rows]), tier


def test_shipped_plan_on_samples(allocated):
    root, result = allocated
    con = open_catalog(root)
    stages = dict(con.execute("SELECT stage, sum(repeats) FROM allocation GROUP BY 1").fetchall())
    assert {"pretrain", "decay", "midtrain"} <= set(stages)
    # Each source's chosen documents hold its allocated tokens to within half of its largest document.
    largest = con.execute("SELECT max(n_tokens) FROM l1").fetchone()[0]
    targets = con.execute(
        "SELECT stage, source, allocated_tokens, realized_tokens FROM allocation_targets t "
        "JOIN allocation_plans p USING (allocation_id) WHERE p.is_current"
    ).fetchall()
    for stage, source, allocated, realized in targets:
        assert abs(realized - allocated) <= largest / 2 + 1, (stage, source, allocated, realized)
    realized_decay = sum(r for s, _, _, r in targets if s == "decay")
    realized_pretrain = sum(r for s, _, _, r in targets if s == "pretrain")
    assert realized_decay >= 0.1 * realized_pretrain
    # Buckets: 20 buckets, each near 5 % of scored L1 tokens.
    shares = [
        s
        for (s,) in con.execute(
            "SELECT sum(n_tokens) / (SELECT sum(n_tokens) FROM quality_buckets) FROM quality_buckets GROUP BY bucket"
        ).fetchall()
    ]
    assert len(shares) == 20 and max(shares) < 0.12


def test_no_eval_overlap_allocated(allocated):
    root, result = allocated
    index = build_index(EVAL)
    con = open_catalog(root)
    allocated_ids = {d for (d,) in con.execute("SELECT DISTINCT doc_id FROM allocation").fetchall()}
    texts = con.execute("SELECT doc_id, text FROM l1").fetchall()
    flagged = {doc for (doc, _), hit in zip(texts, index.matches([t for _, t in texts])) if hit}
    assert not flagged & allocated_ids
    assert result.flagged == len(flagged)


def test_export_matches_plan(allocated, tmp_path):
    root, result = allocated
    exported = export_stage(root, "pretrain", tmp_path / "pretrain", "parquet", shard_rows=200)
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets is not installed")
    loaded = datasets.load_dataset(
        "parquet",
        data_files=[str(tmp_path / "pretrain" / f) for f in exported.shards],
        split="train",
        cache_dir=str(tmp_path / "hf"),
    )
    recounted = sum(count_tokens(loaded["text"]))
    con = open_catalog(root)
    target, realized, sources = con.execute(
        "SELECT sum(target_tokens), sum(realized_tokens), count(*) FROM allocation_targets t "
        "JOIN allocation_plans p USING (allocation_id) WHERE p.is_current AND stage = 'pretrain'"
    ).fetchone()
    largest = con.execute("SELECT max(n_tokens) FROM l1").fetchone()[0]
    # The shards hold what allocation chose, recounted by the tokenizer; that is within half of the largest
    # document of the plan's target per source (whole documents only).
    assert recounted == realized
    assert abs(recounted - target) <= max(0.005 * target, sources * (largest / 2 + 1))
    assert json.loads((tmp_path / "pretrain" / "manifest.json").read_text())["tokens"] == recounted
