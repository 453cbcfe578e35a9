"""NASNet/DARTS cells and evaluation networks, built from a general cell form.

`CellSpec` is the general form every NASNet-style genotype fits (Zoph et al., CVPR 2018,
NASNet, Sec. 3; Liu et al., ICLR 2019, DARTS, Sec. 2.1): any number of intermediate
nodes, each the sum of (op, input state) pairs, plus the list of states concatenated
into the cell output. States 0 and 1 are the two preprocessed cell inputs; node i of the
list is state i + 2. The DARTS search space (4 nodes, concat = all nodes) and the
5-node NASNet/AmoebaNet cells (concat = unused states) are both CellSpecs.

Networks follow DARTS' evaluation code (REFERENCES.md Sec. 2.3): `NetworkCIFAR` (stem
3x3 conv to 3C + BN, reductions at L/3 and 2L/3) and `NetworkImageNet` (three stride-2
stem convs, first cell sees a "reduction" predecessor).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import UserError
from ..ops import build_op
from ..ops.conv import ReLUConvBN
from ..ops.param_free import FactorizedReduce

__all__ = ["CellSpec", "Cell", "AuxiliaryHead", "NetworkCIFAR", "NetworkImageNet",
           "drop_path"]

Pair = tuple[str, int]


@dataclass(frozen=True)
class CellSpec:
    """A cell: `nodes[i]` holds the (op, input state) pairs summed into state i + 2;
    `concat` lists the states concatenated into the output (width len(concat) * C)."""

    nodes: tuple[tuple[Pair, ...], ...]
    concat: tuple[int, ...]

    def __post_init__(self) -> None:
        nodes = tuple(tuple((str(op), int(src)) for op, src in pairs) for pairs in self.nodes)
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "concat", tuple(int(i) for i in self.concat))
        for state, pairs in enumerate(nodes, start=2):
            if not pairs:
                raise UserError(f"cell node {state} has no inputs")
            for op, src in pairs:
                if not 0 <= src < state:
                    raise UserError(f"cell node {state} op {op!r} reads state {src}; a node "
                                    f"may only read states 0..{state - 1}")
        states = len(nodes) + 2
        if not self.concat or any(not 0 <= i < states for i in self.concat):
            raise UserError(f"cell concat {list(self.concat)} must list states in "
                            f"0..{states - 1}")

    @staticmethod
    def unused_states(nodes: tuple[tuple[Pair, ...], ...]) -> tuple[int, ...]:
        """Intermediate states no node reads: NASNet's concat rule (Zoph et al. 2018,
        Sec. 3, "all unused hidden states ... are concatenated")."""
        used = {src for pairs in nodes for _, src in pairs}
        return tuple(s for s in range(2, len(nodes) + 2) if s not in used)


def drop_path(x: torch.Tensor, prob: float) -> torch.Tensor:
    """Zero whole samples with probability `prob`, rescale the rest by 1/(1-prob)
    (Larsson et al. 2017, FractalNet; DARTS' ScheduledDropPath)."""
    keep = 1.0 - prob
    mask = x.new_empty(x.shape[0], 1, 1, 1).bernoulli_(keep)
    return x / keep * mask


class Cell(nn.Module):
    """One NASNet/DARTS cell: preprocess both inputs to C channels, compute the nodes,
    concatenate `spec.concat`. In a reduction cell, ops reading states 0/1 use stride 2."""

    def __init__(self, spec: CellSpec, c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.pre0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1)
        self.pre1 = ReLUConvBN(c_p, c, 1, 1)
        self.ops = nn.ModuleList()
        self.inputs: list[int] = []
        self.node_sizes = [len(pairs) for pairs in spec.nodes]
        for pairs in spec.nodes:
            for op, src in pairs:
                self.ops.append(build_op(op, c, c, 2 if reduction and src < 2 else 1))
                self.inputs.append(src)
        self.concat = list(spec.concat)
        self.multiplier = len(spec.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor,
                drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        k = 0
        for size in self.node_sizes:
            total = 0
            for op, src in zip(self.ops[k:k + size], self.inputs[k:k + size]):
                h = op(states[src])
                if self.training and drop_prob > 0 and not isinstance(op, nn.Identity):
                    h = drop_path(h, drop_prob)
                total = total + h
            states.append(total)
            k += size
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """Auxiliary classifier on the second reduction cell's output (Szegedy et al. 2015;
    DARTS `AuxiliaryHeadCIFAR` / `AuxiliaryHeadImageNet`).

    ReLU, AvgPool 5 (stride 3 CIFAR, 2 ImageNet), 1x1 conv 128-BN-ReLU, 2x2 conv 768
    [-BN]-ReLU, Linear. Deviations so any input works: a map smaller than 5 is pooled
    adaptively to 2x2, and the 768-map is global-average-pooled before the Linear (DARTS'
    ImageNet head flattens a 4x4 map into a 768-input Linear, which fails). Parameter
    counts are unchanged.
    """

    def __init__(self, c: int, num_classes: int, size: int, stride: int, bn: bool) -> None:
        super().__init__()
        pool = (nn.AvgPool2d(5, stride, padding=0, count_include_pad=False) if size >= 5
                else nn.AdaptiveAvgPool2d(2))
        tail = [nn.BatchNorm2d(768)] if bn else []
        self.features = nn.Sequential(
            nn.ReLU(inplace=False), pool,
            nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False), *tail, nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


def _halve(size: int, times: int) -> int:
    for _ in range(times):
        size = (size + 1) // 2  # k3/s2/p1 convs, pools and FactorizedReduce all give ceil
    return size


class _CellNetwork(nn.Module):
    """Shared body: a stack of cells with reductions at L//3 and 2L//3, optional
    auxiliary head after cell 2L//3, global pool and a Linear classifier."""

    aux_stride, aux_bn = 3, True

    def _make_cells(self, normal: CellSpec, reduce: CellSpec, c_stem: int, c: int,
                    layers: int, reduction_prev: bool) -> int:
        self.cells = nn.ModuleList()
        c_pp, c_p, c_cur = c_stem, c_stem, c
        self.aux_index = 2 * layers // 3
        self.reductions = len({layers // 3, 2 * layers // 3})
        self.aux_channels = c_p
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            c_cur = c_cur * 2 if reduction else c_cur
            cell = Cell(reduce if reduction else normal, c_pp, c_p, c_cur, reduction,
                        reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_cur
            if i == self.aux_index:
                self.aux_channels = c_p
        return c_p

    def _make_head(self, c_last: int, num_classes: int, auxiliary: bool, aux_size: int) -> None:
        self.auxiliary_head = (AuxiliaryHead(self.aux_channels, num_classes, aux_size,
                                             self.aux_stride, self.aux_bn)
                               if auxiliary else None)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_last, num_classes)

    def stem_forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits and, when training with an auxiliary head, the auxiliary logits
        (DARTS weighs their loss by 0.4)."""
        s0, s1 = self.stem_forward(x)
        logits_aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_index and self.auxiliary_head is not None and self.training:
                logits_aux = self.auxiliary_head(s1)
        return self.classifier(self.global_pooling(s1).flatten(1)), logits_aux

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_aux(x)[0]


class NetworkCIFAR(_CellNetwork):
    """DARTS CIFAR evaluation network (Liu et al. 2019, Sec. 3.3; REFERENCES Sec. 2.3).

    Shapes: (N, in_channels, H, W) -> (N, num_classes). `drop_path_prob` is set by the
    trainer (ramped linearly over epochs) and only acts in training mode.
    """

    def __init__(self, normal: CellSpec, reduce: CellSpec, c: int = 36, layers: int = 20,
                 num_classes: int = 10, auxiliary: bool = False, in_channels: int = 3,
                 input_hw: tuple[int, int] = (32, 32), drop_path_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_path_prob = drop_path_prob
        c_stem = 3 * c
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c_stem))
        c_last = self._make_cells(normal, reduce, c_stem, c, layers, False)
        self._make_head(c_last, num_classes, auxiliary,
                        _halve(min(input_hw), self.reductions))

    def stem_forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.stem(x)
        return s, s


class NetworkImageNet(_CellNetwork):
    """DARTS ImageNet evaluation network (Liu et al. 2019, Sec. 3.4; REFERENCES Sec. 2.3):
    stem0 (two stride-2 3x3 convs) and stem1 (one more), 224 -> 28 before the cells.
    The final pool is adaptive (DARTS' AvgPool 7 at 224)."""

    aux_stride, aux_bn = 2, False  # DARTS leaves the 768-BN out to match the paper

    def __init__(self, normal: CellSpec, reduce: CellSpec, c: int = 48, layers: int = 14,
                 num_classes: int = 1000, auxiliary: bool = False, in_channels: int = 3,
                 input_hw: tuple[int, int] = (224, 224), drop_path_prob: float = 0.0) -> None:
        super().__init__()
        if c % 2:
            raise UserError(f"the DARTS ImageNet network needs an even C, got {c}")
        self.drop_path_prob = drop_path_prob
        self.stem0 = nn.Sequential(
            nn.Conv2d(in_channels, c // 2, 3, 2, 1, bias=False), nn.BatchNorm2d(c // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(c // 2, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c))
        self.stem1 = nn.Sequential(nn.ReLU(inplace=False),
                                   nn.Conv2d(c, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c))
        c_last = self._make_cells(normal, reduce, c, c, layers, True)
        self._make_head(c_last, num_classes, auxiliary,
                        _halve(min(input_hw), 3 + self.reductions))

    def stem_forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s0 = self.stem0(x)
        return s0, self.stem1(s0)
