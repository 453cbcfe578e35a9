"""Supernet checkpoints: weights, optimizers, arch params, RNG, epoch; atomic, checked.

A checkpoint names the supernet it belongs to (space, resolved options, candidates).
Loading one into another supernet, or resuming a different training setup from it,
raises `UserError` before anything is written, so a checkpoint is never overwritten by
an unrelated run.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from search_spaces.errors import UserError
from search_spaces.supernet import Supernet, build_supernet, fingerprint_difference

from .config import OneShotConfig, oneshot_config

__all__ = ["CHECKPOINT_FORMAT", "save_checkpoint", "read_checkpoint", "check_checkpoint",
           "load_supernet"]

CHECKPOINT_FORMAT = "frontier-nas/supernet-checkpoint/1"


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write `payload` atomically (temp file, fsync, rename): a kill leaves the old one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save({"format": CHECKPOINT_FORMAT, **payload}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint file, or raise UserError saying why it is not one."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"supernet checkpoint {str(path)!r} does not exist")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # pickle, zip or version errors all mean "not ours"
        raise UserError(f"{str(path)!r} is not a readable supernet checkpoint "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise UserError(f"{str(path)!r} is not a frontier-nas supernet checkpoint")
    return data


def check_checkpoint(data: dict, supernet: Supernet | dict, path: str | Path,
                     config: OneShotConfig | None = None) -> None:
    """Raise UserError unless checkpoint `data` belongs to `supernet` (a Supernet or its
    fingerprint) and, when `config` is given, to the same training setup up to
    RESUMABLE fields."""
    current = supernet if isinstance(supernet, dict) else supernet.fingerprint()
    diffs = fingerprint_difference(data["fingerprint"], current)
    if diffs:
        raise UserError(f"checkpoint {str(path)!r} is from another supernet "
                        f"({'; '.join(diffs)}); nothing was loaded or overwritten")
    if config is not None:
        saved = oneshot_config(data["config"])
        diff = saved.difference(config)
        if diff:
            raise UserError(f"checkpoint {str(path)!r} was trained with other settings "
                            f"({'; '.join(diff)}); refusing to resume (nothing was "
                            "overwritten); use another checkpoint path")


def load_supernet(path: str | Path, space=None,
                  map_location: str | torch.device = "cpu") -> tuple[Supernet, dict]:
    """(supernet with the checkpoint's weights, checkpoint). The supernet is rebuilt from
    the checkpoint's own space and options, or checked against `space` when given."""
    from search_spaces import get_space

    data = read_checkpoint(path, map_location)
    if space is None:
        fp = data["fingerprint"]
        space = get_space(fp["space"], **fp["options"])
    supernet = build_supernet(space)
    check_checkpoint(data, supernet, path)
    supernet.load_state_dict(data["model"])
    return supernet.to(map_location), data
