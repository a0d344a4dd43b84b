"""A WARC reader that never skips silently and never loses a record it could have read.

The file is decoded member by member (`tiers/io/decode.py`: gzip per record, one gzip stream, zstd,
or plain) and the decoded stream is cut into records here. A record is trusted only when its
Content-Length ends at a record boundary (only whitespace, then the next `WARC/` version line or the
end of the data); otherwise it is quarantined up to the next `WARC/1.` line and reading resumes
there, so a wrong Content-Length costs one record, not the ones after it; so does one that is not a
number (a superscript digit, 5,000 digits). A record larger than
`max_bytes` is skipped without being held in memory. Every decoded byte ends in a `stream` span.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from tiers.io.coverage import IGNORED, QUARANTINE, STREAM, Ledger
from tiers.io.decode import Chunk, Gap, codec_for, decode

MAX_HEADER = 1 << 16
_HEADER_AT = b"\nWARC/1."
_SPACE = b"\r\n\t \x00"
MORE, BOUNDARY, FINAL = "more", "boundary", "final"
_AGAIN = object()  # the parser changed state; look again
_LENGTH = re.compile(r"[0-9]{1,18}")  # ASCII digits only ("²".isdigit() is true), and short enough for int()


@dataclass
class WarcRecord:
    offset: int  # gzip member start (compressed files) or byte offset (plain files)
    headers: dict[str, str]
    block: bytes
    start: int = 0  # decoded offset of the record
    end: int = 0  # decoded offset after the record and its trailing blank lines

    @property
    def type(self) -> str:
        return self.headers.get("warc-type", "").lower()


@dataclass
class WarcError:
    offset: int
    error_type: str
    error: str
    raw_prefix: bytes = b""


class RecordTooLarge(ValueError):
    """A record (or a decoded HTTP body) over `max_record_bytes`."""


def parse_headers(raw: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in raw.split(b"\n"):
        name, sep, value = line.rstrip(b"\r").partition(b":")
        if sep:
            headers[name.strip().decode("latin-1").lower()] = value.strip().decode("utf-8", "replace")
    return headers


class _Parser:
    """Cuts decoded bytes into records; see the module docstring for the rules."""

    def __init__(self, ledger: Ledger, max_bytes: int):
        self.ledger, self.max_bytes = ledger, max_bytes
        self.buf = bytearray()
        self.i = 0  # cursor into buf
        self.pos0 = 0  # decoded offset of buf[0]
        self.marks: list[tuple[int, int | None]] = []  # (decoded offset, member start) per chunk
        self.skip: tuple[int, int, int, bytes] | None = None  # oversize record: start, declared end, offset, prefix

    # -- positions -----------------------------------------------------------------------------

    def at(self, index: int) -> int:
        return self.pos0 + index

    def offset_of(self, decoded: int) -> int:
        member = None
        for start, member_start in self.marks:
            if start > decoded:
                break
            member = member_start
        return decoded if member is None else member

    def feed(self, chunk: Chunk) -> None:
        if self.i > (1 << 20) and self.i > len(self.buf) // 2:
            del self.buf[: self.i]
            self.pos0 += self.i
            self.i = 0
            first = self.pos0
            self.marks = [
                m for k, m in enumerate(self.marks) if k + 1 == len(self.marks) or self.marks[k + 1][0] > first
            ]
        self.marks.append((self.at(len(self.buf)), chunk.member_start))
        self.buf += chunk.data

    def consume(self, n: int) -> None:
        self.i += n

    # -- records -------------------------------------------------------------------------------

    def quarantine(self, length: int, error_type: str, error: str) -> WarcError:
        start = self.at(self.i)
        prefix = bytes(self.buf[self.i : self.i + 256])
        self.ledger.add(STREAM, start, start + length, QUARANTINE, units=1)
        self.consume(length)
        offset = self.offset_of(start)
        where = f"record at uncompressed offset {start}" if offset != start else "record"
        return WarcError(offset, error_type, f"{where}: {error}", prefix)

    def next_header(self, frm: int) -> int:
        """Index of the next `WARC/1.` line start at or after buf index `frm`, or -1."""
        hit = self.buf.find(_HEADER_AT, max(frm - 1, self.i))
        return hit + 1 if hit >= 0 else -1

    def parse(self, mode: str) -> Iterator[WarcRecord | WarcError]:
        while True:
            if self.skip is not None:
                if not self._skip(mode):
                    return
                start, end, offset, prefix = self.skip
                self.skip = None
                self.ledger.add(STREAM, start, self.at(self.i), QUARANTINE, units=1)
                cut = (
                    ""
                    if self.at(self.i) == end
                    else f"; cut at the next WARC header at uncompressed offset {self.at(self.i)}"
                )
                yield WarcError(
                    offset,
                    "RecordTooLarge",
                    f"record of {end - start} bytes over the limit of {self.max_bytes}{cut}",
                    prefix,
                )
                continue
            space = self._space()
            if space:
                self.ledger.add(
                    STREAM, self.at(self.i), self.at(self.i + space), IGNORED, reason="whitespace between WARC records"
                )
                self.consume(space)
            left = len(self.buf) - self.i
            if left == 0:
                return
            if left < 8 and mode == MORE:
                return
            item = self._record(mode)
            if item is None:
                return
            if item is not _AGAIN:
                yield item  # type: ignore[misc]

    def _space(self) -> int:
        n = self.i
        while n < len(self.buf) and self.buf[n] in _SPACE:
            n += 1
        return n - self.i

    def _junk(self, frm: int, mode: str, error_type: str, error: str) -> WarcError | None:
        """Quarantine from the cursor to the next WARC header at or after `frm`; None: wait for data."""
        nxt = self.next_header(frm)
        if nxt < 0:
            if mode == MORE and len(self.buf) - self.i <= 2 * self.max_bytes + MAX_HEADER:
                return None
            if mode == BOUNDARY:
                return None
            nxt = len(self.buf) if mode == FINAL else len(self.buf) - len(_HEADER_AT)
        return self.quarantine(nxt - self.i, error_type, error)

    def _record(self, mode: str) -> WarcRecord | WarcError | object | None:
        i, buf = self.i, self.buf
        if not buf.startswith(b"WARC/", i):
            return self._junk(i + 1, mode, "WarcFormatError", "no WARC/ version line")
        head_end = buf.find(b"\r\n\r\n", i, i + MAX_HEADER)
        if head_end < 0:
            if mode != FINAL and len(buf) - i < MAX_HEADER:
                return None
            return self._junk(i + 1, mode, "WarcFormatError", "WARC header block is not terminated")
        headers = parse_headers(bytes(buf[buf.find(b"\n", i) + 1 : head_end]))
        length_text = headers.get("content-length", "")
        if not _LENGTH.fullmatch(length_text):
            return self._junk(i + 1, mode, "WarcFormatError", f"missing or invalid Content-Length {length_text!r}")
        block_start = head_end + 4
        end = block_start + int(length_text)
        if end - i > self.max_bytes:
            start = self.at(i)
            self.skip = (start, self.at(end), self.offset_of(start), bytes(buf[i : i + 256]))
            self.consume(block_start - i)
            return _AGAIN
        if end > len(buf):
            if mode == MORE:
                return None
            nxt = self.next_header(block_start)
            if nxt >= 0:
                return self.quarantine(
                    nxt - i, "WarcFormatError", f"Content-Length {length_text} runs into the next WARC record"
                )
            if mode == BOUNDARY:
                return None
            return self.quarantine(
                len(buf) - i, "TruncatedRecord", f"block has {len(buf) - block_start} of {length_text} bytes"
            )
        if buf.startswith(b"\r\n\r\n", end):  # the record's own closing blank line: the length is right
            return self._accept(i, headers, block_start, end, end + 4)
        j = end
        while j < len(buf) and buf[j] in _SPACE:
            j += 1
        if j == len(buf) and mode == MORE:
            return None
        if j < len(buf) and not buf.startswith(b"WARC/", j):
            if mode == MORE and len(buf) - j < 5 and b"WARC/".startswith(bytes(buf[j:])):
                return None
            nxt = self.next_header(block_start)
            if nxt < 0 and mode != FINAL:
                if mode == BOUNDARY or len(buf) - i <= 2 * self.max_bytes + MAX_HEADER:
                    return None
            if nxt < 0:
                nxt = len(buf)
            return self.quarantine(
                nxt - i, "WarcFormatError", f"Content-Length {length_text} does not end at a record boundary"
            )
        return self._accept(i, headers, block_start, end, j)

    def _accept(self, i: int, headers: dict[str, str], block_start: int, end: int, j: int) -> WarcRecord:
        start = self.at(i)
        record = WarcRecord(self.offset_of(start), headers, bytes(self.buf[block_start:end]), start, self.at(j))
        self.consume(j - i)
        return record

    def _skip(self, mode: str) -> bool:
        """Advance through an oversize record; True when it is done (declared end or next header)."""
        start, end, _, _ = self.skip  # type: ignore[misc]
        nxt = self.next_header(self.i)
        stop = self.pos0 + nxt if nxt >= 0 else None
        if stop is not None and stop < end:
            self.consume(nxt - self.i)
            return True
        if self.at(len(self.buf)) >= end:
            self.consume(end - self.at(self.i))
            return True
        if mode != MORE:
            self.consume(len(self.buf) - self.i)
            return True
        keep = len(_HEADER_AT)
        self.consume(max(0, len(self.buf) - self.i - keep))
        return False

    def gap(self, gap: Gap) -> WarcError:
        """A decoding gap: the incomplete record before it belongs to the gap's quarantine row."""
        pending = len(self.buf) - self.i
        note = ""
        if self.skip is not None:
            start = self.skip[0]
            self.skip = None
            self.ledger.add(STREAM, start, self.at(len(self.buf)), QUARANTINE, units=0)
            note = f"; an oversize record from uncompressed offset {start} is cut by it"
        elif pending:
            start = self.at(self.i)
            self.ledger.add(STREAM, start, start + pending, QUARANTINE, units=0)
            note = f"; the incomplete record at uncompressed offset {start} ({pending} bytes) is part of it"
        self.consume(pending)
        return WarcError(gap.start, gap.error_type, gap.error + note, gap.raw_prefix)


def iter_warc(stream: BinaryIO, path: str, ledger: Ledger, max_bytes: int) -> Iterator[WarcRecord | WarcError]:
    """Every record or error of a WARC file, whatever its compression."""
    head = stream.read(4)
    stream.seek(0)
    parser = _Parser(ledger, max_bytes)
    for event in decode(stream, codec_for(path, head), ledger, max_bytes + MAX_HEADER):
        if isinstance(event, Gap):
            yield from parser.parse(BOUNDARY)
            yield parser.gap(event)
        else:
            parser.feed(event)
            yield from parser.parse(MORE)
    yield from parser.parse(FINAL)


def split_http(block: bytes, max_bytes: int) -> tuple[dict[str, str], bytes]:
    """Split an HTTP response block into lower-cased headers and a decoded body of at most `max_bytes`."""
    head_end = block.find(b"\r\n\r\n")
    if head_end < 0:
        return {}, block
    headers = parse_headers(block[block.find(b"\n") + 1 : head_end])
    body = block[head_end + 4 :]
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    encoding = headers.get("content-encoding", "").lower().strip()
    if encoding in ("gzip", "x-gzip", "deflate"):
        body = _inflate(body, 47 if "gzip" in encoding else 15, max_bytes)
    return headers, body


def _inflate(body: bytes, wbits: int, max_bytes: int) -> bytes:
    """Decompress an HTTP body, stopping as soon as it passes `max_bytes`; undecodable: as is."""
    for bits in (wbits, -15):
        dec = zlib.decompressobj(bits)
        try:
            out = dec.decompress(body, max_bytes + 1)
        except zlib.error:
            continue
        if len(out) > max_bytes:
            raise RecordTooLarge(f"HTTP body decompresses to more than {max_bytes} bytes")
        return out
    return body


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
