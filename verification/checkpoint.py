"""The file format of saved base models: one torch file holding the model configuration, the base seeds
and one state per base. Files from before several bases (a single `state`, attention weights named as
`nn.MultiheadAttention` names them, in the same layout) still load, as one base."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from verification.model import ModelConfig, TinyLM

FORMAT = 2
OLD_NAMES = {
    "attn.in_proj_weight": "attn.qkv.weight",
    "attn.in_proj_bias": "attn.qkv.bias",
    "attn.out_proj.": "attn.out.",
}


def renamed(state: dict) -> dict:
    """A format-1 state with its attention weights under today's names (q, k, v stacked the same way)."""
    result = {}
    for key, value in state.items():
        for old, new in OLD_NAMES.items():
            key = key.replace(old, new)
        result[key] = value
    return result


def save_bases(path: str | Path, bases: list[TinyLM], seeds: list[int], extra: dict | None = None) -> None:
    if not bases or len(bases) != len(seeds):
        raise ValueError("save_bases needs one seed per base model, and at least one base")
    torch.save(
        {
            "format": FORMAT,
            "config": dataclasses.asdict(bases[0].config),
            "seeds": list(seeds),
            "states": [b.state_dict() for b in bases],
            "extra": extra or {},
        },
        path,
    )


def load_bases(path: str | Path, device: str = "cpu") -> tuple[list[TinyLM], list[int]]:
    """(base models, their seeds)."""
    saved = torch.load(path, map_location=device)
    config = ModelConfig(**saved["config"])
    states = saved["states"] if "states" in saved else [renamed(saved["state"])]
    bases = []
    for state in states:
        model = TinyLM(config)
        model.load_state_dict(state)
        bases.append(model)
    return bases, list(saved.get("seeds", range(len(bases))))
