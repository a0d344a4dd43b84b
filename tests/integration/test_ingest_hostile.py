"""The ingest job on hostile inputs (issue 10) and on moved files (issue 12): real Spark, real samples.

All crash classes go into ONE run, as in the report (0 of 33,287 good records were committed then):
the job must commit every good record, quarantine the rest with file and offset, and never fail.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil

import pyarrow.dataset as ds
import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.helpers import DOLMA_CC, RESILIPARSE_WARC, SHARED_DATA

pytestmark = pytest.mark.skipif(
    not DOLMA_CC.exists() or not RESILIPARSE_WARC.exists(), reason=f"shared samples missing at {SHARED_DATA}"
)


def table(result, kind):
    return ds.dataset(result.outputs[kind], format="parquet").to_table().to_pylist()


def write(directory, name: bytes, data: bytes) -> str:
    path = os.fsencode(str(directory)) + b"/" + name
    with open(path, "wb") as handle:
        handle.write(data)
    return path.decode("utf-8", "backslashreplace")


@pytest.fixture(scope="module")
def hostile_run(spark, test_config, tmp_path_factory):
    from jobs.ingest import run_ingest

    import zstandard

    good = DOLMA_CC.read_bytes()
    lines = gzip.decompress(good).splitlines(keepends=True)
    folder = tmp_path_factory.mktemp("hostile")
    members = [gzip.compress(b"".join(lines[k : k + 100])) for k in range(0, len(lines), 100)]
    broken = bytearray(members[3])
    broken[len(broken) // 3 : len(broken) // 3 + 20] = b"\xff" * 20
    files = {
        write(folder, b"good.jsonl.gz", good): ("good", len(lines)),
        write(folder, b"members-one-bad.jsonl.gz", b"".join(members[:3]) + bytes(broken) + b"".join(members[4:])): (
            "partial",
            len(lines) - 100,
        ),
        write(folder, b"fake.jsonl.zst", b"not zstd at all " * 64): ("bad", 0),
        write(folder, b"damaged.jsonl.zst", zstandard.ZstdCompressor().compress(b"".join(lines))[:5000]): (
            "partial",
            None,
        ),
        write(
            folder, b"deep.jsonl", lines[0] + b'{"text": "x", "a": ' + b"[" * 3000 + b"]" * 3000 + b"}\n" + lines[1]
        ): ("partial", 2),
        write(folder, b"surrogate.jsonl", lines[0] + b'{"text": "a \\ud800 b"}\n' + lines[1]): ("partial", 2),
        write(folder, b"bigint.jsonl", lines[0] + b'{"text": "n", "n": ' + b"1" * 4400 + b"}\n" + lines[1]): (
            "partial",
            2,
        ),
        write(folder, b"name-\xff\xfe.jsonl", b"".join(lines[:5])): ("good", 5),
        write(folder, b"one-stream.warc.gz", gzip.compress(gzip.decompress(RESILIPARSE_WARC.read_bytes()))): (
            "good",
            16,
        ),
    }
    root = tmp_path_factory.mktemp("hostile-root")
    result = run_ingest(spark, test_config, [str(folder)], str(root))
    return files, result


def test_a_run_with_every_crash_class_commits_all_good_records(hostile_run):
    files, result = hostile_run
    l0 = table(result, "L0")
    per_file = {name: sum(row["file"] == name for row in l0) for name in files}
    for name, (kind, expected) in files.items():
        if expected is not None:
            assert per_file[name] == expected, name
    assert per_file[next(n for n in files if "damaged.jsonl.zst" in n)] < 697


def test_every_bad_file_has_quarantine_rows_naming_file_and_offset(hostile_run):
    files, result = hostile_run
    quarantine = table(result, "quarantine")
    for name, (kind, _) in files.items():
        rows = [row for row in quarantine if row["file"] == name]
        assert bool(rows) == (kind != "good"), (name, rows)
        for row in rows:
            assert row["error"].startswith(f"{name}, offset {row['offset']}")
    types = {row["error_type"] for row in quarantine}
    assert {"CorruptCompression", "JSONDecodeError", "UnicodeError"} <= types


def test_a_non_utf8_file_name_is_read_and_shown_escaped(hostile_run):
    files, result = hostile_run
    name = next(n for n in files if "name-" in n)
    assert name.endswith("name-\\xff\\xfe.jsonl")
    assert sum(row["file"] == name for row in table(result, "L0")) == 5


def test_a_2_mib_record_among_real_ones_loses_nothing_through_the_job(spark, test_config, tmp_path):
    from jobs.ingest import run_ingest
    from tests.fuzz.corrupt import _response, gzip_members

    import random

    records = gzip_members(RESILIPARSE_WARC.read_bytes())
    big = _response(random.Random(1), b"<html><body>" + b"many words " * (2 * 1024 * 1024 // 11) + b"</body></html>")
    records.insert(len(records) // 2, big)
    path = tmp_path / "with-big.warc.gz"
    path.write_bytes(b"".join(gzip.compress(r) for r in records))
    with open(path, "rb") as handle:  # an independent parser's count
        expected = sum(1 for r in ArchiveIterator(handle) if r.rec_type == "response")
    assert expected == 17
    result = run_ingest(spark, test_config, [str(path)], str(tmp_path / "root"))
    assert result.counts["l0"] == expected and result.counts["quarantine"] == 0


def test_the_same_bytes_from_two_paths_get_the_same_ids(spark, test_config, tmp_path):
    from jobs.ingest import run_ingest

    first, second = tmp_path / "a", tmp_path / "elsewhere" / "b"
    first.mkdir()
    second.mkdir(parents=True)
    shutil.copy(DOLMA_CC, first / "docs.jsonl.gz")
    (second / "renamed.jsonl.gz").symlink_to(first / "docs.jsonl.gz")
    ids = []
    for folder in (first, second):
        result = run_ingest(spark, test_config, [str(folder)], str(tmp_path / ("root-" + folder.name)))
        rows = sorted(table(result, "L0"), key=lambda r: r["line"])
        ids.append([r["doc_id"] for r in rows])
    assert len(ids[0]) == 697 and len(set(ids[0])) == 697
    assert ids[0] == ids[1]
    texts = [json.loads(line)["text"] for line in gzip.decompress(DOLMA_CC.read_bytes()).splitlines()]
    assert len(texts) == len(ids[0])


def _engine(kind: str, spark):
    """The local engine, or Spark through the session the tests share."""
    from jobs.engine import Execution
    from tests.helpers import TEST_OVERRIDES
    from tiers.config import load_config

    config = load_config(None, [*TEST_OVERRIDES, f"engine.kind={kind}"])
    return (Execution(config, spark) if kind == "spark" else Execution(config)), config


def _jsonl(prefix: str, n: int) -> bytes:
    return b"".join(
        json.dumps({"text": f"{prefix} document {k}", "id": f"{prefix}-{k}"}).encode() + b"\n" for k in range(n)
    )


@pytest.mark.parametrize("kind", ["local", "spark"])
def test_files_that_change_between_listing_and_reading_do_not_fail_the_run(spark, tmp_path, monkeypatch, kind):
    """Real files changed after the driver listed them and before they are read: one grows, one shrinks,
    one is replaced by another file. The run commits: the grown file is read up to its listed size, the
    others end in quarantine rows for the listed bytes they no longer hold, the untouched file is whole."""
    import jobs.ingest
    from jobs.ingest import run_ingest
    from tiers.io.formats import list_inputs

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("grows", "shrinks", "replaced", "intact"):
        (folder / f"{name}.jsonl").write_bytes(_jsonl(name, 20))

    def list_then_change(patterns, data_root=None):
        listing = list_inputs(patterns, data_root)
        with open(folder / "grows.jsonl", "ab") as handle:
            handle.write(_jsonl("appended", 5))
        with open(folder / "shrinks.jsonl", "r+b") as handle:
            handle.truncate(len(_jsonl("shrinks", 8)))
        (tmp_path / "new.jsonl").write_bytes(_jsonl("new", 20))
        (tmp_path / "new.jsonl").rename(folder / "replaced.jsonl")
        return listing

    monkeypatch.setattr(jobs.ingest, "list_inputs", list_then_change)
    engine, config = _engine(kind, spark)
    result = run_ingest(engine, config, [str(folder)], str(tmp_path / "root"))
    l0 = {row["text"] for row in table(result, "L0")}
    expected = {f"{name} document {k}" for name in ("grows", "intact") for k in range(20)}
    expected |= {f"shrinks document {k}" for k in range(8)}
    assert l0 == expected
    changed = sorted(
        (os.path.basename(row["file"]), row["error"].split(": ", 1)[1])
        for row in table(result, "quarantine")
        if row["error_type"] == "FileChanged"
    )
    assert [name for name, _ in changed] == ["replaced.jsonl", "shrinks.jsonl"]
    assert "replaced by another file" in changed[0][1] and "shrank" in changed[1][1]


def test_an_input_folder_holding_the_data_root_reads_no_output_again(tmp_path):
    """`--input X --root X/data`: the second snapshot's run reads only the new file, not the root."""
    from jobs.ingest import run_ingest

    engine, config = _engine("local", None)
    (tmp_path / "snapshot-1.jsonl").write_bytes(_jsonl("one", 30))
    first = run_ingest(engine, config, [str(tmp_path)], str(tmp_path / "data"))
    (tmp_path / "snapshot-2.jsonl").write_bytes(_jsonl("two", 30))
    second = run_ingest(engine, config, [str(tmp_path)], str(tmp_path / "data"))
    assert first.counts["l0"] == second.counts["l0"] == 30
    assert second.counts["files"] == 1
    assert second.counts["inputs_ignored"] == {str(tmp_path / "data"): "the data root: its outputs are not inputs"}


def test_odd_entries_in_an_input_folder_are_recorded_and_named_ones_exit_2(tmp_path):
    import subprocess
    import sys

    from jobs.ingest import run_ingest
    from tests.helpers import REPO

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.jsonl").write_bytes(_jsonl("good", 10))
    (folder / "dangling.jsonl").symlink_to(tmp_path / "gone.jsonl")
    (folder / "loop-a.jsonl").symlink_to(folder / "loop-b.jsonl")
    (folder / "loop-b.jsonl").symlink_to(folder / "loop-a.jsonl")
    os.mkfifo(folder / "pipe.jsonl")
    engine, config = _engine("local", None)
    result = run_ingest(engine, config, [str(folder)], str(tmp_path / "root"))
    assert result.counts["l0"] == 10
    ignored = {os.path.basename(path): why for path, why in result.counts["inputs_ignored"].items()}
    assert set(ignored) == {"dangling.jsonl", "loop-a.jsonl", "loop-b.jsonl", "pipe.jsonl"}
    for name in ("dangling.jsonl", "loop-a.jsonl", "pipe.jsonl"):
        done = subprocess.run(
            [sys.executable, "-m", "cli", "ingest", "--input", str(folder / name), "--root", str(tmp_path / "r2")],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "300"},
        )
        said = [line for line in (done.stdout + done.stderr).splitlines() if "error" in line.lower()]
        assert done.returncode == 2, (name, said)
        assert len(said) == 1 and "cannot be read" in said[0], (name, said)  # one line, no traceback
