"""vLLM's offline `LLM` class in-process (extra `vllm`; needs a GPU and the model weights on disk)."""

from __future__ import annotations

import time
from typing import Any

from tiers.llm.engine import ChatRequest, ChatResult


class VllmOfflineEngine:
    def __init__(self, model: str, **engine_args: Any):
        try:
            from vllm import LLM
        except ImportError as exc:
            raise RuntimeError("engine 'vllm_offline' needs vLLM: pip install 'tiers[vllm]'") from exc
        self.model = model
        self._llm = LLM(model=model, **engine_args)

    def complete(self, requests: list[ChatRequest]) -> list[ChatResult]:
        from vllm import SamplingParams

        try:
            from vllm.sampling_params import GuidedDecodingParams
        except ImportError:
            GuidedDecodingParams = None
        params = []
        for request in requests:
            s = request.sampling
            guided = (
                GuidedDecodingParams(json=request.json_schema) if request.json_schema and GuidedDecodingParams else None
            )
            params.append(
                SamplingParams(
                    temperature=s.temperature,
                    max_tokens=s.max_tokens,
                    top_p=s.top_p,
                    seed=s.seed,
                    guided_decoding=guided,
                )
            )
        start = time.perf_counter()
        outputs = self._llm.chat([r.payload_messages() for r in requests], sampling_params=params, use_tqdm=False)
        share = (time.perf_counter() - start) / max(len(requests), 1)
        return [
            ChatResult(
                o.outputs[0].text,
                prompt_tokens=len(o.prompt_token_ids or []),
                completion_tokens=len(o.outputs[0].token_ids),
                seconds=share,
            )
            for o in outputs
        ]

    def close(self) -> None:
        del self._llm
