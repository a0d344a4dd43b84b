"""Evaluation-set overlap: a document that shares one word 13-gram with an evaluation item is flagged.

The index holds the 64-bit hashes of every word n-gram (words as in `tiers/text.py`: lower-cased runs
of letters and digits) of every item in the evaluation folder: for JSONL files one text per record (its
string values in order, so a question followed by its answer is one text), for other text files
(`.tsv`, `.txt`, `.bz2`) one text per line. Documents are checked in Arrow batches, vectorised.

The evaluation folder `builtin` (every default) is the sets that ship in the package, under
`tiers/assets/eval/` (each with its README: source, license, attribution; see `tiers/assets/NOTICE.md`
for the one left out).
"""

from __future__ import annotations

import bz2
import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from tiers.resources import PROJECT, materialize_folder
from tiers.text import word_runs

log = logging.getLogger(__name__)

_COMBINE = np.uint64(0x100000001B3)
TEXT_SUFFIXES = {".jsonl", ".json", ".tsv", ".txt", ".bz2"}


BUILTIN = "builtin"
BUILTIN_EVAL_DIR = "tiers/assets/eval"  # in the package (or the spark-submit zip)


def resolve_eval_dir(value: str | Path) -> Path:
    """The folder an `eval_dir` setting names: `builtin` is the packaged sets; a relative path is taken from the
    working directory, then the project. Raises FileNotFoundError naming the setting's value."""
    if str(value) == BUILTIN:
        try:
            return materialize_folder(BUILTIN_EVAL_DIR, Path(tempfile.gettempdir()) / "tiers-assets")
        except FileNotFoundError:
            raise FileNotFoundError(
                f"no evaluation folder at {BUILTIN_EVAL_DIR} (the package's own sets are missing)"
            ) from None
    folder = Path(value).expanduser()
    for candidate in (folder, PROJECT / folder):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no evaluation folder at {value} (`builtin` names the sets shipped with tiers)")


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def eval_items(eval_dir: str | Path) -> Iterator[tuple[str, str]]:
    """(benchmark folder, text) for every item of every evaluation file under `eval_dir`."""
    eval_dir = resolve_eval_dir(eval_dir)
    for path in sorted(eval_dir.rglob("*")):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES or path.name.lower().startswith("readme"):
            continue
        benchmark = path.relative_to(eval_dir).parts[0]
        opener = bz2.open if path.suffix == ".bz2" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if path.suffix in (".jsonl", ".json"):
                    try:
                        yield benchmark, " ".join(_strings(json.loads(line)))
                    except json.JSONDecodeError:
                        yield benchmark, line
                else:
                    yield benchmark, line


def batch_ngram_hashes(texts: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(64-bit hashes of every word n-gram of every text, the text each belongs to)."""
    encoded = [t.lower().encode("utf-8") if t else b"" for t in texts]
    if not encoded:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    buffer = np.frombuffer(b"\n".join(encoded), dtype=np.uint8)
    doc_starts = np.cumsum([0] + [len(e) + 1 for e in encoded[:-1]])
    starts, _, words = word_runs(buffer)
    doc_of_word = np.searchsorted(doc_starts, starts, side="right") - 1
    count = len(words) - n + 1
    if count <= 0:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    grams = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            grams = grams * _COMBINE + words[k : k + count]
    inside = doc_of_word[:count] == doc_of_word[n - 1 :]
    return grams[inside], doc_of_word[:count][inside]


@dataclass(frozen=True)
class EvalIndex:
    hashes: np.ndarray  # sorted, unique
    benchmarks: np.ndarray  # benchmark index of each hash
    names: tuple[str, ...]
    n: int

    @property
    def index_id(self) -> str:
        digest = hashlib.sha256(self.hashes.tobytes())
        digest.update(f"{self.n}:{','.join(self.names)}".encode())
        return digest.hexdigest()[:16]

    def matches(self, texts: Sequence[str | None]) -> list[str | None]:
        """Per text: the benchmark of its first n-gram found in the index, or None."""
        grams, owner = batch_ngram_hashes([t or "" for t in texts], self.n)
        found: list[str | None] = [None] * len(texts)
        if len(grams) == 0 or len(self.hashes) == 0:
            return found
        position = np.minimum(np.searchsorted(self.hashes, grams), len(self.hashes) - 1)
        hit = self.hashes[position] == grams
        for doc, where in zip(owner[hit][::-1], position[hit][::-1]):
            found[int(doc)] = self.names[int(self.benchmarks[where])]
        return found


def build_index(eval_dir: str | Path, n: int = 13) -> EvalIndex:
    """The n-gram index of every evaluation item under `eval_dir`."""
    eval_dir = resolve_eval_dir(eval_dir)
    names: list[str] = []
    hashes, owners = [], []
    batch: list[tuple[str, str]] = []

    def flush() -> None:
        grams, owner = batch_ngram_hashes([text for _, text in batch], n)
        ids = np.array([names.index(b) for b, _ in batch], dtype=np.int32)
        hashes.append(grams)
        owners.append(ids[owner] if len(owner) else np.empty(0, np.int32))
        batch.clear()

    for benchmark, text in eval_items(eval_dir):
        if benchmark not in names:
            names.append(benchmark)
        batch.append((benchmark, text))
        if len(batch) >= 4096:
            flush()
    if batch:
        flush()
    all_hashes = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
    all_owners = np.concatenate(owners) if owners else np.empty(0, np.int32)
    unique, first = np.unique(all_hashes, return_index=True)
    log.info("evaluation index: %d distinct %d-grams from %d benchmarks in %s", len(unique), n, len(names), eval_dir)
    return EvalIndex(unique, all_owners[first], tuple(names), n)
