"""Final training of a discovered architecture at full budget, resumable after a kill.

The loop is trainers.train's (same optimizer, warmup + cosine schedule, label smoothing,
drop-path ramp, auxiliary loss, AMP, per-epoch data order), run one epoch at a time: after
each epoch the validation accuracy is measured and a checkpoint (model, optimizer,
scheduler, AMP scaler, RNG states, per-epoch history) replaces the previous one atomically.
A run killed at any point (even kill -9) continues from the last finished epoch and ends
with exactly the weights of an uninterrupted run on CPU. CPU float sums depend on the
number of intra-op threads, so a resumed run trains with the thread count the checkpoint
was made with.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from search_spaces.errors import UserError

from .data import Splits
from .train import TrainConfig, TrainingRun, accuracy, resolve_device, train_steps

__all__ = ["FinalResult", "final_train", "resolve_amp", "check_support", "deploy_state_dict",
           "CHECKPOINT_NAME", "AUX_PREFIX"]

CHECKPOINT_NAME = "checkpoint.pt"
AUX_PREFIX = "auxiliary_head."  # training-only head, left out of the deployed weights


@dataclass(frozen=True)
class FinalResult:
    val_accuracy: float
    test_accuracy: float
    epochs: int
    steps: int
    resumed_from_epoch: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


def resolve_amp(requested: str, device: torch.device) -> str:
    """The autocast mode to train with: off on CPU (AMP is a CUDA speed-up); on CUDA,
    'auto' is bf16 where the GPU supports it, else fp16 (with a GradScaler)."""
    if device.type != "cuda":
        return "off"
    if requested == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return requested


def check_support(model: nn.Module, config: TrainConfig, space_name: str) -> None:
    """UserError when drop-path or an auxiliary loss is asked of a network without them."""
    if config.drop_path and not hasattr(model, "drop_path_prob"):
        raise UserError(f"space {space_name!r} builds networks without drop-path; use "
                        "--drop-path 0")
    if config.aux_weight and getattr(model, "auxiliary_head", None) is None:
        raise UserError(f"space {space_name!r} built a network without an auxiliary head; "
                        "use --aux-weight 0 (or a space option that adds the head)")


def deploy_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The weights an eval-mode rebuild needs: everything but the auxiliary head."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()
            if not k.startswith(AUX_PREFIX)}


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _resume(run: TrainingRun, path: Path, job: Mapping[str, Any]
            ) -> tuple[list[dict[str, float]], int]:
    """Load `path` into `run` when it exists (refusing one made for another job); returns
    the per-epoch history and the intra-op thread count it was trained with."""
    if not path.is_file():
        return [], torch.get_num_threads()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: a bad input file
        raise UserError(f"checkpoint {str(path)!r} cannot be read ({exc}); delete it to "
                        "start over") from None
    if state.get("job") != dict(job):
        raise UserError(f"checkpoint {str(path)!r} belongs to another training job "
                        "(architecture, space options or data differ); use another --out "
                        "or delete it")
    run.load(path)
    _set_rng_state(state["rng"])
    return list(state["history"]), int(state.get("threads", torch.get_num_threads()))


def final_train(model: nn.Module, data: Splits, config: TrainConfig, out_dir: str | Path,
                job: Mapping[str, Any] | None = None,
                on_step: Callable[[int, int, float], None] | None = None,
                on_epoch: Callable[[dict[str, float]], None] | None = None) -> FinalResult:
    """Train `model` for config.epochs epochs, checkpointing to out_dir/checkpoint.pt.

    `job` (JSON-able: what is trained on what) is stored in the checkpoint; a checkpoint
    of another job is refused. on_step(step, total_steps, loss) and on_epoch(record, with
    the total under "epochs") report progress. Returns the validation and held-out test
    accuracy of the final weights.
    """
    if config.steps:
        raise UserError("final training counts its budget in epochs; set steps to 0")
    start = time.perf_counter()
    device = resolve_device(config.device)
    model.to(device)
    run = TrainingRun.for_data(model, config, device, data)
    path, job = Path(out_dir) / CHECKPOINT_NAME, dict(job or {})
    history, threads = _resume(run, path, job)
    resumed, threads_before = int(run.epoch), torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        _epochs(run, data, device, path, history,
                {"job": job, "threads": threads}, on_step, on_epoch)
    finally:
        torch.set_num_threads(threads_before)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    test = accuracy(model, data.x_test, data.y_test)
    return FinalResult(history[-1]["val_accuracy"], test, int(run.epoch), run.step, resumed,
                       time.perf_counter() - start, history)


def _epochs(run: TrainingRun, data: Splits, device: torch.device, path: Path,
            history: list[dict[str, float]], extra: dict[str, Any],
            on_step: Callable[[int, int, float], None] | None,
            on_epoch: Callable[[dict[str, float]], None] | None) -> None:
    """Train the remaining epochs; after each, validate and checkpoint."""
    losses: list[float] = []

    def after_step(r: TrainingRun, loss: float) -> None:
        losses.append(loss)
        if on_step is not None:
            on_step(r.step, r.total_steps, loss)

    while run.step < run.total_steps:
        epoch_start = time.perf_counter()
        losses.clear()
        train_steps(run, data, device, until=run.step + run.steps_per_epoch,
                    on_step=after_step)
        record = {"epoch": int(run.epoch), "train_loss": sum(losses) / len(losses),
                  "val_accuracy": accuracy(run.model, data.x_val, data.y_val),
                  "lr": run.opt.param_groups[0]["lr"],
                  "seconds": time.perf_counter() - epoch_start}
        history.append(record)
        run.save(path, {"rng": _rng_state(), "history": history, **extra})
        if on_epoch is not None:
            on_epoch({**record, "epochs": run.config.epochs})
