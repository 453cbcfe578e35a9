"""Short training of a candidate network (deterministic on CPU, AMP on CUDA, resumable).

A budget is N epochs or N steps; SGD (Nesterov) or AdamW with a cosine schedule over
`schedule` units (default: the budget itself) and optional label smoothing. A checkpoint
holds model, optimizer, scheduler, AMP scaler and the step reached, so a candidate promoted
to a larger budget continues where it stopped: with the schedule set to the largest budget,
training 2 epochs then continuing to 4 gives exactly the weights of 4 epochs straight.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from search_spaces.errors import UserError, unknown_choice

from .data import Splits

__all__ = ["TrainConfig", "TrainResult", "Diverged", "train_and_evaluate", "accuracy",
           "resolve_device"]

OPTIMIZERS, AMP_MODES, DEVICES = ("sgd", "adamw"), ("off", "bf16", "fp16"), ("cpu", "cuda", "auto")
# fields a checkpoint must share with the run that continues it
_RESUME_FIELDS = ("batch_size", "optimizer", "lr", "momentum", "weight_decay",
                  "label_smoothing", "seed", "amp")


class Diverged(RuntimeError):
    """Training produced a non-finite loss."""


@dataclass(frozen=True)
class TrainConfig:
    """Budget, optimiser and schedule of a short training run (validated on construction).

    epochs / steps: the budget (steps wins when > 0); schedule: cosine length in the same
    unit (0 = the budget); amp: off | bf16 | fp16 autocast (fp16 with a GradScaler on CUDA);
    device: cpu | cuda | auto.
    """

    epochs: int = 3
    steps: int = 0
    schedule: int = 0
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    seed: int = 0
    amp: str = "off"
    device: str = "cpu"

    def __post_init__(self) -> None:
        for key, allowed in (("optimizer", OPTIMIZERS), ("amp", AMP_MODES),
                             ("device", DEVICES)):
            if getattr(self, key) not in allowed:
                raise unknown_choice(f"training {key}", getattr(self, key), allowed)
        if self.steps < 0 or self.epochs < 0 or (self.steps == 0 and self.epochs < 1):
            raise UserError(f"training needs epochs >= 1 or steps >= 1, got epochs="
                            f"{self.epochs}, steps={self.steps}")
        if self.schedule and self.schedule < self.budget:
            raise UserError(f"training schedule ({self.schedule}) is shorter than the budget "
                            f"({self.budget} {self.unit}); it must be 0 or at least the budget")
        if self.batch_size < 1 or self.lr <= 0 or not 0 <= self.label_smoothing < 1:
            raise UserError(f"training needs batch_size >= 1, lr > 0 and 0 <= label_smoothing"
                            f" < 1; got {self.batch_size}, {self.lr}, {self.label_smoothing}")

    @property
    def unit(self) -> str:
        return "steps" if self.steps else "epochs"

    @property
    def budget(self) -> int:
        return self.steps or self.epochs


@dataclass(frozen=True)
class TrainResult:
    val_accuracy: float
    train_loss: float
    epochs: float
    seconds: float
    steps: int = 0
    resumed_from: int = 0


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when present; asking for CUDA without one is a UserError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("training device 'cuda' was asked for but no CUDA device is visible; "
                        "use device 'cpu' or 'auto'")
    return torch.device(name)


def _autocast(config: TrainConfig, device: torch.device):
    if config.amp == "off":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if config.amp == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
    """Top-1 accuracy in eval mode (on the model's device)."""
    model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    correct = 0
    for i in range(0, len(x), batch_size):
        pred = model(x[i:i + batch_size].to(device)).argmax(1)
        correct += int((pred.cpu() == y[i:i + batch_size]).sum())
    return correct / max(1, len(x))


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=config.lr,
                                 weight_decay=config.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                           nesterov=config.momentum > 0, weight_decay=config.weight_decay)


class _Run:
    """Optimizer, scheduler and scaler of one training run, saved and loaded together."""

    def __init__(self, model: nn.Module, config: TrainConfig, device: torch.device,
                 steps_per_epoch: int) -> None:
        self.model, self.config = model, config
        self.steps_per_epoch = steps_per_epoch
        per_unit = 1 if config.steps else steps_per_epoch
        self.total_steps = config.budget * per_unit
        self.opt = _optimizer(model, config)
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.opt, max(1, (config.schedule or config.budget) * per_unit))
        self.scaler = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16"
                                           and device.type == "cuda")
        self.step = 0

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                "scheduler": self.sched.state_dict(), "scaler": self.scaler.state_dict(),
                "step": self.step, "epoch": self.step / self.steps_per_epoch,
                "schedule_steps": self.sched.T_max,
                "config": {k: asdict(self.config)[k] for k in _RESUME_FIELDS}}

    def load(self, path: Path) -> None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # truncated, garbage or unsafe pickle
            state = type(exc).__name__
        if not isinstance(state, dict) or not {"config", "schedule_steps"} <= set(state):
            reason = state if isinstance(state, str) else "not a training checkpoint"
            raise UserError(f"checkpoint {str(path)!r} is unreadable ({reason}); delete it to "
                            "train this trial from the start")
        mine = self.state_dict()
        differ = [k for k in _RESUME_FIELDS if state["config"].get(k) != mine["config"][k]]
        if state["schedule_steps"] != self.sched.T_max:
            differ.append(f"schedule ({state['schedule_steps']} vs {self.sched.T_max} steps)")
        if differ:
            raise UserError(f"checkpoint {str(path)!r} was made with different training "
                            f"settings ({', '.join(differ)}); continuing it would not equal "
                            "straight training: delete it or use the same settings")
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.state_dict(), tmp)
        os.replace(tmp, path)  # a crash mid-save leaves the previous checkpoint intact


def _train_steps(run: _Run, data: Splits, device: torch.device) -> float:
    """Run steps run.step .. run.total_steps; data order depends only on (seed, epoch), so
    a resumed run sees exactly the batches a straight run would."""
    config, model = run.config, run.model
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    last_loss, order, order_epoch = math.nan, None, -1
    model.train()
    while run.step < run.total_steps:
        epoch, offset = divmod(run.step, run.steps_per_epoch)
        if epoch != order_epoch:
            torch.manual_seed(config.seed * 100_003 + epoch)  # dropout etc., per epoch
            order = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(
                config.seed * 100_003 + epoch))
            order_epoch = epoch
        idx = order[offset * config.batch_size:(offset + 1) * config.batch_size]
        x, y = data.x_train[idx].to(device), data.y_train[idx].to(device)
        with _autocast(config, device):
            loss = loss_fn(model(x), y)
        if not torch.isfinite(loss):
            raise Diverged(f"loss became {loss.item()} at step {run.step}")
        run.opt.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()
        run.scaler.step(run.opt)
        run.scaler.update()
        run.sched.step()
        run.step += 1
        last_loss = loss.item()
    return last_loss


def train_and_evaluate(model: nn.Module, data: Splits, config: TrainConfig,
                       checkpoint: str | Path | None = None,
                       resume_from: str | Path | None = None) -> TrainResult:
    """Train `model` to `config`'s budget on data's train split; report validation accuracy.

    Training continues from `resume_from` (default: `checkpoint`) when that file exists; if
    it already reached the budget, only evaluation runs. The state is saved to `checkpoint`
    when given. Deterministic on CPU for a fixed seed. Raises `Diverged` on a non-finite loss.
    """
    start = time.perf_counter()
    device = resolve_device(config.device)
    model.to(device)
    run = _Run(model, config, device, max(1, math.ceil(len(data.x_train) / config.batch_size)))
    path = Path(checkpoint) if checkpoint is not None else None
    source = Path(resume_from) if resume_from is not None else path
    if source is not None and source.is_file():
        run.load(source)
    resumed = run.step
    last_loss = _train_steps(run, data, device) if run.step < run.total_steps else math.nan
    if path is not None and (run.step > resumed or source != path):
        run.save(path)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    val = accuracy(model, data.x_val, data.y_val)
    return TrainResult(val, last_loss, run.step / run.steps_per_epoch,
                       time.perf_counter() - start, run.step, resumed)
