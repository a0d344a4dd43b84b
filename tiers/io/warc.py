"""A WARC reader that never skips silently.

warcio stops at the first corrupt or truncated gzip member and only prints to stderr; here every
gzip member (one record, per the WARC spec's per-record compression) is decompressed on its own,
so a bad member becomes one error item and reading resumes at the next member.
"""
from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

GZIP_MAGIC = b"\x1f\x8b\x08"
CHUNK = 1 << 20


@dataclass
class WarcRecord:
    offset: int
    headers: dict[str, str]
    block: bytes
    truncated_block: bool = False

    @property
    def type(self) -> str:
        return self.headers.get("warc-type", "").lower()


@dataclass
class WarcError:
    offset: int
    error_type: str
    error: str
    raw_prefix: bytes = b""


@dataclass
class _Oversize:
    length: int
    headers: dict[str, str] = field(default_factory=dict)


def parse_headers(raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().decode("latin-1").lower()] = value.strip().decode("utf-8", "replace")
    return headers


def parse_record(offset: int, data: bytes) -> WarcRecord | WarcError:
    """Parse one uncompressed WARC record (version line, headers, block)."""
    if not data.startswith(b"WARC/"):
        return WarcError(offset, "WarcFormatError", "record does not start with a WARC/ version line", data[:256])
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        return WarcError(offset, "WarcFormatError", "WARC header block is not terminated", data[:256])
    first_line_end = data.find(b"\r\n")
    headers = parse_headers(data[first_line_end + 2 : head_end])
    try:
        length = int(headers["content-length"])
    except (KeyError, ValueError):
        return WarcError(offset, "WarcFormatError", "missing or invalid Content-Length", data[:256])
    block = data[head_end + 4 : head_end + 4 + length]
    if len(block) < length:
        return WarcError(offset, "TruncatedRecord", f"block has {len(block)} of {length} bytes", data[:256])
    return WarcRecord(offset, headers, block)


def _iter_gzip_members(stream: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes | WarcError]]:
    pending = b""
    base = 0
    eof = False
    while True:
        if not eof and len(pending) < CHUNK:
            chunk = stream.read(CHUNK)
            eof = not chunk
            pending += chunk
        if not pending:
            return
        if not pending.startswith(GZIP_MAGIC):
            nxt = pending.find(GZIP_MAGIC, 1)
            if nxt < 0 and not eof:
                chunk = stream.read(CHUNK)
                eof = not chunk
                pending += chunk
                continue
            cut = nxt if nxt >= 0 else len(pending)
            yield base, WarcError(base, "GzipError", "bytes outside any gzip member", pending[:256])
            base, pending = base + cut, pending[cut:]
            continue
        decoder = zlib.decompressobj(31)
        feed, used, produced = pending, 0, 0
        out: list[bytes] = []
        error: str | None = None
        while True:
            try:
                piece = decoder.decompress(feed, CHUNK)
            except zlib.error as exc:
                error = f"corrupt gzip member: {exc}"
                break
            used += len(feed) - len(decoder.unconsumed_tail) - len(decoder.unused_data)
            produced += len(piece)
            if produced <= max_bytes:
                out.append(piece)
            if decoder.eof:
                break
            if decoder.unconsumed_tail:
                feed = decoder.unconsumed_tail
                continue
            if eof:
                error = "truncated gzip member (file ends inside a record)"
                break
            feed = stream.read(CHUNK)
            eof = not feed
            pending += feed
        if error is not None:
            nxt = pending.find(GZIP_MAGIC, 1)
            cut = nxt if nxt >= 0 else len(pending)
            yield base, WarcError(base, "GzipError", error, pending[:256])
            base, pending = base + cut, pending[cut:]
            continue
        if produced > max_bytes:
            yield base, WarcError(base, "RecordTooLarge", f"record of {produced} bytes over the limit of {max_bytes}", b"".join(out)[:256])
        else:
            yield base, b"".join(out)
        base, pending = base + used, pending[used:]


def _iter_plain_records(stream: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes | WarcError]]:
    data = stream.read()
    pos = 0
    while pos < len(data):
        if data.startswith(b"\r\n", pos):
            pos += 2
            continue
        head_end = data.find(b"\r\n\r\n", pos)
        headers = parse_headers(data[pos:head_end]) if head_end >= 0 else {}
        length = headers.get("content-length", "")
        if not data.startswith(b"WARC/", pos) or not length.isdigit():
            nxt = data.find(b"WARC/1.", pos + 1)
            end = nxt if nxt >= 0 else len(data)
            yield pos, WarcError(pos, "WarcFormatError", "no valid WARC header (version line, Content-Length)", data[pos : pos + 256])
            pos = end
            continue
        end = head_end + 4 + int(length)
        if end - pos > max_bytes:
            yield pos, WarcError(pos, "RecordTooLarge", f"record of {end - pos} bytes over the limit of {max_bytes}", data[pos : pos + 256])
        else:
            yield pos, data[pos:end]
        pos = end


def iter_warc(stream: BinaryIO, compressed: bool, max_bytes: int) -> Iterator[WarcRecord | WarcError]:
    """Yield every record or error of a WARC file, gzip-per-record or uncompressed."""
    members = _iter_gzip_members(stream, max_bytes) if compressed else _iter_plain_records(stream, max_bytes)
    for offset, item in members:
        if isinstance(item, WarcError):
            yield item
        elif not item.strip():
            continue
        else:
            yield parse_record(offset, item)


def split_http(block: bytes) -> tuple[dict[str, str], bytes]:
    """Split an HTTP response block into lower-cased headers and a decoded body."""
    head_end = block.find(b"\r\n\r\n")
    if head_end < 0:
        return {}, block
    headers = parse_headers(block[block.find(b"\r\n") + 2 : head_end])
    body = block[head_end + 4 :]
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    encoding = headers.get("content-encoding", "").lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            body = gzip.decompress(body) if "gzip" in encoding else zlib.decompress(body)
        except (OSError, zlib.error, EOFError):
            pass
    return headers, body


def _dechunk(body: bytes) -> bytes:
    out, pos = [], 0
    while pos < len(body):
        line_end = body.find(b"\r\n", pos)
        if line_end < 0:
            return body
        try:
            size = int(body[pos:line_end].split(b";")[0], 16)
        except ValueError:
            return body
        if size == 0:
            break
        out.append(body[line_end + 2 : line_end + 2 + size])
        pos = line_end + 2 + size + 2
    return b"".join(out)
