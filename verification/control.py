"""The control pool: ordinary text of the candidate's size. A pool's effect is measured against an
anneal on a random sample of the root's L1 (or of the default data) holding as many bytes as the
pool, under the same seeds, so the question asked is "does this pool beat an equal amount of ordinary
crawl?" and not "does it beat repeating the default data?"."""

from __future__ import annotations

import logging

import numpy as np

from verification.data import encode

log = logging.getLogger(__name__)


def sample_bytes(texts: list[str], size: int, seed: int) -> list[str]:
    """Documents of `texts` in a random order until they hold `size` bytes; the last one is cut so that
    the sample's encoded stream has the candidate's length. Fewer bytes than `size` in all: all of them."""
    order = np.random.default_rng([seed, 3]).permutation(len(texts))
    chosen, total = [], 0
    for index in order:
        data = texts[index].encode("utf-8", "replace")
        if not data:
            continue
        room = size - total - (1 if chosen else 0)  # the separator byte encode() puts between documents
        if room <= 0:
            break
        chosen.append(data[:room].decode("utf-8", "ignore") if len(data) > room else texts[index])
        total += (1 if len(chosen) > 1 else 0) + min(len(data), room)
    return chosen


class Controls:
    """Control streams by size, sampled once with one seed: pools of the same size share a control."""

    def __init__(self, texts: list[str], seed: int = 0):
        self.texts, self.seed = texts, seed
        self._streams: dict[int, np.ndarray] = {}

    def stream(self, size: int) -> np.ndarray:
        if size not in self._streams:
            self._streams[size] = encode(sample_bytes(self.texts, size, self.seed))
            if len(self._streams[size]) < 0.98 * size:
                log.warning(
                    "control: only %d bytes of control text for a pool of %d bytes; the control is smaller",
                    len(self._streams[size]),
                    size,
                )
        return self._streams[size]
