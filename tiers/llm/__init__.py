"""The LLM engine layer: one interface, engines (HTTP, managed server, vLLM offline), the request cache,
the local model's self-test and the versioned prompt files (`prompts.py`). What each tier asks lives with
the tier: `tiers.l3` (rubric scoring, rewriting), `tiers.l4` (knowledge items)."""
