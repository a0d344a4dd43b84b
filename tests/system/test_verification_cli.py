"""`tiers verify pretrain` then `tiers verify anneal` on real text with a tiny model: two base models in
one file, a verdict over 2 bases x 2 seeds against a same-size control, recorded in the catalog; the
pools file's default is used (with a warning) when the root has no L1."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch", reason="the verification loop needs torch")

from typer.testing import CliRunner  # noqa: E402

from cli.app import app  # noqa: E402
from tests.helpers import SHARED_DATA, dolma_texts  # noqa: E402
from tiers.catalog import Catalog  # noqa: E402
from verification.checkpoint import load_bases  # noqa: E402
from verification.data import encode  # noqa: E402


def test_pretrain_then_anneal(tmp_path):
    torch.set_num_threads(1)
    texts = [t for t in dolma_texts() if len(t) > 200]
    default, pool = texts[:60], texts[60:80]
    for name, rows in (("default", default), ("pool", pool)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in rows))
    (tmp_path / "pools.yaml").write_text(
        f"pools:\n  crawl:\n    - jsonl: {{path: {tmp_path / 'pool.jsonl'}}}\n"
        f"default:\n  - jsonl: {{path: {tmp_path / 'default.jsonl'}}}\n"
        f"negatives:\n  - jsonl: {{path: {tmp_path / 'default.jsonl'}}}\n"
        f"loop:\n  model: tiny\n  base_steps: 10\n  base_seeds: [3, 4]\n  anneal_steps: 4\n  seeds: [0, 1]\n"
        f"  eval_dir: {SHARED_DATA / 'eval'}\n  benchmarks: [copa]\n  items_per_benchmark: 10\n"
    )
    root, runner = tmp_path / "root", CliRunner()
    done = runner.invoke(
        app,
        [
            "verify",
            "pretrain",
            "--root",
            str(root),
            "--pools",
            str(tmp_path / "pools.yaml"),
            "--out",
            str(tmp_path / "b.pt"),
        ],
    )
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["seeds"] == [3, 4] and report["default_source"] == "pools file default"
    assert report["passes_over_default"] == pytest.approx(
        10 * 16 * 128 / len(encode(default)), abs=6e-4
    )  # rounded to 3 places
    bases, seeds = load_bases(tmp_path / "b.pt")
    assert seeds == [3, 4] and len(bases) == 2
    assert any(not torch.equal(a, b) for a, b in zip(bases[0].state_dict().values(), bases[1].state_dict().values()))

    done = runner.invoke(
        app,
        ["verify", "anneal", "--root", str(root), "--pools", str(tmp_path / "pools.yaml"), "--base", str(tmp_path / "b.pt"),
         "--pool", "crawl"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    verdict = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(verdict["candidate"]) == len(verdict["control"]) == 4  # 2 bases x 2 anneal seeds
    assert verdict["pool_bytes"] == len(encode(pool))
    assert verdict["low"] <= verdict["delta"] <= verdict["high"]
    _, rows = Catalog(root).query("SELECT pool, baseline_json FROM experiments")
    assert rows[0][0] == "crawl" and json.loads(rows[0][1]) == verdict["control"]
    missing = runner.invoke(
        app,
        ["verify", "anneal", "--root", str(root), "--pools", str(tmp_path / "pools.yaml"), "--base", str(tmp_path / "b.pt"),
         "--pool", "nope"],
    )  # fmt: skip
    assert missing.exit_code == 2 and "allowed: crawl" in missing.output


def test_root_l1_is_read_in_a_bounded_random_sample(tmp_path):
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from jobs.runner import JobRun
    from verification.pools import root_l1

    catalog = Catalog(tmp_path / "root")
    assert root_l1(catalog, 10_000) == []  # no L1 yet
    texts = [f"document {i} " + "wörd " * (5 * i + 1) for i in range(40)]
    docs = pa.table({"doc_id": [f"d{i:02d}" for i in range(40)], "text": texts, "lang": ["en"] * 40})
    with JobRun(catalog, "l1_for_verification", {"test": "root_l1"}) as run:
        staged = Path(run.stage("L1", tier="L1"))
        staged.mkdir(parents=True)
        pq.write_table(docs.append_column("run_id", pa.array([run.run_id] * 40)), staged / "part-0.parquet")
        run.commit({"l1": 40})
    assert sorted(root_l1(catalog, 10**9)) == sorted(texts)
    sample = root_l1(catalog, 2_000)
    assert 0 < len(sample) < 40 and set(sample) <= set(texts)
    assert len(encode(sample)) + 1 <= 2_000  # each text counted with its separator
    assert root_l1(catalog, 2_000) == sample  # the same order every time
