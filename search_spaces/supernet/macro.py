"""The SPOS supernet of a `macro` space whose stages choose only their op.

Every block becomes a `MixedOp` of its stage's candidate ops, built by the same
`build_op` calls `MacroSpace.build` makes; the blocks of one stage follow one decision
(`stage<i>_ops`). Depth, width and stride must be fixed: weight sharing across widths or
depths would need sliced weights, which the exact extraction here does not do.
"""
from __future__ import annotations

from torch import nn

from ..errors import UserError
from ..genotype import Genotype
from ..macro.declarative import MacroSpace, decision_name
from ..ops import build_op
from .base import Supernet, register_supernet
from .mixed import MixedOp

__all__ = ["MacroSupernet"]


@register_supernet("macro")
class MacroSupernet(Supernet):
    """Stem, one `MixedOp` per block, head; shapes as `MacroSpace.build`."""

    def __init__(self, space: MacroSpace) -> None:
        super().__init__(space)
        for i, stage in enumerate(space.schema.stages):
            for field in ("depth", "width", "stride"):
                if len(stage.choices(field)) > 1:
                    raise UserError(f"the one-shot supernet of space 'macro' shares weights "
                                    f"between ops only: give stages[{i}].{field} one value "
                                    f"(it lists {list(stage.choices(field))})")
        first = space.genotype({d.name: d.choices[0] for d in space.decisions()})
        self.net = space.build(first)  # stem, head, classifier shared by every path
        #: (decision of the block's stage, its candidate ops) per block
        self.plan = []
        blocks = []
        for stage_index, (c_in, c_out, stride) in self._blocks(space, first):
            ops = space.schema.stages[stage_index].ops
            self.plan.append((decision_name(stage_index, "ops"), ops))
            blocks.append(MixedOp(ops, [build_op(op, c_in, c_out, stride) for op in ops]))
        self.net.blocks = nn.Sequential(*blocks)

    @staticmethod
    def _blocks(space: MacroSpace, genotype: Genotype):
        """(stage index, (c_in, c_out, stride)) of every block."""
        stages = [i for i, stage in enumerate(space.schema.stages) for _ in range(stage.depth[0])]
        return [(i, layer[1:]) for i, layer in zip(stages, space.layers(genotype))]

    def _op_index(self, genotype: Genotype, block: int) -> int:
        name, ops = self.plan[block]
        decided = genotype.as_mapping()
        return ops.index(decided[name]) if name in decided else 0

    def _apply_path(self, genotype: Genotype) -> None:
        for j, block in enumerate(self.net.blocks):
            block.active = self._op_index(genotype, j)

    def _path_map(self, genotype: Genotype) -> dict[str, str]:
        return {f"blocks.{j}": f"blocks.{j}.candidates.{self._op_index(genotype, j)}"
                for j in range(len(self.net.blocks))}
