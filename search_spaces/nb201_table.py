"""The shipped NAS-Bench-201 / NATS-Bench topology table (15,625 archs, 200-epoch accuracy).

Source and licence: search_spaces/data/README.md (NATS-Bench, Dong et al., TPAMI 2021).
"""
from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["load_table", "DATASET_COLUMNS", "arch_index", "accuracies"]

DATASET_COLUMNS = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "imagenet16": "ImageNetTestAccuracy200Epochs",
}


@functools.lru_cache(maxsize=1)
def load_table() -> pd.DataFrame:
    """The whole table; row index = benchmark arch index."""
    with resources.files("search_spaces.data").joinpath("nats_bench_tss.csv.gz").open("rb") as f:
        return pd.read_csv(f, compression="gzip")


@functools.lru_cache(maxsize=1)
def _index_by_string() -> dict[str, int]:
    return {s: i for i, s in enumerate(load_table()["ArchitectureString"])}


def arch_index(arch_string: str) -> int:
    """Benchmark index of an arch string (raises KeyError if absent)."""
    return _index_by_string()[arch_string]


@functools.lru_cache(maxsize=3)
def accuracies(dataset: str) -> np.ndarray:
    """Test accuracy (%) of every arch, by index, for one dataset."""
    return load_table()[DATASET_COLUMNS[dataset]].to_numpy(dtype=float)
