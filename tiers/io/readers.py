"""Record readers for WARC, WET, JSONL and Parquet, run inside executors (or directly in tests).

Each reader yields one `Outcome` per input unit: an L0 document or a quarantine entry. A unit is a
WARC response / WET conversion record, a JSONL line, a Parquet row, or bytes that cannot be decoded.
Every byte of the file is accounted for in `FileStats.ledger` (`tiers/io/coverage.py`), and no
exception escapes `read_file`: whatever fails becomes quarantine rows for that file. Error messages
name the file and the offset.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, BinaryIO, Callable, Iterator

from tiers.ids import content_digest, doc_id_from_provenance, record_doc_id
from tiers.io.coverage import IGNORED, QUARANTINE, RAW, RECORD, STREAM, Ledger
from tiers.io.decode import codec_for, decode
from tiers.io.html import charset_from_content_type, decode_html, extract_main_text
from tiers.io.lines import Line, iter_lines
from tiers.io.warc import WarcError, WarcRecord, iter_warc, split_http

log = logging.getLogger(__name__)

_CRAWL = re.compile(r"CC-MAIN-\d{4}-\d{2}")
_HTML_TYPES = ("text/html", "application/xhtml", "application/xml", "text/xml")
_JSON_URL_KEYS = ("warc_url", "url", "WARC-Target-URI")
_JSON_DATE_KEYS = ("fetched_at", "warc_date", "date", "created")
_BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark before a JSONL file's first line is not part of the record


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
    """Per-file accounting: `records` input units, `skipped` non-document records, the byte ledger."""

    records: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    ledger: Ledger = field(default_factory=Ledger)


def display_path(path: str) -> str:
    """The path as valid UTF-8 text (undecodable bytes of a file name shown as \\x.. escapes)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def quarantine(
    file: str, offset: int | None, line: int | None, error_type: str, error: str, raw: bytes = b""
) -> Outcome:
    where = f"{file}, offset {offset}" + (f", line {line}" if line is not None else "")
    return Outcome(
        "quarantine",
        {
            "file": file,
            "offset": offset,
            "line": line,
            "error_type": error_type,
            "error": f"{where}: {error}",
            "raw_prefix": bytes(raw[:256]),
        },
    )


def parse_timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _crawl_from(*candidates: str | None) -> str | None:
    for candidate in candidates:
        if candidate:
            match = _CRAWL.search(candidate)
            if match:
                return match.group(0)
    return None


def _checked(row: dict[str, Any]) -> dict[str, Any]:
    """Refuse text that is not valid Unicode (e.g. a lone surrogate from JSON's \\ud800)."""
    for name, value in row.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise UnicodeError(
                    f"field {name!r} is not valid Unicode: {exc.reason} at character {exc.start}"
                ) from None
    return row


class _Digest:
    """The file's content digest, computed once and only when an id needs it."""

    def __init__(self, path: str):
        self.path, self.value = path, ""

    def __call__(self) -> str:
        if not self.value:
            self.value = content_digest(self.path)
        return self.value


# -- WARC / WET ----------------------------------------------------------------------------


def _warc_document(
    file: str, fmt: str, record: WarcRecord, crawl: str | None, options: ReaderOptions, digest: _Digest
) -> Outcome:
    headers = record.headers
    url = headers.get("warc-target-uri", "").strip("<>") or None
    record_id = headers.get("warc-record-id") or f"{digest()}@{record.start}"
    if fmt == "wet":
        content_type = headers.get("content-type", "text/plain")
        charset = "utf-8"
        text = record.block.decode("utf-8", "replace")
    else:
        http_headers, body = split_http(record.block, options.max_record_bytes)
        content_type = http_headers.get("content-type", "")
        if any(t in content_type.lower() for t in _HTML_TYPES) or (
            not content_type and b"<html" in body[:2048].lower()
        ):
            html, charset = decode_html(body, charset_from_content_type(content_type))
            text = options.html_extractor(html)
        elif content_type.lower().startswith("text/"):
            text, charset = decode_html(body, charset_from_content_type(content_type))
        else:
            text, charset = "", None
    metadata = {"warc_record_id": record_id}
    if record.offset != record.start:
        metadata["uncompressed_offset"] = record.start
    return Outcome(
        "l0",
        _checked(
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
                "metadata": json.dumps(metadata),
                "file": file,
                "offset": record.offset,
                "line": None,
            }
        ),
    )


def read_warc(
    path: str, fmt: str, options: ReaderOptions, stats: FileStats, limit: int | None = None
) -> Iterator[Outcome]:
    file, ledger, digest = display_path(path), stats.ledger, _Digest(path)
    wanted = "conversion" if fmt == "wet" else "response"
    crawl = _crawl_from(file)
    with open_listed(path, limit) as stream:
        for item in iter_warc(stream, path, ledger, options.max_record_bytes):
            if isinstance(item, WarcError):
                yield quarantine(file, item.offset, None, item.error_type, item.error, item.raw_prefix)
                continue
            if item.type == "warcinfo":
                info = item.block.decode("utf-8", "replace")
                crawl = _crawl_from(info, item.headers.get("warc-filename"), file) or crawl
            if item.type != wanted:
                stats.skipped += 1
                ledger.add(STREAM, item.start, item.end, IGNORED, reason=f"WARC {item.type or 'untyped'} record")
                continue
            ledger.add(STREAM, item.start, item.end, RECORD, units=1)
            try:
                yield _warc_document(file, fmt, item, crawl, options, digest)
            except Exception as exc:  # noqa: BLE001 - any failure on one record quarantines that record
                yield quarantine(file, item.offset, None, type(exc).__name__, str(exc), item.block[:256])


# -- JSONL ---------------------------------------------------------------------------------


def _jsonl_document(
    file: str,
    line_no: int,
    offset: int | None,
    raw: bytes,
    options: ReaderOptions,
    digest: _Digest,
    source_format: str = "jsonl",
) -> Outcome:
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return quarantine(file, offset, line_no, "UnicodeDecodeError", str(exc), raw)
    except json.JSONDecodeError as exc:
        return quarantine(file, offset, line_no, "JSONDecodeError", str(exc), raw)
    except RecursionError:
        return quarantine(file, offset, line_no, "JSONDecodeError", "JSON nested too deeply", raw)
    except ValueError as exc:  # e.g. an integer over the interpreter's digit limit
        return quarantine(file, offset, line_no, "JSONDecodeError", str(exc), raw)
    if not isinstance(obj, dict):
        return quarantine(
            file, offset, line_no, "SchemaError", f"expected a JSON object, got {type(obj).__name__}", raw
        )
    return _object_document(file, line_no, offset, obj, raw, options, digest, source_format)


def _object_document(
    file: str,
    line_no: int,
    offset: int | None,
    obj: dict[str, Any],
    raw: bytes,
    options: ReaderOptions,
    digest: _Digest,
    source_format: str,
) -> Outcome:
    text = obj.get(options.text_field)
    if not isinstance(text, str):
        return quarantine(
            file, offset, line_no, "SchemaError", f"field {options.text_field!r} missing or not a string", raw
        )
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    lookup = {**meta, **obj}
    url = next((lookup[k] for k in _JSON_URL_KEYS if isinstance(lookup.get(k), str)), None)
    fetched = next((parse_timestamp(lookup[k]) for k in _JSON_DATE_KEYS if parse_timestamp(lookup.get(k))), None)
    record_key = obj.get(options.id_field) if options.id_field else None
    if record_key is not None and record_key != "":
        doc_id = doc_id_from_provenance("jsonl", record_key)
    else:
        doc_id = record_doc_id(source_format, digest(), line_no)
    rest = {k: v for k, v in obj.items() if k != options.text_field}
    try:
        crawl = _crawl_from(json.dumps(meta, default=str) if meta else None, file)
        metadata = json.dumps(rest, ensure_ascii=False, default=str)
    except (ValueError, RecursionError) as exc:
        return quarantine(file, offset, line_no, "SchemaError", f"record cannot be serialised: {exc}", raw)
    return Outcome(
        "l0",
        _checked(
            {
                "doc_id": doc_id,
                "text": text,
                "url": url,
                "source": obj.get("source") if isinstance(obj.get("source"), str) else None,
                "source_format": source_format,
                "crawl": crawl,
                "fetched_at": fetched,
                "content_type": "text/plain",
                "charset": "utf-8",
                "metadata": metadata,
                "file": file,
                "offset": offset,
                "line": line_no,
            }
        ),
    )


def read_jsonl(path: str, options: ReaderOptions, stats: FileStats, limit: int | None = None) -> Iterator[Outcome]:
    file, digest = display_path(path), _Digest(path)
    with open_listed(path, limit) as stream:
        head = stream.read(4)
        stream.seek(0)
        codec = codec_for(path, head)
        events = decode(stream, codec, stats.ledger, max(options.max_record_bytes, 1 << 20))
        for item in iter_lines(events, stats.ledger, options.max_record_bytes):
            if not isinstance(item, Line):
                yield quarantine(file, item.offset, item.line, item.error_type, item.error, item.raw_prefix)
                continue
            data = item.data[len(_BOM) :] if item.start == 0 and item.data.startswith(_BOM) else item.data
            try:
                yield _jsonl_document(file, item.number, item.start, data, options, digest)
            except Exception as exc:  # noqa: BLE001 - one bad line never stops the file
                yield quarantine(file, item.start, item.number, type(exc).__name__, str(exc), item.data)


# -- Parquet -------------------------------------------------------------------------------


def read_parquet(path: str, options: ReaderOptions, stats: FileStats) -> Iterator[Outcome]:
    """Rows of a Parquet file; a row group that cannot be read is one quarantine row, the rest is read.

    Coverage is per file: one raw `record` span whose units are the rows plus the unreadable row groups.
    """
    import pyarrow.parquet as pq

    file, digest = display_path(path), _Digest(path)
    size = os.path.getsize(path)
    parquet = pq.ParquetFile(path)
    if options.text_field not in parquet.schema_arrow.names:
        raise ValueError(f"column {options.text_field!r} missing; columns: {parquet.schema_arrow.names}")
    row_no = units = 0
    for group in range(parquet.num_row_groups):
        expected = parquet.metadata.row_group(group).num_rows
        try:
            rows = parquet.read_row_group(group).to_pylist()
        except Exception as exc:  # noqa: BLE001 - a damaged row group is quarantined, the next one read
            units += 1
            yield quarantine(
                file, None, row_no + 1, type(exc).__name__, f"row group {group} ({expected} rows) unreadable: {exc}"
            )
            row_no += expected
            continue
        for obj in rows:
            row_no += 1
            units += 1
            try:
                yield _object_document(file, row_no, None, obj, b"", options, digest, "parquet")
            except Exception as exc:  # noqa: BLE001
                yield quarantine(file, None, row_no, type(exc).__name__, str(exc))
    stats.ledger.add(RAW, 0, size, RECORD, units=units, reason="parquet rows")


# -- any file ------------------------------------------------------------------------------


class _Listed:
    """A binary file read no further than `limit` bytes: the size the driver listed, whatever was
    appended to the file since."""

    def __init__(self, handle: BinaryIO, limit: int):
        self.handle, self.limit, self.position = handle, limit, 0

    def read(self, n: int = -1) -> bytes:
        left = self.limit - self.position
        if left <= 0:
            return b""
        data = self.handle.read(left if n < 0 else min(n, left))
        self.position += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0:
            raise ValueError("only absolute seeks")
        self.position = self.handle.seek(min(offset, self.limit))
        return self.position

    def __enter__(self) -> "_Listed":
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()


def open_listed(path: str, limit: int | None) -> BinaryIO | _Listed:
    """The file for reading, limited to `limit` bytes when the listed size is known."""
    handle = open(path, "rb")
    return handle if limit is None else _Listed(handle, limit)


def _changed(path: str, size: int, identity: tuple[int, int] | None, fmt: str) -> str | None:
    """Why the file can no longer be read as listed (gone, replaced by another file, a Parquet file of
    another size); None when it can (a record file that grew is read up to the listed size)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        return f"the file listed with {size} bytes cannot be opened any more: {exc.strerror}"
    if identity and identity != (0, 0) and (info.st_dev, info.st_ino) != identity:
        return f"the file was replaced by another file since it was listed with {size} bytes"
    if fmt == "parquet" and info.st_size != size:
        return f"the Parquet file changed size since it was listed ({size} bytes, now {info.st_size})"
    return None


def read_file(
    path: str,
    fmt: str,
    options: ReaderOptions,
    stats: FileStats,
    size: int | None = None,
    identity: tuple[int, int] | None = None,
) -> Iterator[Outcome]:
    """Every input unit of one file; never raises for a bad file (only for an unknown format).

    With the `size` (and `identity`: device, inode) the driver listed, the file is read up to that
    size: bytes appended since are not read; a file that shrank, vanished or was replaced ends in
    quarantine rows for the listed bytes it no longer holds, and the ledger tiles the listed size."""
    readers = {
        "warc": lambda: read_warc(path, fmt, options, stats, size),
        "wet": lambda: read_warc(path, fmt, options, stats, size),
        "jsonl": lambda: read_jsonl(path, options, stats, size),
        "parquet": lambda: read_parquet(path, options, stats),
    }
    if fmt not in readers:
        raise ValueError(f"unsupported format {fmt!r}")
    ledger = stats.ledger
    emitted = 0
    changed = _changed(path, size, identity, fmt) if size is not None else None
    if changed is not None:
        ledger.add(RAW, 0, size, QUARANTINE, units=1)
        emitted += 1
        log.warning("%s: %s", display_path(path), changed)
        yield quarantine(display_path(path), 0, None, "FileChanged", changed)
    else:
        try:
            for outcome in readers[fmt]():
                emitted += 1
                yield outcome
        except Exception as exc:  # noqa: BLE001 - a bad file becomes quarantine rows, the job goes on
            emitted += 1
            yield _file_failure(path, fmt, ledger, exc, size)
    if size is None:
        try:
            size = os.path.getsize(path)
        except OSError:
            size = ledger.layer_end(RAW)
    read_to = ledger.layer_end(RAW)
    if 0 < size and read_to < size and fmt != "parquet":
        ledger.add(RAW, read_to, size, QUARANTINE, units=1)
        emitted += 1
        message = f"the file shrank while being read: it was listed with {size} bytes, {read_to} could be read"
        log.warning("%s: %s", display_path(path), message)
        yield quarantine(display_path(path), read_to, None, "FileChanged", message)
    if size == 0 and not ledger.spans:
        ledger.add(RAW, 0, 0, QUARANTINE, units=1)
        emitted += 1
        yield quarantine(display_path(path), 0, None, "EmptyFile", "file holds no records")
    stats.records = ledger.units()
    if stats.records != emitted:
        log.warning(
            "%s: ledger counts %d units but %d outcomes were emitted", display_path(path), stats.records, emitted
        )


def _file_failure(path: str, fmt: str, ledger: Ledger, exc: BaseException, size: int | None) -> Outcome:
    """Close the ledger after an unexpected failure: the unread rest of the file is one quarantine row."""
    raw_end = ledger.layer_end(RAW)
    if size is None:
        try:
            size = os.path.getsize(path)
        except OSError:
            size = raw_end
    decoded = sum(s.out for s in ledger.spans if s.layer == RAW)
    stream_end = ledger.layer_end(STREAM)
    if fmt == "parquet":
        ledger.add(RAW, 0, size, QUARANTINE, units=1)
    else:
        ledger.add(RAW, raw_end, max(size, raw_end), QUARANTINE, units=1)
        if decoded > stream_end:
            ledger.add(STREAM, stream_end, decoded, QUARANTINE, units=0)
    log.warning("%s: unreadable from offset %d: %s: %s", display_path(path), raw_end, type(exc).__name__, exc)
    return quarantine(display_path(path), raw_end, None, type(exc).__name__, f"unreadable from here: {exc}")
