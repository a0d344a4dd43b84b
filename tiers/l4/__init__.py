"""L4's ground floor, pure Python: passages, candidate items parsed from model output, deterministic
gates, the extractive verifier, answer matching, the consensus decision, identity and merging.
`tiers/llm_tasks/knowledge.py` sends the requests, `jobs/l3_to_l4.py` runs it all on Spark."""
