"""The DARTS / NASNet cell search space (Zoph et al., CVPR 2018, NASNet, Sec. 3;
Liu et al., ICLR 2019, DARTS, Sec. 2.1).

A genotype holds a normal and a reduction cell. Each of the `nodes` intermediate nodes
(default 4, states 2..nodes+1) takes two (op, input) pairs, so the decisions are

    normal.n2.op0, normal.n2.in0, normal.n2.op1, normal.n2.in1, ..., reduce.n5.in1

with ops the 8 DARTS primitives plus the `extra_ops` option, and inputs 0..n-1 (states 0
and 1 are the two cell inputs; a node may only read earlier states). The output concat
is a rule, not a decision: `concat="all"` (DARTS: every intermediate node) or
`concat="unused"` (NASNet: states no node reads).

Presets with other shapes are genotypes of a configured space: `nasnet` and `amoebanet`
imply nodes=5, concat="unused" and extra ops sep_conv_7x7 / conv_7x1_1x7; get that space
with `Space.resolve(name)` (see `preset_options`). Networks: `darts_network.py`.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

from torch import nn

from ..errors import UserError
from ..genotype import Genotype
from ..options import Range, check_choice, check_extra_ops, is_large_input
from ..space import Decision, Space, register_space
from .darts_network import CellSpec, NetworkCIFAR, NetworkImageNet
from .darts_presets import DARTS_PRESETS

__all__ = ["DartsSpace", "DARTS_PRIMITIVES", "CELL_TYPES"]

#: Liu et al. 2019, Sec. 3.1 / quark0/darts cnn/genotypes.py PRIMITIVES order
DARTS_PRIMITIVES = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                    "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
CELL_TYPES = ("normal", "reduce")
_IN = re.compile(r"^(normal|reduce)\.n(\d+)\.in[01]$")
_CELL = re.compile(r"^\s*normal\s*=\s*\[(.*)\]\s*;\s*reduce\s*=\s*\[(.*)\]\s*$")


@register_space
class DartsSpace(Space):
    """NASNet/DARTS normal + reduction cells, evaluated as DARTS' NetworkCIFAR/ImageNet."""

    name = "darts"
    description = ("DARTS cells: normal + reduce, 4 nodes x 2 (op, input) pairs, "
                   "8 primitives (+ extra_ops)")

    @classmethod
    def default_options(cls) -> dict[str, Any]:
        """Options; defaults are DARTS' CIFAR-10 evaluation (C=36, 20 cells, 10 classes).

        network: "auto" (ImageNet stem when both input sides > 64), "cifar", "imagenet";
        nodes: intermediate nodes per cell; concat: "all" (DARTS) or "unused" (NASNet);
        extra_ops: op specs added to the 8 primitives; drop_path_prob: training only.
        ImageNet as published: C=48, layers=14, num_classes=1000, input_size=[3,224,224].
        """
        return {"C": 36, "layers": 20, "auxiliary": False, "num_classes": 10,
                "input_size": (3, 32, 32), "network": "auto", "nodes": 4, "concat": "all",
                "extra_ops": [], "drop_path_prob": 0.0}

    @classmethod
    def option_ranges(cls):
        return {"drop_path_prob": Range(0.0, 1.0, high_open=True)}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o = self.options
        check_choice(o, self.name, "network", ("auto", "cifar", "imagenet"))
        check_choice(o, self.name, "concat", ("all", "unused"))
        self.ops = DARTS_PRIMITIVES + check_extra_ops(o["extra_ops"], self.name,
                                                      DARTS_PRIMITIVES)

    # ----- decisions -----------------------------------------------------------------
    def decisions(self) -> list[Decision]:
        out = []
        for cell in CELL_TYPES:
            for node in range(2, self.options["nodes"] + 2):
                for j in (0, 1):
                    out.append(Decision(f"{cell}.n{node}.op{j}", self.ops))
                    out.append(Decision(f"{cell}.n{node}.in{j}", tuple(range(node))))
        return out

    def validate(self, genotype: Genotype) -> Genotype:
        """Check inputs first, so a node wired forward gets a message saying so."""
        for name, value in genotype.decisions:
            match = _IN.match(name)
            if match and isinstance(value, int) and not 0 <= value < int(match[2]):
                node = int(match[2])
                raise UserError(
                    f"darts decision {name!r} = {value}: node {node} would read state "
                    f"{value}, which is {'negative' if value < 0 else 'not computed yet'}; "
                    f"node {node} may read states 0..{node - 1} (0, 1 = cell inputs, "
                    f"2.. = earlier nodes)")
        return super().validate(genotype)

    # ----- general cell form -----------------------------------------------------------
    def cells(self, genotype: Genotype) -> tuple[CellSpec, CellSpec]:
        """The (normal, reduce) CellSpecs of a genotype, concat by this space's rule."""
        genotype = self.validate(genotype)
        specs = []
        for cell in CELL_TYPES:
            nodes = tuple(
                tuple((str(genotype[f"{cell}.n{n}.op{j}"]), int(genotype[f"{cell}.n{n}.in{j}"]))
                      for j in (0, 1))
                for n in range(2, self.options["nodes"] + 2))
            concat = (tuple(range(2, len(nodes) + 2)) if self.options["concat"] == "all"
                      else CellSpec.unused_states(nodes))
            specs.append(CellSpec(nodes, concat))
        return specs[0], specs[1]

    def from_pairs(self, normal: Sequence[tuple[str, int]],
                   reduce: Sequence[tuple[str, int]]) -> Genotype:
        """Genotype from DARTS-repo-style flat lists [(op, input), ...], two per node."""
        return self.genotype(_decisions_from_pairs(normal, reduce))

    # ----- presets, formatting ----------------------------------------------------------
    def presets(self) -> dict[str, Genotype]:
        """darts_v1, darts_v2, pc_darts, pc_darts_image, nasnet, amoebanet
        (REFERENCES.md Sec. 2.2); the last two are valid in `resolve(name)[0]`."""
        return {name: Genotype(self.name, tuple(_decisions_from_pairs(
                    [p for node in entry["normal"] for p in node],
                    [p for node in entry["reduce"] for p in node]).items()))
                for name, entry in DARTS_PRESETS.items()}

    def preset_options(self) -> dict[str, dict[str, Any]]:
        return {name: dict(entry["options"]) for name, entry in DARTS_PRESETS.items()
                if entry["options"]}

    def format(self, genotype: Genotype) -> str:
        """`normal=[op~in op~in | ...]; reduce=[...]`, one `|`-separated group per node."""
        parts = []
        for cell, spec in zip(CELL_TYPES, self.cells(genotype)):
            nodes = " | ".join(" ".join(f"{op}~{src}" for op, src in pairs)
                               for pairs in spec.nodes)
            parts.append(f"{cell}=[{nodes}]")
        return "; ".join(parts)

    def parse(self, arch: str) -> Genotype:
        """A preset name, the `format` string, or genotype JSON."""
        match = _CELL.match(arch)
        if not match:
            return super().parse(arch)
        cells = []
        for text in match.groups():
            pairs = []
            for token in text.replace("|", " ").split():
                op, sep, src = token.rpartition("~")
                if not sep or not src.lstrip("-").isdigit():
                    raise UserError(f"darts arch token {token!r} must look like "
                                    "'sep_conv_3x3~0' (op~input state)")
                pairs.append((op, int(src)))
            cells.append(pairs)
        return self.from_pairs(*cells)

    # ----- networks --------------------------------------------------------------------
    def network_kind(self) -> str:
        """'cifar' or 'imagenet' (resolving network='auto' from the input size)."""
        kind = self.options["network"]
        if kind == "auto":
            kind = "imagenet" if is_large_input(self.options["input_size"]) else "cifar"
        return kind

    def build(self, genotype: Genotype) -> nn.Module:
        normal, reduce = self.cells(genotype)
        o = self.options
        cls = NetworkImageNet if self.network_kind() == "imagenet" else NetworkCIFAR
        return cls(normal, reduce, c=o["C"], layers=o["layers"], num_classes=o["num_classes"],
                   auxiliary=o["auxiliary"], in_channels=o["input_size"][0],
                   input_hw=tuple(o["input_size"][1:]), drop_path_prob=o["drop_path_prob"])

    def describe_model(self, model: nn.Module) -> dict[str, Any]:
        """DARTS' count (all parameters except the auxiliary head's) and the network."""
        from ..counting import count_params

        aux = model.auxiliary_head
        return {"params_no_aux": count_params(model) - (count_params(aux) if aux else 0),
                "network": self.network_kind()}


def _decisions_from_pairs(normal: Sequence[tuple[str, int]],
                          reduce: Sequence[tuple[str, int]]) -> dict[str, Any]:
    """Flat (op, input) lists, two per node, -> decision mapping (not yet validated)."""
    decisions: dict[str, Any] = {}
    for cell, pairs in zip(CELL_TYPES, (normal, reduce)):
        if len(pairs) % 2:
            raise UserError(f"darts {cell} cell needs two (op, input) pairs per node, "
                            f"got {len(pairs)} pairs")
        for k, (op, src) in enumerate(pairs):
            node, j = 2 + k // 2, k % 2
            decisions[f"{cell}.n{node}.op{j}"] = op
            decisions[f"{cell}.n{node}.in{j}"] = src
    return decisions
