"""User arrays -> `Splits`: validation split, per-channel normalisation, resizing.

The split is `trainers.splits.stratified_split` (per class, seeded), unless a separate
validation set is given. uint8 images are scaled to 0..1 first; "auto" normalisation
takes each channel's mean and std over the train split only.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from search_spaces.errors import UserError

from ..splits import Splits, stratified_split
from .options import DataOptions

__all__ = ["assemble_splits", "Arrays"]

#: (images N x C x H x W, labels N, where they came from)
Arrays = tuple[np.ndarray, np.ndarray, str]


def _scaled(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)


def _statistics(x: np.ndarray, options: DataOptions, where: str):
    """Per-channel (mean, std) as (1, C, 1, 1) arrays, or None for 'none'."""
    channels = x.shape[1]
    if options.normalize == "none":
        return None
    if options.normalize == "auto":
        mean = np.array([_scaled(x[:, c]).mean(dtype=np.float64) for c in range(channels)])
        std = np.array([_scaled(x[:, c]).std(dtype=np.float64) for c in range(channels)])
        std = np.where(std > 0, std, 1.0)
    else:
        mean, std = (np.asarray(v, dtype=np.float64) for v in options.normalize)
        if len(mean) != channels:
            raise UserError(f"{where}: data.normalize gives {len(mean)} mean/std values but "
                            f"the images have {channels} channels")
    return mean.reshape(1, -1, 1, 1), std.reshape(1, -1, 1, 1)


def _tensor(x: np.ndarray, stats, size: int | None) -> torch.Tensor:
    x = _scaled(x)
    if stats is not None:
        x = ((x - stats[0]) / stats[1]).astype(np.float32)
    xt = torch.from_numpy(np.ascontiguousarray(x))
    if size is not None and tuple(xt.shape[2:]) != (size, size):
        xt = F.interpolate(xt, size=(size, size), mode="bilinear", align_corners=False)
    return xt


def _check_like(train: Arrays, other: Arrays, what: str) -> None:
    if train[0].shape[1:] != other[0].shape[1:]:
        raise UserError(f"{other[2]}: {what} images are {list(other[0].shape[1:])} (C, H, W) "
                        f"but the training images {list(train[0].shape[1:])}")


def assemble_splits(train: Arrays, val: Arrays | None, test: Arrays | None, seed: int,
                    options: DataOptions, size: int | None) -> Splits:
    """`Splits` of user data; `val` None: a stratified `options.val_fraction` of train."""
    x, y, where = train
    classes = np.unique(y)
    if len(classes) < 2:
        raise UserError(f"{where}: the labels hold {len(classes)} class ({classes.tolist()}); "
                        "a classifier needs at least 2")
    for other, what in ((val, "validation"), (test, "test")):
        if other is not None:
            _check_like(train, other, what)
    if val is None:
        idx = stratified_split(x, y, seed, options.val_fraction, 0.0)
        if not len(idx["val"]) or not len(idx["train"]):
            raise UserError(f"{where}: {len(y)} images are too few for a validation share of "
                            f"{options.val_fraction}; add images or set data.val")
        val = (x[idx["val"]], y[idx["val"]], where)
        x, y = x[idx["train"]], y[idx["train"]]
    empty = (x[:0], y[:0], where)
    test = test if test is not None else empty
    num_classes = int(max(part[1].max(initial=0) for part in ((x, y), val, test))) + 1
    stats = _statistics(x, options, where)
    parts = [(x, y), val[:2], test[:2]]
    tensors = [(_tensor(px, stats, size), torch.from_numpy(py)) for px, py in parts]
    return Splits(*tensors[0], *tensors[1], *tensors[2], num_classes=num_classes)
