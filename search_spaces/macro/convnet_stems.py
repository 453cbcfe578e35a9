"""Stems, downsampling layers and heads of the convnet space's macro styles.

- "convnext" / "hornet": 4x4 stride-4 conv + LN; LN + 2x2 stride-2 conv; pool, LN, Linear
  (Liu et al. 2022, Sec. 2.2 and 2.6; Rao et al. 2022 share them).
- "unireplknet": 3x3 s2 conv (C/2), LN, GELU, 3x3 s2 conv, LN; 3x3 s2 conv + LN; pool,
  LN, Linear (Ding et al. 2024).
- "replknet": 3x3 s2 conv-BN-ReLU, dw 3x3, 1x1, dw 3x3 s2 (each conv-BN-ReLU); 1x1 then dw
  3x3 s2 conv-BN-ReLU; BN, pool, Linear (Ding et al. 2022, Sec. 4).
- "lsnet": three 3x3 s2 conv-BNs (C/4, C/2, C) with ReLUs between; dw 3x3 s2 conv-BN then
  1x1 conv-BN; pool, BN1d, Linear (Wang et al. 2025).
Small inputs: every stem step runs at the layout's stem strides (1 for CIFAR/digits); a
stride-1 patchify stem is a 3x3 conv. Stages downsample at the layout's strides.
"""
from __future__ import annotations

from torch import nn

from ..ops.block_layers import BNLinear
from ..ops.conv_bn import ConvBN
from ..ops.convnext import Downsample, LayerNorm2d
from ..ops.ls_conv import downsample_prefix

__all__ = ["build_stem", "build_downsample", "build_head", "stem_steps", "Head"]

#: how many stride-2 steps each style's ImageNet stem takes (the rest of its stride 4/8)
_STEM_STEPS = {"convnext": 1, "hornet": 1, "unireplknet": 2, "replknet": 2, "lsnet": 3}


def stem_steps(style: str) -> int:
    return _STEM_STEPS[style]


def _conv_bn_relu(c_in: int, c_out: int, k: int, s: int = 1, groups: int = 1) -> list:
    return [ConvBN(c_in, c_out, k, s, groups=groups), nn.ReLU()]


def build_stem(style: str, c_in: int, c: int, strides: tuple[int, ...]) -> nn.Module:
    """The stem c_in -> c at per-step `strides` (len `stem_steps(style)`)."""
    if style in ("convnext", "hornet"):
        s = strides[0] * 4 // 2 if strides[0] > 1 else 1  # one 4x4 stride-4 patchify step
        conv = nn.Conv2d(c_in, c, s, s) if s > 1 else nn.Conv2d(c_in, c, 3, 1, 1)
        return nn.Sequential(conv, LayerNorm2d(c))
    if style == "unireplknet":
        return nn.Sequential(nn.Conv2d(c_in, c // 2, 3, strides[0], 1), LayerNorm2d(c // 2),
                             nn.GELU(), nn.Conv2d(c // 2, c, 3, strides[1], 1), LayerNorm2d(c))
    if style == "replknet":
        return nn.Sequential(*_conv_bn_relu(c_in, c, 3, strides[0]),
                             *_conv_bn_relu(c, c, 3, groups=c), *_conv_bn_relu(c, c, 1),
                             *_conv_bn_relu(c, c, 3, strides[1], groups=c))
    if style == "lsnet":
        return nn.Sequential(ConvBN(c_in, c // 4, 3, strides[0]), nn.ReLU(),
                             ConvBN(c // 4, c // 2, 3, strides[1]), nn.ReLU(),
                             ConvBN(c // 2, c, 3, strides[2]))
    raise ValueError(f"unknown style {style!r}")


def build_downsample(style: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    """The layer between stages: c_in -> c_out at `stride` (Identity when nothing changes)."""
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    if style in ("convnext", "hornet"):
        return Downsample(c_in, c_out, stride)
    if style == "unireplknet":
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), LayerNorm2d(c_out))
    if style == "replknet":
        return nn.Sequential(*_conv_bn_relu(c_in, c_out, 1),
                             *_conv_bn_relu(c_out, c_out, 3, stride, groups=c_out))
    if style == "lsnet":
        return nn.Sequential(*downsample_prefix(c_in, c_out, stride, True))
    raise ValueError(f"unknown style {style!r}")


class Head(nn.Module):
    """Global average pool and classifier, with the style's norm before or after the pool.
    (B, C, H, W) -> (B, classes)."""

    def __init__(self, pre: nn.Module, post: nn.Module, classifier: nn.Module) -> None:
        super().__init__()
        self.pre, self.post, self.classifier = pre, post, classifier

    def forward(self, x):
        return self.classifier(self.post(self.pre(x).mean((2, 3))))


def build_head(style: str, c: int, classes: int) -> Head:
    if style == "replknet":
        return Head(nn.BatchNorm2d(c), nn.Identity(), nn.Linear(c, classes))
    if style == "lsnet":
        return Head(nn.Identity(), nn.Identity(), BNLinear(c, classes))
    return Head(nn.Identity(), nn.LayerNorm(c, eps=1e-6), nn.Linear(c, classes))
