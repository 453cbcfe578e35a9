"""CIFAR-10/100 readers for the standard python-pickle batches (Krizhevsky 2009).

Layout (as extracted from cifar-10-python.tar.gz / cifar-100-python.tar.gz):
CIFAR-10: data_batch_1 .. data_batch_5 and test_batch; CIFAR-100: train and test. Each file
is a pickled dict with b"data" (N x 3072 uint8, channel-major 3x32x32 rows) and b"labels"
(CIFAR-10) or b"fine_labels" (CIFAR-100). Only numpy arrays and plain containers are
unpickled (a restricted unpickler), so a hostile file cannot run code.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from search_spaces.errors import UserError

from .splits import Splits, stratified_split

__all__ = ["read_cifar", "CIFAR_FILES", "VAL_FRACTION"]

VAL_FRACTION = 0.1  # carved from the training batches, stratified; test_batch stays apart

CIFAR_FILES = {
    # name: (train files, test files, label key, classes, archive, its folder)
    "cifar10": ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], "labels", 10,
                "cifar-10-python.tar.gz", "cifar-10-batches-py"),
    "cifar100": (["train"], ["test"], "fine_labels", 100,
                 "cifar-100-python.tar.gz", "cifar-100-python"),
}
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
            ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar")}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR batch")
        return super().find_class(module, name)


def _folder(name: str, data_dir: str | None) -> Path:
    train, test, _, _, archive, sub = CIFAR_FILES[name]
    how = (f"download {archive} from https://www.cs.toronto.edu/~kriz/cifar.html, extract "
           f"it, and pass the extracted folder ({sub}/)")
    if not data_dir:
        raise UserError(f"dataset {name!r} is read from a local folder: {how} as data_dir "
                        f"(CLI: --data {name}:DIR)")
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise UserError(f"{name} folder {str(path)!r} does not exist: {how}")
    if not (path / train[0]).is_file() and (path / sub / train[0]).is_file():
        path = path / sub
    missing = [f for f in train + test if not (path / f).is_file()]
    if missing:
        raise UserError(f"{name} folder {str(path)!r} lacks {', '.join(missing)} (it needs "
                        f"{', '.join(train + test)} side by side): {how}")
    return path


def _get(batch: dict, key: str):
    for k in (key.encode(), key):
        if k in batch:
            return batch[k]
    raise UserError(f"no {key!r} entry")


def _read_batch(path: Path, label_key: str, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images N x 3 x 32 x 32, int64 labels) of one pickle batch file."""
    try:
        with open(path, "rb") as f:
            batch = _ArraysOnly(f, encoding="bytes").load()
        if not isinstance(batch, dict):
            raise UserError("not a dict")
        data, labels = np.asarray(_get(batch, "data")), np.asarray(_get(batch, label_key))
    except (pickle.UnpicklingError, EOFError, UserError, ValueError, TypeError) as exc:
        raise UserError(f"{path} is not a CIFAR python-pickle batch "
                        f"(a dict with 'data' and '{label_key}'): {exc}") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise UserError(f"{path}: images must be 3x32x32 (rows of 3072 bytes), got data of "
                        f"shape {list(data.shape)}")
    if len(labels) != len(data) or (len(labels) and not 0 <= labels.min() <= labels.max()
                                    < classes):
        raise UserError(f"{path}: expected {len(data)} labels in 0..{classes - 1}, got "
                        f"{len(labels)} labels")
    return data.astype(np.uint8).reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _read_all(path: Path, files: list[str], label_key: str, classes: int):
    parts = [_read_batch(path / f, label_key, classes) for f in files]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _tensor(x: np.ndarray, mean: np.ndarray, std: np.ndarray, size: int | None) -> torch.Tensor:
    xt = torch.from_numpy(((x.astype(np.float32) / 255.0 - mean) / std).astype(np.float32))
    if size is not None and size != 32:
        xt = F.interpolate(xt, size=(size, size), mode="bilinear", align_corners=False)
    return xt


def read_cifar(name: str, data_dir: str | None, seed: int, size: int | None):
    """Splits of CIFAR `name`: train/val from the training batches (val stratified, by
    `seed`), test from the test batch; per-channel mean/std from the train split only."""
    train_files, test_files, label_key, classes, _, _ = CIFAR_FILES[name]
    path = _folder(name, data_dir)
    x, y = _read_all(path, train_files, label_key, classes)
    x_test, y_test = _read_all(path, test_files, label_key, classes)
    idx = stratified_split(x, y, seed, VAL_FRACTION, 0.0)
    train = x[idx["train"]].astype(np.float32) / 255.0
    mean = train.mean(axis=(0, 2, 3), keepdims=True)[0]
    std = train.std(axis=(0, 2, 3), keepdims=True)[0] + 1e-8
    return Splits(_tensor(x[idx["train"]], mean, std, size), torch.from_numpy(y[idx["train"]]),
                  _tensor(x[idx["val"]], mean, std, size), torch.from_numpy(y[idx["val"]]),
                  _tensor(x_test, mean, std, size), torch.from_numpy(y_test),
                  num_classes=classes)
