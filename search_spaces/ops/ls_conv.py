"""LS convolution (Wang et al. 2025, "LSNet: See Large, Focus Small"; reference code
jameslahm/lsnet model/lsnet.py and model/ska.py).

LKP (large-kernel perception) predicts a 3x3 kernel per pixel for each of C/8 weight
groups; SKA (small-kernel aggregation) applies them, channel c using group c mod (C/8).
The reference implements SKA only as a Triton GPU kernel; here it is plain torch
(`F.unfold`), so it runs and differentiates on CPU.

Stride and width (our decision, following LSNet's own downsampling layer): when
stride is 2 a depthwise 3x3 stride-2 conv-BN runs first, and when c_in != c_out a 1x1
conv-BN maps to c_out; the LS conv then runs on c_out channels at the output resolution.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..reparam import conv_from_weights, fuse_conv_bn, merge_branches
from .conv_bn import ConvBN
from .registry import register_op
from .spec import OpSpec

__all__ = ["LKP", "LSConv", "RepVGGDW", "ska", "downsample_prefix", "lsconv", "repvggdw"]

_WEIGHT_GROUPS = 8  # C/8 kernel groups; LSNet `groups=8`


def ska(x: torch.Tensor, weights: torch.Tensor, kernel: int | None = None) -> torch.Tensor:
    """Small-kernel aggregation with per-pixel kernels (Wang et al. 2025, LSNet).

    y[b,c,h,w] = sum_{i,j} x[b, c, h+i-p, w+j-p] * W[b, c mod G, i*k+j, h, w], zero padded.
    x: (B, C, H, W); weights: (B, G, k*k, H, W) with C divisible by G. Returns (B, C, H, W).
    `kernel` is k (default: from the weights' shape; modules pass it, so a traced export
    does not compute it from a traced shape).
    """
    b, c, h, w = x.shape
    groups, taps = weights.shape[1], weights.shape[2]
    k = kernel if kernel is not None else int(round(taps ** 0.5))
    patches = F.unfold(x, k, padding=k // 2).view(b, c // groups, groups, taps, h, w)
    # Channel c = a*G + g lands at [a, g], so group g = c mod G, interleaved as in LSNet.
    return (patches * weights.unsqueeze(1)).sum(dim=3).view(b, c, h, w)


class LKP(nn.Module):
    """Large-kernel perception: x (B, C, H, W) -> per-pixel kernels (B, C/8, k*k, H, W).

    1x1 conv-BN C->C/2, ReLU, depthwise lks x lks conv-BN, 1x1 conv-BN, ReLU, 1x1 conv with
    bias to k*k*C/8, GroupNorm(C/8) (Wang et al. 2025, LSNet).
    """

    def __init__(self, channels: int, large_kernel: int = 7, small_kernel: int = 3,
                 affine: bool = True) -> None:
        super().__init__()
        half, groups = channels // 2, channels // _WEIGHT_GROUPS
        self.groups, self.small_kernel, self.taps = groups, small_kernel, small_kernel ** 2
        self.perceive = nn.Sequential(
            ConvBN(channels, half, 1, affine=affine), nn.ReLU(),
            ConvBN(half, half, large_kernel, groups=half, affine=affine),
            ConvBN(half, half, 1, affine=affine), nn.ReLU(),
        )
        self.to_kernels = nn.Conv2d(half, self.taps * groups, 1, bias=True)
        self.norm = nn.GroupNorm(groups, self.taps * groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.norm(self.to_kernels(self.perceive(x)))
        b, _, h, w = weights.shape
        return weights.view(b, self.groups, self.taps, h, w)


class LSConv(nn.Module):
    """y = BN(SKA(x, LKP(x))) + x (Wang et al. 2025, LSNet).

    (B, C, H, W) -> same; C must be divisible by 8.
    """

    def __init__(self, channels: int, large_kernel: int = 7, affine: bool = True) -> None:
        super().__init__()
        if channels % _WEIGHT_GROUPS or channels < _WEIGHT_GROUPS:
            raise ValueError(f"LSConv needs channels divisible by {_WEIGHT_GROUPS}, "
                             f"got {channels}")
        self.lkp = LKP(channels, large_kernel, affine=affine)
        self.bn = nn.BatchNorm2d(channels, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(ska(x, self.lkp(x), self.lkp.small_kernel)) + x


class RepVGGDW(nn.Module):
    """dw 3x3 conv-BN + dw 1x1 conv-BN + x, LSNet's even-block mixer (Wang et al. 2025;
    Ding et al. 2021, RepVGG). (B, C, H, W) -> same; `fuse()` gives one dw 3x3 conv."""

    reparam = True

    def __init__(self, channels: int, affine: bool = True) -> None:
        super().__init__()
        self.channels = channels
        self.conv = ConvBN(channels, channels, 3, groups=channels, affine=affine)
        self.conv1 = ConvBN(channels, channels, 1, groups=channels, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + self.conv1(x) + x

    def fuse(self) -> nn.Conv2d:
        """Both BNs folded; the 1x1 kernel and the identity (a centred 1) padded to 3x3."""
        eye = self.conv.conv.weight.new_ones(self.channels, 1, 1, 1)
        weight, bias = merge_branches([fuse_conv_bn(self.conv.conv, self.conv.bn),
                                       fuse_conv_bn(self.conv1.conv, self.conv1.bn),
                                       (eye, torch.zeros_like(eye).flatten())], 3)
        return conv_from_weights(weight, bias, groups=self.channels)


def downsample_prefix(c_in: int, c_out: int, stride: int, affine: bool) -> list[nn.Module]:
    """LSNet downsampling: dw 3x3 stride-s conv-BN if s > 1, then 1x1 conv-BN if widths differ."""
    layers: list[nn.Module] = []
    if stride > 1:
        layers.append(ConvBN(c_in, c_in, 3, stride, groups=c_in, affine=affine))
    if c_in != c_out:
        layers.append(ConvBN(c_in, c_out, 1, affine=affine))
    return layers


@register_op("lsconv", examples=("lsconv", "lsconv_k5"), kernel=(3, 5, 7, 9))
def lsconv(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """LSNet LS convolution; k sets the LKP depthwise kernel, 7 by default (Wang et al. 2025)."""
    conv = LSConv(c_out, spec.kernel or 7, affine)
    prefix = downsample_prefix(c_in, c_out, stride, affine)
    return nn.Sequential(*prefix, conv) if prefix else conv


@register_op("repvggdw", examples=("repvggdw",))
def repvggdw(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """LSNet RepVGGDW mixer: dw 3x3 + dw 1x1 conv-BN + identity (Wang et al. 2025)."""
    conv = RepVGGDW(c_out, affine)
    prefix = downsample_prefix(c_in, c_out, stride, affine)
    return nn.Sequential(*prefix, conv) if prefix else conv
