"""Checks for space options shared by several spaces (input size, classes, extra ops).

Boundaries validate, internals trust: spaces call these once in `__init__`.
"""
from __future__ import annotations

from typing import Any, Sequence

from .errors import UserError

__all__ = ["check_input_size", "check_positive", "check_choice", "check_extra_ops",
           "is_large_input"]

#: inputs with both sides above this use the ImageNet layouts (stride-2 stems) by default
LARGE_INPUT = 64


def check_input_size(value: Any, space: str) -> tuple[int, int, int]:
    """`input_size` as (C, H, W) of positive ints: 3x32x32 CIFAR, 3x224x224 ImageNet,
    1x8x8 sklearn digits (or digits upsampled, e.g. 1x32x32)."""
    if (not isinstance(value, (list, tuple)) or len(value) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        raise UserError(f"space {space!r} option 'input_size' must be three positive ints "
                        f"(C, H, W), e.g. [3, 32, 32]; got {value!r}")
    return tuple(value)


def check_positive(options: dict[str, Any], space: str, *names: str) -> None:
    """Each named integer option is >= 1."""
    for name in names:
        if options[name] < 1:
            raise UserError(f"space {space!r} option {name!r} must be >= 1, "
                            f"got {options[name]!r}")


def check_choice(options: dict[str, Any], space: str, name: str,
                 allowed: Sequence[str]) -> None:
    """A string option is one of `allowed`."""
    if options[name] not in allowed:
        raise UserError(f"space {space!r} option {name!r} must be one of {list(allowed)}, "
                        f"got {options[name]!r}")


def check_extra_ops(value: Any, space: str, base: Sequence[str]) -> tuple[str, ...]:
    """Validate `extra_ops` (op spec strings) through the op registry; drop repeats and
    ops already in `base`, keep the given order."""
    from .ops import op_entry

    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise UserError(f"space {space!r} option 'extra_ops' must be a list of op spec "
                        f"strings, e.g. ['sep_conv_7x7'], got {value!r}")
    for spec in value:
        op_entry(spec)  # raises UserError naming close ops
    return tuple(op for op in dict.fromkeys(value) if op not in base)


def is_large_input(input_size: Sequence[int]) -> bool:
    """Whether an input calls for the ImageNet layout (both sides > 64 pixels)."""
    return min(input_size[1:]) > LARGE_INPUT
