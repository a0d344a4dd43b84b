"""Readers lose no record and account for every byte: regressions of issue 10 on crafted files.

Each file is built here, so the expected records are known independently of the reader; every read
is also checked for byte coverage (`check_coverage` against the file's size on disk).
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path

import pytest
import zstandard

from tests.fuzz.corrupt import _record
from tiers.io.coverage import check_coverage
from tiers.io.formats import detect_format
from tiers.io.readers import FileStats, Outcome, ReaderOptions, read_file

MiB = 1 << 20


def read(path: Path | str, **options) -> list[Outcome]:
    """Read a file and check that its spans tile its bytes and account for every outcome."""
    stats = FileStats()
    path = str(path)
    outcomes = list(read_file(path, detect_format(path), ReaderOptions(**options), stats))
    assert check_coverage(stats.ledger.spans, os.path.getsize(path), len(outcomes)) == []
    assert stats.records == len(outcomes)
    return outcomes


def response(n: int, body: bytes = b"", encoding: str | None = None) -> bytes:
    text = body or f"<html><body><p>page number {n} has some words in it</p></body></html>".encode()
    extra = f"Content-Encoding: {encoding}\r\n" if encoding else ""
    http = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n{extra}\r\n".encode() + text
    return _record(
        [
            ("WARC-Type", "response"),
            ("WARC-Record-ID", f"<urn:uuid:rec-{n}>"),
            ("WARC-Target-URI", f"http://example.com/{n}"),
        ],
        http,
    )


def request(n: int) -> bytes:
    return _record([("WARC-Type", "request"), ("WARC-Record-ID", f"<urn:uuid:req-{n}>")], b"GET / HTTP/1.1\r\n\r\n")


def ids(outcomes: list[Outcome]) -> list[str]:
    return [json.loads(o.row["metadata"])["warc_record_id"] for o in outcomes if o.kind == "l0"]


def rec_ids(numbers) -> list[str]:
    return [f"<urn:uuid:rec-{n}>" for n in numbers]


def test_a_2_mib_gzip_member_among_small_ones_loses_nothing(tmp_path):
    big = response(5, b"<html><body>" + b"word " * (2 * MiB // 5) + b"</body></html>")
    records = [response(n) if n != 5 else big for n in range(12)]
    path = tmp_path / "big-member.warc.gz"
    path.write_bytes(b"".join(gzip.compress(r) for r in records))
    outcomes = read(path)
    assert ids(outcomes) == rec_ids(range(12))
    assert len(outcomes[5].row["text"]) > 2 * MiB - 100
    members = [0]
    for r in records[:-1]:
        members.append(members[-1] + len(gzip.compress(r)))
    assert [o.row["offset"] for o in outcomes] == members  # the gzip member starts, computed independently


def test_a_record_over_the_limit_is_quarantined_and_the_next_ones_read(tmp_path):
    big = response(1, b"x" * (3 * MiB))
    path = tmp_path / "over.warc.gz"
    path.write_bytes(b"".join(gzip.compress(r) for r in [response(0), big, request(2), response(3)]))
    outcomes = read(path, max_record_bytes=MiB)
    assert [o.kind for o in outcomes] == ["l0", "quarantine", "l0"]
    assert outcomes[1].row["error_type"] == "RecordTooLarge"
    assert ids(outcomes) == rec_ids([0, 3])


def test_a_warc_compressed_as_one_gzip_stream_is_read(tmp_path):
    path = tmp_path / "one-stream.warc.gz"
    path.write_bytes(gzip.compress(b"".join(r for n in range(20) for r in (request(n), response(n)))))
    outcomes = read(path)
    assert ids(outcomes) == rec_ids(range(20))
    assert {o.row["offset"] for o in outcomes} == {0}  # one member: every record is in the member at 0


@pytest.mark.parametrize("delta", [-40, -1, 5, 500, 10_000])
def test_a_wrong_content_length_costs_one_record_not_the_next_ones(tmp_path, delta):
    records = [response(n) for n in range(6)]
    head, _, rest = records[2].partition(b"Content-Length: ")
    length, _, tail = rest.partition(b"\r\n")
    records[2] = head + b"Content-Length: " + str(int(length) + delta).encode() + b"\r\n" + tail
    for name, data in (
        ("plain.warc", b"".join(records)),
        ("members.warc.gz", b"".join(gzip.compress(r) for r in records)),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        outcomes = read(path)
        assert ids(outcomes) == rec_ids([0, 1, 3, 4, 5]), name
        bad = [o.row for o in outcomes if o.kind == "quarantine"]
        assert len(bad) == 1 and bad[0]["error_type"] == "WarcFormatError", name
        assert name in bad[0]["error"] and f"offset {bad[0]['offset']}" in bad[0]["error"]


@pytest.mark.parametrize("delta", [1, 3])
def test_a_length_that_overruns_only_into_the_closing_blank_line_keeps_the_record(tmp_path, delta):
    records = [response(n) for n in range(3)]
    records[1] = records[1].replace(b"Content-Length: ", b"Content-Length: 0", 1)  # same value, leading zero
    head, _, rest = records[1].partition(b"Content-Length: ")
    length, _, tail = rest.partition(b"\r\n")
    records[1] = head + b"Content-Length: " + str(int(length) + delta).encode() + b"\r\n" + tail
    outcomes = read(_write(tmp_path / "lenient.warc", b"".join(records)))
    assert ids(outcomes) == rec_ids(range(3))


def test_garbage_between_records_is_one_quarantine_row(tmp_path):
    path = tmp_path / "junk.warc"
    path.write_bytes(response(0) + b"\x80garbage that is no record\r\n" * 3 + response(1))
    outcomes = read(path)
    assert [o.kind for o in outcomes] == ["l0", "quarantine", "l0"]
    assert ids(outcomes) == rec_ids([0, 1])


def test_a_gzip_http_body_is_inflated_only_up_to_the_limit(tmp_path):
    bomb = gzip.compress(b"<html>" + b" " * (200 * MiB))
    assert len(bomb) < 300_000
    path = tmp_path / "bomb.warc.gz"
    path.write_bytes(b"".join(gzip.compress(r) for r in [response(0), response(1, bomb, "gzip"), response(2)]))
    outcomes = read(path, max_record_bytes=10 * MiB)
    assert [o.kind for o in outcomes] == ["l0", "quarantine", "l0"]
    assert outcomes[1].row["error_type"] == "RecordTooLarge"
    small = response(3, gzip.compress(b"<html><body><p>inflated fine</p></body></html>"), "gzip")
    assert "inflated fine" in read(_write(tmp_path / "ok.warc", small))[0].row["text"]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def lines(start: int, count: int) -> bytes:
    return b"".join(json.dumps({"text": f"line {n}", "n": n}).encode() + b"\n" for n in range(start, start + count))


def texts(outcomes: list[Outcome]) -> list[str]:
    return [o.row["text"] for o in outcomes if o.kind == "l0"]


def test_compressed_jsonl_resynchronises_after_a_corrupt_member(tmp_path):
    members = [gzip.compress(lines(10 * k, 10)) for k in range(5)]
    broken = bytearray(members[2])
    broken[len(broken) // 2] ^= 0xFF
    members[2] = bytes(broken)
    path = _write(tmp_path / "members.jsonl.gz", b"".join(members))
    outcomes = read(path)
    assert texts(outcomes) == [f"line {n}" for n in range(50) if not 20 <= n < 30]
    bad = [o.row for o in outcomes if o.kind == "quarantine"]
    assert len(bad) == 1 and bad[0]["error_type"] == "CorruptCompression"
    assert bad[0]["offset"] == len(members[0]) + len(members[1])


def test_zstd_jsonl_resynchronises_after_a_damaged_frame(tmp_path):
    compressor = zstandard.ZstdCompressor(write_checksum=True)
    frames = [compressor.compress(lines(10 * k, 10)) for k in range(4)]
    broken = bytearray(frames[1])
    broken[-6] ^= 0x55
    frames[1] = bytes(broken)
    outcomes = read(_write(tmp_path / "frames.jsonl.zst", b"".join(frames)))
    assert texts(outcomes) == [f"line {n}" for n in range(40) if not 10 <= n < 20]
    assert sum(o.kind == "quarantine" for o in outcomes) == 1


@pytest.mark.parametrize(
    "name, data, error_type",
    [
        (
            "corrupt.jsonl.gz",
            gzip.compress(lines(0, 50))[:40] + b"\x00\xff" * 30 + gzip.compress(lines(0, 50))[100:],
            "CorruptCompression",
        ),
        ("fake.jsonl.zst", b"this is not zstd at all\n" * 10, "CorruptCompression"),
        (
            "damaged.jsonl.zst",
            zstandard.ZstdCompressor().compress(lines(0, 300))[:-40] + b"\x00" * 7 + b"\x01",
            "TruncatedMember",
        ),
        ("deep.jsonl", b'{"text": "a", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}\n", "JSONDecodeError"),
        ("surrogate.jsonl", b'{"text": "lone \\ud800 surrogate"}\n', "UnicodeError"),
        ("bigint.jsonl", b'{"text": "a", "n": ' + b"9" * 5000 + b"}\n", "JSONDecodeError"),
        ("bad-name-\udcff.jsonl", b'{"text": "a fine record"}\n{"oops\n', "JSONDecodeError"),
    ],
)
def test_each_crash_class_becomes_quarantine_rows_naming_file_and_offset(tmp_path, name, data, error_type):
    path = os.path.join(str(tmp_path), name)
    with open(path, "wb") as handle:
        handle.write(data)
    outcomes = read(path)
    bad = [o.row for o in outcomes if o.kind == "quarantine"]
    assert bad and bad[0]["error_type"] == error_type, bad
    shown = os.fsencode(path).decode("utf-8", "backslashreplace")
    for row in bad:
        assert row["file"] == shown and row["error"].startswith(f"{shown}, offset {row['offset']}")
        row["file"].encode("utf-8")  # valid UTF-8 even for a non-UTF-8 name
    for o in outcomes:
        for value in o.row.values():
            if isinstance(value, str):
                value.encode("utf-8")


def test_padding_after_the_last_member_is_ignored_with_a_reason(tmp_path):
    stats = FileStats()
    path = _write(tmp_path / "padded.jsonl.gz", gzip.compress(lines(0, 3)) + b"\x00" * 512)
    outcomes = list(read_file(str(path), "jsonl", ReaderOptions(), stats))
    assert texts(outcomes) == ["line 0", "line 1", "line 2"]
    ignored = [s for s in stats.ledger.spans if s.kind == "ignored"]
    assert [(s.layer, s.end - s.start, s.reason) for s in ignored] == [("raw", 512, "padding outside gzip members")]


def test_coverage_check_catches_gaps_overlaps_and_unit_mismatches():
    from tiers.io.coverage import Span

    good = [Span("raw", 0, 10, "decoded", out=5), Span("stream", 0, 5, "record", units=2)]
    assert check_coverage(good, 10, 2) == []
    assert any("not accounted" in p for p in check_coverage([Span("raw", 0, 8, "decoded", out=5), good[1]], 10, 2))
    assert any("twice" in p for p in check_coverage(good + [Span("stream", 3, 5, "record", units=0)], 10, 2))
    assert any("input units" in p for p in check_coverage(good, 10, 3))
    assert any("without a reason" in p for p in check_coverage(good + [Span("raw", 10, 12, "ignored")], 12, 2))


def test_doc_ids_survive_a_move_and_a_symlink(tmp_path):
    data = lines(0, 20)
    (tmp_path / "a").mkdir()
    first = _write(tmp_path / "a" / "docs.jsonl", data)
    second = _write(tmp_path / "b-renamed.jsonl", data)
    link = tmp_path / "link.jsonl"
    link.symlink_to(first)
    other = _write(tmp_path / "other.jsonl", lines(0, 19) + b'{"text": "changed"}\n')
    ids_of = lambda p: [o.row["doc_id"] for o in read(p)]  # noqa: E731
    assert ids_of(first) == ids_of(second) == ids_of(link)
    assert len(set(ids_of(first))) == 20
    assert ids_of(other)[:19] != ids_of(first)[:19]  # other content, other file digest
    keyed = [o.row["doc_id"] for o in read(first, id_field="n")]
    assert keyed == [o.row["doc_id"] for o in read(other, id_field="n")][:19] + keyed[19:]


def test_parquet_ids_come_from_content_not_path(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"text": ["one", "two", None]})
    pq.write_table(table, tmp_path / "x.parquet")
    (tmp_path / "y.parquet").write_bytes((tmp_path / "x.parquet").read_bytes())
    a, b = read(tmp_path / "x.parquet"), read(tmp_path / "y.parquet")
    assert [o.kind for o in a] == ["l0", "l0", "quarantine"]
    assert [o.row.get("doc_id") for o in a] == [o.row.get("doc_id") for o in b]


def test_a_non_parquet_file_named_parquet_is_one_quarantine_row(tmp_path):
    outcomes = read(_write(tmp_path / "fake.parquet", b"PAR1 not really" * 10))
    assert [o.kind for o in outcomes] == ["quarantine"]
    assert "fake.parquet, offset 0" in outcomes[0].row["error"]


def test_the_generators_member_splitter_agrees_with_zlib():
    from tests.fuzz.corrupt import gzip_members

    data = b"".join(gzip.compress(bytes([n]) * 1000) for n in range(5))
    assert gzip_members(data) == [bytes([n]) * 1000 for n in range(5)]
    assert zlib.decompress(data[: len(gzip.compress(b"\x00" * 1000))], 31) == b"\x00" * 1000
