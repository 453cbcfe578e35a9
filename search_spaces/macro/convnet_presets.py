"""Published models as convnet presets: per stage (depth, width, mixers per block), the
MLP ratio, the macro style and LSNet's attention heads.

Sources (REFERENCES.md Sec. 4, 5, 6, 8): ConvNeXt-T/S/B (facebookresearch/ConvNeXt),
HorNet-T 7x7 (raoyongming/HorNet: gnConv orders 2-5 by stage, s = 1/3), RepLKNet-31B
(DingXiaoH/RepLKNet-pytorch: kernels 31, 29, 27, 13, small kernel 5), UniRepLKNet-A/F/P/N/T
(AILab-CVC/UniRepLKNet default kernel sizes), LSNet-T/S/B (jameslahm/lsnet: RepVGGDW on
even blocks, LS conv on odd ones, attention on odd blocks of stage 4).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConvNetPreset", "CONVNET_PRESETS"]


@dataclass(frozen=True)
class ConvNetPreset:
    """A published model: style, widths, per-stage block mixers, MLP ratio, heads."""

    style: str
    widths: tuple[int, int, int, int]
    mixers: tuple[tuple[str, ...], ...]
    mlp_ratio: int = 4
    heads: tuple[int, int, int, int] = (4, 4, 4, 4)

    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(len(stage) for stage in self.mixers)


def _same(mixer: str, depths: tuple[int, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple((mixer,) * d for d in depths)


def _uni(depths: tuple[int, ...], stage3: tuple[int, ...]) -> tuple[tuple[str, ...], ...]:
    """UniRepLKNet kernels: 3 in stage 1, 13 in stages 2 and 4, `stage3` pattern repeated."""
    name = {3: "dw_k3", 13: "unireplk_k13"}
    third = tuple(name[stage3[j % len(stage3)]] for j in range(depths[2]))
    return (("dw_k3",) * depths[0], ("unireplk_k13",) * depths[1], third,
            ("unireplk_k13",) * depths[3])


def _lsnet(depths: tuple[int, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple("repvggdw" if j % 2 == 0 else ("attn" if i == 3 else "lsconv")
                       for j in range(d)) for i, d in enumerate(depths))


_CNX_T, _CNX_B = (3, 3, 9, 3), (3, 3, 27, 3)
CONVNET_PRESETS: dict[str, ConvNetPreset] = {
    "convnext_t": ConvNetPreset("convnext", (96, 192, 384, 768), _same("dw_k7", _CNX_T)),
    "convnext_s": ConvNetPreset("convnext", (96, 192, 384, 768), _same("dw_k7", _CNX_B)),
    "convnext_b": ConvNetPreset("convnext", (128, 256, 512, 1024), _same("dw_k7", _CNX_B)),
    "hornet_t_7x7": ConvNetPreset("hornet", (64, 128, 256, 512), tuple(
        (f"gnconv_o{order}",) * d for order, d in zip((2, 3, 4, 5), (2, 3, 18, 2)))),
    "replknet_31b": ConvNetPreset("replknet", (128, 256, 512, 1024), tuple(
        (f"replk_k{k}",) * d for k, d in zip((31, 29, 27, 13), (2, 2, 18, 2)))),
    "unireplknet_a": ConvNetPreset("unireplknet", (40, 80, 160, 320), _uni((2, 2, 6, 2), (13,))),
    "unireplknet_f": ConvNetPreset("unireplknet", (48, 96, 192, 384), _uni((2, 2, 6, 2), (13,))),
    "unireplknet_p": ConvNetPreset("unireplknet", (64, 128, 256, 512),
                                   _uni((2, 2, 6, 2), (13,))),
    "unireplknet_n": ConvNetPreset("unireplknet", (80, 160, 320, 640),
                                   _uni((2, 2, 8, 2), (13,))),
    "unireplknet_t": ConvNetPreset("unireplknet", (80, 160, 320, 640),
                                   _uni((3, 3, 18, 3), (13, 3))),
    "lsnet_t": ConvNetPreset("lsnet", (64, 128, 256, 384), _lsnet((0, 2, 8, 10)), 2,
                             (3, 3, 3, 4)),
    "lsnet_s": ConvNetPreset("lsnet", (96, 192, 320, 448), _lsnet((1, 2, 8, 10)), 2,
                             (3, 3, 3, 4)),
    "lsnet_b": ConvNetPreset("lsnet", (128, 256, 384, 512), _lsnet((4, 6, 8, 10)), 2,
                             (3, 3, 3, 4)),
}
