"""Whether a job can count `n_tokens` with the configured tokenizer (shared by both engines)."""

from __future__ import annotations

import logging

from tiers.tokens import DEFAULT_TOKENIZER, TokenizerError, resolve_spec

log = logging.getLogger(__name__)


def can_count_tokens(spec: str) -> bool:
    """True when `spec` names a tokenizer here. A missing default tokenizer (the `llm` extra is not
    installed) logs a warning and gives False: the tier is written with a null `n_tokens`. Any other
    missing tokenizer raises TokenizerError, on the driver, with its name."""
    try:
        resolve_spec(spec)
    except TokenizerError as exc:
        if spec != DEFAULT_TOKENIZER:
            raise
        log.warning(
            "n_tokens not counted: %s (the default tokenizer comes with the `llm` extra; "
            "or set tokens.tokenizer to a local tokenizer.json)",
            exc,
        )
        return False
    return True
