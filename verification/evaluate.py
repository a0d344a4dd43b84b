"""Evaluation of a byte-level LM: log-likelihood multiple choice (acc and acc_norm), LAMBADA
last-word accuracy, bits per byte of gold continuations, and loss in bits per byte on held-out
reference text. Baseline and candidate
models go through exactly the same code."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from verification.benchmarks import ChoiceItem, TargetItem
from verification.model import TinyLM


def _bytes(text: str) -> list[int]:
    return list(text.encode("utf-8", "replace"))


def _window(model: TinyLM, context: str, continuation: str) -> tuple[list[int], int]:
    """Context cut on the left so that context and continuation fit one window; (bytes, context length)."""
    cont = _bytes(continuation)[: model.config.context - 1]
    ctx = _bytes(context)[-(model.config.context - len(cont)) :] or [0]
    return ctx + cont, len(ctx)


@torch.no_grad()
def continuation_logprob(model: TinyLM, context: str, continuation: str, device: str = "cpu") -> tuple[float, int]:
    """(sum of log p(continuation bytes | context), number of continuation bytes), context cut on the left."""
    window, context_length = _window(model, context, continuation)
    tokens = torch.tensor([window], device=device)
    logits = model(tokens[:, :-1])
    logprobs = F.log_softmax(logits[0, context_length - 1 :], dim=-1)
    targets = tokens[0, context_length:]
    return float(logprobs.gather(1, targets[:, None]).sum()), len(window) - context_length


@torch.no_grad()
def gold_continuation_bpb(
    model: TinyLM, pairs: list[tuple[str, str]], device: str = "cpu", batch_size: int = 128
) -> list[float]:
    """Bits per byte of each continuation given its context, in batches (right padding cannot change
    what a causal model predicts at earlier positions)."""
    model.eval()
    result: list[float] = []
    for begin in range(0, len(pairs), batch_size):
        windows = [_window(model, ctx, cont) for ctx, cont in pairs[begin : begin + batch_size]]
        width = max(len(tokens) for tokens, _ in windows)
        tokens = torch.zeros((len(windows), width), dtype=torch.long)
        scored = torch.zeros((len(windows), width - 1), dtype=torch.bool)
        for row, (window, context_length) in enumerate(windows):
            tokens[row, : len(window)] = torch.tensor(window)
            scored[row, context_length - 1 : len(window) - 1] = True
        tokens, scored = tokens.to(device), scored.to(device)
        logprobs = F.log_softmax(model(tokens[:, :-1]).float(), dim=-1).gather(2, tokens[:, 1:, None])[..., 0]
        bits = -(logprobs * scored).sum(dim=1) / math.log(2)
        result.extend((bits / scored.sum(dim=1).clamp(min=1)).tolist())
    return result


def choice_accuracy(model: TinyLM, items: list[ChoiceItem], device: str = "cpu") -> dict[str, float]:
    model.eval()
    correct = correct_norm = 0
    for item in items:
        scores = [continuation_logprob(model, ctx, cont, device) for ctx, cont in item.pairs]
        correct += int(np.argmax([s for s, _ in scores]) == item.gold)
        correct_norm += int(np.argmax([s / max(n, 1) for s, n in scores]) == item.gold)
    n = max(len(items), 1)
    return {"acc": correct / n, "acc_norm": correct_norm / n}


@torch.no_grad()
def lambada_accuracy(model: TinyLM, items: list[TargetItem], device: str = "cpu") -> dict[str, float]:
    """Share of items whose last word is the greedy continuation, byte by byte."""
    model.eval()
    correct = 0
    for item in items:
        target = _bytes(" " + item.target)
        tokens = _bytes(item.context)[-(model.config.context - len(target)) :]
        ok = True
        for expected in target:
            logits = model(torch.tensor([tokens[-model.config.context :]], device=device))
            predicted = int(logits[0, -1].argmax())
            if predicted != expected:
                ok = False
                break
            tokens.append(predicted)
        correct += ok
    return {"acc": correct / max(len(items), 1)}


@torch.no_grad()
def bits_per_byte(model: TinyLM, stream: np.ndarray, windows: int = 64, device: str = "cpu") -> float:
    """Mean loss on evenly spaced windows of a held-out byte stream, in bits per byte."""
    model.eval()
    length = model.config.context
    starts = np.linspace(0, len(stream) - length - 1, windows).astype(int)
    batch = torch.from_numpy(np.stack([stream[s : s + length + 1] for s in starts]).astype(np.int64)).to(device)
    return float(model.loss(batch)) / math.log(2)
