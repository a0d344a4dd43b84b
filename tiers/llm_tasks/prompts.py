"""Versioned prompts from conf/prompts/: the rubric scorer and the rewriting tasks."""
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

    def messages(self, text: str) -> tuple[tuple[str, str], ...]:
        return (("system", self.system.strip()), ("user", self.user.format(text=text)))


def load_score_prompt(path: str) -> Prompt:
    data = yaml.safe_load(read_project_text(path))
    return Prompt(data["name"], data["version"], data["system"], data["user"], data.get("schema"))


def load_rewrite_prompts(path: str) -> dict[str, Prompt]:
    data = yaml.safe_load(read_project_text(path))
    return {name: Prompt(name, f"{data['version']}/{name}", task["system"], task["user"]) for name, task in data["tasks"].items()}
