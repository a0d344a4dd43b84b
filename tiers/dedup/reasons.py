"""The names dedup writes in drop records: one place for both engines, the catalog view and the report."""

from __future__ import annotations

EXACT_STAGE = "exact_dedup"
EXACT_REASON = "exact_duplicate"
NEAR_STAGE = "minhash_dedup"
NEAR_REASON = "near_duplicate"
REASONS = (EXACT_REASON, NEAR_REASON)
CLUSTER_SIZE = "dedup_cluster_size"
"""The L1 column: documents of the kept document's cluster in this run, itself included."""
