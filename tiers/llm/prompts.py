"""Versioned prompts from conf/prompts/: the rubric scorer (with its scale), the rewriting tasks and L4's
knowledge prompts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from tiers.resources import read_project_text


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    system: str
    user: str
    schema: dict[str, Any] | None = None
    scale: tuple[int, int] | None = None
    """A rubric's lowest and highest score (`scale: [low, high]` in its file); None for other prompts."""

    def messages(self, text: str, **fields: str) -> tuple[tuple[str, str], ...]:
        """System and user turns with `{text}` (and any other named field) filled in."""
        return (("system", self.system.strip()), ("user", self.user.format(text=text, **fields)))


def load_prompt(path: str) -> Prompt:
    """One prompt file: name, version, system, user, an optional JSON schema and an optional `scale`."""
    data = yaml.safe_load(read_project_text(path))
    scale = data.get("scale")
    if scale is not None:
        if not (isinstance(scale, list) and len(scale) == 2 and all(type(v) is int for v in scale)):
            raise ValueError(f"{path}: scale must be [lowest score, highest score] (two integers), not {scale!r}")
        if scale[0] >= scale[1]:
            raise ValueError(f"{path}: scale {scale} must run from a lower to a higher score")
        bounds = ((data.get("schema") or {}).get("properties") or {}).get("score") or {}
        if bounds and (bounds.get("minimum"), bounds.get("maximum")) != tuple(scale):
            raise ValueError(
                f"{path}: the schema's score runs from {bounds.get('minimum')} to {bounds.get('maximum')}, "
                f"the scale from {scale[0]} to {scale[1]}; make them agree"
            )
        scale = tuple(scale)
    return Prompt(data["name"], data["version"], data["system"], data["user"], data.get("schema"), scale)


def load_score_prompt(path: str) -> Prompt:
    """A rubric prompt (L3's score prompt): a prompt file that carries its `scale`."""
    prompt = load_prompt(path)
    if prompt.scale is None:
        raise ValueError(f"{path}: a rubric prompt needs `scale: [lowest score, highest score]`")
    return prompt


def load_rewrite_prompts(path: str) -> dict[str, Prompt]:
    data = yaml.safe_load(read_project_text(path))
    return {
        name: Prompt(name, f"{data['version']}/{name}", task["system"], task["user"])
        for name, task in data["tasks"].items()
    }
