"""Op library: string specs, registry, and the op modules that register into it."""
from __future__ import annotations

from .registry import OPS, OpEntry, build_op, list_ops, op_entry, register_op
from .spec import OpSpec, parse_spec

__all__ = ["OPS", "OpEntry", "OpSpec", "build_op", "list_ops", "op_entry", "parse_spec",
           "register_op"]
