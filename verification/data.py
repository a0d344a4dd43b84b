"""Byte token streams and the candidate/default mixture used by the anneal."""

from __future__ import annotations

import numpy as np
import torch


def encode(texts: list[str]) -> np.ndarray:
    """All texts as one uint8 stream, documents separated by a zero byte."""
    return np.frombuffer(b"\x00".join(t.encode("utf-8", "replace") for t in texts if t), dtype=np.uint8)


class MixtureSampler:
    """Random windows of `length + 1` bytes; a share `candidate_share` of each batch from the candidate stream.

    Common random numbers: the default windows come from their own generator, drawn for the whole batch
    every time, and candidate windows replace the batch's last rows. A baseline arm and a candidate arm
    with the same seed therefore see the same default windows, and differ only in what the candidate adds.
    """

    def __init__(
        self, default: np.ndarray, candidate: np.ndarray | None, candidate_share: float, length: int, seed: int
    ):
        if len(default) <= length + 1 or (candidate is not None and len(candidate) <= length + 1):
            raise ValueError(f"each stream needs more than {length + 1} bytes")
        self.default, self.candidate = default, candidate
        self.share = candidate_share if candidate is not None else 0.0
        self.length = length
        self.default_rng = np.random.default_rng([seed, 0])
        self.candidate_rng = np.random.default_rng([seed, 1])

    def _windows(self, stream: np.ndarray, rng: np.random.Generator, count: int) -> list[np.ndarray]:
        return [
            stream[start : start + self.length + 1] for start in rng.integers(0, len(stream) - self.length - 1, count)
        ]

    def batch(self, size: int) -> torch.Tensor:
        n_candidate = int(round(size * self.share))
        rows = self._windows(self.default, self.default_rng, size)
        if n_candidate:
            rows[size - n_candidate :] = self._windows(self.candidate, self.candidate_rng, n_candidate)
        return torch.from_numpy(np.stack(rows).astype(np.int64))
