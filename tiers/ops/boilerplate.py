"""Line-level boilerplate removal: navigation, pagination, "click here", cookie and share lines.

Patterns per language live in conf/boilerplate/<lang>.txt; only short lines (at most `max_words`
words) are candidates, so a sentence that merely mentions cookies stays. In the spirit of the
UltraData-Math L1 cleaner and CCNet/RefinedWeb line-level boilerplate rules.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import field_validator

from tiers.ops.base import Params, TextMapper, register

from tiers.resources import list_project_files, read_project_text

BOILERPLATE_DIR = "conf/boilerplate"
_CACHED_LINES = 100_000


def available_languages() -> list[str]:
    return list_project_files(BOILERPLATE_DIR, ".txt")


class BoilerplateParams(Params):
    languages: list[str] = ["en", "de", "fr", "es"]
    max_words: int = 12

    @field_validator("languages")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        missing = [lang for lang in value if lang not in available_languages()]
        if missing:
            raise ValueError(f"no boilerplate list for {missing}; allowed: {available_languages()}")
        return value


def load_patterns(languages: list[str]) -> re.Pattern[str]:
    patterns = []
    for lang in languages:
        for line in read_project_text(f"{BOILERPLATE_DIR}/{lang}.txt").splitlines():
            if line.strip() and not line.startswith("#"):
                patterns.append(f"(?:{line.strip()})")
    return re.compile(r"^[\W_]*(?:" + "|".join(patterns) + r")[\W_]*$", re.IGNORECASE)


@register
class BoilerplateLines(TextMapper):
    name = "boilerplate_lines"
    ParamsModel = BoilerplateParams
    adds: ClassVar[dict[str, pa.DataType]] = {"boilerplate_lines_removed": pa.int32()}

    def __init__(self, params: BoilerplateParams | None = None):
        super().__init__(params)
        self.pattern = load_patterns(self.params.languages)
        self._verdicts: dict[str, bool] = {}  # short lines repeat across pages: match each once

    def transform(self, text: str) -> tuple[str, dict[str, Any]]:
        kept, removed = [], 0
        max_words = self.params.max_words
        verdicts = self._verdicts
        for line in text.split("\n"):
            stripped = line.strip()
            if stripped and len(stripped) < 200 and stripped.count(" ") < max_words:
                verdict = verdicts.get(stripped)
                if verdict is None:
                    if len(verdicts) >= _CACHED_LINES:
                        verdicts.clear()
                    verdict = verdicts[stripped] = self.pattern.match(stripped) is not None
                if verdict:
                    removed += 1
                    continue
            kept.append(line)
        return ("\n".join(kept) if removed else text), {"boilerplate_lines_removed": removed}
