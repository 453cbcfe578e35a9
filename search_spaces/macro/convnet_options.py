"""Range checks for the convnet space's options (boundaries validate, internals trust)."""
from __future__ import annotations

from typing import Any, Sequence

from ..errors import UserError, unknown_choice
from .convnet_mixers import check_mixer_width, mixer_entry

__all__ = ["STYLES", "BLOCK_OF_STYLE", "MAX_DEPTH", "MAX_WIDTH", "MAX_MLP_RATIO",
           "per_stage_ints", "per_stage_mixers", "positive_ints", "four_ints", "check_widths_fit",
           "check_style"]

#: macro style -> its papers' block style
BLOCK_OF_STYLE = {"convnext": "convnext", "hornet": "metaformer", "unireplknet": "unireplk",
                  "replknet": "replk", "lsnet": "lsnet"}
STYLES = tuple(BLOCK_OF_STYLE)
MAX_DEPTH, MAX_WIDTH, MAX_MLP_RATIO = 64, 4096, 8


def _int_list(value: Any, name: str, low: int, high: int) -> tuple[int, ...]:
    if (not isinstance(value, (list, tuple)) or not value
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise UserError(f"convnet option {name!r} needs a non-empty list of ints, got {value!r}")
    bad = [v for v in value if not low <= v <= high]
    if bad:
        raise UserError(f"convnet option {name!r}: {bad} outside [{low}, {high}]")
    return tuple(dict.fromkeys(value))


def per_stage_ints(value: Any, name: str, low: int, high: int) -> tuple[tuple[int, ...], ...]:
    """Four lists of allowed ints, one per stage, e.g. depths [[2, 3], [2, 3], [6, 9], [2]]."""
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise UserError(f"convnet option {name!r} needs 4 lists (one per stage), e.g. "
                        f"[[2, 3], [2, 3], [6, 9], [2, 3]]; got {value!r}")
    return tuple(_int_list(v, f"{name}[{i}]", low, high) for i, v in enumerate(value))


def four_ints(value: Any, name: str, low: int, high: int) -> tuple[int, ...]:
    """One int per stage, e.g. LSNet's attention heads [3, 3, 3, 4]."""
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise UserError(f"convnet option {name!r} needs 4 ints (one per stage), got {value!r}")
    return tuple(_int_list([v], f"{name}[{i}]", low, high)[0] for i, v in enumerate(value))


def positive_ints(value: Any, name: str, high: int) -> tuple[int, ...]:
    return _int_list(value, name, 1, high)


def per_stage_mixers(value: Any) -> tuple[tuple[str, ...], ...]:
    """`mixers`: one list for every stage, or 4 lists; each name checked by the registry."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        value = [value] * 4
    if (not isinstance(value, (list, tuple)) or len(value) != 4
            or not all(isinstance(s, (list, tuple)) and s and all(isinstance(m, str) for m in s)
                       for s in value)):
        raise UserError("convnet option 'mixers' needs a list of mixer names (every stage) "
                        f"or 4 such lists, e.g. ['dw_k7', 'gnconv_o3']; got {value!r}")
    for stage in value:
        for name in stage:
            mixer_entry(name)
    return tuple(tuple(dict.fromkeys(s)) for s in value)


def check_widths_fit(widths: Sequence[Sequence[int]], mixers: Sequence[Sequence[str]],
                     style: str, dw_ratio: float) -> None:
    """Every width choice of a stage must suit every mixer of that stage."""
    for stage_widths, stage_mixers in zip(widths, mixers):
        for width in stage_widths:
            if style in ("lsnet", "unireplknet") and width % 4:
                raise UserError(f"convnet style {style!r} needs widths divisible by 4 (its "
                                f"stem halves them), got {width}")
            for name in stage_mixers:
                check_mixer_width(name, int(width * dw_ratio) if style == "replknet" else width)


def check_style(style: str, block: str, styles: Sequence[str], blocks: Sequence[str]) -> None:
    if style not in styles:
        raise unknown_choice("convnet style", style, styles)
    if block != "auto" and block not in blocks:
        raise unknown_choice("convnet block", block, ["auto", *blocks])
