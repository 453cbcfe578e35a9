"""ConvNeXt block (Liu et al. 2022, "A ConvNet for the 2020s", Sec. 2-3) and the
ConvNeXt-style downsampling shared with HorNet ops.

Stride and width (our decision, following ConvNeXt's own downsampling layer): when stride
is 2 or c_in != c_out, a channels-first LayerNorm then a conv with kernel = stride = s maps
c_in -> c_out (2x2 stride 2, or 1x1 at stride 1); odd sizes are zero-padded at the bottom
and right first, so the output is ceil(H/s) like the other ops. The block runs on c_out.
ConvNeXt has no BN (LayerNorms are always affine), so `affine` has nothing to switch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .block_layers import DropPath
from .registry import register_op
from .spec import OpSpec

__all__ = ["LayerNorm2d", "Downsample", "ConvNeXtBlock", "with_downsample", "convnext"]

_LN_EPS = 1e-6
_LAYER_SCALE_INIT = 1e-6


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over channels of a (B, C, H, W) tensor, eps 1e-6 (ConvNeXt channels_first)."""

    def __init__(self, channels: int, eps: float = _LN_EPS) -> None:
        super().__init__(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class Downsample(nn.Module):
    """LayerNorm2d, then an s x s stride-s conv c_in -> c_out (Liu et al. 2022, Sec. 2.6,
    separate downsampling layers). (B, c_in, H, W) -> (B, c_out, ceil(H/s), ceil(W/s))."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.norm = LayerNorm2d(c_in)
        self.conv = nn.Conv2d(c_in, c_out, stride, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        s = self.stride
        if s > 1 and (x.shape[-2] % s or x.shape[-1] % s):
            x = F.pad(x, (0, -x.shape[-1] % s, 0, -x.shape[-2] % s))
        return self.conv(x)


class ConvNeXtBlock(nn.Module):
    """dw kxk conv (bias) -> LayerNorm (channels-last) -> Linear 4C -> GELU -> Linear C ->
    layer scale (1e-6) -> drop path -> + x (Liu et al. 2022, Sec. 2.4-2.6, Fig. 4).

    `mixer` replaces the depthwise conv by another (B, C, H, W) -> same token mixer (the
    convnet space's searched slot); `expansion` is the MLP ratio. (B, C, H, W) -> same.
    """

    def __init__(self, channels: int, kernel: int = 7, expansion: int = 4,
                 mixer: nn.Module | None = None, drop_prob: float = 0.0,
                 layer_scale: float = _LAYER_SCALE_INIT) -> None:
        super().__init__()
        self.dwconv = mixer if mixer is not None else nn.Conv2d(
            channels, channels, kernel, padding=kernel // 2, groups=channels)
        self.norm = nn.LayerNorm(channels, eps=_LN_EPS)
        self.pwconv1 = nn.Linear(channels, expansion * channels)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(expansion * channels, channels)
        self.gamma = nn.Parameter(torch.full((channels,), layer_scale))
        self.drop_path = DropPath(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)  # channels-last for LayerNorm and Linear
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + self.drop_path((self.gamma * y).permute(0, 3, 1, 2))


def with_downsample(body: nn.Module, c_in: int, c_out: int, stride: int) -> nn.Module:
    """`body` (on c_out channels) preceded by a `Downsample` when stride or width changes."""
    if stride == 1 and c_in == c_out:
        return body
    return nn.Sequential(Downsample(c_in, c_out, stride), body)


@register_op("convnext", examples=("convnext_k7",), kernel=(3, 5, 7, 9, 11))
def convnext(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    """ConvNeXt block with a kxk depthwise conv, 7 by default (Liu et al. 2022, Sec. 2)."""
    return with_downsample(ConvNeXtBlock(c_out, spec.kernel or 7), c_in, c_out, stride)
