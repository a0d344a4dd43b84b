"""Model output parsed into candidate items and verifier answers, tolerant of code fences and text
around the JSON. A whole answer that is not the expected JSON raises `MalformedOutput`; one broken
item inside a good answer becomes a candidate with empty fields, which the schema gate rejects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

ANSWER_TYPES = ("span", "number", "date", "yes_no", "short_text")
_ANSWER_TYPE_ALIASES = {
    "yes/no": "yes_no",
    "yesno": "yes_no",
    "boolean": "yes_no",
    "short text": "short_text",
    "text": "short_text",
    "numeric": "number",
    "entity": "span",
}
NO_ANSWER = {"", "unanswerable", "unknown", "none", "n/a", "not stated", "not given", "null"}


class MalformedOutput(ValueError):
    def __init__(self, message: str, raw: str):
        super().__init__(message)
        self.raw = raw


@dataclass(frozen=True)
class Candidate:
    kind: Literal["fact", "qa"]
    text: str  # the statement, or the question
    answer: str | None
    answer_type: str | None
    evidence: str


@dataclass(frozen=True)
class SupportVerdict:
    verdict: Literal["supported", "partial", "unsupported"]
    quote: str


def extract_json(raw: str) -> Any:
    """The JSON object in `raw`: the whole text, else the span from the first `{` to the last `}`."""
    text = raw.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    for candidate in (text, text[text.find("{") : text.rfind("}") + 1] if "{" in text else ""):
        if not candidate:
            continue
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    raise MalformedOutput(f"no JSON object in the answer ({len(raw)} characters)", raw)


def _field(item: dict, key: str) -> str:
    value = item.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _list(raw: str, key: str) -> list:
    data = extract_json(raw)
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise MalformedOutput(f"expected an object with a list {key!r}", raw)
    return data[key]


def answer_type(value: Any) -> str:
    text = str(value or "").strip().lower()
    return _ANSWER_TYPE_ALIASES.get(text, text)


def parse_facts(raw: str) -> list[Candidate]:
    return [
        Candidate("fact", _field(item, "statement"), None, None, _field(item, "evidence"))
        if isinstance(item, dict)
        else Candidate("fact", "", None, None, "")
        for item in _list(raw, "facts")
    ]


def parse_qa(raw: str) -> list[Candidate]:
    out = []
    for item in _list(raw, "qa"):
        if not isinstance(item, dict):
            out.append(Candidate("qa", "", "", "", ""))
            continue
        out.append(
            Candidate(
                "qa",
                _field(item, "question"),
                _field(item, "answer"),
                answer_type(item.get("answer_type")),
                _field(item, "evidence"),
            )
        )
    return out


def parse_answer(raw: str) -> str | None:
    """A verifier's answer; None when it says the passage does not answer the question."""
    data = extract_json(raw)
    if not isinstance(data, dict) or "answer" not in data:
        raise MalformedOutput("expected an object with 'answer'", raw)
    answer = data["answer"]
    if isinstance(answer, bool):
        return "yes" if answer else "no"
    if answer is None:
        return None
    text = str(answer).strip()
    return None if text.lower().strip(".") in NO_ANSWER else text


def parse_support(raw: str) -> SupportVerdict:
    data = extract_json(raw)
    verdict = str(data.get("verdict", "")).strip().lower() if isinstance(data, dict) else ""
    if verdict not in ("supported", "partial", "unsupported"):
        raise MalformedOutput(f"verdict must be supported, partial or unsupported (got {verdict!r})", raw)
    return SupportVerdict(verdict, _field(data, "quote"))
