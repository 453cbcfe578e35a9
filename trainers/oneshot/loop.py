"""Supernet training loops: SPOS single-path and FBNet DNAS, resumable, DDP-ready.

SPOS (Guo et al., ECCV 2020, Sec. 3.2): each step samples one path uniformly and trains
only it. DNAS (Wu et al., CVPR 2019, Sec. 3.4): each epoch trains the weights on one
part of the data, then theta on the other (see `dnas.py`).

Everything random is derived from (seed, epoch, step): data order, paths, Gumbel noise;
the global torch RNG (drop path) is saved in the checkpoint. So a run killed and resumed
from its last epoch checkpoint ends with the same weights as an uninterrupted one.
Under DistributedDataParallel every rank runs the same path on its share of the batch.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from search_spaces.errors import UserError
from search_spaces.genotype import Genotype
from search_spaces.space import Space
from search_spaces.supernet import Supernet

from ..data import Splits
from ..train import Diverged
from .checkpoint import check_checkpoint, read_checkpoint, save_checkpoint
from .config import OneShotConfig
from .dnas import ArchParams, gumbel_weights, latency_loss, temperature
from .latency import LatencyTable

__all__ = ["train_supernet", "sample_path", "train_indices"]


def sample_path(space: Space, seed: int, epoch: int, step: int) -> Genotype:
    """The uniformly sampled path of one training step (Guo et al. 2020, Eq. 6)."""
    return space.sample(np.random.default_rng([seed, epoch, step]))


def train_indices(n: int, config: OneShotConfig) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Training rows for the weights and (DNAS) for theta: a fixed seeded split,
    capped at `limit_train` rows."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed))
    if config.limit_train:
        order = order[:config.limit_train]
    if config.mode != "dnas":
        return order, None
    cut = max(1, int(round(len(order) * (1.0 - config.arch_fraction))))
    return order[:cut], order[cut:]


def _batches(rows: torch.Tensor, config: OneShotConfig, epoch: int, salt: int, rank: int,
             world: int) -> list[torch.Tensor]:
    """This rank's share of each full batch of a seeded shuffle of `rows`."""
    size = config.batch_size
    if world > 1 and len(rows) < size:
        raise UserError(f"{len(rows)} training rows are fewer than one batch ({size}) "
                        "for distributed training")
    seed = (config.seed * 1_000_003 + epoch) * 7 + salt
    order = rows[torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))]
    steps = max(1, len(order) // size)
    return [order[s * size:(s + 1) * size][rank::world] for s in range(steps)]


def _cosine(base: float, t: int, total: int) -> float:
    return 0.5 * base * (1.0 + math.cos(math.pi * t / max(1, total)))


def _step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, params: list,
          clip: float) -> None:
    if not torch.isfinite(loss):
        raise Diverged(f"supernet loss became {loss.item()}")
    optimizer.zero_grad(set_to_none=True)  # off-path weights keep grad None: not updated
    loss.backward()
    if clip > 0:
        nn.utils.clip_grad_norm_([p for p in params if p.grad is not None], clip)
    optimizer.step()


class _Run:
    """One training run's state: supernet, DDP wrapper, optimizers, data, rank."""

    def __init__(self, supernet: Supernet, model: nn.Module, data: Splits,
                 config: OneShotConfig, arch: ArchParams | None, rank: int, world: int,
                 device: torch.device) -> None:
        self.supernet, self.model, self.data, self.config = supernet, model, data, config
        self.arch, self.rank, self.world, self.device = arch, rank, world, device
        self.params = list(supernet.parameters())
        self.optimizer = torch.optim.SGD(self.params, lr=config.lr, momentum=config.momentum,
                                         weight_decay=config.weight_decay)
        self.rows, self.arch_rows = train_indices(len(data.x_train), config)
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        self.steps = max(1, len(self.rows) // config.batch_size)

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (self.data.x_train[idx].to(self.device, non_blocking=True),
                self.data.y_train[idx].to(self.device, non_blocking=True))

    def set_lr(self, epoch: int, step: int) -> float:
        lr = _cosine(self.config.lr, epoch * self.steps + step, self.config.epochs * self.steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def spos_epoch(self, epoch: int) -> dict[str, float]:
        """One epoch of uniform single-path training."""
        self.model.train()
        losses, correct, seen = [], 0, 0
        for step, idx in enumerate(_batches(self.rows, self.config, epoch, 0, self.rank,
                                            self.world)):
            self.set_lr(epoch, step)
            self.supernet.set_path(sample_path(self.supernet.space, self.config.seed, epoch,
                                               step))
            x, y = self.batch(idx)
            logits = self.model(x)
            loss = self.loss_fn(logits, y)
            _step(loss, self.optimizer, self.params, self.config.grad_clip)
            losses.append(loss.item())
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
        return {"loss": float(np.mean(losses)), "train_accuracy": 100.0 * correct / max(1, seen)}

    def dnas_epoch(self, epoch: int) -> dict[str, float]:
        """Weights on their rows, then theta on its rows (after warm-up)."""
        arch, cfg = self.arch, self.config
        tau = temperature(cfg, epoch)
        noise = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
        self.model.train()
        losses, lats = [], []
        for step, idx in enumerate(_batches(self.rows, cfg, epoch, 0, self.rank, self.world)):
            self.set_lr(epoch, step)
            weights = gumbel_weights(arch.theta.detach(), tau, noise)
            arch.apply(weights)
            x, y = self.batch(idx)
            loss, lat = latency_loss(self.loss_fn(self.model(x), y), weights, arch.lat_ms, cfg)
            _step(loss, self.optimizer, self.params, cfg.grad_clip)
            losses.append(loss.item())
        if epoch >= cfg.warmup_epochs:
            for idx in _batches(self.arch_rows, cfg, epoch, 1, self.rank, self.world):
                lats.append(self.theta_step(tau, noise, *self.batch(idx)))
        arch.clear()
        return {"loss": float(np.mean(losses)), "tau": tau,
                "expected_latency_ms": float(np.mean(lats)) if lats else math.nan}

    def theta_step(self, tau: float, noise: torch.Generator, x: torch.Tensor,
                   y: torch.Tensor) -> float:
        """One Adam step on theta; its gradient is averaged over ranks by hand (theta is
        not a parameter of the DDP-wrapped module)."""
        arch = self.arch
        weights = gumbel_weights(arch.theta, tau, noise)
        arch.apply(weights)
        loss, lat = latency_loss(self.loss_fn(self.supernet(x), y), weights, arch.lat_ms,
                                 self.config)
        if not torch.isfinite(loss):
            raise Diverged(f"DNAS architecture loss became {loss.item()}")
        (grad,) = torch.autograd.grad(loss, [arch.theta])
        if self.world > 1:
            import torch.distributed as dist

            dist.all_reduce(grad)
            grad = grad / self.world
        arch.theta.grad = grad
        arch.optimizer.step()
        arch.theta.grad = None
        return float(lat.detach())

    def payload(self, epoch: int, history: list[dict]) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available() and self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state()
        return {"fingerprint": self.supernet.fingerprint(), "config": self.config.to_dict(),
                "mode": self.config.mode, "epoch": epoch, "history": history,
                "model": self.supernet.state_dict(), "optimizer": self.optimizer.state_dict(),
                "arch": self.arch.state_dict() if self.arch else None, "rng": rng}

    def restore(self, saved: dict[str, Any]) -> None:
        self.supernet.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        if self.arch is not None:
            self.arch.load_state_dict(saved["arch"])
        torch.set_rng_state(saved["rng"]["torch"])
        if "cuda" in saved["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(saved["rng"]["cuda"])


def train_supernet(supernet: Supernet, data: Splits, config: OneShotConfig,
                   checkpoint: str | Path | None = None, *, table: LatencyTable | None = None,
                   rank: int = 0, world_size: int = 1,
                   wrap: Callable[[nn.Module], nn.Module] | None = None,
                   log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train `supernet` (resuming from `checkpoint` when it exists), checkpointing after
    every epoch on rank 0; returns a summary (history, derived arch for DNAS).

    A checkpoint of another supernet or training setup raises UserError before anything
    is written. `wrap` (e.g. DistributedDataParallel) is applied after restoring.
    """
    device = torch.device(config.device)
    saved = None
    if checkpoint is not None and Path(checkpoint).exists():
        saved = read_checkpoint(checkpoint)
        check_checkpoint(saved, supernet, checkpoint, config)
        if saved["mode"] != config.mode:
            raise UserError(f"checkpoint {str(checkpoint)!r} is from {saved['mode']} "
                            f"training, not {config.mode}; nothing was overwritten")
    supernet.to(device)
    arch = ArchParams(supernet, config, table, device) if config.mode == "dnas" else None
    run = _Run(supernet, supernet, data, config, arch, rank, world_size, device)
    start, history = 0, []
    if saved is not None:
        run.restore(saved)
        start, history = int(saved["epoch"]), list(saved["history"])
    run.model = wrap(supernet) if wrap else supernet
    for epoch in range(start, config.epochs):
        began = time.perf_counter()
        stats = run.dnas_epoch(epoch) if arch else run.spos_epoch(epoch)
        history.append({"epoch": epoch + 1, **stats,
                        "seconds": round(time.perf_counter() - began, 3)})
        if rank == 0 and checkpoint is not None:
            save_checkpoint(checkpoint, run.payload(epoch + 1, history))
        if world_size > 1:  # no rank runs ahead of the checkpoint
            import torch.distributed as dist

            dist.barrier()
        if log is not None and rank == 0:
            log(f"supernet {config.mode} epoch {epoch + 1}/{config.epochs}: " +
                ", ".join(f"{k} {v:.4g}" for k, v in stats.items()))
    return {"mode": config.mode, "epochs": config.epochs, "resumed_from": start,
            "history": history, "checkpoint": str(checkpoint) if checkpoint else None,
            "arch": arch.summary() if arch else None}
