"""The names of the tiers and of the pipeline's stages (jobs), spelled once."""

from __future__ import annotations

L0, L1, L2, L3, L4 = "L0", "L1", "L2", "L3", "L4"
TIERS = (L0, L1, L2, L3, L4)
DOCUMENT_TIERS = (L0, L1, L2, L3)
"""Tiers of documents (doc_id); L4 holds knowledge items (ki_id)."""

INGEST = "ingest"
L1_FILTER = "l1_filter"
L1_DEDUP = "l1_dedup"
L2_SCORE = "l2_score"
L2_SELECT = "l2_select"
L2_TO_L3 = "l2_to_l3"
L3_TO_L4 = "l3_to_l4"
STAGES = (INGEST, L1_FILTER, L1_DEDUP, L2_SCORE, L2_SELECT, L2_TO_L3, L3_TO_L4)
"""The jobs, in pipeline order: the `job` column of the catalog's `runs` table."""
