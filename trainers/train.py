"""Short training of a candidate network (deterministic on CPU, AMP on CUDA, resumable).

A budget is N epochs or N steps; SGD (Nesterov) or AdamW with a cosine schedule over
`schedule` units (default: the budget itself), an optional linear warmup (Goyal et al.
2017, Sec. 2.2), label smoothing (Szegedy et al. 2016, Sec. 7), drop-path ramped linearly
over the epochs and an auxiliary-head loss (DARTS' evaluation recipe, Liu et al. 2019,
Sec. A.1.2) for networks that have them. A checkpoint
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
from typing import Callable

import torch
from torch import nn

from search_spaces.errors import UserError, unknown_choice

from .data import Splits

__all__ = ["TrainConfig", "TrainResult", "TrainingRun", "Diverged", "train_and_evaluate",
           "train_steps", "accuracy", "resolve_device"]

OPTIMIZERS, AMP_MODES, DEVICES = ("sgd", "adamw"), ("off", "bf16", "fp16"), ("cpu", "cuda", "auto")
# fields a checkpoint must share with the run that continues it
_RESUME_FIELDS = ("batch_size", "optimizer", "lr", "momentum", "weight_decay",
                  "label_smoothing", "seed", "amp", "warmup", "drop_path", "aux_weight")


class Diverged(RuntimeError):
    """Training produced a non-finite loss."""


@dataclass(frozen=True)
class TrainConfig:
    """Budget, optimiser and schedule of a short training run (validated on construction).

    epochs / steps: the budget (steps wins when > 0); schedule: cosine length in the same
    unit (0 = the budget); warmup: linear warmup length in that unit (then cosine);
    amp: off | bf16 | fp16 autocast (fp16 with a GradScaler on CUDA); device: cpu | cuda |
    auto; drop_path: the network's drop-path probability at the last epoch (ramped from 0;
    needs a `drop_path_prob` attribute); aux_weight: weight of the auxiliary-head loss
    (needs `forward_with_aux`).
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
    warmup: int = 0
    drop_path: float = 0.0
    aux_weight: float = 0.0

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
        if not 0 <= self.warmup < (self.schedule or self.budget):
            raise UserError(f"training warmup ({self.warmup} {self.unit}) must be >= 0 and "
                            f"shorter than the schedule ({self.schedule or self.budget})")
        if not 0 <= self.drop_path < 1 or self.aux_weight < 0:
            raise UserError(f"training needs 0 <= drop_path < 1 and aux_weight >= 0; got "
                            f"{self.drop_path}, {self.aux_weight}")

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


def _warmup_cosine(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """LR factor: linear up to 1 over `warmup_steps`, then cosine to 0 at `total_steps`."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / (total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * progress))

    return factor


class TrainingRun:
    """Optimizer, scheduler and scaler of one training run, saved and loaded together."""

    def __init__(self, model: nn.Module, config: TrainConfig, device: torch.device,
                 steps_per_epoch: int) -> None:
        self.model, self.config = model, config
        self.steps_per_epoch = steps_per_epoch
        per_unit = 1 if config.steps else steps_per_epoch
        self.total_steps = config.budget * per_unit
        self.opt = _optimizer(model, config)
        self.schedule_steps = max(1, (config.schedule or config.budget) * per_unit)
        if config.warmup:  # without warmup, the recursive cosine the search has always used
            self.sched = torch.optim.lr_scheduler.LambdaLR(
                self.opt, _warmup_cosine(config.warmup * per_unit, self.schedule_steps))
        else:
            self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt,
                                                                    self.schedule_steps)
        self.scaler = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16"
                                           and device.type == "cuda")
        self.step = 0

    @classmethod
    def for_data(cls, model: nn.Module, config: TrainConfig, device: torch.device,
                 data: Splits) -> "TrainingRun":
        """A run over data's train split in batches of config.batch_size."""
        return cls(model, config, device, max(1, math.ceil(len(data.x_train)
                                                           / config.batch_size)))

    @property
    def epoch(self) -> float:
        return self.step / self.steps_per_epoch

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                "scheduler": self.sched.state_dict(), "scaler": self.scaler.state_dict(),
                "step": self.step, "epoch": self.epoch, "schedule_steps": self.schedule_steps,
                "config": {k: asdict(self.config)[k] for k in _RESUME_FIELDS}}

    def load(self, path: Path) -> dict:
        """Continue from the checkpoint at `path`; returns everything it holds."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # truncated, garbage or unsafe pickle
            state = type(exc).__name__
        if not isinstance(state, dict) or not {"config", "schedule_steps"} <= set(state):
            reason = state if isinstance(state, str) else "not a training checkpoint"
            raise UserError(f"checkpoint {str(path)!r} is unreadable ({reason}); delete it to "
                            "train this trial from the start")
        defaults = asdict(TrainConfig())  # fields older checkpoints do not hold
        mine = self.state_dict()
        differ = [k for k in _RESUME_FIELDS
                  if state["config"].get(k, defaults[k]) != mine["config"][k]]
        if state["schedule_steps"] != self.schedule_steps:
            differ.append(f"schedule ({state['schedule_steps']} vs {self.schedule_steps} "
                          "steps)")
        if differ:
            raise UserError(f"checkpoint {str(path)!r} was made with different training "
                            f"settings ({', '.join(differ)}); continuing it would not equal "
                            "straight training: delete it or use the same settings")
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])
        return state

    def save(self, path: Path, extra: dict | None = None) -> None:
        """Write the state (plus `extra` entries) atomically to `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save({**self.state_dict(), **(extra or {})}, tmp)
        os.replace(tmp, path)  # a crash mid-save leaves the previous checkpoint intact


def _set_drop_path(model: nn.Module, config: TrainConfig, epoch: int, epochs: float) -> None:
    """DARTS' schedule: drop_path_prob = drop_path * epoch / epochs (0 at the start)."""
    if config.drop_path:
        model.drop_path_prob = config.drop_path * epoch / epochs


def _loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module,
          aux_weight: float) -> torch.Tensor:
    """Cross-entropy of the logits, plus `aux_weight` times that of the auxiliary head's."""
    if not aux_weight:
        return loss_fn(model(x), y)
    logits, logits_aux = model.forward_with_aux(x)
    loss = loss_fn(logits, y)
    return loss if logits_aux is None else loss + aux_weight * loss_fn(logits_aux, y)


def train_steps(run: TrainingRun, data: Splits, device: torch.device,
                until: int | None = None,
                on_step: Callable[[TrainingRun, float], None] | None = None) -> float:
    """Run steps run.step .. `until` (default: run.total_steps), calling `on_step(run,
    loss)` after each; data order depends only on (seed, epoch), so a resumed run sees
    exactly the batches a straight run would."""
    config, model = run.config, run.model
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    last_loss, order, order_epoch = math.nan, None, -1
    stop = run.total_steps if until is None else min(until, run.total_steps)
    model.train()
    while run.step < stop:
        epoch, offset = divmod(run.step, run.steps_per_epoch)
        if epoch != order_epoch:
            torch.manual_seed(config.seed * 100_003 + epoch)  # dropout etc., per epoch
            order = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(
                config.seed * 100_003 + epoch))
            order_epoch = epoch
            _set_drop_path(model, config, epoch, run.schedule_steps / run.steps_per_epoch)
        idx = order[offset * config.batch_size:(offset + 1) * config.batch_size]
        x, y = data.x_train[idx].to(device), data.y_train[idx].to(device)
        with _autocast(config, device):
            loss = _loss(model, x, y, loss_fn, config.aux_weight)
        if not torch.isfinite(loss):
            raise Diverged(f"loss became {loss.item()} at step {run.step}")
        run.opt.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()
        run.scaler.step(run.opt)
        run.scaler.update()
        run.sched.step()
        run.step += 1
        last_loss = loss.item()
        if on_step is not None:
            on_step(run, last_loss)
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
    run = TrainingRun.for_data(model, config, device, data)
    path = Path(checkpoint) if checkpoint is not None else None
    source = Path(resume_from) if resume_from is not None else path
    if source is not None and source.is_file():
        run.load(source)
    resumed = run.step
    last_loss = train_steps(run, data, device) if run.step < run.total_steps else math.nan
    if path is not None and (run.step > resumed or source != path):
        run.save(path)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    val = accuracy(model, data.x_val, data.y_val)
    return TrainResult(val, last_loss, run.epoch,
                       time.perf_counter() - start, run.step, resumed)
