"""Byte token streams and the candidate/default mixture used by the anneal."""
from __future__ import annotations

import numpy as np
import torch


def encode(texts: list[str]) -> np.ndarray:
    """All texts as one uint8 stream, documents separated by a zero byte."""
    return np.frombuffer(b"\x00".join(t.encode("utf-8", "replace") for t in texts if t), dtype=np.uint8)


class MixtureSampler:
    """Random windows of `length + 1` bytes; a share `candidate_share` of each batch from the candidate stream."""

    def __init__(self, default: np.ndarray, candidate: np.ndarray | None, candidate_share: float, length: int, seed: int):
        if len(default) <= length + 1 or (candidate is not None and len(candidate) <= length + 1):
            raise ValueError(f"each stream needs more than {length + 1} bytes")
        self.streams = [default, candidate]
        self.share = candidate_share if candidate is not None else 0.0
        self.length = length
        self.rng = np.random.default_rng(seed)

    def batch(self, size: int) -> torch.Tensor:
        n_candidate = int(round(size * self.share))
        rows = []
        for index, count in ((1, n_candidate), (0, size - n_candidate)):
            stream = self.streams[index]
            if count == 0:
                continue
            for start in self.rng.integers(0, len(stream) - self.length - 1, count):
                rows.append(stream[start : start + self.length + 1])
        return torch.from_numpy(np.stack(rows).astype(np.int64))
