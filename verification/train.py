"""Warmup-stable-decay training: `pretrain` builds the nearly trained base on default data; `anneal`
continues it on a candidate/default mixture with the decay phase only, for a token budget."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from verification.data import Sampler
from verification.model import ModelConfig, TinyLM, autocast


@dataclass(frozen=True)
class Schedule:
    steps: int
    peak_lr: float = 3e-3
    warmup: float = 0.05
    decay: float = 0.2

    def lr(self, step: int) -> float:
        warm, decay_start = int(self.steps * self.warmup), int(self.steps * (1 - self.decay))
        if step < warm:
            return self.peak_lr * (step + 1) / warm
        if step < decay_start:
            return self.peak_lr
        progress = (step - decay_start) / max(1, self.steps - decay_start)
        return self.peak_lr * 0.5 * (1 + math.cos(math.pi * progress))


@dataclass
class TrainStats:
    steps: int
    tokens: int
    seconds: float
    final_loss: float


def train(
    model: TinyLM, sampler: Sampler, schedule: Schedule, batch_size: int, seed: int, device: str = "cpu"
) -> TrainStats:
    torch.manual_seed(seed)
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=schedule.peak_lr, weight_decay=0.1, betas=(0.9, 0.95))
    start, loss_value = time.perf_counter(), float("nan")
    for step in range(schedule.steps):
        for group in optimizer.param_groups:
            group["lr"] = schedule.lr(step)
        with autocast(device):
            loss = model.loss(sampler.batch(batch_size).to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        loss_value = float(loss.detach())
    return TrainStats(
        schedule.steps, schedule.steps * batch_size * sampler.length, time.perf_counter() - start, loss_value
    )


def pretrain(
    config: ModelConfig,
    sampler: Sampler,
    steps: int,
    batch_size: int,
    seed: int,
    lr: float = 3e-3,
    device: str = "cpu",
) -> tuple[TinyLM, TrainStats]:
    """The base model: warmup and stable phases only, so it is 'nearly trained' and ready to anneal."""
    torch.manual_seed(seed)
    model = TinyLM(config)
    stats = train(model, sampler, Schedule(steps, lr, warmup=0.05, decay=0.0), batch_size, seed, device)
    return model, stats


def anneal(
    base: TinyLM, sampler: Sampler, steps: int, batch_size: int, seed: int, lr: float = 3e-3, device: str = "cpu"
) -> tuple[TinyLM, TrainStats]:
    """A copy of the base trained with the decay phase only (lr from `lr` down to 0) on the mixture."""
    model = TinyLM(base.config)
    model.load_state_dict(base.state_dict())
    stats = train(model, sampler, Schedule(steps, lr, warmup=0.0, decay=1.0), batch_size, seed, device)
    return model, stats
