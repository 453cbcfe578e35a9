"""Op library: string specs, registry, and the op modules that register into it."""
from __future__ import annotations

import importlib

from .registry import OPS, OpEntry, build_op, list_ops, op_entry, register_op
from .spec import OpSpec, parse_spec

__all__ = ["OPS", "OpEntry", "OpSpec", "build_op", "list_ops", "op_entry", "parse_spec",
           "register_op"]

# Modules that register ops; a new op module is added here once.
_OP_MODULES = ("conv", "param_free", "darts_ops", "inverted_residual", "pf_layers",
               "large_kernel", "ls_conv", "convnext", "hornet")


def _load_all() -> None:
    for module in _OP_MODULES:
        importlib.import_module(f"{__name__}.{module}")
