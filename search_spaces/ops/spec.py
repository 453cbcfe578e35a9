"""Op string specs ("nor_conv_3x3", "ir_k5_e6_g2", "replk_k13") parsed into frozen specs.

Grammar (timm arch-def style): underscore-separated tokens; option tokens are
`k<int>` kernel, `<int>x<int>` square kernel, `e<int>` expansion, `g<int>` groups,
`d<int>` dilation, `s<int>` stride; all other tokens form the op family name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UserError

__all__ = ["OpSpec", "parse_spec"]

_OPTION = re.compile(r"^(?:(?P<k>k)(?P<kv>\d+)|(?P<sq>\d+)x(?P<sq2>\d+)|(?P<o>[egds])(?P<ov>\d+))$")
_NAMES = {"e": "expansion", "g": "groups", "d": "dilation", "s": "stride"}


@dataclass(frozen=True)
class OpSpec:
    """A parsed op spec; `name` is the canonical string it came from."""

    name: str
    family: str
    kernel: int | None = None
    expansion: int | None = None
    groups: int | None = None
    dilation: int | None = None
    stride: int | None = None


def parse_spec(text: str) -> OpSpec:
    """Parse an op spec string; options with square kernels like 3x3 are accepted."""
    if not isinstance(text, str) or not re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", text):
        raise UserError(
            f"op spec {text!r} is malformed: use lowercase tokens joined by '_', "
            "e.g. 'nor_conv_3x3' or 'ir_k5_e6'"
        )
    family, options = [], {}
    for token in text.split("_"):
        match = _OPTION.match(token)
        if not match or (match["sq"] and match["sq"] != match["sq2"]):
            family.append(token)
            continue
        if match["k"]:
            key, value = "kernel", int(match["kv"])
        elif match["sq"]:
            key, value = "kernel", int(match["sq"])
        else:
            key, value = _NAMES[match["o"]], int(match["ov"])
        if key in options:
            raise UserError(f"op spec {text!r} sets {key} twice")
        options[key] = value
    if not family:
        raise UserError(f"op spec {text!r} has no op name, only options")
    return OpSpec(name=text, family="_".join(family), **options)
