"""What tiers asks an LLM and how it reads the answers: versioned prompts, tolerant parsing, L3 scoring and
rewriting. Engine-agnostic: every function takes an engine from `tiers.llm`."""
