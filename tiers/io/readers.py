"""Record readers for WARC, WET, JSONL and Parquet, run inside executors (or directly in tests).

Each reader yields one `Outcome` per input unit: an L0 document or a quarantine entry. A unit is a
WARC response / WET conversion record, a JSONL line, a Parquet row, or a file that cannot be read at all.
"""
from __future__ import annotations

import gzip
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, BinaryIO, Callable, Iterator

import pyarrow.parquet as pq

from tiers.ids import doc_id_from_provenance
from tiers.io.html import charset_from_content_type, decode_html, extract_main_text
from tiers.io.warc import WarcError, WarcRecord, iter_warc, split_http

_CRAWL = re.compile(r"CC-MAIN-\d{4}-\d{2}")
_HTML_TYPES = ("text/html", "application/xhtml", "application/xml", "text/xml")
_JSON_URL_KEYS = ("warc_url", "url", "WARC-Target-URI")
_JSON_DATE_KEYS = ("fetched_at", "warc_date", "date", "created")


@dataclass
class ReaderOptions:
    max_record_bytes: int = 10 * 1024 * 1024
    text_field: str = "text"
    id_field: str | None = None
    html_extractor: Callable[[str], str] = extract_main_text


@dataclass
class Outcome:
    """One input unit's fate: `kind` is 'l0' or 'quarantine'; `row` holds its columns."""

    kind: str
    row: dict[str, Any]


@dataclass
class FileStats:
    records: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)


def quarantine(file: str, offset: int | None, line: int | None, error_type: str, error: str, raw: bytes = b"") -> Outcome:
    return Outcome(
        "quarantine",
        {"file": file, "offset": offset, "line": line, "error_type": error_type, "error": error, "raw_prefix": raw[:256]},
    )


def parse_timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def open_stream(path: str) -> BinaryIO:
    """Open a possibly compressed file as a binary stream of its decompressed bytes."""
    raw = open(path, "rb")
    lower = path.lower()
    if lower.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if lower.endswith((".zst", ".zstd")):
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True)
        return io.BufferedReader(reader)  # type: ignore[arg-type]
    return raw


def _crawl_from(*candidates: str | None) -> str | None:
    for candidate in candidates:
        if candidate:
            match = _CRAWL.search(candidate)
            if match:
                return match.group(0)
    return None


# -- WARC / WET ----------------------------------------------------------------------------


def _warc_document(path: str, fmt: str, record: WarcRecord, crawl: str | None, options: ReaderOptions) -> Outcome:
    headers = record.headers
    url = headers.get("warc-target-uri", "").strip("<>") or None
    record_id = headers.get("warc-record-id") or f"{path}@{record.offset}"
    if fmt == "wet":
        content_type = headers.get("content-type", "text/plain")
        charset = "utf-8"
        text = record.block.decode("utf-8", "replace")
    else:
        http_headers, body = split_http(record.block)
        content_type = http_headers.get("content-type", "")
        if any(t in content_type.lower() for t in _HTML_TYPES) or (not content_type and b"<html" in body[:2048].lower()):
            html, charset = decode_html(body, charset_from_content_type(content_type))
            text = options.html_extractor(html)
        elif content_type.lower().startswith("text/"):
            text, charset = decode_html(body, charset_from_content_type(content_type))
        else:
            text, charset = "", None
    return Outcome(
        "l0",
        {
            "doc_id": doc_id_from_provenance("warc", record_id),
            "text": text,
            "url": url,
            "source": crawl,
            "source_format": fmt,
            "crawl": crawl,
            "fetched_at": parse_timestamp(headers.get("warc-date")),
            "content_type": content_type or None,
            "charset": charset,
            "metadata": json.dumps({"warc_record_id": record_id}),
            "file": path,
            "offset": record.offset,
            "line": None,
        },
    )


def read_warc(path: str, fmt: str, options: ReaderOptions, stats: FileStats) -> Iterator[Outcome]:
    wanted = "conversion" if fmt == "wet" else "response"
    crawl = _crawl_from(path)
    with open(path, "rb") as stream:
        compressed = stream.read(2) == b"\x1f\x8b"
        stream.seek(0)
        for item in iter_warc(stream, compressed, options.max_record_bytes):
            if isinstance(item, WarcError):
                stats.records += 1
                yield quarantine(path, item.offset, None, item.error_type, item.error, item.raw_prefix)
                continue
            if item.type == "warcinfo":
                info = item.block.decode("utf-8", "replace")
                crawl = _crawl_from(info, item.headers.get("warc-filename"), path) or crawl
            if item.type != wanted:
                stats.skipped += 1
                continue
            stats.records += 1
            try:
                yield _warc_document(path, fmt, item, crawl, options)
            except Exception as exc:  # noqa: BLE001 - any failure on one record quarantines that record
                yield quarantine(path, item.offset, None, type(exc).__name__, str(exc), item.block[:256])


# -- JSONL ---------------------------------------------------------------------------------


def _read_line(stream: BinaryIO, limit: int) -> tuple[bytes, int]:
    """Read one line of at most `limit` bytes; returns (line or b'' when over limit, bytes consumed)."""
    line = stream.readline(limit + 1)
    if len(line) <= limit or line.endswith(b"\n"):
        return line, len(line)
    consumed = len(line)
    while True:
        rest = stream.readline(1 << 20)
        consumed += len(rest)
        if not rest or rest.endswith(b"\n"):
            return b"", consumed


def _jsonl_document(path: str, line_no: int, offset: int, raw: bytes, options: ReaderOptions) -> Outcome:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return quarantine(path, offset, line_no, "UnicodeDecodeError", str(exc), raw)
    try:
        obj = json.loads(decoded)
    except json.JSONDecodeError as exc:
        return quarantine(path, offset, line_no, "JSONDecodeError", str(exc), raw)
    if not isinstance(obj, dict):
        return quarantine(path, offset, line_no, "SchemaError", f"expected a JSON object, got {type(obj).__name__}", raw)
    text = obj.get(options.text_field)
    if not isinstance(text, str):
        return quarantine(path, offset, line_no, "SchemaError", f"field {options.text_field!r} missing or not a string", raw)
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    lookup = {**meta, **obj}
    url = next((lookup[k] for k in _JSON_URL_KEYS if isinstance(lookup.get(k), str)), None)
    fetched = next((parse_timestamp(lookup[k]) for k in _JSON_DATE_KEYS if parse_timestamp(lookup.get(k))), None)
    record_key = obj.get(options.id_field) if options.id_field else None
    doc_id = doc_id_from_provenance("jsonl", record_key) if record_key else doc_id_from_provenance("jsonl", path, line_no)
    rest = {k: v for k, v in obj.items() if k != options.text_field}
    return Outcome(
        "l0",
        {
            "doc_id": doc_id,
            "text": text,
            "url": url,
            "source": obj.get("source") if isinstance(obj.get("source"), str) else None,
            "source_format": "jsonl",
            "crawl": _crawl_from(json.dumps(meta) if meta else None, path),
            "fetched_at": fetched,
            "content_type": "text/plain",
            "charset": "utf-8",
            "metadata": json.dumps(rest, ensure_ascii=False, default=str),
            "file": path,
            "offset": offset,
            "line": line_no,
        },
    )


def read_jsonl(path: str, options: ReaderOptions, stats: FileStats) -> Iterator[Outcome]:
    offset = 0
    line_no = 0
    try:
        with open_stream(path) as stream:
            while True:
                raw, consumed = _read_line(stream, options.max_record_bytes)
                if consumed == 0:
                    break
                line_no += 1
                if raw.strip() or consumed > len(raw):
                    stats.records += 1
                    if consumed > len(raw):
                        yield quarantine(path, offset, line_no, "RecordTooLarge", f"line of {consumed} bytes over the limit of {options.max_record_bytes}")
                    else:
                        yield _jsonl_document(path, line_no, offset, raw.rstrip(b"\r\n"), options)
                offset += consumed
    except (OSError, EOFError, ValueError) as exc:
        stats.records += 1
        yield quarantine(path, offset, line_no + 1, type(exc).__name__, f"unreadable after {line_no} lines: {exc}")
        return
    if line_no == 0:
        stats.records += 1
        yield quarantine(path, 0, None, "EmptyFile", "file holds no records")


# -- Parquet -------------------------------------------------------------------------------


def read_parquet(path: str, options: ReaderOptions, stats: FileStats) -> Iterator[Outcome]:
    row_no = 0
    try:
        parquet = pq.ParquetFile(path)
        if options.text_field not in parquet.schema_arrow.names:
            raise ValueError(f"column {options.text_field!r} missing; columns: {parquet.schema_arrow.names}")
        for batch in parquet.iter_batches(batch_size=1024):
            for obj in batch.to_pylist():
                row_no += 1
                stats.records += 1
                text = obj.get(options.text_field)
                if not isinstance(text, str):
                    yield quarantine(path, None, row_no, "SchemaError", f"{options.text_field!r} is not a string")
                    continue
                raw = json.dumps(obj, default=str).encode()
                outcome = _jsonl_document(path, row_no, 0, raw, options)
                outcome.row.update(source_format="parquet", offset=None)
                yield outcome
    except Exception as exc:  # noqa: BLE001 - an unreadable file is quarantined whole
        stats.records += 1
        yield quarantine(path, None, row_no + 1, type(exc).__name__, f"unreadable after {row_no} rows: {exc}")


def read_file(path: str, fmt: str, options: ReaderOptions, stats: FileStats) -> Iterator[Outcome]:
    if fmt in ("warc", "wet"):
        try:
            yield from read_warc(path, fmt, options, stats)
        except OSError as exc:
            stats.records += 1
            yield quarantine(path, None, None, type(exc).__name__, str(exc))
    elif fmt == "jsonl":
        yield from read_jsonl(path, options, stats)
    elif fmt == "parquet":
        yield from read_parquet(path, options, stats)
    else:
        raise ValueError(f"unsupported format {fmt!r}")
