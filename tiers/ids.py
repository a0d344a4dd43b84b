"""Stable identifiers: derived from provenance or content, never from row order."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone


def doc_id_from_provenance(*parts: str | int | None) -> str:
    """32-hex id from the parts that locate a record (e.g. WARC-Record-ID, or file and line)."""
    key = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


def content_digest(path: str) -> str:
    """BLAKE2b of a file's bytes: names the file by what it holds, not where it lies."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def record_doc_id(source_format: str, file_digest: str, position: int) -> str:
    """Id of a record without an id field: its file's content digest and its position in the file."""
    return doc_id_from_provenance(source_format, file_digest, position)


def new_run_id(job: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{job}-{stamp}-{uuid.uuid4().hex[:6]}"
