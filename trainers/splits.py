"""Dataset splits shared by every reader: the `Splits` record and the stratified split."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Splits", "stratified_split"]


@dataclass(frozen=True)
class Splits:
    """Normalised NCHW float tensors and int64 labels for each split."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    @property
    def input_size(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])


def stratified_split(x: np.ndarray, y: np.ndarray, seed: int, val: float, test: float):
    """Stratified split: per class, shuffle then cut test, validation, train."""
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_test, n_val = int(round(len(idx) * test)), int(round(len(idx) * val))
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test:n_test + n_val])
        parts["train"].append(idx[n_test + n_val:])
    return {k: np.sort(np.concatenate(v)) for k, v in parts.items()}
