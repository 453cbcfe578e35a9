"""Shared fixtures for trainers tests: tiny networks and a CIFAR folder in pickle format."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch import nn

from search_spaces import get_space


def tiny_space(**options):
    """NB201 at 4 channels, 1 cell per stage, on 3x8x8 inputs: milliseconds per pass."""
    return get_space("nb201", **{"channels": 4, "cells": 1, "input_size": (3, 8, 8),
                                 **options})


class RepBlock(nn.Module):
    """A RepVGG-style re-parameterisable block (Ding et al. 2021): 3x3+BN, 1x1+BN and a
    BN identity branch in training; `fuse()` returns the deploy form, one 3x3 conv + ReLU
    (the `reparam` protocol of search_spaces.reparam)."""

    reparam = True

    def __init__(self, c: int) -> None:
        super().__init__()
        self.k3 = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        self.k1 = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))
        self.idn = nn.BatchNorm2d(c)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.k3(x) + self.k1(x) + self.idn(x))

    @staticmethod
    def _kernel(conv_w, bn):
        std = (bn.running_var + bn.eps).sqrt()
        return conv_w * (bn.weight / std).reshape(-1, 1, 1, 1), bn.bias - bn.running_mean * bn.weight / std

    def fuse(self) -> nn.Module:
        c = self.idn.num_features
        k3, b3 = self._kernel(self.k3[0].weight, self.k3[1])
        k1, b1 = self._kernel(nn.functional.pad(self.k1[0].weight, [1, 1, 1, 1]), self.k1[1])
        eye = torch.zeros(c, c, 3, 3)
        eye[range(c), range(c), 1, 1] = 1.0
        ki, bi = self._kernel(eye, self.idn)
        conv = nn.Conv2d(c, c, 3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(k3 + k1 + ki)
            conv.bias.copy_(b3 + b1 + bi)
        return nn.Sequential(conv, nn.ReLU())


class RepNet(nn.Module):
    def __init__(self, c: int = 4, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.blocks = nn.Sequential(RepBlock(c), RepBlock(c))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(c, classes)

    def forward(self, x):
        return self.head(self.pool(self.blocks(self.stem(x))).flatten(1))


class ParamFree(nn.Module):
    """No weights at all: pooling and ReLU; logits are the first 10 pooled values."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), nn.AvgPool2d(3, 1, 1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(2)

    def forward(self, x):
        return self.pool(self.body(x)).flatten(1)[:, :10]


def zoo() -> dict[str, nn.Module]:
    """Networks every proxy must score: NB201 cells incl. parameter-free ones, a re-param
    network, and a network without any weights."""
    space = tiny_space()
    archs = {
        "nb201_conv": "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|avg_pool_3x3~1|"
                      "nor_conv_3x3~2|",
        "nb201_none": "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "nb201_paramfree_ops": "|skip_connect~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|"
                               "avg_pool_3x3~1|skip_connect~2|",
    }
    nets = {}
    for name, arch in archs.items():
        torch.manual_seed(0)
        nets[name] = space.build(space.parse(arch))
    torch.manual_seed(0)
    nets["repvgg"] = RepNet()
    nets["no_weights"] = ParamFree()
    return nets


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 3, 8, 8, generator=g), torch.randint(0, 10, (4,), generator=g)


def write_cifar(folder, name: str = "cifar10", per_file: int = 20, row_bytes: int = 3072,
                seed: int = 0) -> None:
    """Write CIFAR batches exactly as the python-pickle release does: a dict with bytes
    keys b'batch_label', b'labels' (b'fine_labels' for CIFAR-100), b'data' (N x 3072
    uint8) and b'filenames', pickled with protocol 2."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = ([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]) if name == "cifar10" \
        else ["train", "test"]
    key, classes = (b"labels", 10) if name == "cifar10" else (b"fine_labels", 100)
    for f in files:
        labels = [int(v) for v in rng.integers(0, classes, per_file)]
        data = rng.integers(0, 256, (per_file, row_bytes), dtype=np.uint8)
        batch = {b"batch_label": f.encode(), key: labels, b"data": data,
                 b"filenames": [f"img{i}.png".encode() for i in range(per_file)]}
        if name == "cifar100":
            batch[b"coarse_labels"] = [v // 5 for v in labels]
        with open(folder / f, "wb") as fh:
            pickle.dump(batch, fh, protocol=2)
