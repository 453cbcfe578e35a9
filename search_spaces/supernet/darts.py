"""The DARTS cell supernet: every (input state -> node) edge holds every candidate op.

The one-shot model of the DARTS space (Liu et al., ICLR 2019, DARTS, Sec. 2.1-2.2: a
mixed op on each edge i -> j of the cell DAG), trained single-path as in Guo et al.,
ECCV 2020, SPOS, and Li & Talwalkar, UAI 2019 (random search with weight sharing on
this space). A path is a genotype: per node, two (op, input state) pairs; the input
choices `in0`/`in1` pick which edges run and the op choices pick the candidate on each,
so both are part of the path. Two pairs that read the same state share that edge's
weights (and are extracted as two copies of them).

Edge (src -> node) in a reduction cell has stride 2 when src is a cell input (0 or 1),
as in the stand-alone cell. The concat rule must be "all" (DARTS): NASNet's "unused"
concat makes cell widths depend on the genotype, so cells could not share weights.
"""
from __future__ import annotations

import torch
from torch import nn

from ..cells.darts import CELL_TYPES, DartsSpace
from ..cells.darts_network import drop_path
from ..errors import UserError
from ..genotype import Genotype
from ..ops import build_op
from .base import Supernet, register_supernet
from .mixed import MixedOp, NoPathError

__all__ = ["DartsSupernet", "SuperCell"]


class SuperCell(nn.Module):
    """A DARTS cell with a MixedOp per edge; `path[node - 2]` lists (src, op index).

    Shapes: as `Cell` (N, C_pp, H, W), (N, C_p, H, W) -> (N, nodes * C, H', W').
    """

    def __init__(self, pre0: nn.Module, pre1: nn.Module, c: int, reduction: bool,
                 nodes: int, ops: tuple[str, ...]) -> None:
        super().__init__()
        self.pre0, self.pre1 = pre0, pre1
        self.reduction = reduction
        self.multiplier = nodes
        self.edges = nn.ModuleList()
        self.edge_index: dict[tuple[int, int], int] = {}
        for node in range(2, nodes + 2):
            for src in range(node):
                stride = 2 if reduction and src < 2 else 1
                self.edge_index[(node, src)] = len(self.edges)
                self.edges.append(MixedOp(ops, [build_op(op, c, c, stride) for op in ops]))
        self.path: list[list[tuple[int, int]]] = []

    def forward(self, s0: torch.Tensor, s1: torch.Tensor,
                drop_prob: float = 0.0) -> torch.Tensor:
        if not self.path:
            raise NoPathError("the supernet has no path: call set_path(genotype) first")
        states = [self.pre0(s0), self.pre1(s1)]
        for node, pairs in enumerate(self.path, start=2):
            total = 0
            for src, index in pairs:
                op = self.edges[self.edge_index[(node, src)]].candidates[index]
                h = op(states[src])
                if self.training and drop_prob > 0 and not isinstance(op, nn.Identity):
                    h = drop_path(h, drop_prob)
                total = total + h
            states.append(total)
        return torch.cat(states[2:], dim=1)


@register_supernet("darts")
class DartsSupernet(Supernet):
    """DARTS NetworkCIFAR/ImageNet with `SuperCell`s; shapes as `DartsSpace.build`."""

    def __init__(self, space: DartsSpace) -> None:
        super().__init__(space)
        if space.options["concat"] != "all":
            raise UserError("the darts supernet needs space option concat='all' (with "
                            "'unused' the cell widths depend on the genotype)")
        first = space.genotype({d.name: d.choices[0] for d in space.decisions()})
        self.net = space.build(first)  # stems, preprocessing, heads shared by every path
        c, nodes = space.options["C"], space.options["nodes"]
        for i, cell in enumerate(self.net.cells):
            c = c * 2 if cell.reduction else c
            self.net.cells[i] = SuperCell(cell.pre0, cell.pre1, c, cell.reduction, nodes,
                                          space.ops)

    def _slots(self, genotype: Genotype, cell: str) -> list[list[tuple[int, str]]]:
        nodes = self.space.options["nodes"]
        return [[(int(genotype[f"{cell}.n{n}.in{j}"]), str(genotype[f"{cell}.n{n}.op{j}"]))
                 for j in (0, 1)] for n in range(2, nodes + 2)]

    def _apply_path(self, genotype: Genotype) -> None:
        slots = {cell: self._slots(genotype, cell) for cell in CELL_TYPES}
        for cell in self.net.cells:
            kind = "reduce" if cell.reduction else "normal"
            cell.path = [[(src, self.space.ops.index(op)) for src, op in pairs]
                         for pairs in slots[kind]]

    def _path_map(self, genotype: Genotype) -> dict[str, str]:
        mapping = {}
        for i, cell in enumerate(self.net.cells):
            kind = "reduce" if cell.reduction else "normal"
            k = 0
            for node, pairs in enumerate(self._slots(genotype, kind), start=2):
                for src, op in pairs:
                    edge = cell.edge_index[(node, src)]
                    mapping[f"cells.{i}.ops.{k}"] = (f"cells.{i}.edges.{edge}.candidates."
                                                     f"{self.space.ops.index(op)}")
                    k += 1
        return mapping
