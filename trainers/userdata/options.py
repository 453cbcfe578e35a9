"""The `data` evaluator option of user datasets (npz, npy, image_folder), validated once.

Parsed into a frozen, hashable `DataOptions` so loaded datasets can be cached per process.
Every error names the key (``data.keys``, ``data.normalize.mean``, ...).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from search_spaces.errors import UserError, unknown_choice

__all__ = ["DataOptions", "parse_data_options", "LAYOUTS", "MODES", "DEFAULT_CACHE"]

LAYOUTS = ("auto", "nchw", "nhwc")
MODES = ("rgb", "gray")
DEFAULT_VAL_FRACTION = 0.2
#: decoded image folders are cached here unless data.cache_dir says otherwise
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) \
    / "frontier-nas" / "image_folders"


@dataclass(frozen=True)
class DataOptions:
    """Reader options of a user dataset.

    keys: (images, labels) array names in a .npz or `<name>.npy` files in a folder (empty:
    try images/labels, then x/y); layout: auto | nchw | nhwc; val / test: a second dataset
    of the same kind (then no split); val_fraction: the stratified, seeded validation share
    when there is no `val`; normalize: "auto" (per-channel mean/std of the train split),
    "none", or (mean, std) per channel on the 0..1 scale of uint8 data; mode: rgb | gray
    for image folders; cache_dir: where decoded image folders are kept as .npy.
    """

    keys: tuple[str, ...] = ()
    layout: str = "auto"
    val: str = ""
    test: str = ""
    val_fraction: float = DEFAULT_VAL_FRACTION
    normalize: str | tuple[tuple[float, ...], tuple[float, ...]] = "auto"
    mode: str = "rgb"
    cache_dir: str = ""

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_dir).expanduser() if self.cache_dir else DEFAULT_CACHE


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise UserError(f"data.{key} must be a string, got {value!r}")
    return value


def _keys(value: Any) -> tuple[str, ...]:
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, str) and v for v in value)):
        raise UserError(f"data.keys must be two array names [IMAGES, LABELS], e.g. [x, y]; "
                        f"got {value!r}")
    return tuple(value)


def _stats(value: Any, key: str) -> tuple[float, ...]:
    if (not isinstance(value, (list, tuple)) or not value
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       and math.isfinite(v) for v in value)):
        raise UserError(f"data.normalize.{key} must be a list of numbers (one per channel), "
                        f"got {value!r}")
    return tuple(float(v) for v in value)


def _normalize(value: Any):
    if isinstance(value, str):
        if value not in ("auto", "none"):
            raise unknown_choice("data.normalize", value, ("auto", "none", "{mean, std}"))
        return value
    if not isinstance(value, Mapping) or set(value) != {"mean", "std"}:
        raise UserError("data.normalize must be 'auto', 'none' or {mean: [...], std: [...]}, "
                        f"got {value!r}")
    mean, std = _stats(value["mean"], "mean"), _stats(value["std"], "std")
    if len(mean) != len(std) or min(std) <= 0:
        raise UserError(f"data.normalize needs as many std as mean values, all > 0; got "
                        f"mean {list(mean)}, std {list(std)}")
    return mean, std


def parse_data_options(given: Mapping[str, Any] | DataOptions | None) -> DataOptions:
    """A validated `DataOptions` from the evaluator's `data` mapping."""
    if isinstance(given, DataOptions):
        return given
    given = dict(given or {})
    allowed = [f.name for f in fields(DataOptions)]
    for key in given:
        if key not in allowed:
            raise unknown_choice("key of evaluator option 'data'", key, allowed)
    out: dict[str, Any] = {}
    for key in ("layout", "val", "test", "mode", "cache_dir"):
        if key in given:
            out[key] = _string(given[key], key)
    for key, allowed_values in (("layout", LAYOUTS), ("mode", MODES)):
        if key in out and out[key] not in allowed_values:
            raise unknown_choice(f"data.{key}", out[key], allowed_values)
    if "keys" in given:
        out["keys"] = _keys(given["keys"])
    if "normalize" in given:
        out["normalize"] = _normalize(given["normalize"])
    if "val_fraction" in given:
        fraction = given["val_fraction"]
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) \
                or not 0 < fraction < 1:
            raise UserError(f"data.val_fraction must be a number in (0, 1), got {fraction!r}")
        if given.get("val"):
            raise UserError("give data.val (a validation file) or data.val_fraction "
                            "(a split of the training data), not both")
        out["val_fraction"] = float(fraction)
    return DataOptions(**out)
