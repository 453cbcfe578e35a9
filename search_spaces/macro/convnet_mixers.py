"""Token mixers of the convnet space: spatial ops (B, C, H, W) -> same, named by op specs.

Each family reuses the op library's module: `dw_k{K}` a depthwise conv (ConvNeXt's 7x7,
Liu et al. 2022); `replk_k{K}` RepLKNet's re-param large kernel with its small-kernel
branch (Ding et al. 2022); `unireplk_k{K}` UniRepLKNet's dilated re-param block (Ding et
al. 2024); `gnconv_o{N}` HorNet's gnConv with a 7x7 depthwise conv (Rao et al. 2022);
`lsconv` LSNet's LS conv and `repvggdw` its RepVGG-style mixer, `attn` its last-stage
attention (Wang et al. 2025); `shift`, `pool` (PoolFormer's avg pool minus x, Yu et al.
2022), `pf_max_bottleneck` (Han et al. 2022) and `identity`, all parameter-free in space.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..errors import UserError, unknown_choice
from ..ops.hornet import GnConv
from ..ops.large_kernel import (REPLK_KERNELS, UNIREPLK_BRANCHES, DilatedReparamBlock,
                                ReparamLargeKernelConv)
from ..ops.ls_conv import LSConv, RepVGGDW
from ..ops.lsnet_attention import GridAttention
from ..ops.pf_layers import MaxBottleneck, Shift
from ..ops.spec import OpSpec, parse_spec

#: HorNet's stages use gnConv orders 2, 3, 4, 5 (the op registry offers 2 and 3 for 8-wide cells)
GNCONV_ORDERS = (2, 3, 4, 5)

__all__ = ["GNCONV_ORDERS", "MixerContext", "MixerEntry", "MIXERS", "build_mixer", "mixer_entry",
           "check_mixer_width", "PoolMixer"]


@dataclass(frozen=True)
class MixerContext:
    """What a mixer may depend on besides its spec: width, grid, the block's conventions."""

    channels: int
    resolution: tuple[int, int] = (1, 1)
    conv_bias: bool = True   # False where a BN follows the mixer (UniRepLKNet)
    heads: int = 4
    key_dim: int = 16


@dataclass(frozen=True)
class MixerEntry:
    """A mixer family: builder, allowed kernels, channel divisor, own residual path."""

    family: str
    build: Callable[[OpSpec, MixerContext], nn.Module]
    kernels: tuple[int, ...] = ()
    default_kernel: int | None = None
    divisor: int = 1
    residual: bool = False   # the module already adds its input (LSConv, RepVGGDW, ...)
    param_free: bool = False


class PoolMixer(nn.Module):
    """avg_pool_3x3(x) - x, stride 1, padding excluded from the mean (Yu et al. 2022,
    PoolFormer, Eq. 4). (B, C, H, W) -> same; no parameters."""

    def __init__(self, kernel: int = 3) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(kernel, 1, kernel // 2, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x) - x


def _dw(spec: OpSpec, ctx: MixerContext) -> nn.Module:
    k = spec.kernel or 7
    return nn.Conv2d(ctx.channels, ctx.channels, k, padding=k // 2, groups=ctx.channels,
                     bias=ctx.conv_bias)


def _replk(spec: OpSpec, ctx: MixerContext) -> nn.Module:
    k = spec.kernel or 31
    return ReparamLargeKernelConv(ctx.channels, k)


MIXERS: dict[str, MixerEntry] = {e.family: e for e in (
    MixerEntry("dw", _dw, REPLK_KERNELS, 7),
    MixerEntry("replk", _replk, REPLK_KERNELS, 31),
    MixerEntry("unireplk", lambda s, c: DilatedReparamBlock(c.channels, s.kernel or 13),
               tuple(sorted(UNIREPLK_BRANCHES)), 13),
    *(MixerEntry(f"gnconv_o{n}", lambda s, c, n=n: GnConv(c.channels, n, 7),
                 divisor=2 ** (n - 1)) for n in GNCONV_ORDERS),
    MixerEntry("lsconv", lambda s, c: LSConv(c.channels), divisor=8, residual=True),
    MixerEntry("repvggdw", lambda s, c: RepVGGDW(c.channels), residual=True),
    MixerEntry("attn", lambda s, c: GridAttention(c.channels, c.resolution, c.heads,
                                                  c.key_dim)),
    MixerEntry("shift", lambda s, c: Shift(1), param_free=True),
    MixerEntry("pool", lambda s, c: PoolMixer(3), param_free=True),
    MixerEntry("pf_max_bottleneck", lambda s, c: MaxBottleneck(c.channels, c.channels),
               divisor=4, residual=True),
    MixerEntry("identity", lambda s, c: nn.Identity(), param_free=True),
)}
_EXAMPLES = ("dw_k7", "replk_k31", "unireplk_k13", "gnconv_o3", "lsconv", "repvggdw", "attn",
             "shift", "pool", "pf_max_bottleneck", "identity")


def mixer_entry(name: str) -> tuple[MixerEntry, OpSpec]:
    """The family entry and parsed spec of a mixer name; UserError naming the allowed ones."""
    spec = parse_spec(name)
    if spec.family not in MIXERS:
        raise unknown_choice("convnet token mixer", name, _EXAMPLES)
    entry = MIXERS[spec.family]
    others = [o for o in ("expansion", "groups", "dilation", "stride")
              if getattr(spec, o) is not None]
    if others or (spec.kernel is not None and spec.kernel not in entry.kernels):
        allowed = (f"kernels {list(entry.kernels)}" if entry.kernels else "no options")
        raise UserError(f"convnet token mixer {name!r}: {spec.family!r} takes {allowed}")
    return entry, spec


def check_mixer_width(name: str, width: int) -> None:
    """UserError when mixer `name` cannot run on `width` channels (gnConv order n needs
    width divisible by 2^(n-1), LS conv by 8)."""
    entry, _ = mixer_entry(name)
    if width % entry.divisor:
        raise UserError(f"convnet token mixer {name!r} needs a width divisible by "
                        f"{entry.divisor}, but width {width} is among the choices; "
                        f"drop one of them or use multiples of {entry.divisor}")


def build_mixer(name: str, ctx: MixerContext) -> nn.Module:
    """The mixer module for `name` on `ctx.channels` channels."""
    entry, spec = mixer_entry(name)
    return entry.build(spec, ctx)
