"""Byte-level BPE token counts of many pre-tokens at once, in compiled code (tiers/kernels.py), from the
vocabulary and merges of a `tokenizers` BPE model (its `tokenizer.to_str()` JSON's "model").

Only counts are computed. The model must apply its merges plainly: no subword prefix or suffix, no
`ignore_merges`, no dropout; a byte without a token of its own is left out, which is what `tokenizers`
does when the model has neither an unknown token nor byte fallback (`BytePairCounts.of` refuses a model
where those would be used).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tiers import kernels


@dataclass(frozen=True)
class BytePairCounts:
    byte_ids: np.ndarray
    table_keys: np.ndarray
    table_values: np.ndarray
    vocab_size: int

    @classmethod
    def of(cls, model: dict[str, Any], byte_chars: str) -> "BytePairCounts | None":
        """The tables for `model`, whose byte `b` is written as `byte_chars[b]`; None for a model these
        counts do not reproduce."""
        vocab: dict[str, int] = model.get("vocab") or {}
        if (
            model.get("type") != "BPE"
            or model.get("dropout") is not None
            or model.get("ignore_merges")
            or model.get("continuing_subword_prefix")
            or model.get("end_of_word_suffix")
            or not vocab
        ):
            return None
        byte_ids = np.array([vocab.get(char, -1) for char in byte_chars], dtype=np.int64)
        if (byte_ids < 0).any() and (model.get("unk_token") is not None or model.get("byte_fallback")):
            return None
        size = max(vocab.values()) + 1
        keys, packed = [], []
        for rank, merge in enumerate(model.get("merges") or []):
            left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
            if left in vocab and right in vocab and left + right in vocab:
                keys.append(vocab[left] * size + vocab[right])
                packed.append(rank * size + vocab[left + right])
        keys_array, packed_array = np.array(keys, dtype=np.int64), np.array(packed, dtype=np.int64)
        order = np.argsort(keys_array, kind="stable")  # a pair listed twice keeps its last rank, as in `tokenizers`
        keys_array, packed_array = keys_array[order], packed_array[order]
        last = np.concatenate([keys_array[1:] != keys_array[:-1], [True]]) if len(keys_array) else np.zeros(0, bool)
        return cls(byte_ids, *kernels.merge_table(keys_array[last], packed_array[last]), size)

    def save(self, path: Path) -> None:
        """Written to a temporary file, then moved to `path`, so a reader never sees half of it."""
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with open(partial, "wb") as handle:
            np.savez(
                handle,
                byte_ids=self.byte_ids,
                table_keys=self.table_keys,
                table_values=self.table_values,
                vocab_size=np.int64(self.vocab_size),
            )
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> "BytePairCounts":
        with np.load(path) as saved:
            return cls(saved["byte_ids"], saved["table_keys"], saved["table_values"], int(saved["vocab_size"]))

    def counts(self, pieces: Sequence[str]) -> list[int]:
        """Tokens of each piece."""
        encoded = [piece.encode("utf-8") for piece in pieces]
        bounds = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=bounds[1:])
        data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        return kernels.bpe_counts(
            data, bounds, self.byte_ids, self.table_keys, self.table_values, self.vocab_size
        ).tolist()
