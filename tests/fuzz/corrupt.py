"""Seeded generator of corrupted input files built from the real samples in ../shared/data.

Each generated file is assembled from real records (JSONL lines of the Dolma samples, WARC records of
the sample WARCs), compressed one of several ways, and then damaged: truncations, bit flips, random
bytes, oversized and deeply nested records, wrong Content-Length values, bad encodings, lone
surrogates, huge integers, fake compressed files, empty files and non-UTF-8 file names. The generator
knows which records it left untouched: `FileTruth.intact` lists their keys (the `fuzz_key` field of a
JSONL record, the WARC-Record-ID of a WARC response), which must all reach L0; `unknown` counts records
whose fate depends on the damage (a bit flip may leave valid JSON); `bad` counts units that must be
quarantined.

    python -m tests.fuzz.corrupt --seed 7 --count 300 --out /tmp/fuzz   # files in /tmp/fuzz/files, truth.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import random
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SHARED = Path(os.environ.get("TIERS_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
DOLMA = SHARED / "dolma-test-samples"
JSONL_SOURCES = [
    DOLMA / "formats__gz__CC-MAIN-20190717121559-20190717143559-00140.jsonl.gz",
    DOLMA / "multiple_files__cc_en_head-0091.jsonl.gz",
    DOLMA / "provided__documents__000.json.gz",
]
WARC_SOURCES = [
    SHARED / "resiliparse-cc-warc" / "warcfile.warc.gz",
    DOLMA / "warc__sample-0000.warc.gz",
    DOLMA / "warc__sample-0001.warc.gz",
    SHARED / "commoncrawl-whirlwind" / "whirlwind.warc.gz",
]
MAX_RECORD_BYTES = 256 * 1024  # the limit the fuzz ingest runs with


@dataclass
class FileTruth:
    name: str  # file name as the job displays it (undecodable bytes as \x.. escapes)
    format: str
    intact: list[str] = field(default_factory=list)
    unknown: int = 0
    bad: int = 0
    damage: list[str] = field(default_factory=list)
    path: str = ""  # the file's path for open() (may hold surrogate escapes of non-UTF-8 bytes)


@dataclass
class Unit:
    """One record as bytes, its key when it must reach L0, and what the generator did to it."""

    data: bytes
    key: str | None
    state: str = "intact"  # intact | unknown | bad | ignored (a WARC record that is not a response)


# -- real records ----------------------------------------------------------------------------


def jsonl_records() -> list[dict]:
    records = []
    for path in JSONL_SOURCES:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            records += [json.loads(line) for line in handle if line.strip()]
    return records


def gzip_members(data: bytes) -> list[bytes]:
    """Decompress a per-record gzip file member by member (the generator's own, independent splitter)."""
    members, pos = [], 0
    while pos < len(data):
        dec = zlib.decompressobj(31)
        members.append(dec.decompress(data[pos:]))
        pos = len(data) - len(dec.unused_data)
    return members


def warc_header(record: bytes, name: str) -> str:
    head = record[: record.find(b"\r\n\r\n")].decode("utf-8", "replace")
    for line in head.split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return ""


def warc_files() -> list[list[bytes]]:
    return [gzip_members(path.read_bytes()) for path in WARC_SOURCES]


# -- damage --------------------------------------------------------------------------------


def flip_bits(data: bytes, rng: random.Random, count: int) -> bytes:
    out = bytearray(data)
    for _ in range(count):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def flip_at(data: bytes, positions: list[int], rng: random.Random) -> bytes:
    out = bytearray(data)
    for i in positions:
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def _units_at(group: list[Unit], positions: list[int]) -> list[Unit]:
    """WARC records hit by flips at these byte positions; a flip in the first bytes of a record also
    breaks the boundary check of the record before it."""
    hit, start = [], 0
    for k, u in enumerate(group):
        for p in positions:
            if start <= p < start + len(u.data):
                hit.append(u)
                if p - start < 8 and k > 0:
                    hit.append(group[k - 1])
        start += len(u.data)
    return hit


def junk(rng: random.Random, size: int) -> bytes:
    """Random bytes that can never be a record: no newline, no gzip or zstd magic, no WARC line."""
    out = (
        bytes(rng.randrange(256) for _ in range(size))
        .replace(b"\n", b"?")
        .replace(b"\x1f", b"?")
        .replace(b"\x28", b"?")
    )
    return b"\x80" + out.replace(b"WARC", b"WORC")


def jsonl_line(record: dict, key: str) -> bytes:
    return json.dumps({**record, "fuzz_key": key}, ensure_ascii=False).encode("utf-8") + b"\n"


def bad_jsonl_lines(rng: random.Random) -> list[tuple[str, bytes]]:
    depth = rng.randrange(1100, 5000)
    return [
        ("deep_nesting", b'{"text": "deep", "x": ' + b"[" * depth + b"]" * depth + b"}\n"),
        ("lone_surrogate", b'{"text": "lone \\ud800 surrogate"}\n'),
        ("huge_integer", b'{"text": "big", "n": ' + b"7" * rng.randrange(4400, 9000) + b"}\n"),
        ("latin1", '{"text": "caf\u00e9 cr\u00e8me"}\n'.encode("latin-1")),
        ("oversized", b'{"text": "' + b"o" * rng.randrange(MAX_RECORD_BYTES + 10, 2 * MAX_RECORD_BYTES) + b'"}\n'),
        ("not_json", junk(rng, rng.randrange(10, 300)) + b"\n"),
        ("no_text", b'{"title": "no text field"}\n'),
    ]


def build_jsonl(rng: random.Random, records: list[dict], index: int) -> tuple[bytes, str, FileTruth]:
    picks = rng.sample(records, rng.randrange(1, 25))
    units = [Unit(jsonl_line(r, f"{index}-{k}"), f"{index}-{k}") for k, r in enumerate(picks)]
    units = [u for u in units if len(u.data) <= MAX_RECORD_BYTES]
    damage: list[str] = []
    if rng.random() < 0.5:
        for _ in range(rng.randrange(1, 3)):
            kind, line = rng.choice(bad_jsonl_lines(rng))
            units.insert(rng.randrange(len(units) + 1), Unit(line, None, "bad"))
            damage.append(kind)
    if rng.random() < 0.2:
        units.insert(rng.randrange(len(units) + 1), Unit(b"\n\n", None, "ignored"))
    compression = rng.choice(["plain", "gzip", "gzip_members", "zstd_frames"])
    suffix = {"plain": ".jsonl", "gzip": ".jsonl.gz", "gzip_members": ".jsonl.gz", "zstd_frames": ".jsonl.zst"}[
        compression
    ]
    groups = _groups(rng, units) if compression in ("gzip_members", "zstd_frames") else [units]
    blobs = [_compress(compression, b"".join(u.data for u in g)) for g in groups]
    damage.append(compression)
    action = rng.choice(["none", "none", "truncate", "flip", "junk_between"])
    if action == "truncate" and sum(map(len, blobs)) > 1:
        cut = rng.randrange(1, sum(map(len, blobs)))
        blobs, groups = _truncate(blobs, groups, cut, compression)
        damage.append(f"truncate@{cut}")
    elif action == "flip":
        k = rng.randrange(len(blobs))
        if blobs[k]:
            blobs[k] = flip_bits(blobs[k], rng, rng.randrange(1, 4))
            hit = groups[k] if compression != "plain" else _lines_hit(blobs[k], groups[k])
            for u in hit:
                if u.state in ("intact", "bad"):
                    u.state = "unknown"
            damage.append(f"flip:{k}")
    elif action == "junk_between" and compression != "plain":
        k = rng.randrange(len(blobs) + 1)
        blobs.insert(k, junk(rng, rng.randrange(20, 400)))
        groups.insert(k, [Unit(b"", None, "bad")])
        damage.append("junk_between")
    elif action == "junk_between":
        blobs[0] = blobs[0] + junk(rng, rng.randrange(20, 400)) + b"\n"
        groups[0] = groups[0] + [Unit(b"", None, "bad")]
        damage.append("junk_line")
    truth = _truth(f"{index:04d}{suffix}", "jsonl", [u for g in groups for u in g], damage)
    return b"".join(blobs), suffix, truth


def _lines_hit(blob: bytes, group: list[Unit]) -> list[Unit]:
    """Plain JSONL with flipped bits: every line is suspect unless it is byte-identical to the original."""
    lines = blob.split(b"\n")
    originals = b"".join(u.data for u in group).split(b"\n")
    changed = {i for i, (a, b) in enumerate(zip(lines, originals)) if a != b}
    hit, line = [], 0
    for u in group:
        n = u.data.count(b"\n") or 1
        if any(line + j in changed for j in range(n)):
            hit.append(u)
        line += n
    # a flipped newline merges or splits lines: treat every record as suspect
    return group if len(lines) != len(originals) else hit


def _groups(rng: random.Random, units: list[Unit]) -> list[list[Unit]]:
    groups: list[list[Unit]] = []
    for unit in units:
        if not groups or rng.random() < 0.6:
            groups.append([])
        groups[-1].append(unit)
    return groups


def _compress(compression: str, data: bytes) -> bytes:
    if compression.startswith("gzip"):
        return gzip.compress(data, mtime=0)
    if compression.startswith("zstd"):
        import zstandard

        return zstandard.ZstdCompressor(write_checksum=True).compress(data)
    return data


def _truncate(
    blobs: list[bytes], groups: list[list[Unit]], cut: int, compression: str, tail: int = 1, warc: bool = False
) -> tuple[list[bytes], list[list[Unit]]]:
    """Keep `cut` bytes; records wholly before the cut stay as they were, the one cut (or its member) is not.

    `tail` is how many bytes a cut record may lose and still parse (a JSONL line its newline; a WARC
    record its closing blank lines); a cut compressed member gives back an unknown prefix of its units."""
    kept_blobs, kept_groups, pos = [], [], 0
    for blob, group in zip(blobs, groups):
        if pos + len(blob) <= cut:
            kept_blobs.append(blob)
            kept_groups.append(group)
            pos += len(blob)
            continue
        if cut == pos:
            break
        kept_blobs.append(blob[: cut - pos])
        if compression == "plain":
            kept_groups.append(_cut_units(group, cut - pos, tail=tail))
        else:  # a cut member gives back a prefix of its units, then one quarantine row
            kept_groups.append(
                [Unit(b"", None, "unknown") for u in group if warc or u.state != "ignored"] + [Unit(b"", None, "bad")]
            )
        break
    return kept_blobs, kept_groups


def _cut_units(group: list[Unit], left: int, tail: int) -> list[Unit]:
    """Units of an uncompressed blob cut after `left` bytes; a record cut before its last `tail`
    bytes (its newline, or a WARC record's closing blank line) is certain to be quarantined."""
    kept = []
    for u in group:
        if left >= len(u.data) - tail:
            kept.append(u)
        elif left > 0:
            piece = u.data[:left]
            kept.append(Unit(piece, None, "ignored" if not piece.strip() else "bad"))
        left -= len(u.data)
        if left <= 0:
            break
    return kept


def build_warc(rng: random.Random, sources: list[list[bytes]], index: int) -> tuple[bytes, str, FileTruth]:
    records = rng.choice(sources)
    start = rng.randrange(len(records))
    window = records[start : start + rng.randrange(2, 30)]
    units = []
    for rec in window:
        response = warc_header(rec, "warc-type") == "response"
        state = "intact" if response else "ignored"
        if len(rec) > MAX_RECORD_BYTES:
            state = "bad"
        units.append(Unit(rec, warc_header(rec, "warc-record-id") if response else None, state))
    damage: list[str] = []
    if rng.random() < 0.25:
        units.insert(rng.randrange(len(units) + 1), Unit(_bomb_record(rng), None, "bad"))
        damage.append("gzip_bomb_body")
    if rng.random() < 0.2:
        units.insert(rng.randrange(len(units) + 1), Unit(_big_record(rng), None, "bad"))
        damage.append("oversized_record")
    compression = rng.choice(["per_record", "per_record", "one_stream", "plain"])
    damage.append(compression)
    action = rng.choice(["none", "truncate", "flip", "junk_between", "content_length"])
    if action == "content_length":
        k = rng.randrange(len(units))
        units[k] = Unit(_wrong_length(units[k].data, rng), None, "unknown")  # a short length may end on a blank line
        damage.append(f"content_length:{k}")
    if compression == "plain":
        blobs, groups = [b"".join(u.data for u in units)], [units]
    elif compression == "one_stream":
        blobs, groups = [gzip.compress(b"".join(u.data for u in units), mtime=0)], [units]
    else:
        blobs, groups = [gzip.compress(u.data, mtime=0) for u in units], [[u] for u in units]
    if action == "truncate":
        total = sum(map(len, blobs))
        cut = rng.randrange(1, total)
        blobs, groups = _truncate(blobs, groups, cut, compression, tail=4, warc=True)
        damage.append(f"truncate@{cut}")
    elif action == "flip":
        k = rng.randrange(len(blobs))
        positions = [rng.randrange(len(blobs[k])) for _ in range(rng.randrange(1, 4))]
        blobs[k] = flip_at(blobs[k], positions, rng)
        for u in _units_at(groups[k], positions) if compression == "plain" else groups[k]:
            u.state = "unknown"
        damage.append(f"flip:{k}")
    elif action == "junk_between":
        k = rng.randrange(len(blobs) + 1)
        blobs.insert(k, junk(rng, rng.randrange(20, 400)) + (b"\r\n" if compression == "plain" else b""))
        if compression == "one_stream":  # junk after the stream is outside any member; inside it would break it
            blobs.append(blobs.pop(k))
        groups.insert(k, [Unit(b"", None, "bad")])
        damage.append("junk_between")
    truth = _truth(
        f"{index:04d}.warc" + ("" if compression == "plain" else ".gz"), "warc", [u for g in groups for u in g], damage
    )
    return b"".join(blobs), truth.name[4:], truth


def _record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers + [("Content-Length", str(len(block)))])
    return b"WARC/1.0\r\n" + head.encode() + b"\r\n" + block + b"\r\n\r\n"


def _response(rng: random.Random, body: bytes, extra: str = "") -> bytes:
    http = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n{extra}\r\n".encode() + body
    rid = f"<urn:uuid:fuzz-{rng.getrandbits(64):016x}>"
    return _record(
        [("WARC-Type", "response"), ("WARC-Record-ID", rid), ("WARC-Target-URI", "http://fuzz.example/")], http
    )


def _bomb_record(rng: random.Random) -> bytes:
    """A response whose gzip HTTP body inflates far past the limit (a few KB on disk)."""
    return _response(
        rng,
        gzip.compress(b"<html>" + b" " * (MAX_RECORD_BYTES * rng.randrange(8, 40)), mtime=0),
        "Content-Encoding: gzip\r\n",
    )


def _big_record(rng: random.Random) -> bytes:
    return _response(
        rng, b"<html><body>" + b"big " * (MAX_RECORD_BYTES // 4 + rng.randrange(1000, 50000)) + b"</body></html>"
    )


def _wrong_length(record: bytes, rng: random.Random) -> bytes:
    head_end = record.find(b"\r\n\r\n")
    head = record[:head_end].decode("latin-1")
    lines = head.split("\r\n")
    for i, line in enumerate(lines):
        if line.lower().startswith("content-length:"):
            value = int(line.split(":", 1)[1])
            delta = rng.choice([-1, 1]) * rng.randrange(7, 5000)
            lines[i] = f"Content-Length: {max(0, value + delta)}"
    return "\r\n".join(lines).encode("latin-1") + record[head_end:]


def _truth(name: str, fmt: str, units: list[Unit], damage: list[str]) -> FileTruth:
    return FileTruth(
        name,
        fmt,
        intact=[u.key for u in units if u.state == "intact" and u.key],
        unknown=sum(u.state == "unknown" for u in units),
        bad=sum(u.state == "bad" for u in units),
        damage=damage,
    )


def whole_file_cases(rng: random.Random, index: int) -> tuple[bytes, bytes, FileTruth]:
    """Files that are broken as a whole: fake .zst, random bytes, empty."""
    kind = rng.choice(["fake_zst", "noise_gz", "empty"])
    if kind == "fake_zst":
        name = f"{index:04d}.jsonl.zst"
        data = junk(rng, rng.randrange(10, 2000))
    elif kind == "noise_gz":
        name = f"{index:04d}.warc.gz"
        data = junk(rng, rng.randrange(10, 2000))
    else:
        name, data = f"{index:04d}.jsonl", b""
    return os.fsencode(name), data, FileTruth(name, "warc" if "warc" in name else "jsonl", bad=1, damage=[kind])


def generate(out: Path, seed: int, count: int) -> list[FileTruth]:
    """Write `count` files under `out` and return what the generator knows about each."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    records = [r for r in jsonl_records() if isinstance(r.get("text"), str)]
    sources = warc_files()
    truths = []
    for index in range(count):
        roll = rng.random()
        if roll < 0.08:
            name, data, truth = whole_file_cases(rng, index)
        else:
            data, suffix, truth = build_jsonl(rng, records, index) if roll < 0.55 else build_warc(rng, sources, index)
            name = os.fsencode(f"{index:04d}{suffix}")
            if rng.random() < 0.05:  # a file name that is not UTF-8
                name = b"\xff\xfe-" + name
                truth.damage.append("non_utf8_name")
        full = os.fsencode(str(out)) + b"/" + name
        truth.name, truth.path = full.decode("utf-8", "backslashreplace"), os.fsdecode(full)
        with open(full, "wb") as handle:
            handle.write(data)
        truths.append(truth)
    return truths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    truths = generate(args.out.resolve() / "files", args.seed, args.count)
    (args.out / "truth.json").write_text(json.dumps([asdict(t) for t in truths], indent=1))
    log.info(
        "%d files in %s/files: %d intact records, %d units that must be quarantined, %d of unknown fate; truth.json beside them",
        len(truths),
        args.out,
        sum(len(t.intact) for t in truths),
        sum(t.bad for t in truths),
        sum(t.unknown for t in truths),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
