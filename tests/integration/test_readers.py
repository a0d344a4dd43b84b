"""Readers on the real samples, checked against independent counts, and on crafted bad inputs."""

from __future__ import annotations

import gzip
import json
import os
import re

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.helpers import DOLMA, DOLMA_CC, RESILIPARSE_WARC, WHIRLWIND
from tiers.io.formats import InputError, detect_format, expand_inputs
from tiers.io.readers import FileStats, ReaderOptions, read_file


def read_all(path, fmt=None, **options):
    stats = FileStats()
    outcomes = list(read_file(str(path), fmt or detect_format(str(path)), ReaderOptions(**options), stats))
    return outcomes, stats


def warcio_count(path, record_type):
    with open(path, "rb") as handle:
        return sum(1 for r in ArchiveIterator(handle) if r.rec_type == record_type)


@pytest.mark.parametrize(
    "path",
    [
        RESILIPARSE_WARC,
        DOLMA / "warc__sample-0000.warc.gz",
        DOLMA / "warc__sample-0001.warc.gz",
        WHIRLWIND / "whirlwind.warc.gz",
    ],
)
def test_warc_response_counts_match_warcio(path):
    outcomes, stats = read_all(path)
    assert [o.kind for o in outcomes] == ["l0"] * warcio_count(path, "response")
    assert stats.records == len(outcomes)
    assert stats.skipped > 0


def test_wet_conversion_records_match_warcio_and_the_warc():
    wet, _ = read_all(WHIRLWIND / "whirlwind.warc.wet.gz")
    assert len(wet) == warcio_count(WHIRLWIND / "whirlwind.warc.wet.gz", "conversion") == 1
    row = wet[0].row
    assert row["url"] == "https://an.wikipedia.org/wiki/Escopete"
    assert row["crawl"] == "CC-MAIN-2024-22"
    assert "Escopete" in row["text"]
    warc, _ = read_all(WHIRLWIND / "whirlwind.warc.gz")
    assert warc[0].row["url"] == row["url"]
    assert warc[0].row["fetched_at"] is not None


def test_jsonl_counts_match_lines_and_keep_provenance():
    outcomes, stats = read_all(DOLMA_CC)
    with gzip.open(DOLMA_CC, "rt") as handle:
        lines = [json.loads(line) for line in handle]
    assert len(outcomes) == len(lines) == 697
    assert all(o.kind == "l0" for o in outcomes)
    first = outcomes[0].row
    assert first["text"] == lines[0]["text"] and first["line"] == 1 and first["offset"] == 0
    assert first["url"] == lines[0]["metadata"]["warc_url"]
    assert first["fetched_at"].isoformat().startswith(lines[0]["metadata"]["warc_date"][:19])
    assert json.loads(first["metadata"])["id"] == lines[0]["id"]


def test_doc_ids_are_stable_and_unique():
    first, _ = read_all(DOLMA_CC)
    second, _ = read_all(DOLMA_CC)
    ids = [o.row["doc_id"] for o in first]
    assert ids == [o.row["doc_id"] for o in second]
    assert len(set(ids)) == len(ids)
    warc_ids = [o.row["doc_id"] for o in read_all(RESILIPARSE_WARC)[0]]
    assert warc_ids == [o.row["doc_id"] for o in read_all(RESILIPARSE_WARC)[0]]


def test_charsets_of_the_resiliparse_pages_are_detected():
    outcomes, _ = read_all(RESILIPARSE_WARC)
    charsets = {o.row["charset"] for o in outcomes}
    assert {"gb18030", "windows-1251"} <= charsets, charsets
    for o in outcomes:
        text = o.row["text"]
        assert text.count("\ufffd") <= max(2, len(text) // 200), (o.row["url"], o.row["charset"])
    by_charset = lambda name: " ".join(o.row["text"] for o in outcomes if o.row["charset"] == name)  # noqa: E731
    assert len(re.findall(r"[\u4e00-\u9fff]", by_charset("gb18030"))) > 200
    assert len(re.findall(r"[а-яА-Я]", by_charset("windows-1251"))) > 200


def test_parquet_reader(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"text": ["one document", None, "three"], "url": ["http://a", "http://b", None]}), path)
    outcomes, stats = read_all(path)
    assert [o.kind for o in outcomes] == ["l0", "quarantine", "l0"]
    assert outcomes[0].row["url"] == "http://a" and outcomes[0].row["source_format"] == "parquet"
    assert stats.records == 3


# -- quarantine: crafted bad inputs -------------------------------------------------------------


def test_truncated_warc_keeps_every_whole_record_and_quarantines_the_rest(tmp_path):
    data = RESILIPARSE_WARC.read_bytes()
    path = tmp_path / "cut.warc.gz"
    path.write_bytes(data[: len(data) // 2])
    outcomes, stats = read_all(path)
    kinds = [o.kind for o in outcomes]
    assert kinds.count("quarantine") == 1
    assert 0 < kinds.count("l0") < 16
    bad = next(o for o in outcomes if o.kind == "quarantine").row
    assert "truncated" in bad["error"] and bad["offset"] > 0
    assert stats.records == len(outcomes)


def test_corrupt_warc_member_is_quarantined_and_reading_resumes(tmp_path):
    data = bytearray(RESILIPARSE_WARC.read_bytes())
    data[60000:60100] = b"x" * 100
    path = tmp_path / "corrupt.warc.gz"
    path.write_bytes(bytes(data))
    outcomes, _ = read_all(path)
    assert [o.kind for o in outcomes].count("quarantine") == 1
    assert [o.kind for o in outcomes].count("l0") == 15


def test_random_bytes_are_quarantined(tmp_path):
    for name in ("noise.warc.gz", "noise.jsonl.gz"):
        path = tmp_path / name
        path.write_bytes(bytes(range(256)) * 40)
        outcomes, _ = read_all(path)
        assert outcomes and all(o.kind == "quarantine" for o in outcomes), name


def test_bad_json_and_wrong_encoding_lines_are_quarantined_with_line_numbers(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b'{"text": "fine"}\n{"text": broken\n'
        + '{"text": "caf\u00e9"}'.encode("latin-1")
        + b'\n[1, 2]\n{"txt": "x"}\n\n{"text": "end"}\n'
    )
    outcomes, stats = read_all(path)
    assert [o.kind for o in outcomes] == ["l0", "quarantine", "quarantine", "quarantine", "quarantine", "l0"]
    errors = [o.row["error_type"] for o in outcomes if o.kind == "quarantine"]
    assert errors == ["JSONDecodeError", "UnicodeDecodeError", "SchemaError", "SchemaError"]
    assert [o.row["line"] for o in outcomes] == [1, 2, 3, 4, 5, 7]
    assert stats.records == 6


def test_truncated_gzip_jsonl_keeps_lines_before_the_cut(tmp_path):
    data = DOLMA_CC.read_bytes()
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    outcomes, _ = read_all(path)
    assert outcomes[-1].kind == "quarantine" and outcomes[-1].row["error_type"] == "TruncatedMember"
    assert 100 < sum(o.kind == "l0" for o in outcomes) < 697


def test_empty_file_is_quarantined(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    outcomes, _ = read_all(path)
    assert [(o.kind, o.row["error_type"]) for o in outcomes] == [("quarantine", "EmptyFile")]


def test_a_50_mb_record_is_quarantined_and_the_next_one_read(tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as handle:
        handle.write(b'{"text": "' + b"a" * (50 * 1024 * 1024) + b'"}\n')
        handle.write(b'{"text": "after the big one"}\n')
    outcomes, _ = read_all(path, max_record_bytes=10 * 1024 * 1024)
    assert [o.kind for o in outcomes] == ["quarantine", "l0"]
    assert outcomes[0].row["error_type"] == "RecordTooLarge"
    assert outcomes[1].row["text"] == "after the big one" and outcomes[1].row["line"] == 2


def test_oversized_warc_record_is_quarantined(tmp_path):
    outcomes, _ = read_all(RESILIPARSE_WARC, max_record_bytes=20_000)
    assert any(o.kind == "quarantine" and o.row["error_type"] == "RecordTooLarge" for o in outcomes)
    assert any(o.kind == "l0" for o in outcomes)


def test_zstd_jsonl(tmp_path):
    import zstandard

    path = tmp_path / "docs.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(b'{"text": "a"}\n{"text": "b"}\n'))
    outcomes, _ = read_all(path)
    assert [o.row["text"] for o in outcomes] == ["a", "b"]


def test_input_expansion(tmp_path):
    files = expand_inputs([str(DOLMA), str(WHIRLWIND / "*.gz")])
    formats = {f.format for f in files}
    assert formats == {"jsonl", "warc", "wet"}
    assert not any(f.path.endswith((".md", ".wat.gz")) for f in files)
    with pytest.raises(InputError, match="matches no file"):
        expand_inputs([str(tmp_path / "nothing*.warc.gz")])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="unsupported format"):
        expand_inputs([str(tmp_path / "notes.txt")])


def _warc_record(record_id: str, text: str, length: str | None = None) -> bytes:
    block = text.encode()
    head = (
        "WARC/1.0\r\nWARC-Type: conversion\r\n"
        f"WARC-Record-ID: <urn:uuid:{record_id}>\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {length if length is not None else len(block)}\r\n\r\n"
    )
    return head.encode() + block + b"\r\n\r\n"


@pytest.mark.parametrize("length", ["1" * 5000, "1²", "²", "٣٤", "12x", "-5", ""])
def test_a_content_length_that_is_no_number_costs_one_record_not_the_rest(tmp_path, length):
    path = tmp_path / "odd.warc.wet"
    records = [_warc_record(f"id-{k}", f"intact text {k}") for k in range(3)]
    path.write_bytes(records[0] + _warc_record("bad", "bad record", length) + records[1] + records[2])
    outcomes, stats = read_all(path)
    assert [o.row["text"] for o in outcomes if o.kind == "l0"] == [f"intact text {k}" for k in range(3)]
    bad = [o for o in outcomes if o.kind == "quarantine"]
    assert len(bad) == 1 and "Content-Length" in bad[0].row["error"]
    assert "unreadable from here" not in bad[0].row["error"]
    assert stats.records == len(outcomes)


def test_a_byte_order_mark_does_not_quarantine_line_1(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "first"}\n{"text": "second"}\n')
    outcomes, _ = read_all(path)
    assert [(o.kind, o.row.get("text")) for o in outcomes] == [("l0", "first"), ("l0", "second")]
    gz = tmp_path / "bom.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert [o.kind for o in read_all(gz)[0]] == ["l0", "l0"]


def _listed_read(path, size, identity=None):
    stats = FileStats()
    outcomes = list(read_file(str(path), detect_format(str(path)), ReaderOptions(), stats, size, identity))
    return outcomes, stats


def test_a_file_is_read_up_to_its_listed_size(tmp_path):
    """Grown since listing: the appended lines are not read. Shrunk: what is left is read, the missing
    listed bytes are one quarantine row. Replaced: the listed bytes are one quarantine row."""
    from tiers.io.coverage import check_coverage

    path = tmp_path / "docs.jsonl"
    lines = [json.dumps({"text": f"line {k}"}).encode() + b"\n" for k in range(10)]
    path.write_bytes(b"".join(lines[:5]))
    listed = path.stat().st_size
    identity = (path.stat().st_dev, path.stat().st_ino)
    with open(path, "ab") as handle:
        handle.write(b"".join(lines[5:]))
    grown, stats = _listed_read(path, listed, identity)
    assert [o.row["text"] for o in grown] == [f"line {k}" for k in range(5)]
    assert check_coverage(stats.ledger.spans, listed, len(grown)) == []

    with open(path, "r+b") as handle:
        handle.truncate(len(b"".join(lines[:3])) + 4)
    shrunk, stats = _listed_read(path, listed, identity)
    assert [o.row.get("text") for o in shrunk if o.kind == "l0"] == ["line 0", "line 1", "line 2"]
    changed = [o for o in shrunk if o.row.get("error_type") == "FileChanged"]
    assert len(changed) == 1 and "shrank" in changed[0].row["error"]
    assert check_coverage(stats.ledger.spans, listed, len(shrunk)) == []

    replacement = tmp_path / "other.jsonl"
    replacement.write_bytes(b"".join(lines))
    replacement.rename(path)
    replaced, stats = _listed_read(path, listed, identity)
    assert [(o.kind, o.row["error_type"]) for o in replaced] == [("quarantine", "FileChanged")]
    assert "replaced" in replaced[0].row["error"]
    assert check_coverage(stats.ledger.spans, listed, 1) == []


def test_the_lister_records_odd_entries_and_refuses_them_named_directly(tmp_path):
    from tiers.io.formats import list_inputs

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.jsonl").write_text('{"text": "a"}\n')
    (folder / "dangling.jsonl").symlink_to(tmp_path / "gone.jsonl")
    (folder / "loop-a.jsonl").symlink_to(folder / "loop-b.jsonl")
    (folder / "loop-b.jsonl").symlink_to(folder / "loop-a.jsonl")
    os.mkfifo(folder / "pipe.jsonl")
    (folder / "linked-folder").symlink_to(tmp_path)
    listing = list_inputs([str(folder)])
    assert [os.path.basename(f.path) for f in listing.files] == ["good.jsonl"]
    reasons = {os.path.basename(path): why for path, why in listing.ignored.items()}
    assert reasons["dangling.jsonl"].startswith("dangling symlink")
    assert reasons["loop-a.jsonl"] == reasons["loop-b.jsonl"] == "symlink loop"
    assert reasons["pipe.jsonl"] == "not a regular file: FIFO"
    assert reasons["linked-folder"] == "symlink to a folder (not followed)"
    for name, why in (("dangling.jsonl", "dangling"), ("loop-a.jsonl", "loop"), ("pipe.jsonl", "FIFO")):
        with pytest.raises(InputError, match=why):
            list_inputs([str(folder / name)])


def test_the_lister_leaves_out_the_data_root_inside_an_input_folder(tmp_path):
    from tiers.io.formats import list_inputs

    (tmp_path / "snapshot-1.jsonl").write_text('{"text": "a"}\n')
    (tmp_path / "data" / "L0" / "run").mkdir(parents=True)
    (tmp_path / "data" / "L0" / "run" / "part-0.parquet").write_bytes(b"PAR1")
    listing = list_inputs([str(tmp_path)], data_root=str(tmp_path / "data"))
    assert [os.path.basename(f.path) for f in listing.files] == ["snapshot-1.jsonl"]
    assert listing.ignored == {str(tmp_path / "data"): "the data root: its outputs are not inputs"}
    glob_listing = list_inputs([str(tmp_path / "**" / "*.parquet"), str(tmp_path / "*.jsonl")], str(tmp_path / "data"))
    assert [os.path.basename(f.path) for f in glob_listing.files] == ["snapshot-1.jsonl"]
