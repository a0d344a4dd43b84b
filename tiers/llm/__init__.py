"""The LLM engine layer: one interface, three engines (HTTP, managed server, vLLM offline)."""
