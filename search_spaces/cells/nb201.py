"""NAS-Bench-201 cell space (Dong & Yang, ICLR 2020): 6 edges x 5 ops = 15,625 cells,
built as the benchmark's C16-N5 TinyNetwork."""
from __future__ import annotations

import re

import torch
from torch import nn

from ..errors import UserError
from ..genotype import Genotype
from ..ops import build_op
from ..ops.conv import ReLUConvBN
from ..space import Decision, Space, register_space

__all__ = ["NB201Space", "NB201_OPS", "EDGES", "NB201Network", "live_edges", "cell_expression"]

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to node, from node)
_ARCH = re.compile(r"^\|[^|]+~0\|\+\|[^|]+~0\|[^|]+~1\|\+\|[^|]+~0\|[^|]+~1\|[^|]+~2\|$")


def edge_name(to: int, src: int) -> str:
    return f"{to}<-{src}"


class NB201Cell(nn.Module):
    """Node j = sum over i < j of op_{i->j}(node i); output is node 3."""

    def __init__(self, ops: dict[tuple[int, int], str], channels: int) -> None:
        super().__init__()
        self.edges = list(EDGES)
        self.ops = nn.ModuleList(build_op(ops[e], channels, channels, 1) for e in self.edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for to in (1, 2, 3):
            nodes.append(sum(op(nodes[src]) for (t, src), op in zip(self.edges, self.ops)
                             if t == to))
        return nodes[3]


class ResidualReduce(nn.Module):
    """NB201 ResNetBasicblock, stride 2: two ReLUConvBN 3x3 + avgpool/1x1-conv shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2),
                                      nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """TinyNetwork: stem, 3 stages of N cells with residual reductions, BN-ReLU-GAP-FC."""

    def __init__(self, ops: dict[tuple[int, int], str], channels: int, cells: int,
                 num_classes: int, in_channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = channels
        for stage in range(3):
            if stage:
                layers.append(ResidualReduce(c, 2 * c))
                c *= 2
            layers.extend(NB201Cell(ops, c) for _ in range(cells))
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.lastact(self.cells(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.forward_features(x)).flatten(1))


def live_edges(ops: dict[tuple[int, int], str]) -> set[tuple[int, int]]:
    """Edges with a non-zero op on a path from the input (node 0) to the output (node 3)."""
    nonzero = {e for e in EDGES if ops[e] != "none"}
    fed = {0}
    for to in (1, 2, 3):
        if any((to, src) in nonzero and src in fed for src in range(to)):
            fed.add(to)
    feeds = {3}
    for node in (2, 1, 0):
        if any((to, node) in nonzero and to in feeds for to in range(node + 1, 4)):
            feeds.add(node)
    return {(to, src) for to, src in nonzero if src in fed and to in feeds}


def cell_expression(ops: dict[tuple[int, int], str]) -> str:
    """The cell output as a canonical expression of the input: a sum is a sorted multiset
    of terms (a skip passes its input's terms on, zero terms vanish). Equal expressions
    compute the same function: NB201's isomorphism test (Dong & Yang 2020, the benchmark's
    unique strings) with zero terms dropped and nested sums flattened."""
    nodes: dict[int, tuple[str, ...]] = {0: ("x",)}
    for to in (1, 2, 3):
        terms: list[str] = []
        for src in range(to):
            op, value = ops[(to, src)], nodes[src]
            if op == "none" or not value:
                continue
            terms.extend(value if op == "skip_connect" else [f"{op}({'+'.join(value)})"])
        nodes[to] = tuple(sorted(terms))
    return "+".join(nodes[3]) or "0"


@register_space
class NB201Space(Space):
    """NAS-Bench-201 topology space; presets are arch strings or 'index:N'."""

    name = "nb201"
    description = "NAS-Bench-201 cell: 6 edges x {none, skip, conv1x1, conv3x3, avgpool3x3}"
    macs_include_bias = True  # the benchmark's FLOPs count bias adds
    has_equivalents = True  # dead edges, skip chains and reordered sums

    @classmethod
    def default_options(cls):
        return {"channels": 16, "cells": 5, "num_classes": 10, "input_size": (3, 32, 32)}

    def decisions(self):
        return [Decision(edge_name(to, src), NB201_OPS) for to, src in EDGES]

    def build(self, genotype: Genotype) -> nn.Module:
        ops = self._ops(self.validate(genotype))
        o = self.options
        return NB201Network(ops, o["channels"], o["cells"], o["num_classes"],
                            o["input_size"][0])

    def _ops(self, genotype: Genotype) -> dict[tuple[int, int], str]:
        return {(to, src): str(genotype[edge_name(to, src)]) for to, src in EDGES}

    def prune(self, genotype: Genotype) -> Genotype:
        ops = self._ops(genotype)
        live = live_edges(ops)
        dead = {edge_name(*e): "none" for e in EDGES if e not in live and ops[e] != "none"}
        return genotype.replace(**dead) if dead else genotype

    def function_key(self, genotype: Genotype) -> str:
        return cell_expression(self._ops(genotype))

    def format(self, genotype: Genotype) -> str:
        """The benchmark arch string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`."""
        nodes = []
        for to in (1, 2, 3):
            nodes.append("|" + "|".join(f"{genotype[edge_name(to, s)]}~{s}"
                                        for s in range(to)) + "|")
        return "+".join(nodes)

    def parse(self, arch: str) -> Genotype:
        """An arch string, 'index:N' (benchmark index) or genotype JSON."""
        arch = arch.strip()
        if arch.startswith("{"):
            return self.validate(Genotype.from_json(arch))
        if arch.startswith("index:"):
            return self._from_index(arch[len("index:"):])
        if not _ARCH.match(arch):
            raise UserError(
                f"malformed NB201 arch string {arch!r}: expected "
                "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' or 'index:N' (0..15624)"
            )
        decisions = {}
        for to, group in enumerate(arch.split("+"), start=1):
            for entry in group.strip("|").split("|"):
                op, src = entry.rsplit("~", 1)
                decisions[edge_name(to, int(src))] = op
        return self.genotype(decisions)

    def _from_index(self, text: str) -> Genotype:
        from ..nb201_table import load_table

        if not text.isdigit() or int(text) >= 15625:
            raise UserError(f"NB201 index must be an integer in 0..15624, got {text!r}")
        return self.parse(load_table()["ArchitectureString"].iloc[int(text)])
