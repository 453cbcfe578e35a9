"""The convnet macro space: ConvNeXt-style networks with searched depth, width, token
mixer and MLP ratio (Liu et al. 2022, ConvNeXt macro design; blocks and mixers from
RepLKNet, UniRepLKNet, HorNet, LSNet and parameter-free layers, REFERENCES.md 4-8).

Decisions, per stage i = 1..4: `s{i}.depth`, `s{i}.width`, and for every block slot j
below the largest depth choice `s{i}.b{j}.mixer`, `s{i}.b{j}.mlp`; slots at or beyond
the chosen depth are unused (`prune` resets them, so they never count as a new network).
`style` picks stem, downsampling, block and head of one paper; `strides` the layout
("imagenet" stride 32 or 64, "cifar" 32 -> 4, "digits" 8 -> 2; "auto" by input size).
"""
from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import UserError
from ..genotype import Genotype
from ..options import Range, check_choice, is_large_input
from ..space import Decision, Space, register_space
from .convnet_blocks import BLOCK_STYLES, BlockSpec
from .convnet_network import LAYOUTS, ConvNetNetwork, StagePlan, stage_grids
from .convnet_options import (BLOCK_OF_STYLE, MAX_DEPTH, MAX_MLP_RATIO, MAX_WIDTH, STYLES,
                              check_style, check_widths_fit, four_ints, per_stage_ints,
                              per_stage_mixers, positive_ints)
from .convnet_presets import CONVNET_PRESETS
from .convnet_stems import stem_steps

__all__ = ["ConvNetSpace", "DEFAULT_MIXERS"]

DEFAULT_MIXERS = ("dw_k7", "dw_k3", "replk_k13", "replk_k31", "unireplk_k13", "gnconv_o2",
                  "gnconv_o3", "gnconv_o4", "gnconv_o5", "lsconv", "shift", "pool",
                  "pf_max_bottleneck", "identity")
SMALL_INPUT = 16  # both sides above: the CIFAR layout; otherwise the digits layout


def _stage(i: int) -> str:
    return f"s{i + 1}"


@register_space
class ConvNetSpace(Space):
    """Four-stage modern ConvNets: depth, width, mixer and MLP ratio searched per stage."""

    name = "convnet"
    description = ("modern ConvNet macro space: 4 stages x (depth, width), per block token "
                   "mixer (large-kernel, dilated re-param, gnConv, LS conv, param-free) and "
                   "MLP ratio; ConvNeXt/HorNet/RepLKNet/UniRepLKNet/LSNet presets")
    has_equivalents = True

    @classmethod
    def default_options(cls) -> dict[str, Any]:
        """ImageNet 3x224x224, ConvNeXt style; a ConvNeXt-T-sized default search range."""
        return {"input_size": (3, 224, 224), "num_classes": 1000, "style": "convnext",
                "block": "auto", "strides": "auto",
                "depths": [[2, 3], [2, 3], [6, 9], [2, 3]],
                "widths": [[64, 96], [128, 192], [256, 384], [512, 768]],
                "mixers": list(DEFAULT_MIXERS), "mlp_ratios": [2, 4],
                "heads": [4, 4, 4, 4], "key_dim": 16, "drop_path": 0.0,
                "layer_scale": 1e-6, "dw_ratio": 1.0}

    @classmethod
    def option_ranges(cls) -> dict[str, Range]:
        return {"drop_path": Range(0.0, 0.99), "layer_scale": Range(0.0, 1.0),
                "dw_ratio": Range(0.25, 8.0)}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o = self.options
        check_choice(o, self.name, "strides", ("auto", *LAYOUTS))
        check_style(o["style"], o["block"], STYLES, BLOCK_STYLES)
        self.depths = per_stage_ints(o["depths"], "depths", 0, MAX_DEPTH)
        self.widths = per_stage_ints(o["widths"], "widths", 1, MAX_WIDTH)
        self.mixers = per_stage_mixers(o["mixers"])
        self.mlp_ratios = positive_ints(o["mlp_ratios"], "mlp_ratios", MAX_MLP_RATIO)
        self.heads = four_ints(o["heads"], "heads", 1, 64)
        check_widths_fit(self.widths, self.mixers, o["style"], o["dw_ratio"])
        # normalised (hashable per-stage tuples), so presets and notes compare them
        o["depths"], o["widths"] = list(self.depths), list(self.widths)
        o["mixers"], o["mlp_ratios"] = list(self.mixers), list(self.mlp_ratios)

    # ----- decisions ------------------------------------------------------------------
    def decisions(self) -> list[Decision]:
        out = []
        for i in range(4):
            s = _stage(i)
            out += [Decision(f"{s}.depth", self.depths[i]), Decision(f"{s}.width", self.widths[i])]
            for j in range(max(self.depths[i])):
                out += [Decision(f"{s}.b{j}.mixer", self.mixers[i]),
                        Decision(f"{s}.b{j}.mlp", self.mlp_ratios)]
        return out

    def prune(self, genotype: Genotype) -> Genotype:
        """Unused block slots (index >= the stage's depth) reset to their first choice."""
        genotype = self.validate(genotype)
        reset = {}
        for i in range(4):
            s = _stage(i)
            for j in range(int(genotype[f"{s}.depth"]), max(self.depths[i])):
                reset[f"{s}.b{j}.mixer"] = self.mixers[i][0]
                reset[f"{s}.b{j}.mlp"] = self.mlp_ratios[0]
        return genotype.replace(**reset) if reset else genotype

    def function_key(self, genotype: Genotype) -> str:
        return self.prune(genotype).key

    # ----- layout ---------------------------------------------------------------------
    def stride_layout(self) -> str:
        """'imagenet', 'cifar' or 'digits' (strides='auto' resolved from the input size)."""
        if self.options["strides"] != "auto":
            return self.options["strides"]
        size = self.options["input_size"]
        if is_large_input(size):
            return "imagenet"
        return "cifar" if min(size[1:]) > SMALL_INPUT else "digits"

    def block_style(self) -> str:
        block = self.options["block"]
        return BLOCK_OF_STYLE[self.options["style"]] if block == "auto" else block

    def stage_plans(self, genotype: Genotype) -> list[StagePlan]:
        """Per stage: widths, stride, grid and block specs of `genotype` (validated)."""
        step, strides = LAYOUTS[self.stride_layout()]
        style = self.options["style"]
        stem_stride = (4 if style in ("convnext", "hornet") else step ** stem_steps(style)) \
            if step > 1 else 1
        grids = stage_grids(self.options["input_size"][1:], stem_stride, strides)
        depths = [int(genotype[f"{_stage(i)}.depth"]) for i in range(4)]
        widths = [int(genotype[f"{_stage(i)}.width"]) for i in range(4)]
        total, k, plans = max(1, sum(depths) - 1), 0, []
        for i in range(4):
            blocks, s = [], _stage(i)
            for j in range(depths[i]):
                blocks.append(BlockSpec(
                    str(genotype[f"{s}.b{j}.mixer"]), int(genotype[f"{s}.b{j}.mlp"]), j,
                    self.options["drop_path"] * k / total, self.options["layer_scale"],
                    self.options["dw_ratio"]))
                k += 1
            plans.append(StagePlan(widths[i - 1] if i else widths[0], widths[i], strides[i],
                                   grids[i], tuple(blocks)))
        return plans

    def stem_strides(self) -> tuple[int, ...]:
        step = LAYOUTS[self.stride_layout()][0]
        return (step,) * stem_steps(self.options["style"])

    def build(self, genotype: Genotype) -> nn.Module:
        genotype = self.validate(genotype)
        o = self.options
        return ConvNetNetwork(o["style"], self.block_style(), o["input_size"][0],
                              self.stem_strides(), self.stage_plans(genotype), o["num_classes"],
                              self.heads, o["key_dim"])

    # ----- presets ----------------------------------------------------------------------
    def presets(self) -> dict[str, Genotype]:
        out = {}
        for name, preset in CONVNET_PRESETS.items():
            decisions = []
            for i in range(4):
                s, depth, stage = _stage(i), preset.depths[i], preset.mixers[i]
                decisions += [(f"{s}.depth", depth), (f"{s}.width", preset.widths[i])]
                for j in range(depth):
                    decisions += [(f"{s}.b{j}.mixer", stage[j]),
                                  (f"{s}.b{j}.mlp", preset.mlp_ratio)]
            out[name] = Genotype(self.name, tuple(decisions))
        return out

    def preset_options(self) -> dict[str, dict[str, Any]]:
        """Each preset implies its style, single-choice depths/widths, its mixers, MLP
        ratio and heads."""
        out = {}
        for name, p in CONVNET_PRESETS.items():
            mixers = [tuple(dict.fromkeys(stage)) or (p.mixers[-1][0],) for stage in p.mixers]
            out[name] = {"style": p.style, "depths": [(d,) for d in p.depths],
                         "widths": [(w,) for w in p.widths], "mixers": mixers,
                         "mlp_ratios": [p.mlp_ratio], "heads": list(p.heads)}
        return out

    def resolve(self, arch: str) -> tuple["Space", Genotype]:
        """As `Space.resolve`, but a preset's per-stage options replace the given ones
        (they define the published network); input size, classes, strides, drop path and
        the other scalars given explicitly still apply."""
        implied = self.preset_options().get(arch.strip(), {})
        if not implied:
            return self, self.parse(arch)
        space = type(self)(**{**self.given_options, **implied})
        return space, space.parse(arch.strip())

    def format(self, genotype: Genotype) -> str:
        """Per stage `width x depth:mixer/mlp,...`, stages joined by ' | '; unused slots
        (at or beyond the depth) follow a '~'."""
        parts = []
        for i in range(4):
            s = _stage(i)
            depth = int(genotype[f"{s}.depth"])
            slots = [f"{genotype[f'{s}.b{j}.mixer']}/{genotype[f'{s}.b{j}.mlp']}"
                     for j in range(max(self.depths[i]))]
            unused = "~" + ",".join(slots[depth:]) if slots[depth:] else ""
            parts.append(f"{genotype[f'{s}.width']}x{depth}:{','.join(slots[:depth])}{unused}")
        return " | ".join(parts)

    def parse(self, arch: str) -> Genotype:
        """A preset name, the `format` string, or genotype JSON."""
        if "|" not in arch or arch.lstrip().startswith("{"):
            return super().parse(arch)
        stages = [p.strip() for p in arch.split("|")]
        if len(stages) != 4:
            raise UserError(f"a convnet arch string has 4 stages joined by ' | ', "
                            f"got {len(stages)}")
        chosen: dict[str, Any] = {}
        for i, text in enumerate(stages):
            head, _, blocks = text.partition(":")
            width, _, depth = head.partition("x")
            slots = [b for b in blocks.replace("~", ",").split(",") if b]
            if not (width.isdigit() and depth.isdigit()) or any("/" not in b for b in slots):
                raise UserError(f"convnet arch stage {text!r} is not 'WIDTHxDEPTH:mixer/mlp,...'")
            chosen[f"{_stage(i)}.width"], chosen[f"{_stage(i)}.depth"] = int(width), int(depth)
            for j, slot in enumerate(slots):
                mixer, _, mlp = slot.partition("/")
                chosen[f"{_stage(i)}.b{j}.mixer"] = mixer
                chosen[f"{_stage(i)}.b{j}.mlp"] = int(mlp) if mlp.isdigit() else mlp
        return self.genotype(chosen)

    def describe_model(self, model: nn.Module) -> dict[str, Any]:
        """Style, layout and what the counts include."""
        return {"style": self.options["style"], "block": self.block_style(),
                "strides": self.stride_layout(),
                "macs_count": "Conv2d and Linear multiply-accumulates per image, no bias adds; "
                              "norms, activations, pooling, SE gating, GRN, SKA's per-pixel "
                              "3x3 aggregation and attention matmuls are not counted",
                "params_count": "all trainable parameters (BN/LN affine, biases, layer scales "
                                "and attention biases included); deploy_* after re-param "
                                "merging and BN folding"}
