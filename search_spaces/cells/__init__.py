"""Cell-based spaces (NAS-Bench-201; NASNet/DARTS)."""
from __future__ import annotations

from .darts import DartsSpace
from .nb201 import NB201Space

__all__ = ["DartsSpace", "NB201Space"]
