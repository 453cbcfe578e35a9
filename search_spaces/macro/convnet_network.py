"""The convnet network: stem, four stages (downsample + blocks), head (Liu et al. 2022,
ConvNeXt macro design, Sec. 2.2), built from a resolved `StagePlan` list.

State keys: `stem.*`, `stages.<i>.downsample.*`, `stages.<i>.blocks.<j>.*`, `head.*`;
the supernet relies on them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .convnet_blocks import BlockSpec, build_block
from .convnet_mixers import MixerContext
from .convnet_stems import build_downsample, build_head, build_stem

__all__ = ["StagePlan", "ConvNetStage", "ConvNetNetwork", "LAYOUTS"]

#: stride layouts: (stride of each stem step, stride of each stage's downsampling)
LAYOUTS = {
    "imagenet": (2, (1, 2, 2, 2)),   # 224 -> 56 (stride 4; LSNet 8) -> 7
    "cifar": (1, (1, 2, 2, 2)),      # 32 -> 32 -> 4
    "digits": (1, (1, 1, 2, 2)),     # 8 -> 8 -> 2
}


@dataclass(frozen=True)
class StagePlan:
    """One stage: input and output width, downsampling stride, grid after it, blocks."""

    c_in: int
    c_out: int
    stride: int
    resolution: tuple[int, int]
    blocks: tuple[BlockSpec, ...]


class ConvNetStage(nn.Module):
    """Downsampling layer (Identity in stage 1 at equal width), then the blocks."""

    def __init__(self, downsample: nn.Module, blocks: list[nn.Module]) -> None:
        super().__init__()
        self.downsample = downsample
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.downsample(x))


class ConvNetNetwork(nn.Module):
    """Stem, stages, head. Shapes: (N, C, H, W) -> (N, num_classes)."""

    def __init__(self, style: str, block_style: str, in_channels: int, stem_strides: tuple,
                 plans: list[StagePlan], num_classes: int, heads: tuple[int, ...],
                 key_dim: int) -> None:
        super().__init__()
        self.stem = build_stem(style, in_channels, plans[0].c_in, stem_strides)
        self.stages = nn.ModuleList()
        for i, plan in enumerate(plans):
            ctx = MixerContext(plan.c_out, plan.resolution, True, heads[i], key_dim)
            self.stages.append(ConvNetStage(
                build_downsample(style, plan.c_in, plan.c_out, plan.stride),
                [build_block(block_style, spec, ctx) for spec in plan.blocks]))
        self.head = build_head(style, plans[-1].c_out, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))


def stage_grids(size: tuple[int, int], stem_stride: int, strides: tuple[int, ...]
                ) -> list[tuple[int, int]]:
    """The (H, W) grid of each stage: stride-s layers give ceil(H/s)."""
    h, w = math.ceil(size[0] / stem_stride), math.ceil(size[1] / stem_stride)
    grids = []
    for s in strides:
        h, w = math.ceil(h / s), math.ceil(w / s)
        grids.append((h, w))
    return grids
