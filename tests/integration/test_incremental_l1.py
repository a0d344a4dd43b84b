"""A new crawl snapshot: L0 to L1 reads only the new L0 run, deduplicates it against the L1 already there
(a copy is dropped naming the document it copies, which stays), and a rebuild over both snapshots
replaces both runs (issue 17)."""

from __future__ import annotations

import json
import re

import pytest

from jobs.ingest import run_ingest
from jobs.l0_to_l1 import run_l1_filter_and_dedup
from jobs.pipeline import run_l0_to_l1
from tests.helpers import DOLMA_CC, dolma_texts, open_catalog
from tiers.catalog import Catalog


def _write_snapshot(path, texts: list[str]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for i, text in enumerate(texts):
            handle.write(json.dumps({"text": text, "url": f"https://example.com/{path.stem}/{i}"}) + "\n")


def _word_shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """The check's own shingling (lower-cased word 5-grams), independent of the dedup code's hashing."""
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(max(len(words) - n + 1, 1))}


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def _l1(root) -> dict[str, str]:
    with open_catalog(root) as con:
        return dict(con.execute("SELECT doc_id, text FROM L1").fetchall())


@pytest.fixture(scope="module")
def snapshots(spark, test_config, tmp_path_factory):
    if not DOLMA_CC.exists():
        pytest.skip("the dolma sample is not in ../shared/data")
    folder = tmp_path_factory.mktemp("snapshots")
    root = str(folder / "root")
    texts = dolma_texts()
    first = folder / "snapshot1.jsonl"
    _write_snapshot(first, texts[:40])
    promoted = run_l0_to_l1(spark, test_config, [str(first)], root)
    l1_first = _l1(root)
    with open_catalog(root) as con:  # the raw texts of the longest L1 documents: the operators treat a copy alike
        (exact_id, exact_text), (near_id, near_text) = con.execute(
            "SELECT doc_id, text FROM L0 WHERE doc_id IN (SELECT doc_id FROM L1) ORDER BY length(text) DESC LIMIT 2"
        ).fetchall()
    cut = near_text.rindex(" ", 0, len(near_text) - 40)
    copies = {
        "exact": (exact_id, exact_text),
        "near": (near_id, near_text[:cut] + " edited" + near_text[cut:]),
    }  # one word more: Jaccard about 0.99
    second = folder / "snapshot2.jsonl"
    _write_snapshot(second, texts[40:80] + [text for _, text in copies.values()])
    ingested = run_ingest(spark, test_config, [str(second)], root)
    with open_catalog(root) as con:
        new_ids = {
            text: doc_id
            for doc_id, text in con.execute(
                "SELECT doc_id, text FROM L0 WHERE run_id = ?", [ingested.run_id]
            ).fetchall()
        }
    copies = {kind: (original, new_ids[text]) for kind, (original, text) in copies.items()}
    incremental = run_l1_filter_and_dedup(spark, test_config, root)
    return root, promoted, ingested, incremental, l1_first, copies


def test_only_the_new_snapshot_is_read(snapshots):
    root, promoted, ingested, incremental, _, _ = snapshots
    with open_catalog(root) as con:
        runs = con.execute(
            "SELECT job, input_runs FROM runs WHERE status = 'committed' AND job LIKE 'l1_%' ORDER BY started_at"
        ).fetchall()
    filters = [inputs for job, inputs in runs if job == "l1_filter"]
    assert filters == [[promoted["ingest"].run_id], [ingested.run_id]]
    with open_catalog(root) as con:
        new_l0 = con.execute("SELECT count(*) FROM L0 WHERE run_id = ?", [ingested.run_id]).fetchone()[0]
    assert incremental.counts["l0_in"] == new_l0 == 42
    assert incremental.counts["deduplicated_against"] == 1


def test_the_documents_already_in_l1_stay_and_their_new_copies_are_dropped_naming_them(snapshots):
    root, _, _, incremental, l1_first, copies = snapshots
    l1_now = _l1(root)
    assert set(l1_first) <= set(l1_now)
    with open_catalog(root) as con:
        drops = {
            doc_id: json.loads(details)["kept"]
            for doc_id, details in con.execute(
                "SELECT doc_id, details FROM drops WHERE run_id = ? AND stage IN ('exact_dedup', 'minhash_dedup')",
                [incremental.run_id],
            ).fetchall()
        }
    for original_id, copy_id in copies.values():
        assert drops[copy_id] == original_id


def test_l1_holds_no_copy_across_snapshots(snapshots):
    """Checked with the test's own normalisation and shingling, not the dedup code's."""
    root = snapshots[0]
    l1_now = _l1(root)
    assert len(l1_now) == len(set(l1_now))
    normalized = [" ".join(t.lower().split()) for t in l1_now.values()]
    assert len(normalized) == len(set(normalized))
    shingles = [_word_shingles(t) for t in l1_now.values()]
    close = [
        (i, j)
        for i in range(len(shingles))
        for j in range(i + 1, len(shingles))
        if _jaccard(shingles[i], shingles[j]) >= 0.9
    ]
    assert close == []


def test_nothing_new_runs_nothing(spark, test_config, snapshots):
    root = snapshots[0]
    with open_catalog(root) as con:
        before = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    again = run_l1_filter_and_dedup(spark, test_config, root)
    assert again.skipped and again.run_id == snapshots[3].run_id
    with open_catalog(root) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == before


def test_l2_scores_each_l1_run_once_and_only_its_documents(spark, test_config, snapshots):
    from jobs.l1_to_l2 import run_l1_to_l2_current

    root = snapshots[0]
    with open_catalog(root) as con:
        l1_per_run = dict(con.execute("SELECT run_id, count(*) FROM L1 GROUP BY run_id").fetchall())
    first = run_l1_to_l2_current(spark, test_config, root)
    assert [r.skipped for r in first] == [False, False]
    assert sorted(r.counts["l1_in"] for r in first) == sorted(l1_per_run.values())
    with open_catalog(root) as con:
        scored = dict(
            con.execute(
                "SELECT r.input_runs[1], (r.counts_json::JSON->>'scored')::INT FROM runs r "
                "WHERE job = 'l2_score' AND status = 'committed'"
            ).fetchall()
        )
        l2_ids = {d for (d,) in con.execute("SELECT doc_id FROM L2").fetchall()}
        dropped = {d for (d,) in con.execute("SELECT doc_id FROM drops WHERE stage = 'quality_classifier'").fetchall()}
    assert scored == l1_per_run
    assert not l2_ids & dropped and l2_ids | dropped == set(_l1(root))
    again = run_l1_to_l2_current(spark, test_config, root)
    assert [r.skipped for r in again] == [True, True]


def test_a_rebuild_over_both_snapshots_replaces_both_runs(spark, test_config, snapshots):
    root, promoted, ingested, _, _, copies = snapshots
    rebuilt = run_l1_filter_and_dedup(spark, test_config, root, [promoted["ingest"].run_id, ingested.run_id])
    assert rebuilt.counts["deduplicated_against"] == 0
    after = _l1(root)
    for pair in copies.values():
        assert len(set(pair) & set(after)) == 1
    with open_catalog(root) as con:
        current = {r for (r,) in con.execute("SELECT DISTINCT run_id FROM L1").fetchall()}
        assert current == {rebuilt.run_id}
        assert con.execute("SELECT count(*), count(DISTINCT doc_id) FROM L1").fetchone() == (len(after), len(after))
    assert Catalog(root).latest_committed_run("l1_dedup") == rebuilt.run_id
