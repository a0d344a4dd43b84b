"""The exact-dedup key of a text: SHA-256 of the text with runs of ASCII white space made one space,
spaces trimmed, lower-cased (what jobs/dedup.py computes in Spark with `regexp_replace`, `trim`,
`lower` and `sha2`)."""

from __future__ import annotations

import hashlib
from typing import Sequence

from tiers import kernels
from tiers.text import LoweredBatch


def exact_keys(texts: Sequence[str | None], batch: LoweredBatch | None = None) -> list[str | None]:
    """The key of each text (None for None); `batch` is `LoweredBatch.of(texts)` when the caller has it."""
    batch = batch if batch is not None else LoweredBatch.of(texts)
    collapsed, bounds = kernels.collapse_spaces(batch.buffer, batch.bounds)
    view = memoryview(collapsed)
    ends = bounds.tolist()
    return [
        None if text is None else hashlib.sha256(view[ends[i] : ends[i + 1]]).hexdigest()
        for i, text in enumerate(texts)
    ]
