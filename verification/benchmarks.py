"""Loaders for the zero-shot benchmarks of an evaluation folder (default: the sets shipped in tiers/assets/eval), in one shape for log-likelihood scoring.

Multiple-choice items become `ChoiceItem`s: one (context, continuation) pair per choice; the model's
answer is the choice whose continuation has the highest log-likelihood (and, for acc_norm, per
character). LAMBADA items are `TargetItem`s: the last word must be the greedy continuation.
"""

from __future__ import annotations

import bz2
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from tiers.eval_overlap import resolve_eval_dir


@dataclass(frozen=True)
class ChoiceItem:
    pairs: tuple[tuple[str, str], ...]
    gold: int


@dataclass(frozen=True)
class TargetItem:
    context: str
    target: str


def _jsonl(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def query_choices(path: Path) -> list[ChoiceItem]:
    """llm-foundry's format: {query, choices, gold} (ARC, OpenBookQA, BoolQ, COPA)."""
    return [ChoiceItem(tuple((r["query"], " " + c) for c in r["choices"]), int(r["gold"])) for r in _jsonl(path)]


def commonsense_qa(path: Path) -> list[ChoiceItem]:
    items = []
    for r in _jsonl(path):
        context = f"Question: {r['question']}\nAnswer:"
        items.append(
            ChoiceItem(
                tuple((context, " " + t) for t in r["choices"]["text"]), r["choices"]["label"].index(r["answerKey"])
            )
        )
    return items


def piqa(path: Path) -> list[ChoiceItem]:
    labels = [int(line) for line in (path.parent / "valid-labels.lst").read_text().split()]
    rows = list(_jsonl(path))
    if len(rows) != len(labels):
        raise ValueError(f"{path}: {len(rows)} items but {len(labels)} labels")
    return [
        ChoiceItem(
            (
                (f"Question: {r['goal']}\nAnswer:", " " + r["sol1"]),
                (f"Question: {r['goal']}\nAnswer:", " " + r["sol2"]),
            ),
            label,
        )
        for r, label in zip(rows, labels)
    ]


def hellaswag(path: Path) -> list[ChoiceItem]:
    with bz2.open(path, "rt", encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) % 6:
        raise ValueError(f"{path}: {len(lines)} lines is not a multiple of 6")
    return [
        ChoiceItem(tuple((lines[i], " " + ending) for ending in lines[i + 2 : i + 6]), int(lines[i + 1]))
        for i in range(0, len(lines), 6)
    ]


def winogrande(path: Path) -> list[ChoiceItem]:
    """Partial scoring: the same continuation after each context option."""
    return [
        ChoiceItem(tuple((option, " " + r["continuation"]) for option in r["context_options"]), int(r["gold"]))
        for r in _jsonl(path)
    ]


def lambada(path: Path) -> list[TargetItem]:
    return [TargetItem(r["context"], r["continuation"]) for r in _jsonl(path)]


@dataclass(frozen=True)
class Benchmark:
    name: str
    path: str
    loader: Callable[[Path], list]
    size: int


BENCHMARKS = {
    b.name: b
    for b in [
        Benchmark("arc_easy", "arc_easy/arc_easy.jsonl", query_choices, 2376),
        Benchmark("arc_challenge", "arc_challenge/arc_challenge.jsonl", query_choices, 1172),
        Benchmark("piqa", "piqa/valid.jsonl", piqa, 1838),
        Benchmark("hellaswag", "hellaswag/hellaswag_val_full.txt.bz2", hellaswag, 10042),
        Benchmark("openbookqa", "openbookqa/openbook_qa.jsonl", query_choices, 500),
        Benchmark("winogrande", "winogrande/winogrande.jsonl", winogrande, 1267),
        Benchmark("copa", "copa/copa.jsonl", query_choices, 100),
        Benchmark("boolq", "boolq/boolq.jsonl", query_choices, 3270),
        Benchmark("commonsense_qa", "commonsense_qa/dev_rand_split.jsonl", commonsense_qa, 1221),
        Benchmark("lambada_openai", "lambada_openai/lambada_openai.jsonl", lambada, 5153),
    ]
}


def load_benchmark(name: str, eval_dir: str | Path, limit: int | None = None) -> list:
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; allowed: {', '.join(BENCHMARKS)}")
    path = resolve_eval_dir(eval_dir) / BENCHMARKS[name].path
    if not path.is_file():
        raise FileNotFoundError(f"benchmark {name}: no file at {path}")
    items = BENCHMARKS[name].loader(path)
    return items[:limit] if limit else items
