"""Validated options of supernet training (SPOS and FBNet DNAS).

Defaults: SPOS (Guo et al., ECCV 2020, Sec. 4: SGD, momentum 0.9, weight decay 4e-5)
with a cosine schedule; DNAS (Wu et al., CVPR 2019, FBNet, Sec. 4.1: theta by Adam at
lr 0.01, Gumbel-softmax temperature 5.0 annealed by exp(-0.045) per epoch, latency loss
alpha 0.2, beta 0.6; 80% of the training images train the weights, 20% theta).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

from search_spaces.errors import UserError, unknown_choice

__all__ = ["OneShotConfig", "oneshot_config", "RESUMABLE", "MODES"]

MODES = ("spos", "dnas")
#: fields that may change when training resumes from a checkpoint
RESUMABLE = ("epochs", "device", "world_size")


@dataclass(frozen=True)
class OneShotConfig:
    """How to train a supernet; `mode` spos (single path) or dnas (FBNet)."""

    mode: str = "spos"
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 4e-5
    label_smoothing: float = 0.0
    grad_clip: float = 5.0
    seed: int = 0
    dataset: str = "digits"
    image_size: int = 0
    limit_train: int = 0
    device: str = "cpu"
    world_size: int = 1
    # DNAS only
    arch_lr: float = 0.01
    arch_weight_decay: float = 5e-4
    tau0: float = 5.0
    tau_decay: float = 0.045
    alpha: float = 0.2
    beta: float = 0.6
    warmup_epochs: int = 0
    arch_fraction: float = 0.2
    latency_table: str = ""
    latency_unit_ms: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def difference(self, other: "OneShotConfig") -> list[str]:
        """Fields (other than RESUMABLE) that differ, as 'key: old -> new'."""
        a, b = self.to_dict(), other.to_dict()
        return [f"{k}: {a[k]!r} -> {b[k]!r}" for k in a if k not in RESUMABLE and a[k] != b[k]]


_POSITIVE = ("epochs", "batch_size", "world_size")
_NON_NEGATIVE = ("lr", "momentum", "weight_decay", "grad_clip", "arch_lr",
                 "arch_weight_decay", "tau_decay", "alpha", "beta", "limit_train",
                 "warmup_epochs", "image_size")


def oneshot_config(options: Mapping[str, Any] | None = None, **overrides: Any) -> OneShotConfig:
    """Validate a mapping of options (unknown keys, types, ranges) -> OneShotConfig."""
    defaults = OneShotConfig().to_dict()
    values = dict(defaults)
    for key, value in {**dict(options or {}), **overrides}.items():
        if key not in defaults:
            raise unknown_choice("supernet training option", key, defaults)
        kind = type(defaults[key])
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise UserError(f"supernet training option {key!r} must be {kind.__name__}, "
                            f"got {value!r}")
        values[key] = value
    config = OneShotConfig(**values)
    _check_ranges(config)
    return config


def _check_ranges(c: OneShotConfig) -> None:
    if c.mode not in MODES:
        raise unknown_choice("supernet training mode", c.mode, MODES)
    if c.device not in ("cpu", "cuda"):
        raise unknown_choice("supernet training device", c.device, ("cpu", "cuda"))
    for key in _POSITIVE:
        if getattr(c, key) < 1:
            raise UserError(f"supernet training option {key!r} must be >= 1, "
                            f"got {getattr(c, key)}")
    for key in _NON_NEGATIVE:
        if getattr(c, key) < 0:
            raise UserError(f"supernet training option {key!r} must be >= 0, "
                            f"got {getattr(c, key)}")
    if c.batch_size % c.world_size:
        raise UserError(f"supernet batch_size {c.batch_size} must be divisible by "
                        f"world_size {c.world_size} (each rank gets an equal share)")
    if not 0.0 < c.arch_fraction < 1.0:
        raise UserError(f"arch_fraction must be in (0, 1), got {c.arch_fraction}")
    if c.tau0 <= 0 or c.latency_unit_ms <= 0:
        raise UserError("tau0 and latency_unit_ms must be > 0")
