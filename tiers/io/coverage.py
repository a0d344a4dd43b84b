"""Byte coverage: every reader accounts for every byte of its input.

A reader records *spans* on two layers:

- `raw`: the file's bytes on disk, `[0, size)`. A span is `decoded` (a gzip member, zstd frame or a
  plain file whose bytes were passed on to the record parser; `out` says how many decoded bytes it
  produced), `quarantine` (bytes that could not be decoded: one quarantine row) or `ignored` (with a
  reason, e.g. zero padding between gzip members). Parquet files have one `record` span for the file.
- `stream`: the decoded bytes, numbered from 0 across all decoded spans. A span is `record` (parsed
  input units, `units` of them), `quarantine` (one quarantine row, or `units=0` when the bytes belong
  to the quarantine row of a raw span, e.g. the partial record before a corrupt member) or `ignored`.

`check_coverage` is the job's independent check: raw spans must tile `[0, size)` with the size the
driver listed, stream spans must tile exactly the decoded bytes, ignored spans must give a reason,
and the units of all spans must equal the L0 plus quarantine rows the job wrote for the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import pyarrow as pa

RAW, STREAM = "raw", "stream"
DECODED, RECORD, QUARANTINE, IGNORED = "decoded", "record", "quarantine", "ignored"
_MERGEABLE = (DECODED, RECORD, IGNORED)

COVERAGE = pa.schema(
    [
        pa.field("file", pa.string()),
        pa.field("layer", pa.string()),
        pa.field("start", pa.int64()),
        pa.field("end", pa.int64()),
        pa.field("kind", pa.string()),
        pa.field("units", pa.int64()),
        pa.field("out", pa.int64()),
        pa.field("reason", pa.string()),
    ]
)


@dataclass
class Span:
    layer: str
    start: int
    end: int
    kind: str
    units: int = 0
    out: int = 0
    reason: str = ""

    def row(self, file: str) -> dict[str, object]:
        return {
            "file": file,
            "layer": self.layer,
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "units": self.units,
            "out": self.out,
            "reason": self.reason,
        }


@dataclass
class Ledger:
    """Spans of one file; adjacent spans of the same layer, kind and reason merge (quarantine never)."""

    spans: list[Span] = field(default_factory=list)
    _last: dict[str, Span] = field(default_factory=dict)

    def add(self, layer: str, start: int, end: int, kind: str, units: int = 0, out: int = 0, reason: str = "") -> None:
        if end < start:
            raise ValueError(f"span [{start}, {end}) on layer {layer} ends before it starts")
        if end == start and units == 0 and out == 0:
            return
        last = self._last.get(layer)
        if (
            last is not None
            and kind in _MERGEABLE
            and last.kind == kind
            and last.reason == reason
            and last.end == start
        ):
            last.end, last.units, last.out = end, last.units + units, last.out + out
            return
        span = Span(layer, start, end, kind, units, out, reason)
        self.spans.append(span)
        self._last[layer] = span

    def units(self) -> int:
        return sum(s.units for s in self.spans)

    def layer_end(self, layer: str) -> int:
        last = self._last.get(layer)
        return last.end if last else 0


def check_coverage(spans: Iterable[Span], size: int, rows_written: int) -> list[str]:
    """Problems with one file's spans: gaps, overlaps, a wrong end, unexplained skips, unit mismatch."""
    problems: list[str] = []
    by_layer: dict[str, list[Span]] = {RAW: [], STREAM: []}
    for span in spans:
        if span.layer not in by_layer:
            problems.append(f"unknown layer {span.layer!r}")
            continue
        by_layer[span.layer].append(span)
        if span.kind == IGNORED and not span.reason:
            problems.append(f"{span.layer} bytes [{span.start}, {span.end}) ignored without a reason")
    for layer, total in ((RAW, size), (STREAM, sum(s.out for s in by_layer[RAW]))):
        position = 0
        for span in sorted(by_layer[layer], key=lambda s: (s.start, s.end)):
            if span.start > position:
                problems.append(f"{layer} bytes [{position}, {span.start}) are not accounted for")
            elif span.start < position:
                problems.append(f"{layer} bytes [{span.start}, {position}) are accounted for twice")
            position = max(position, span.end)
        if position < total:
            problems.append(f"{layer} bytes [{position}, {total}) are not accounted for")
        elif position > total:
            problems.append(f"{layer} spans end at byte {position}, beyond the {total} bytes there are")
    units = sum(s.units for s in by_layer[RAW] + by_layer[STREAM])
    if units != rows_written:
        problems.append(
            f"spans account for {units} input units but the job wrote {rows_written} L0 and quarantine rows"
        )
    return problems


@dataclass
class FileVerdict:
    """One file's coverage checked where its spans are: the problems (`check_coverage`) and the raw
    bytes it ignored and quarantined."""

    problems: list[str]
    bytes_ignored: int
    bytes_quarantined: int


def file_verdict(spans: Iterable[Span], size: int, rows_written: int) -> FileVerdict:
    spans = list(spans)
    raw = [s for s in spans if s.layer == RAW]
    return FileVerdict(
        check_coverage(spans, size, rows_written),
        sum(s.end - s.start for s in raw if s.kind == IGNORED),
        sum(s.end - s.start for s in raw if s.kind == QUARANTINE),
    )


def spans_of(table: pa.Table) -> dict[str, list[Span]]:
    """The spans of a coverage table (COVERAGE's columns), per file."""
    spans: dict[str, list[Span]] = {}
    columns = [table.column(name).to_pylist() for name in COVERAGE.names]
    for file, layer, start, end, kind, units, out, reason in zip(*columns):
        spans.setdefault(file, []).append(Span(layer, start, end, kind, units, out, reason))
    return spans
