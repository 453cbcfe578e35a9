"""Checks for space options shared by every space (ranges, input size, choices, extra ops).

Boundaries validate, internals trust: spaces call these once in `__init__`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .errors import UserError

__all__ = ["check_input_size", "check_ranges", "check_choice", "check_extra_ops",
           "is_large_input", "Range", "COUNT"]

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


@dataclass(frozen=True)
class Range:
    """Allowed values of a numeric space option: `low <= v <= high` (`< high` if open)."""

    low: float
    high: float = math.inf
    high_open: bool = False

    def contains(self, value: float) -> bool:
        return math.isfinite(value) and self.low <= value and (
            value < self.high if self.high_open else value <= self.high)

    def describe(self) -> str:
        if self.high == math.inf:
            return f">= {self.low:g}"
        return f"in [{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"


#: an int option with no declared range is a count: channels, cells, layers, classes
COUNT = Range(1)


def check_ranges(options: Mapping[str, Any], space: str,
                 ranges: Mapping[str, Range]) -> None:
    """Every numeric option of a space within its range (`Space.option_ranges`; an int
    option not listed there is a COUNT, a float one must be finite), and `input_size`
    when the space has it: the one range check of every space."""
    for name, value in options.items():
        if name == "input_size":
            check_input_size(value, space)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        allowed = ranges.get(name, COUNT if isinstance(value, int) else Range(-math.inf))
        if not allowed.contains(value):
            raise UserError(f"space {space!r} option {name!r} must be {allowed.describe()}, "
                            f"got {value!r}")


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
