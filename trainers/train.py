"""Short training of a candidate network on a small dataset (CPU-friendly, deterministic)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from .data import Splits

__all__ = ["TrainConfig", "TrainResult", "Diverged", "train_and_evaluate", "accuracy"]


class Diverged(RuntimeError):
    """Training produced a non-finite loss."""


@dataclass(frozen=True)
class TrainConfig:
    """Budget and optimiser of a short training run (SGD+Nesterov, cosine schedule)."""

    epochs: int = 3
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class TrainResult:
    val_accuracy: float
    train_loss: float
    epochs: int
    seconds: float


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
    """Top-1 accuracy in eval mode."""
    model.eval()
    correct = sum(int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
                  for i in range(0, len(x), batch_size))
    return correct / max(1, len(x))


def train_and_evaluate(model: nn.Module, data: Splits, config: TrainConfig) -> TrainResult:
    """Train `model` for `config.epochs` on data's train split; report validation accuracy.

    Deterministic on CPU for a fixed seed. Raises `Diverged` on a non-finite loss.
    """
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          nesterov=True, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(data.x_train) / config.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.epochs * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    last_loss = math.nan
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(len(data.x_train), generator=generator)
        for i in range(0, len(order), config.batch_size):
            idx = order[i:i + config.batch_size]
            loss = loss_fn(model(data.x_train[idx]), data.y_train[idx])
            if not torch.isfinite(loss):
                raise Diverged(f"loss became {loss.item()} in training")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            last_loss = loss.item()
    val = accuracy(model, data.x_val, data.y_val)
    return TrainResult(val, last_loss, config.epochs, time.perf_counter() - start)
