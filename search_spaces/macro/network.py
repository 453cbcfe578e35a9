"""A layer-wise network: stem conv, a sequence of op-library blocks, head, pool, classifier.

The shape every macro space builds (Wu et al., CVPR 2019, FBNet, Table 1; Tan et al.,
CVPR 2019, MnasNet, Fig. 4): a conv-BN-ReLU stem, blocks built from op spec strings by
`build_op`, an optional 1x1 conv-BN-ReLU head, global pooling and a Linear classifier.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..ops import build_op
from ..ops.inverted_residual import conv_bn

__all__ = ["LayerwiseNetwork", "Layer", "POOLS"]

#: (op spec, c_in, c_out, stride) of one block
Layer = tuple[str, int, int, int]
POOLS = {"avg": nn.AdaptiveAvgPool2d, "max": nn.AdaptiveMaxPool2d}


class LayerwiseNetwork(nn.Module):
    """stem -> blocks -> [1x1 head] -> global pool -> [dropout] -> Linear.

    Shapes: (N, in_channels, H, W) -> (N, num_classes). `head_channels` 0 leaves the head
    out (the classifier then reads the last block's channels).
    """

    def __init__(self, in_channels: int, stem: tuple[int, int, int], layers: Sequence[Layer],
                 head_channels: int, num_classes: int, pool: str = "avg",
                 dropout: float = 0.0) -> None:
        super().__init__()
        stem_channels, stem_kernel, stem_stride = stem
        self.stem = conv_bn(in_channels, stem_channels, stem_kernel, stem_stride)
        self.blocks = nn.Sequential(*(build_op(op, c_in, c_out, stride)
                                      for op, c_in, c_out, stride in layers))
        last = layers[-1][2] if layers else stem_channels
        self.head = conv_bn(last, head_channels, 1) if head_channels else nn.Identity()
        self.pool = POOLS[pool](1)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()
        self.classifier = nn.Linear(head_channels or last, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pool(self.forward_features(x)).flatten(1)))
