"""Allocation on a hand-built catalog: numbers checked by hand (a cap that binds, a shortfall moved to
the other source), an unmeetable budget, determinism, evaluation overlap, per-document caps."""

from __future__ import annotations

import json

import duckdb
import pytest

from tests.allocation_roots import Doc, build_root
from tiers.apps.allocation.allocate import BudgetNotMet, allocate
from tiers.apps.allocation.plan import parse_plan

EVAL_ITEM = (
    "which of these statements best explains why the planet mercury has almost no atmosphere "
    "compared with the other rocky planets of the solar system"
)


def words(word: str, n: int) -> str:
    return word + f" {word}" * (n - 1)  # n tokens of SmolLM2's tokenizer (checked in test_texts_have_100_tokens)


@pytest.fixture()
def root(tmp_path):
    """15 L1 documents of 100 tokens: 10 stay in L1 (scores 0.10..0.19), 5 reach L2 (0.60..0.64); 2 L3
    rewrites of 100 tokens; one more L2 document quotes an evaluation item."""
    l1 = [Doc(f"a{i:02d}", words("alpha", 100), 100, score=0.10 + i / 100) for i in range(10)]
    l1 += [Doc(f"b{i:02d}", words("beta", 100), 100, score=0.60 + i / 100) for i in range(5)]
    l1 += [Doc("leak", EVAL_ITEM + " " + words("gamma", 70), 100, score=0.99)]
    l3 = [Doc(f"r{i}", words("token", 100), 100, parent_id=f"b0{i}") for i in range(2)]
    build_root(tmp_path / "root", l1, {d.doc_id for d in l1 if d.doc_id[0] in "bl"}, l3)
    eval_dir = tmp_path / "eval" / "arc_easy"
    eval_dir.mkdir(parents=True)
    (eval_dir / "arc_easy.jsonl").write_text(
        json.dumps({"query": "Question: " + EVAL_ITEM, "choices": ["a", "b"]}) + "\n"
    )
    return tmp_path / "root", tmp_path / "eval"


def plan(**changes):
    data = {
        "seed": 7,
        "buckets": {"edges": [0.5]},
        "caps": {"L1": 4, "L2": 4, "L3": 2},
        "stages": [
            {
                "name": "pretrain",
                "budget": {"tokens": 4000},
                "sources": [
                    {"name": "web", "tiers": ["L1"], "weight": 0.5},
                    {"name": "hq", "tiers": ["L2"], "weight": 0.3},
                    {"name": "rewrites", "tiers": ["L3"], "weight": 0.2},
                ],
            },
            {
                "name": "decay",
                "budget": {"share": 0.25, "of_stage": "pretrain"},
                "sources": [
                    {"name": "top", "tiers": ["L1", "L2"], "buckets": [1], "weight": 0.6},
                    {"name": "rewrites", "tiers": ["L3"], "weight": 0.4},
                ],
            },
        ],
    }
    data.update(changes)
    return parse_plan(data)


def test_texts_have_100_tokens():
    from tiers.tokens import count_tokens

    assert count_tokens([words(w, 100) for w in ("alpha", "beta", "token")]) == [100, 100, 100]


def test_worked_example(root):
    data_root, eval_dir = root
    result = allocate(data_root, plan(), eval_dir=eval_dir)
    # The leak document quotes an evaluation item: flagged, never allocated; the other 17 remain.
    # L1 tokens by score: 10 x alpha, 5 x beta (the leak is excluded before buckets? no: buckets are
    # over all scored L1, 16 docs = 1600 tokens; midpoint percentile of the k-th is (100k + 50) / 1600,
    # at or above 0.5 from k = 8): bucket 0 = a00..a07 (800), bucket 1 = a08, a09 (200) + b00..b04 (500).
    assert result.flagged == 1
    pretrain, decay = result.stages
    by = {(s.stage, s.source): s for st in result.stages for s in st.sources}
    # pretrain 4000: targets web 2000, hq 1200, rewrites 800; rewrites' cap is 2 x 200 = 400 (binds),
    # its 400 short go to web and hq by 0.5 : 0.3 -> +250, +150.
    assert by["pretrain", "rewrites"].target == pytest.approx(800)
    assert by["pretrain", "rewrites"].allocated == pytest.approx(400)
    assert by["pretrain", "web"].allocated == pytest.approx(2250)
    assert by["pretrain", "hq"].allocated == pytest.approx(1350)
    # web spreads 2250 over its 1000 unique tokens at 2.25 epochs: 1800 from bucket 0, 450 from bucket 1.
    assert by["pretrain", "web"].cells == pytest.approx({("L1", 0): 1800, ("L1", 1): 450})
    # decay = 0.25 x 4000 = 1000: rewrites have no capacity left (2 epochs used), top gets all 1000:
    # L1 bucket 1 has 4 x 200 - 450 = 350 left, L2 bucket 1 has 4 x 500 - 1350 = 650 left: 1000 at equal
    # epochs would be 1.43 x 200 = 286 and 1.43 x 500 = 714 > 650, so L2 gives 650 and L1 350.
    assert decay.budget == pytest.approx(1000)
    assert by["decay", "rewrites"].allocated == pytest.approx(0)
    assert by["decay", "top"].cells == pytest.approx({("L1", 1): 350, ("L2", 1): 650})
    con = duckdb.connect(str(data_root / "catalog.duckdb"), read_only=True)
    rows = dict(((d, s), r) for d, s, r in con.execute("SELECT doc_id, stage, repeats FROM allocation").fetchall())
    assert "leak" not in {d for d, _ in rows}
    assert rows["r0", "pretrain"] == rows["r1", "pretrain"] == 2 and ("r0", "decay") not in rows
    # hq: 2.7 epochs of 5 docs -> every doc 2, and the first 3 in hash order (0.7 x 500 = 350 tokens) 3.
    hq = sorted(r for (d, s), r in rows.items() if s == "pretrain" and d.startswith("b"))
    assert hq == [2, 2, 3, 3, 3]
    # No document over its cap of 4 across stages.
    totals = con.execute("SELECT doc_id, sum(repeats) FROM allocation GROUP BY 1").fetchall()
    assert max(t for _, t in totals) <= 4
    realized = dict(
        ((s, src), t)
        for s, src, t in con.execute("SELECT stage, source, realized_tokens FROM allocation_targets").fetchall()
    )
    assert realized["pretrain", "rewrites"] == 400 and realized["pretrain", "hq"] == 1300


def test_unmeetable_budget_fails_with_table(root):
    data_root, eval_dir = root
    bad = plan().model_dump(mode="json")
    bad["stages"].append(
        {"name": "midtrain", "budget": {"tokens": 2000}, "sources": [{"name": "hq", "tiers": ["L2"], "weight": 1.0}]}
    )
    with pytest.raises(BudgetNotMet) as failure:
        allocate(data_root, parse_plan(bad), eval_dir=eval_dir)
    table = str(failure.value)
    # L2 bucket 1 is used up by pretrain (1350) and decay (650): 0 of 2000 left.
    line = next(row for row in table.splitlines() if row.startswith("midtrain") and "hq" in row)
    assert line.split()[-1] == "2,000" and line.split()[-3] == "0"
    con = duckdb.connect(str(data_root / "catalog.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM allocation_plans").fetchone()[0] == 0


def test_deterministic_manifest(root, tmp_path):
    data_root, eval_dir = root
    first = allocate(data_root, plan(), eval_dir=eval_dir)
    again = allocate(data_root, plan(), eval_dir=eval_dir)
    assert first.manifest_hash == again.manifest_hash
    other = allocate(data_root, plan(seed=8), eval_dir=eval_dir)
    assert other.manifest_hash != first.manifest_hash
    con = duckdb.connect(str(data_root / "catalog.duckdb"), read_only=True)
    assert con.execute("SELECT allocation_id FROM allocation_plans WHERE is_current").fetchall() == [
        (other.allocation_id,)
    ]


def test_curriculum_is_one_change(root):
    from tiers.apps.allocation.plan import Plan

    flat = plan()
    curriculum = plan(order="curriculum")
    assert isinstance(curriculum, Plan) and curriculum.order_of(curriculum.stages[0]) == "curriculum"
    assert flat.order_of(flat.stages[0]) == "shuffle"
