"""Deterministic datasets: sklearn digits (offline, bundled), synthetic, CIFAR-10/100
read from the standard python-pickle batches in a folder the user points to, and your
own data: `npz` / `npy` arrays or an `image_folder` (trainers.userdata).

Every dataset is split once, by a fixed seed, into train / validation / test; search
evaluators only ever see train and validation (the test split is held out). Normalisation
statistics come from the train split only.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from search_spaces.errors import UserError, unknown_choice

from .splits import Splits, stratified_split
from .userdata import USER_DATASETS, load_user_dataset, parse_data_options

__all__ = ["Splits", "load_dataset", "DATASETS", "fit_images", "sample_batch"]


def _to_splits(x: np.ndarray, y: np.ndarray, seed: int, val: float, test: float,
               size: int | None, num_classes: int) -> Splits:
    idx = stratified_split(x, y, seed, val, test)
    mean, std = x[idx["train"]].mean(), x[idx["train"]].std() + 1e-8
    tensors = {}
    for name, rows in idx.items():
        xt = torch.from_numpy(((x[rows] - mean) / std).astype(np.float32))
        if size is not None and xt.shape[-1] != size:
            xt = F.interpolate(xt, size=(size, size), mode="bilinear", align_corners=False)
        tensors[name] = (xt, torch.from_numpy(y[rows].astype(np.int64)))
    return Splits(*tensors["train"], *tensors["val"], *tensors["test"], num_classes=num_classes)


def _digits(seed: int, size: int | None) -> Splits:
    """sklearn's 8x8 handwritten digits (1,797 images, 10 classes), bundled: no download."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.data.reshape(-1, 1, 8, 8).astype(np.float32)
    return _to_splits(x, bunch.target, seed, 0.2, 0.2, size, 10)


def _synthetic(seed: int, size: int | None) -> Splits:
    """Random class-conditional blobs (3 channels), for smoke runs."""
    rng = np.random.default_rng(1234)
    side = size or 16
    centres = rng.normal(size=(10, 3, side, side)).astype(np.float32)
    y = np.repeat(np.arange(10), 60)
    x = centres[y] + rng.normal(scale=1.5, size=(len(y), 3, side, side)).astype(np.float32)
    return _to_splits(x, y, seed, 0.2, 0.2, None, 10)


def _cifar10(seed: int, size: int | None, data_dir: str | None) -> Splits:
    """CIFAR-10 (Krizhevsky 2009) from data_batch_1..5 + test_batch in `data_dir`."""
    from .cifar import read_cifar

    return read_cifar("cifar10", data_dir, seed, size)


def _cifar100(seed: int, size: int | None, data_dir: str | None) -> Splits:
    """CIFAR-100 (fine labels) from train + test in `data_dir`."""
    from .cifar import read_cifar

    return read_cifar("cifar100", data_dir, seed, size)


DATASETS = {"digits": _digits, "synthetic": _synthetic, "cifar10": _cifar10,
            "cifar100": _cifar100, **dict.fromkeys(USER_DATASETS, load_user_dataset)}
NEEDS_DIR = ("cifar10", "cifar100") + USER_DATASETS


def load_dataset(name: str, seed: int = 0, size: int | None = None,
                 data_dir: str | None = None, data=None) -> Splits:
    """Load dataset `name`, split by `seed`, optionally resized to size x size.

    CIFAR-10/100 are read from `data_dir` (a folder holding the python-pickle batches);
    npz / npy / image_folder from the file or folder `data_dir`, with reader options
    `data` (a mapping or `trainers.userdata.DataOptions`). Cached per process.
    """
    if name not in DATASETS:
        raise unknown_choice("dataset", name, DATASETS)
    if size is not None and not (4 <= size <= 512):
        raise UserError(f"image size must be between 4 and 512 pixels, got {size}")
    if name not in USER_DATASETS:
        if data:
            raise UserError(f"evaluator option 'data' is for datasets "
                            f"{', '.join(USER_DATASETS)}, not {name!r}")
        return _load_cached(name, seed, size, data_dir, None)
    return _load_cached(name, seed, size, data_dir, parse_data_options(data))


@functools.lru_cache(maxsize=8)
def _load_cached(name: str, seed: int, size: int | None, data_dir: str | None,
                 data) -> Splits:
    if name in USER_DATASETS:
        return load_user_dataset(name, seed, size, data_dir, data)
    if name in NEEDS_DIR:
        return DATASETS[name](seed, size, data_dir)
    return DATASETS[name](seed, size)


def fit_images(x: torch.Tensor, input_size) -> torch.Tensor:
    """Adapt NCHW images to a network's (C, H, W): bilinear resize, and grey images
    replicated to C channels (e.g. digits 1x8x8 -> 3x32x32). Other channel counts that
    differ raise `UserError`."""
    c, h, w = (int(v) for v in input_size)
    if x.shape[1] != c:
        if x.shape[1] != 1:
            raise UserError(f"images have {x.shape[1]} channels but the network takes {c}; "
                            "only 1-channel (grey) images are replicated to more channels")
        x = x.expand(-1, c, -1, -1)
    if tuple(x.shape[2:]) != (h, w):
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    return x.contiguous()


def sample_batch(data: Splits, batch_size: int, seed: int = 0,
                 input_size=None) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random batch of the train split (never validation or test), fitted to
    `input_size` when given."""
    if batch_size < 1:
        raise UserError(f"batch size must be at least 1, got {batch_size}")
    generator = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(data.x_train), generator=generator)[:batch_size]
    x = data.x_train[idx]
    return (fit_images(x, input_size) if input_size is not None else x), data.y_train[idx]
