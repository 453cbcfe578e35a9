"""The FBNet layer-wise space (Wu et al., CVPR 2019, "FBNet", Sec. 3.2, Tables 1-2).

22 searchable layers in 7 groups, each layer one of 9 candidate blocks (8 inverted
residuals and `skip`), between a fixed stem (3x3 conv 16, stride 2) and head (1x1 conv to
`head_channels`, global average pool, Linear). Group table per REFERENCES.md Sec. 1.1
(HW-NAS-Bench's "FBNetv1 setting"); blocks per mobile-vision, Sec. 1.2, with bias-free
convs. Decisions are `layer01` .. `layer22`; `extra_ops` adds op specs from the registry
to every layer's candidates.

Strides: "imagenet" is the published layout (stem 2, groups 1,2,2,2,1,2,1: 224 -> 7).
"cifar" is HW-NAS-Bench's unofficial CIFAR layout (stem 1, groups 1,1,2,2,1,2,1:
32 -> 4), so small inputs keep spatial extent. "auto" (default) picks "imagenet" when both
input sides exceed 64 pixels, else "cifar".
"""
from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import UserError
from ..genotype import Genotype
from ..options import check_choice, check_extra_ops, is_large_input
from ..space import Decision, Space, register_space
from .network import LayerwiseNetwork

__all__ = ["FBNetSpace", "FBNetNetwork", "FBNET_CANDIDATES", "FBNET_GROUPS", "FBNET_PRESETS",
           "layer_plan"]

#: the 9 candidates, in HW-NAS-Bench's PRIMITIVES order (Wu et al. 2019, Table 2)
FBNET_CANDIDATES = ("ir_k3_e1", "ir_k3_e1_g2", "ir_k3_e3", "ir_k3_e6", "ir_k5_e1",
                    "ir_k5_e1_g2", "ir_k5_e3", "ir_k5_e6", "skip")
#: (layers, out channels, first-layer stride ImageNet, first-layer stride CIFAR) per group
FBNET_GROUPS = ((1, 16, 1, 1), (4, 24, 2, 1), (4, 32, 2, 2), (4, 64, 2, 2),
                (4, 112, 1, 1), (4, 184, 2, 2), (1, 352, 1, 1))
STEM_CHANNELS = 16
STEM_STRIDE = {"imagenet": 2, "cifar": 1}

_A, _B, _C = "ir_k3_e1", "ir_k3_e3", "ir_k3_e6"
_D, _E, _F = "ir_k5_e1", "ir_k5_e3", "ir_k5_e6"
_G3, _G5, _S = "ir_k3_e1_g2", "ir_k5_e1_g2", "skip"
#: mobile-vision fbnet_modeldef_cls_fbnet.py, REFERENCES.md Sec. 1.3: (layers, head width)
FBNET_PRESETS: dict[str, tuple[tuple[str, ...], int]] = {
    "fbnet_a": ((_S, _B, _A, _S, _S, _F, _B, _D, _B, _F, _E, _G5, _F, _C, _G5, _E, _G3,
                 _F, _F, _E, _F, _F), 1504),
    "fbnet_b": ((_A, _C, _D, _A, _A, _F, _E, _C, _F, _F, _F, _S, _E, _F, _A, _D, _E,
                 _F, _D, _F, _F, _C), 1984),
    "fbnet_c": ((_A, _C, _S, _A, _A, _F, _E, _F, _C, _F, _E, _F, _F, _F, _F, _F, _E,
                 _F, _F, _F, _F, _C), 1984),
}


def layer_name(index: int) -> str:
    return f"layer{index + 1:02d}"


def layer_plan(strides: str) -> list[tuple[int, int, int]]:
    """(c_in, c_out, stride) of the 22 searchable layers for a stride layout."""
    plan, c_in = [], STEM_CHANNELS
    for layers, c_out, s_imagenet, s_cifar in FBNET_GROUPS:
        for i in range(layers):
            stride = (s_imagenet if strides == "imagenet" else s_cifar) if i == 0 else 1
            plan.append((c_in, c_out, stride))
            c_in = c_out
    return plan


class FBNetNetwork(LayerwiseNetwork):
    """Stem, 22 searched blocks, 1x1 head, pool, Linear (Wu et al. 2019, Table 1).

    Shapes: (N, C, H, W) -> (N, num_classes).
    """

    def __init__(self, ops: list[str], strides: str, head_channels: int, num_classes: int,
                 in_channels: int) -> None:
        layers = [(op, *plan) for op, plan in zip(ops, layer_plan(strides))]
        super().__init__(in_channels, (STEM_CHANNELS, 3, STEM_STRIDE[strides]), layers,
                         head_channels, num_classes)


@register_space
class FBNetSpace(Space):
    """FBNet: 22 layers x 9 blocks (9^22 architectures); presets fbnet_a/b/c."""

    name = "fbnet"
    description = "FBNet macro space: 22 layers x 9 candidate blocks (+ extra_ops)"

    @classmethod
    def default_options(cls) -> dict[str, Any]:
        """Defaults: ImageNet 3x224x224, 1000 classes, head 1984 (FBNet-B/C; the
        fbnet_a preset implies 1504); strides "auto" | "imagenet" | "cifar"."""
        return {"input_size": (3, 224, 224), "num_classes": 1000, "head_channels": 1984,
                "strides": "auto", "extra_ops": []}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o = self.options
        check_choice(o, self.name, "strides", ("auto", "imagenet", "cifar"))
        self.ops = FBNET_CANDIDATES + check_extra_ops(o["extra_ops"], self.name,
                                                      FBNET_CANDIDATES)

    def decisions(self) -> list[Decision]:
        return [Decision(layer_name(i), self.ops) for i in range(22)]

    def stride_layout(self) -> str:
        """'imagenet' or 'cifar' (resolving strides='auto' from the input size)."""
        if self.options["strides"] != "auto":
            return self.options["strides"]
        return "imagenet" if is_large_input(self.options["input_size"]) else "cifar"

    def presets(self) -> dict[str, Genotype]:
        return {name: Genotype(self.name, tuple((layer_name(i), op)
                                                for i, op in enumerate(layers)))
                for name, (layers, _) in FBNET_PRESETS.items()}

    def preset_options(self) -> dict[str, dict[str, Any]]:
        """Each preset implies its published head width (A 1504, B and C 1984)."""
        return {name: {"head_channels": head} for name, (_, head) in FBNET_PRESETS.items()}

    def format(self, genotype: Genotype) -> str:
        """The 22 ops, comma-separated, first layer first."""
        return ",".join(str(genotype[layer_name(i)]) for i in range(22))

    def parse(self, arch: str) -> Genotype:
        """A preset name, 22 comma-separated ops (`format`), or genotype JSON."""
        if "," in arch and not arch.lstrip().startswith("{"):
            ops = [op.strip() for op in arch.split(",")]
            if len(ops) != 22:
                raise UserError(f"an fbnet arch string lists 22 comma-separated ops, "
                                f"got {len(ops)}")
            return self.genotype({layer_name(i): op for i, op in enumerate(ops)})
        return super().parse(arch)

    def build(self, genotype: Genotype) -> nn.Module:
        genotype = self.validate(genotype)
        o = self.options
        return FBNetNetwork([str(genotype[layer_name(i)]) for i in range(22)],
                            self.stride_layout(), o["head_channels"], o["num_classes"],
                            o["input_size"][0])

    def describe_model(self, model: nn.Module) -> dict[str, Any]:
        """`params` are all trainable parameters (BN affine and FC bias included, no conv
        biases); `weight_params` conv and FC weights only, mobile-vision's params_m rule.
        MACs: convs + FC, no bias adds, no pooling (mobile-vision's flops_m adds one op
        per element of the final pool, C*7*7 at 224)."""
        from ..counting import count_weight_params

        return {"weight_params": count_weight_params(model),
                "macs_count": "Conv2d and Linear multiply-accumulates only; no bias adds, "
                              "BN, activations, residual adds or pooling (mobile-vision's "
                              "FLOPs add the final pool's C*H*W elements)",
                "head_channels": self.options["head_channels"],
                "strides": self.stride_layout()}
