"""The op registry: op families registered by name, built from string specs.

A builder is a small pure function `(spec, c_in, c_out, stride, affine) -> nn.Module`.
Exact names (e.g. "conv_7x1_1x7") may be registered too and win over family parsing.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from torch import nn

from ..errors import UserError, unknown_choice
from .spec import OpSpec, parse_spec

__all__ = ["OpEntry", "register_op", "build_op", "op_entry", "list_ops", "OPS"]

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class OpEntry:
    """A registered op family: its builder, allowed option values and example specs."""

    family: str
    builder: Builder
    allowed: dict[str, tuple[int, ...]]
    examples: tuple[str, ...]
    param_free: bool = False
    doc: str = ""


OPS: dict[str, OpEntry] = {}

# Modules that register ops, imported on the first lookup; a new op module is added here once.
OP_MODULES = ("conv", "param_free", "darts_ops", "inverted_residual", "pf_layers",
              "large_kernel", "ls_conv", "convnext", "hornet")


def _load_all() -> None:
    for module in OP_MODULES:
        importlib.import_module(f"search_spaces.ops.{module}")


def register_op(family: str, *, examples: tuple[str, ...], param_free: bool = False,
                **allowed: tuple[int, ...]) -> Callable[[Builder], Builder]:
    """Register an op family; `allowed` lists the values each spec option may take."""

    def decorator(builder: Builder) -> Builder:
        if family in OPS:
            raise KeyError(f"op {family!r} is registered twice")
        OPS[family] = OpEntry(family, builder, dict(allowed), examples, param_free,
                              (builder.__doc__ or "").strip().splitlines()[0])
        return builder

    return decorator


def _resolve(spec: str | OpSpec) -> tuple[OpEntry, OpSpec]:
    _load_all()
    if isinstance(spec, str) and spec in OPS:
        return OPS[spec], OpSpec(name=spec, family=spec)
    parsed = spec if isinstance(spec, OpSpec) else parse_spec(spec)
    if parsed.family not in OPS:
        raise unknown_choice("op", parsed.name, [e for entry in OPS.values()
                                                 for e in entry.examples])
    entry = OPS[parsed.family]
    for option in ("kernel", "expansion", "groups", "dilation", "stride"):
        value = getattr(parsed, option)
        if value is None:
            continue
        if option not in entry.allowed:
            raise UserError(f"op {parsed.name!r}: {parsed.family!r} takes no {option} option; "
                            f"examples: {', '.join(entry.examples)}")
        if value not in entry.allowed[option]:
            raise UserError(f"op {parsed.name!r}: {option} {value} is not allowed for "
                            f"{parsed.family!r}; allowed: {list(entry.allowed[option])}")
    return entry, parsed


def op_entry(spec: str | OpSpec) -> OpEntry:
    """The registry entry for a spec (validates the spec)."""
    return _resolve(spec)[0]


def build_op(spec: str | OpSpec, c_in: int, c_out: int, stride: int = 1,
             affine: bool = True) -> nn.Module:
    """Build the module for `spec` mapping c_in -> c_out channels at `stride`."""
    entry, parsed = _resolve(spec)
    return entry.builder(parsed, c_in, c_out, stride, affine)


def list_ops() -> list[OpEntry]:
    _load_all()
    return [OPS[name] for name in sorted(OPS)]
