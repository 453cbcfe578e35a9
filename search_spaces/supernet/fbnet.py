"""The FBNet supernet: 22 mixed layers between the fixed stem and head.

Wu et al., CVPR 2019, "FBNet", Sec. 3.3 (the stochastic super net: each searchable layer
holds all candidate blocks) and Guo et al., ECCV 2020, "SPOS", Sec. 3.2 (single-path
training of such a layer-wise space). Candidates are the space's ops, `extra_ops`
included, each built by the op registry at the layer's (c_in, c_out, stride).
"""
from __future__ import annotations

from torch import nn

from ..genotype import Genotype
from ..macro.fbnet import FBNetSpace, layer_name, layer_plan
from ..ops import build_op
from .base import Supernet, register_supernet
from .mixed import MixedOp

__all__ = ["FBNetSupernet"]


@register_supernet("fbnet")
class FBNetSupernet(Supernet):
    """FBNet stem, 22 `MixedOp` layers, head; shapes as `FBNetSpace.build`."""

    supports_dnas = True

    def __init__(self, space: FBNetSpace) -> None:
        super().__init__(space)
        first = space.genotype({d.name: d.choices[0] for d in space.decisions()})
        self.net = space.build(first)  # stem, head, classifier shared by every path
        ops = space.ops
        #: (c_in, c_out, stride) of each searchable layer
        self.plan = layer_plan(space.stride_layout())
        # the same build_op calls FBNetNetwork makes; the extraction tests guard this
        self.net.blocks = nn.Sequential(*(
            MixedOp(ops, [build_op(op, c_in, c_out, stride) for op in ops])
            for c_in, c_out, stride in self.plan))

    def choice_blocks(self) -> list[tuple[str, MixedOp]]:
        return [(layer_name(i), block) for i, block in enumerate(self.net.blocks)]

    def _apply_path(self, genotype: Genotype) -> None:
        for name, block in self.choice_blocks():
            block.active = block.index(str(genotype[name]))

    def _path_map(self, genotype: Genotype) -> dict[str, str]:
        return {f"blocks.{i}": f"blocks.{i}.candidates.{block.index(str(genotype[name]))}"
                for i, (name, block) in enumerate(self.choice_blocks())}

    def layer_specs(self) -> list[dict]:
        """Per searchable layer: decision name, c_in, c_out, stride (latency tables)."""
        return [{"layer": name, "c_in": c_in, "c_out": c_out, "stride": stride}
                for (name, _), (c_in, c_out, stride) in zip(self.choice_blocks(), self.plan)]

    def fixed_modules(self) -> list[tuple[str, nn.Module, nn.Module]]:
        """The path-independent parts for latency: (name, module to time, the module
        whose input it takes): the stem; the head with pool and classifier."""
        net = self.net
        head = nn.Sequential(net.head, net.pool, nn.Flatten(1), net.classifier)
        return [("stem", net.stem, net.stem), ("head", head, net.head)]
