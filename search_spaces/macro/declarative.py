"""`macro`: a macro space declared in the config, no Python (schema in `.schema`).

A stem, a list of stages and a head (Tan et al., CVPR 2019, MnasNet, Sec. 4: a
factorized hierarchical space, one op, depth and width per stage). Each stage field that
lists more than one value is a decision named ``stage<i>_<field>`` (i from 0, as in the
key path ``stages[i]``); single values are fixed. Blocks are op-library specs built by
`build_op` (any registered op: ``ir_k5_e6``, ``unireplk_k13``, ``lsconv``, ``skip``, ...),
so counting, `nas export --fuse` and every strategy work as for the built-in spaces.

Equivalents: a stage of ``skip`` / ``skip_connect`` blocks computes the same function at
every depth (the blocks after the first are identities), so `prune` sets its depth to
the smallest choice and `function_key` is the key of the pruned genotype.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import UserError
from ..genotype import Genotype
from ..space import Decision, Space, register_space
from .network import Layer, LayerwiseNetwork
from .schema import STAGE_FIELDS, MacroSchema, StageSpec, parse_schema

__all__ = ["MacroSpace", "DEFAULT_STAGES", "decision_name"]

#: ops whose repeats at stride 1 and equal width are identities
_IDENTITY_REPEATS = ("skip", "skip_connect")

DEFAULT_STAGES = (
    {"ops": ["ir_k3_e3", "ir_k5_e6", "skip"], "depth": [1, 2], "width": [16, 24]},
    {"ops": ["ir_k3_e6", "convnext_k7", "max_pool_3x3"], "depth": [1, 2],
     "width": [32, 48], "stride": 2},
    {"ops": ["ir_k5_e6", "unireplk_k13", "lsconv"], "depth": [1, 2], "width": [64],
     "stride": 2},
)


def decision_name(stage: int, field: str) -> str:
    return f"stage{stage}_{field}"


@register_space
class MacroSpace(Space):
    """A stem, stages with choice lists (ops, depth, width, stride), a head; from YAML."""

    name = "macro"
    description = ("declarative macro space: stem, stages with choice lists for op, depth, "
                   "width and stride, head (all from the config)")

    @classmethod
    def default_options(cls) -> dict[str, Any]:
        """A small 3-stage CIFAR-size example; every key can be replaced in the config."""
        return {"input_size": (3, 32, 32), "num_classes": 10,
                "stem": {"channels": 16, "kernel": 3, "stride": 1},
                "stages": [dict(stage) for stage in DEFAULT_STAGES],
                "head": {"channels": 128, "pool": "avg"}}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        o = self.options
        self.schema: MacroSchema = parse_schema(o["stem"], o["stages"], o["head"])
        self._decisions = [Decision(decision_name(i, field), stage.choices(field))
                           for i, stage in enumerate(self.schema.stages)
                           for field in STAGE_FIELDS if len(stage.choices(field)) > 1]
        if not self._decisions:
            raise UserError("space 'macro' has nothing to search: every stage field has a "
                            "single value; give a list for at least one of "
                            f"{', '.join(STAGE_FIELDS)}, e.g. stages[0].ops: [ir_k3_e3, skip]")
        self.has_equivalents = any(
            len(s.depth) > 1 and any(op in _IDENTITY_REPEATS for op in s.ops)
            for s in self.schema.stages)

    def decisions(self) -> list[Decision]:
        return list(self._decisions)

    def stage_values(self, genotype: Genotype, index: int) -> dict[str, Any]:
        """op, depth, width, stride of stage `index` (decided or fixed)."""
        stage: StageSpec = self.schema.stages[index]
        given = genotype.as_mapping()
        return {f: given.get(decision_name(index, f), stage.choices(f)[0])
                for f in STAGE_FIELDS}

    def layers(self, genotype: Genotype) -> list[Layer]:
        """(op, c_in, c_out, stride) of every block of `genotype`, first block first."""
        plan, c_in = [], self.schema.stem.channels
        for i in range(len(self.schema.stages)):
            v = self.stage_values(genotype, i)
            for j in range(v["depth"]):
                plan.append((v["ops"], c_in, v["width"], v["stride"] if j == 0 else 1))
                c_in = v["width"]
        return plan

    def build(self, genotype: Genotype) -> nn.Module:
        genotype = self.validate(genotype)
        stem, head = self.schema.stem, self.schema.head
        return LayerwiseNetwork(self.options["input_size"][0],
                                (stem.channels, stem.kernel, stem.stride),
                                self.layers(genotype), head.channels,
                                self.options["num_classes"], head.pool, head.dropout)

    # ----- readable arch strings -----------------------------------------------------
    def format(self, genotype: Genotype) -> str:
        """Stages as ``op xDEPTH wWIDTH sSTRIDE``, joined by ' | '."""
        return " | ".join(f"{v['ops']} x{v['depth']} w{v['width']} s{v['stride']}"
                          for v in (self.stage_values(genotype, i)
                                    for i in range(len(self.schema.stages))))

    def parse(self, arch: str) -> Genotype:
        """`format`'s string or genotype JSON."""
        if arch.lstrip().startswith("{"):
            return super().parse(arch)
        stages = [s.split() for s in arch.split("|")]
        if len(stages) != len(self.schema.stages) or any(len(s) != 4 for s in stages):
            raise UserError(f"a macro arch string has {len(self.schema.stages)} stages "
                            "'op xDEPTH wWIDTH sSTRIDE' joined by ' | ', got {arch!r}")
        values: dict[str, Any] = {}
        for i, tokens in enumerate(stages):
            stage = self.schema.stages[i]
            for field, value in self._stage_tokens(arch, i, tokens).items():
                if len(stage.choices(field)) > 1:
                    values[decision_name(i, field)] = value
                elif value != stage.choices(field)[0]:
                    raise UserError(f"arch {arch!r}: stages[{i}].{field} is fixed to "
                                    f"{stage.choices(field)[0]!r}, got {value!r}")
        return self.genotype(values)

    @staticmethod
    def _stage_tokens(arch: str, index: int, tokens: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = {"ops": tokens[0]}
        for field, token, prefix in zip(STAGE_FIELDS[1:], tokens[1:], "xws"):
            if not (token.startswith(prefix) and token[1:].isdigit()):
                raise UserError(f"stage {index} of arch {arch!r}: expected {prefix}<int> "
                                f"for {field}, got {token!r}")
            values[field] = int(token[1:])
        return values

    # ----- functional equivalence ----------------------------------------------------
    def prune(self, genotype: Genotype) -> Genotype:
        """Stages of skip blocks at their smallest depth (the repeats are identities)."""
        changes = {}
        for i, stage in enumerate(self.schema.stages):
            name = decision_name(i, "depth")
            if len(stage.depth) > 1 and self.stage_values(genotype, i)["ops"] in \
                    _IDENTITY_REPEATS:
                changes[name] = min(stage.depth)
        return genotype.replace(**changes) if changes else genotype

    def function_key(self, genotype: Genotype) -> str:
        return self.prune(genotype).key

    def describe_model(self, model: nn.Module) -> dict[str, Any]:
        return {"blocks": len(model.blocks)}
