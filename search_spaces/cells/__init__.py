"""Cell-based spaces (NAS-Bench-201; NASNet/DARTS)."""
from __future__ import annotations

from .nb201 import NB201Space

__all__ = ["NB201Space"]
