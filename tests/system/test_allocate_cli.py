"""`tiers allocate`, `tiers export` and the tokens column of `tiers catalog status`, as subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from tests.unit.test_allocation import plan, root  # noqa: F401 - the hand-built root fixture


def tiers(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        cwd=cwd,
    )


def write_plan(path, data) -> str:
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_allocate_export_status(root, tmp_path):  # noqa: F811
    data_root, eval_dir = root
    good = plan().model_dump(mode="json")
    good["eval_dir"] = str(eval_dir)
    run = tiers("allocate", "--root", str(data_root), "--plan", write_plan(tmp_path / "plan.yaml", good))
    assert run.returncode == 0, run.stderr
    import duckdb

    con = duckdb.connect(str(data_root / "catalog.duckdb"), read_only=True)
    stored = con.execute(
        "SELECT sum(a.repeats * l.n_tokens) FROM allocation a JOIN (SELECT doc_id, n_tokens FROM "
        "read_parquet(?) UNION ALL SELECT doc_id, n_tokens FROM read_parquet(?)) l USING (doc_id)",
        [str(data_root / "L1" / "l1run" / "*.parquet"), str(data_root / "L3" / "l3run" / "*.parquet")],
    ).fetchone()[0]
    con.close()
    assert f"tokens {stored:,}" in run.stdout and "overlapping evaluation sets (never allocated) 1" in run.stdout
    export = tiers(
        "export", "--root", str(data_root), "--stage", "decay", "--out", str(tmp_path / "out"), "--format", "jsonl"
    )
    assert export.returncode == 0, export.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["stage"] == "decay" and manifest["format"] == "jsonl" and manifest["tokens"] > 0
    for line in (tmp_path / "out" / "megatron_data_args.txt").read_text().splitlines():  # --data-args-path
        weight, prefix = line.split()
        assert (
            float(weight) > 0
            and (tmp_path / "out" / (prefix.rsplit("/", 1)[1].removesuffix("_text_document") + ".jsonl")).is_file()
        )
    status = tiers("catalog", "status", "--root", str(data_root))
    assert status.returncode == 0, status.stderr
    assert "tokens" in status.stdout and "1,600" in status.stdout  # L1: 16 documents of 100 tokens


def test_unmeetable_and_invalid_plans(root, tmp_path):  # noqa: F811
    data_root, eval_dir = root
    bad = plan().model_dump(mode="json")
    bad["eval_dir"] = str(eval_dir)
    bad["stages"].append(
        {"name": "midtrain", "budget": {"tokens": 2000}, "sources": [{"name": "hq", "tiers": ["L2"], "weight": 1.0}]}
    )
    run = tiers("allocate", "--root", str(data_root), "--plan", write_plan(tmp_path / "bad.yaml", bad))
    assert run.returncode == 1
    assert "budget cannot be met" in run.stderr and "midtrain" in run.stderr and "missing" in run.stderr
    bad["stages"][0]["sources"][0]["weigth"] = 1
    run = tiers("allocate", "--root", str(data_root), "--plan", write_plan(tmp_path / "typo.yaml", bad))
    assert run.returncode == 2 and "stages.0.sources.0.weigth: unknown key" in run.stderr
    run = tiers("export", "--root", str(data_root), "--stage", "pretrain", "--out", str(tmp_path / "none"))
    assert run.returncode == 2 and "no allocation" in run.stderr


def test_allocate_and_export_on_a_root_without_token_counts_say_what_to_fix(tmp_path):
    """A root whose tiers were written without a tokenizer (n_tokens null, as the base install wrote them
    before the tokenizer shipped): allocate stops with the setting to change, exit 2, and stores nothing."""
    from tests.allocation_roots import Doc, build_root

    l1 = [Doc(f"a{i:02d}", f"alpha text number {i} " * 20, None, score=0.1 + i / 100) for i in range(6)]
    build_root(tmp_path / "root", l1, {"a00", "a01"})
    good = plan().model_dump(mode="json")
    good["eval_dir"] = None
    run = tiers("allocate", "--root", str(tmp_path / "root"), "--plan", write_plan(tmp_path / "plan.yaml", good))
    assert run.returncode == 2, run.stdout + run.stderr
    message = " ".join(run.stderr.split())
    assert "holds 6 documents but no token counts" in message and "tokens.tokenizer" in message, message
    assert "--force" in message and "0 documents" not in run.stdout
    export = tiers("export", "--root", str(tmp_path / "root"), "--stage", "pretrain", "--out", str(tmp_path / "out"))
    assert export.returncode == 2 and "no allocation" in export.stderr
    assert not (tmp_path / "out").exists()


def test_export_of_a_stage_without_documents_exits_2_and_writes_nothing(root, tmp_path):  # noqa: F811
    data_root, eval_dir = root
    data = plan().model_dump(mode="json")
    data["eval_dir"] = str(eval_dir)
    data["stages"].append(
        {"name": "sft", "budget": {"share": 0.5}, "sources": [{"name": "knowledge", "tiers": ["L4"], "weight": 1.0}]}
    )
    run = tiers("allocate", "--root", str(data_root), "--plan", write_plan(tmp_path / "plan.yaml", data))
    assert run.returncode == 0, run.stderr
    export = tiers("export", "--root", str(data_root), "--stage", "sft", "--out", str(tmp_path / "sft"))
    assert export.returncode == 2, export.stdout + export.stderr
    assert "holds no documents" in " ".join(export.stderr.split())
    assert not (tmp_path / "sft").exists()
