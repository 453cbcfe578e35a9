"""Recursive gated convolution gnConv (Rao et al. 2022, HorNet, Sec. 3.1).

The op is the gnConv spatial mixer alone, a drop-in for a conv; the HorNet block's
LayerNorm, MLP and layer scales belong to the network that uses it. Stride and width
changes use the ConvNeXt-style `Downsample` (LayerNorm + s x s stride-s conv) first, as
HorNet shares ConvNeXt's downsampling layers; gnConv then runs on c_out channels. There
is no BN, so the builders' `affine` flag has nothing to switch.
"""
from __future__ import annotations

import torch
from torch import nn

from .convnext import with_downsample
from .registry import register_op
from .spec import OpSpec

__all__ = ["GnConv", "GNCONV_ORDERS"]

GNCONV_ORDERS = (2, 3)
_SCALE = 1.0 / 3.0  # HorNet models scale the depthwise output by s = 1/3


class GnConv(nn.Module):
    """Order-n recursive gated conv; (B, C, H, W) -> same, C divisible by 2^(n-1).

    d = [C/2^(n-1), ..., C/2, C]; proj_in 1x1 C -> 2C split into p_0 (d_0) and q (sum d);
    q -> depthwise kxk (bias) * s, split into q_0..q_{n-1}; p_1 = p_0 * q_0,
    p_{k+1} = g_k(p_k) * q_k with g_k a 1x1 conv d_{k-1} -> d_k; proj_out 1x1 C -> C.
    All 1x1 convs have biases (Rao et al. 2022, HorNet Sec. 3.1, Eq. 3-5).
    """

    def __init__(self, channels: int, order: int, kernel: int = 7, scale: float = _SCALE) -> None:
        super().__init__()
        if order < 1 or channels % 2 ** (order - 1):
            raise ValueError(f"gnConv of order {order} needs channels divisible by "
                             f"{2 ** (order - 1)}, got {channels}")
        self.dims = [channels // 2 ** i for i in range(order)][::-1]
        self.scale = scale
        total = sum(self.dims)
        self.proj_in = nn.Conv2d(channels, 2 * channels, 1)
        self.dwconv = nn.Conv2d(total, total, kernel, padding=kernel // 2, groups=total)
        self.pws = nn.ModuleList(nn.Conv2d(self.dims[i], self.dims[i + 1], 1)
                                 for i in range(order - 1))
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p, q = torch.split(self.proj_in(x), (self.dims[0], sum(self.dims)), dim=1)
        gates = torch.split(self.dwconv(q) * self.scale, self.dims, dim=1)
        p = p * gates[0]
        for pw, gate in zip(self.pws, gates[1:]):
            p = pw(p) * gate
        return self.proj_out(p)


def _register(order: int) -> None:
    def builder(spec: OpSpec, c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
        return with_downsample(GnConv(c_out, order, spec.kernel or 7), c_in, c_out, stride)

    builder.__name__ = f"gnconv_o{order}"
    builder.__doc__ = (f"HorNet gnConv of order {order}, kxk depthwise (7 by default) "
                       "(Rao et al. 2022, Sec. 3.1).")
    register_op(f"gnconv_o{order}", examples=(f"gnconv_o{order}",), kernel=(3, 5, 7))(builder)


# The spec grammar has no order token, so each order is its own family ("gnconv_o2").
for _order in GNCONV_ORDERS:
    _register(_order)
del _order
