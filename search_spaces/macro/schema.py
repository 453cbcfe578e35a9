"""The declarative macro-space schema: stem, stages with choice lists, head (plain YAML).

Parsed once into frozen specs; every error is one line naming the key path, e.g.
``stages[1].ops[0]: unknown op 'ir_k9' ...``. A choice field takes one value or a list.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch

from ..errors import UserError, unknown_choice
from ..ops import build_op, op_entry
from .network import POOLS

__all__ = ["StemSpec", "StageSpec", "HeadSpec", "MacroSchema", "parse_schema",
           "STAGE_FIELDS", "STRIDES"]

STRIDES = (1, 2)
STEM_KERNELS = (1, 3, 5, 7)
#: stage keys in decision order; depth and stride default to 1, width and ops are required
STAGE_FIELDS = ("ops", "depth", "width", "stride")
_STAGE_DEFAULTS = {"depth": 1, "stride": 1}


@dataclass(frozen=True)
class StemSpec:
    """conv-BN-ReLU from the image to `channels`."""

    channels: int = 16
    kernel: int = 3
    stride: int = 1


@dataclass(frozen=True)
class StageSpec:
    """One stage: `depth` blocks of one op, `width` output channels; the first block
    carries `stride` (Tan et al. 2019, MnasNet, Sec. 4: factorized hierarchical space)."""

    ops: tuple[str, ...]
    depth: tuple[int, ...]
    width: tuple[int, ...]
    stride: tuple[int, ...]

    def choices(self, field: str) -> tuple:
        return getattr(self, field)


@dataclass(frozen=True)
class HeadSpec:
    """[1x1 conv-BN-ReLU to `channels` (0: none)] -> global `pool` -> dropout -> Linear."""

    channels: int = 0
    pool: str = "avg"
    dropout: float = 0.0


@dataclass(frozen=True)
class MacroSchema:
    stem: StemSpec
    stages: tuple[StageSpec, ...]
    head: HeadSpec


def _mapping(value: Any, path: str, allowed: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise UserError(f"{path}: must be a mapping with keys {', '.join(allowed)}, "
                        f"got {value!r}")
    for key in value:
        if key not in allowed:
            raise UserError(f"{path}: {unknown_choice('key', key, allowed)}")
    return dict(value)


def _int(value: Any, path: str, low: int, allowed: tuple[int, ...] = ()) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UserError(f"{path}: must be an integer >= {low}, got {value!r}")
    if allowed and value not in allowed:
        raise UserError(f"{path}: must be one of {list(allowed)}, got {value!r}")
    return value


def _choices(value: Any, path: str) -> list[tuple[str, Any]]:
    """(path of each item, item) of a choice field: one value or a non-empty list."""
    if not isinstance(value, (list, tuple)):
        return [(path, value)]
    if not value:
        raise UserError(f"{path}: the choice list is empty; give at least one value")
    if len(set(map(str, value))) != len(value):
        raise UserError(f"{path}: repeated choices in {list(value)}")
    return [(f"{path}[{i}]", v) for i, v in enumerate(value)]


def _op(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise UserError(f"{path}: an op is a spec string such as 'ir_k5_e6', got {value!r}")
    try:
        op_entry(value)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None
    return value


def _stage(value: Any, path: str) -> StageSpec:
    given = {**_STAGE_DEFAULTS, **_mapping(value, path, dict.fromkeys(STAGE_FIELDS))}
    missing = [k for k in STAGE_FIELDS if k not in given]
    if missing:
        raise UserError(f"{path}: missing {', '.join(missing)} (a stage needs ops and width; "
                        "depth and stride default to 1)")
    ops = tuple(_op(v, p) for p, v in _choices(given["ops"], f"{path}.ops"))
    depth = tuple(_int(v, p, 1) for p, v in _choices(given["depth"], f"{path}.depth"))
    width = tuple(_int(v, p, 1) for p, v in _choices(given["width"], f"{path}.width"))
    stride = tuple(_int(v, p, 1, STRIDES) for p, v in _choices(given["stride"],
                                                                 f"{path}.stride"))
    return StageSpec(ops, depth, width, stride)


def _stem(value: Any) -> StemSpec:
    given = _mapping(value, "stem", StemSpec.__dataclass_fields__)
    spec = StemSpec(**given)
    _int(spec.channels, "stem.channels", 1)
    _int(spec.kernel, "stem.kernel", 1, STEM_KERNELS)
    _int(spec.stride, "stem.stride", 1, STRIDES)
    return spec


def _head(value: Any) -> HeadSpec:
    spec = HeadSpec(**_mapping(value, "head", HeadSpec.__dataclass_fields__))
    _int(spec.channels, "head.channels", 0)
    if spec.pool not in POOLS:
        raise UserError(f"head.pool: must be one of {list(POOLS)}, got {spec.pool!r}")
    if isinstance(spec.dropout, bool) or not isinstance(spec.dropout, (int, float)) \
            or not 0 <= spec.dropout < 1:
        raise UserError(f"head.dropout: must be a number in [0, 1), got {spec.dropout!r}")
    return spec


def _check_buildable(schema: MacroSchema) -> None:
    """Build every (op, c_in, c_out, stride) a genotype can ask for, on the meta device
    (no memory, no init), so e.g. a width an op cannot take fails here, not in a trial."""
    inputs = {schema.stem.channels}
    for i, stage in enumerate(schema.stages):
        shapes = {(c_in, c_out, s) for c_in in inputs for c_out in stage.width
                  for s in stage.stride}
        if max(stage.depth) > 1:
            shapes |= {(c, c, 1) for c in stage.width}
        for j, op in enumerate(stage.ops):
            for c_in, c_out, stride in sorted(shapes):
                try:
                    with torch.device("meta"):
                        build_op(op, c_in, c_out, stride)
                except (UserError, ValueError, RuntimeError) as exc:
                    raise UserError(f"stages[{i}].ops[{j}]: {op!r} cannot map {c_in} -> "
                                    f"{c_out} channels at stride {stride}: {exc}; change "
                                    f"stages[{i}].width or the op") from None
        inputs = set(stage.width)


def parse_schema(stem: Any, stages: Any, head: Any) -> MacroSchema:
    """Validated `MacroSchema` from the space options `stem`, `stages`, `head`."""
    if not isinstance(stages, (list, tuple)) or not stages:
        raise UserError(f"stages: must be a non-empty list of stage mappings (ops, depth, "
                        f"width, stride), got {stages!r}")
    schema = MacroSchema(_stem(stem), tuple(_stage(s, f"stages[{i}]")
                                            for i, s in enumerate(stages)), _head(head))
    _check_buildable(schema)
    return schema
