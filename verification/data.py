"""Byte token streams, the windows base training reads once each, and the candidate/default mixture
used by the anneal."""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np
import torch

log = logging.getLogger(__name__)


class Sampler(Protocol):
    length: int

    def batch(self, size: int) -> torch.Tensor: ...


def encode(texts: list[str]) -> np.ndarray:
    """All texts as one uint8 stream, documents separated by a zero byte."""
    return np.frombuffer(b"\x00".join(t.encode("utf-8", "replace") for t in texts if t), dtype=np.uint8)


def passes_over(stream_bytes: int, steps: int, batch_size: int, length: int) -> float:
    """How many times a training run of `steps` batches of `length`-byte windows reads a stream."""
    return steps * batch_size * length / max(stream_bytes, 1)


class EpochSampler:
    """Base training's data: the stream cut into non-overlapping windows of `length + 1` bytes, read in a
    random order, each once. Only a budget larger than the stream starts a second pass (`epochs` counts
    the passes begun, and a warning names the repetition)."""

    def __init__(self, stream: np.ndarray, length: int, seed: int):
        self.stream, self.length = stream, length
        self.count = (len(stream) - 1) // length
        if self.count < 1:
            raise ValueError(f"the stream needs more than {length + 1} bytes")
        self.rng = np.random.default_rng([seed, 2])
        self.order = self.rng.permutation(self.count)
        self.next, self.epochs = 0, 1

    def _index(self) -> int:
        if self.next == self.count:
            self.order, self.next, self.epochs = self.rng.permutation(self.count), 0, self.epochs + 1
            log.warning("base training starts pass %d over its default data (%d windows)", self.epochs, self.count)
        self.next += 1
        return int(self.order[self.next - 1])

    def batch(self, size: int) -> torch.Tensor:
        starts = [self._index() * self.length for _ in range(size)]
        rows = [self.stream[s : s + self.length + 1] for s in starts]
        return torch.from_numpy(np.stack(rows).astype(np.int64))


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
