"""Versioned prompts from conf/prompts/: the rubric scorer, the rewriting tasks and L4's knowledge prompts."""

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

    def messages(self, text: str, **fields: str) -> tuple[tuple[str, str], ...]:
        """System and user turns with `{text}` (and any other named field) filled in."""
        return (("system", self.system.strip()), ("user", self.user.format(text=text, **fields)))


def load_score_prompt(path: str) -> Prompt:
    """One prompt file: name, version, system, user and an optional JSON schema (L3's rubric, L4's prompts)."""
    data = yaml.safe_load(read_project_text(path))
    return Prompt(data["name"], data["version"], data["system"], data["user"], data.get("schema"))


load_prompt = load_score_prompt


def load_rewrite_prompts(path: str) -> dict[str, Prompt]:
    data = yaml.safe_load(read_project_text(path))
    return {
        name: Prompt(name, f"{data['version']}/{name}", task["system"], task["user"])
        for name, task in data["tasks"].items()
    }
