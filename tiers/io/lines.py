"""Cut a decoded byte stream (`tiers/io/decode.py`) into lines, accounting for every byte.

Each non-blank line is one input unit (a `record` span of one unit); blank lines are ignored with a
reason; a line longer than `max_bytes` is quarantined without being held in memory; the incomplete
line before a decoding gap belongs to the gap's quarantine row, and reading resumes after the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from tiers.io.coverage import IGNORED, QUARANTINE, RECORD, STREAM, Ledger
from tiers.io.decode import Chunk, Gap


@dataclass
class Line:
    number: int
    start: int  # decoded (uncompressed) offset
    data: bytes  # without the line terminator


@dataclass
class LineError:
    offset: int
    line: int | None
    error_type: str
    error: str
    raw_prefix: bytes = b""


def iter_lines(events: Iterator[Chunk | Gap], ledger: Ledger, max_bytes: int) -> Iterator[Line | LineError]:
    pending = bytearray()
    start = 0  # decoded offset of pending[0]
    number = 0
    oversize: tuple[int, bytes] | None = None  # (start, prefix) of a line being skipped

    def emit(end_of_line: int, data: bytes) -> Iterator[Line | LineError]:
        nonlocal number
        number += 1
        if data.strip():
            ledger.add(STREAM, start, end_of_line, RECORD, units=1)
            yield Line(number, start, data.rstrip(b"\r"))
        else:
            ledger.add(STREAM, start, end_of_line, IGNORED, reason="blank line")

    for event in events:
        if isinstance(event, Gap):
            note = ""
            if oversize is not None or pending:
                first = oversize[0] if oversize is not None else start
                ledger.add(STREAM, first, start + len(pending), QUARANTINE, units=0)
                note = f"; the incomplete line {number + 1} at uncompressed offset {first} is part of it"
                start += len(pending)
                pending.clear()
                oversize = None
                number += 1
            yield LineError(event.start, None, event.error_type, event.error + note, event.raw_prefix)
            continue
        data = event.data
        pos = 0
        while pos < len(data):
            newline = data.find(b"\n", pos)
            piece_end = len(data) if newline < 0 else newline + 1
            piece = data[pos:piece_end]
            pos = piece_end
            if oversize is None and len(pending) + len(piece) > max_bytes + 1:
                oversize = (start, bytes((pending + piece)[:256]))
                start += len(pending)
                pending.clear()
            if oversize is not None:
                start += len(piece)
                if newline >= 0:
                    first, prefix = oversize
                    number += 1
                    ledger.add(STREAM, first, start, QUARANTINE, units=1)
                    yield LineError(
                        first,
                        number,
                        "RecordTooLarge",
                        f"line of {start - first} bytes over the limit of {max_bytes}",
                        prefix,
                    )
                    oversize = None
                continue
            pending += piece
            if newline >= 0:
                line = bytes(pending[:-1])
                yield from emit(start + len(pending), line)
                start += len(pending)
                pending.clear()
    if oversize is not None:
        first, prefix = oversize
        number += 1
        ledger.add(STREAM, first, start, QUARANTINE, units=1)
        yield LineError(
            first, number, "RecordTooLarge", f"line of {start - first} bytes over the limit of {max_bytes}", prefix
        )
    elif pending:
        yield from emit(start + len(pending), bytes(pending))
