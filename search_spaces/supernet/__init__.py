"""Supernets for one-shot NAS: mixed ops, single-path (SPOS) and weighted (DNAS)
forwards, exact subnet extraction. `build_supernet(space)` for any space with one."""
from __future__ import annotations

from .base import (SUPERNETS, Supernet, build_supernet, fingerprint_difference,
                   fingerprint_of, register_supernet, supernet_spaces)
from .mixed import MixedOp, NoPathError

__all__ = ["MixedOp", "NoPathError", "SUPERNETS", "Supernet", "build_supernet",
           "fingerprint_difference", "fingerprint_of", "register_supernet",
           "supernet_spaces"]
