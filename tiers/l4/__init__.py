"""L4's code outside Spark, pure Python: passages, candidate items parsed from model output, deterministic
gates, the extractive verifier, answer matching, the consensus decision, identity and merging; the
generation and verification rounds that send the requests (`knowledge.py`); after the job's rounds,
promotion (evaluation flags, merge, postings: `promote.py`); and L4's readers, BM25 search in DuckDB SQL
(`search.py`) and the exports for training (`export.py`). `jobs/l3_to_l4.py` runs the rounds on Spark.

Changes to the agreed interface (additions only, every signature as agreed):
- `gates.run_gates` records a sixth check, `values_in_context` (facts only; reasons
  `value_out_of_context:<v>`, `value_repeated:<v>`, `values_reordered:<a> <b>`), after
  `content_in_evidence`; `GateSettings` gained `context_words` and `evidence_context_words`.
- `merge.canonical_groups` takes `threshold` (default 0.8) and `max_postings` (default 200).
- Issue 30: `gates.locate(evidence, passage)` is exact after a fixed normalisation (no fuzzy ratio;
  `GateSettings.fuzzy_ratio` is gone) and returns (start, end); `run_gates` records two more checks,
  `question_in_passage` and `meaning_agrees`; `GateOutcome.undecided` holds what only an LLM can
  settle; every `Decision` ends with a `decided_by` check.
"""
