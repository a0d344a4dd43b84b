"""Whether a job can count `n_tokens` with the configured tokenizer (shared by both engines)."""

from __future__ import annotations

import logging

from tiers.tokens import resolve_spec

log = logging.getLogger(__name__)


def can_count_tokens(spec: str) -> bool:
    """True when `spec` names a tokenizer here (the default ships in the package); a missing one raises
    TokenizerError, on the driver, with its name."""
    resolve_spec(spec)
    return True
