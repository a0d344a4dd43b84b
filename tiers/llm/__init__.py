"""The LLM engine layer: one interface, engines (HTTP, managed server, vLLM offline), the request cache and
the local model's self-test. Task logic (prompts, parsing, scoring, rewriting) lives in `tiers.llm_tasks`."""
