"""The file format of saved base models: one torch file holding the model configuration, the base seeds
and one state per base. Files from before several bases (a single `state`) still load, as one base."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from verification.model import ModelConfig, TinyLM

FORMAT = 2


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
    states = saved["states"] if "states" in saved else [saved["state"]]
    bases = []
    for state in states:
        model = TinyLM(config)
        model.load_state_dict(state)
        bases.append(model)
    return bases, list(saved.get("seeds", range(len(bases))))
