"""The pieces allocation and export work in (tiers/apps/allocation/partition.py) change nothing in the result:
tiny chunks and bins give the manifest hash and shards of one chunk and wide bins; the repeats equal a
plain Python reading of the rule; the buckets equal those of the `quality_buckets` view, ties included."""

from __future__ import annotations

import math
import random

import duckdb
import pytest

from tests.allocation_roots import Doc, build_root
from tiers.apps.allocation.allocate import allocate
from tiers.apps.allocation.buckets import boundaries, bucket_sql, edges_of
from tiers.apps.allocation.documents import create_bucket_view, home_documents_sql
from tiers.apps.allocation.export import export_stage
from tiers.apps.allocation.partition import Layout, limit_bytes
from tiers.apps.allocation.plan import parse_plan
from tiers.catalog import Catalog

TINY = Layout(chunk_docs=7, bin_rows=2)  # about 60 chunks, 2 rows per histogram bin
WIDE = Layout(chunk_docs=10**9, bin_rows=10**9)  # one chunk, 16 bins


@pytest.fixture()
def mixed_root(tmp_path):
    """400 L1 documents of 0 to 60 tokens (small ones let the second pass fill gaps), every third score
    rounded to one decimal (ties), a third of them in L2, 20 L3 rewrites."""
    rng = random.Random(11)
    l1 = []
    for i in range(400):
        score = round(rng.random(), 1) if i % 3 == 0 else rng.random()
        tokens = 0 if i % 50 == 7 else rng.choice([1, 2, 3, 5, 8, 13, 21, 60])
        l1.append(Doc(f"d{i:04d}", f"document {i} " + "word " * (i % 17), tokens, score=score))
    l3 = [Doc(f"r{i:03d}", f"rewrite {i}", rng.choice([2, 9, 30]), parent_id=l1[i * 13].doc_id) for i in range(20)]
    build_root(tmp_path / "mixed", l1, {d.doc_id for d in l1 if d.score >= 0.65}, l3)
    return tmp_path / "mixed"


def mixed_plan(**changes):
    data = {
        "seed": 5,
        "buckets": {"count": 5},
        "caps": {"L1": 3, "L2": 4, "L3": 2},
        "eval_dir": None,
        "stages": [
            {
                "name": "pretrain",
                "budget": {"share": 1.37},
                "sources": [
                    {"name": "web", "tiers": ["L1"], "weight": 0.6},
                    {"name": "hq", "tiers": ["L2"], "weight": 0.3},
                    {"name": "rewrites", "tiers": ["L3"], "weight": 0.1},
                ],
            },
            {
                "name": "decay",
                "budget": {"share": 0.3, "of_stage": "pretrain"},
                "sources": [
                    {"name": "top", "tiers": ["L1", "L2"], "buckets": [3, 4], "weight": 0.8},
                    {"name": "rewrites", "tiers": ["L3"], "weight": 0.2},
                ],
            },
        ],
    }
    data.update(changes)
    return parse_plan(data)


def current_rows(root) -> dict[tuple[str, str], int]:
    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    try:
        return {(d, s): r for d, s, r in con.execute("SELECT doc_id, stage, repeats FROM allocation").fetchall()}
    finally:
        con.close()


def test_layout_changes_nothing(mixed_root, tmp_path):
    wide = allocate(mixed_root, mixed_plan(), layout=WIDE)
    wide_rows = current_rows(mixed_root)
    tiny = allocate(mixed_root, mixed_plan(), layout=TINY)
    assert tiny.manifest_hash == wide.manifest_hash
    assert current_rows(mixed_root) == wide_rows and len(wide_rows) > 300
    assert allocate(mixed_root, mixed_plan()).manifest_hash == wide.manifest_hash  # the default layout
    shards = {}
    for name, layout in (("wide", WIDE), ("tiny", TINY)):
        result = export_stage(mixed_root, "pretrain", tmp_path / name, "jsonl", shard_rows=50, layout=layout)
        shards[name] = [(tmp_path / name / f).read_bytes() for f in result.shards]
    assert len(shards["wide"]) > 3 and shards["wide"] == shards["tiny"]


def reference_repeats(root, plan) -> dict[tuple[str, str], int]:
    """The rule of allocate.py's docstring, in plain Python over the documents and the stored cells."""
    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    con.execute("SET file_search_path = ?", [str(root)])
    # the documents with their buckets from the catalog's `quality_buckets` view (a window over all of L1)
    docs = con.execute(f"SELECT * FROM ({home_documents_sql(con)}) WHERE n_tokens > 0").fetchall()
    cells = con.execute(
        "SELECT stage, stage_index, source, tier, bucket, unique_tokens, epochs FROM allocation_cells c "
        "JOIN allocation_plans p USING (allocation_id) WHERE p.is_current "
        "ORDER BY stage_index, source, tier, coalesce(bucket, -1)"
    ).fetchall()
    hashes = dict(
        ((d, s), h)
        for d, s, h in con.execute(
            "SELECT d.doc_id, s.stage, md5_number_lower(d.doc_id || '|' || s.stage || '|' || ?) FROM (SELECT unnest(?) AS doc_id) d, "
            "(SELECT unnest(?) AS stage) s",
            [str(plan.seed), [d[0] for d in docs], [s.name for s in plan.stages]],
        ).fetchall()
    )
    con.close()
    raw: dict[tuple[str, str], int] = {}
    for stage_index, stage in enumerate(plan.stages):
        for source in stage.sources:
            mine = [c for c in cells if c[0] == stage.name and c[2] == source.name]
            whole = {(c[3], c[4]): math.floor(c[6] + 1e-9) for c in mine}
            fraction = {(c[3], c[4]): (c[6] - math.floor(c[6] + 1e-9)) * c[5] for c in mine}
            goal = 0.0
            for c in mine:
                goal += fraction[(c[3], c[4])]
            members = sorted(
                (d for d in docs if (d[1], d[2]) in whole), key=lambda d: (hashes[(d[0], stage.name)], d[0])
            )
            pool = [d for d in members if fraction[(d[1], d[2])] > 1e-6]
            taken, running = set(), 0
            for doc_id, _, _, n in pool:
                running += n
                if running - n / 2.0 < goal - 1e-6:
                    taken.add(doc_id)
            gap = goal - sum(n for doc_id, _, _, n in pool if doc_id in taken)
            filled = 0
            for doc_id, _, _, n in pool:
                if doc_id not in taken and n <= gap:
                    filled += n
                    if filled <= gap + 1e-6:
                        taken.add(doc_id)
            for doc_id, tier, bucket, _ in members:
                raw[(doc_id, stage.name)] = whole[(tier, bucket)] + (doc_id in taken)
    capped, so_far = {}, {}
    tier_of = {d[0]: d[1] for d in docs}
    for stage in plan.stages:
        for (doc_id, name), r in raw.items():
            if name != stage.name:
                continue
            cap = math.ceil(plan.caps[tier_of[doc_id]])
            before = so_far.get(doc_id, 0)
            repeats = min(before + r, cap) - min(before, cap)
            so_far[doc_id] = before + r
            if repeats > 0:
                capped[(doc_id, name)] = repeats
    return capped


def test_repeats_follow_the_rule(mixed_root):
    plan = mixed_plan()
    allocate(mixed_root, plan, layout=TINY)
    stored = current_rows(mixed_root)
    assert stored == reference_repeats(mixed_root, plan)
    assert {r for r in stored.values()} >= {1, 2}  # whole epochs and a fraction both occur


def test_buckets_equal_the_view(mixed_root):
    catalog = Catalog(mixed_root)
    with catalog.connect() as con:
        spec = mixed_plan().buckets
        create_bucket_view(con, spec)
        expected = dict(con.execute("SELECT doc_id, bucket FROM quality_buckets").fetchall())
        scored = (
            "(SELECT l1.doc_id, l1.n_tokens, s.quality_score AS score FROM l1 JOIN l2_scores s USING (doc_id) "
            "WHERE s.quality_score IS NOT NULL)"
        )
        for layout in (TINY, WIDE, Layout(bin_rows=40)):
            expression = bucket_sql(boundaries(con, scored, edges_of(con, spec), layout))
            got = dict(con.execute(f"SELECT doc_id, {expression('score', 'doc_id')} FROM {scored}").fetchall())
            assert got == expected
    assert set(expected.values()) == {0, 1, 2, 3, 4}


def test_chunks_follow_the_memory_cap():
    assert limit_bytes("256MB") == 256 * 10**6 and limit_bytes("1GiB") == 2**30 and limit_bytes("lots") is None
    assert Layout.for_memory_limit("256MB").chunk_docs == 100_000
    assert Layout.for_memory_limit("64MB").chunk_docs == 25_000
    assert Layout.for_memory_limit(None) == Layout()
