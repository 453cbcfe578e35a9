"""Small NNI 3.0 model spaces for the interop tests (addressed as nni:tests.nas.nni_spaces:X).

Imported only where NNI is installed (tests/nas/test_nni_interop.py and its Ray workers).
"""
from __future__ import annotations

import nni
from nni.nas.nn.pytorch import (InputChoice, LayerChoice, ModelSpace, MutableConv2d,
                                MutableDropout, MutableLinear, Repeat)
from torch import nn


class TinyNet(ModelSpace):
    """Stem, two LayerChoices (named and indexed candidates), an InputChoice skip, head."""

    def __init__(self, channels: int = 8, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c), nn.ReLU())
        self.block1 = LayerChoice({"conv3x3": nn.Conv2d(c, c, 3, padding=1),
                                   "conv5x5": nn.Conv2d(c, c, 5, padding=2),
                                   "maxpool": nn.MaxPool2d(3, 1, 1)}, label="block1")
        self.block2 = LayerChoice([nn.Conv2d(c, c, 1), nn.Identity()], label="block2")
        self.skip = InputChoice(n_candidates=3, n_chosen=1, label="skip")
        self.head = nn.Linear(c, num_classes)

    def forward(self, x):
        x0 = self.stem(x)
        x1 = self.block1(x0)
        x2 = self.block2(x1)
        return self.head(self.skip([x0, x1, x2]).mean((2, 3)))


class FeatureNet(ModelSpace):
    """nni.choice in shapes (width), a float choice, Repeat depth, InputChoice n_chosen=2."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        width = nni.choice("width", [8, 16])
        self.stem = MutableConv2d(3, width, 3, padding=1)
        self.drop = MutableDropout(nni.choice("drop", [0.0, 0.25]))
        self.blocks = Repeat(lambda i: LayerChoice([nn.Identity(), nn.ReLU()], label=f"b{i}"),
                             nni.choice("depth", [1, 2, 3]))
        self.pair = InputChoice(n_candidates=3, n_chosen=2, label="pair")
        self.head = MutableLinear(width, num_classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(self.pair([x, self.drop(x), -x]).mean((2, 3)))


class ContinuousNet(ModelSpace):
    """A continuous mutable (nni.uniform): not searchable as categorical decisions."""

    def __init__(self):
        super().__init__()
        self.rate = self.add_mutable(nni.uniform("rate", 0.0, 0.5))
        self.fc = LayerChoice([nn.Linear(4, 2), nn.Linear(4, 2, bias=False)], label="fc")

    def forward(self, x):
        return self.fc(x)


class NotASpace(nn.Module):
    """A plain module: not an NNI ModelSpace."""
