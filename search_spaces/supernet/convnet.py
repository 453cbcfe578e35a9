"""The convnet supernet: elastic depth, one candidate block per (mixer, MLP ratio).

Every block slot of a stage holds all (mixer, MLP ratio) candidate blocks, each built
by the space's own `build_block` (Guo et al., ECCV 2020, SPOS, Sec. 3.2: single-path
training of a layer-wise choice space); a path runs the first `depth` slots of every
stage (elastic depth as in Cai et al., ICLR 2020, Once-for-All, Sec. 3.2, without the
progressive shrinking schedule). Stem, downsampling layers and head are the stand-alone
network's, shared by every path, so widths must be fixed: one width choice per stage.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import UserError
from ..genotype import Genotype
from ..macro.convnet import ConvNetSpace
from ..macro.convnet_blocks import BlockSpec, build_block
from ..macro.convnet_mixers import MixerContext
from .base import Supernet, register_supernet
from .mixed import MixedOp

__all__ = ["ConvNetSupernet", "ElasticBlocks"]


class ElasticBlocks(nn.ModuleList):
    """The block slots of one stage; forward runs the first `depth` slots in order."""

    def __init__(self, slots: list[MixedOp]) -> None:
        super().__init__(slots)
        self.depth = len(slots)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for slot in list(self)[: self.depth]:
            x = slot(x)
        return x


@register_supernet("convnet")
class ConvNetSupernet(Supernet):
    """ConvNet stem, stages of `ElasticBlocks` of `MixedOp`s, head; shapes as
    `ConvNetSpace.build`."""

    def __init__(self, space: ConvNetSpace) -> None:
        super().__init__(space)
        wide = [i + 1 for i, w in enumerate(space.widths) if len(w) > 1]
        if wide:
            raise UserError(f"the convnet supernet shares stems and downsampling layers, so "
                            f"it needs one width per stage; stages {wide} have several "
                            f"(e.g. widths [[32], [64], [128], [256]])")
        deepest = {d.name: d.choices[0] for d in space.decisions()}
        deepest.update({f"s{i + 1}.depth": max(space.depths[i]) for i in range(4)})
        full = space.genotype(deepest)
        self.net = space.build(full)  # stem, downsampling, head shared by every path
        o = space.options
        for i, plan in enumerate(space.stage_plans(full)):
            names = [f"{m}/{r}" for m in space.mixers[i] for r in space.mlp_ratios]
            ctx = MixerContext(plan.c_out, plan.resolution, True, space.heads[i], o["key_dim"])
            slots = []
            for j, spec in enumerate(plan.blocks):
                blocks = [build_block(space.block_style(), BlockSpec(
                    m, r, j, spec.drop_prob, spec.layer_scale, spec.dw_ratio), ctx)
                    for m in space.mixers[i] for r in space.mlp_ratios]
                slots.append(MixedOp(names, blocks))
            self.net.stages[i].blocks = ElasticBlocks(slots)

    def _choice(self, genotype: Genotype, i: int, j: int) -> str:
        return f"{genotype[f's{i + 1}.b{j}.mixer']}/{genotype[f's{i + 1}.b{j}.mlp']}"

    def _apply_path(self, genotype: Genotype) -> None:
        for i, stage in enumerate(self.net.stages):
            stage.blocks.depth = int(genotype[f"s{i + 1}.depth"])
            for j in range(stage.blocks.depth):
                stage.blocks[j].active = stage.blocks[j].index(self._choice(genotype, i, j))

    def _path_map(self, genotype: Genotype) -> dict[str, str]:
        mapping = {}
        for i, stage in enumerate(self.net.stages):
            for j in range(int(genotype[f"s{i + 1}.depth"])):
                index = stage.blocks[j].index(self._choice(genotype, i, j))
                mapping[f"stages.{i}.blocks.{j}"] = f"stages.{i}.blocks.{j}.candidates.{index}"
        return mapping
