"""Stable identifiers: derived from provenance or content, never from row order."""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone


def doc_id_from_provenance(*parts: str | int | None) -> str:
    """32-hex id from the parts that locate a record (e.g. WARC-Record-ID, or file and line)."""
    key = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


def new_run_id(job: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{job}-{stamp}-{uuid.uuid4().hex[:6]}"
