"""Macro (layer-wise) spaces."""
from __future__ import annotations

from .fbnet import FBNetSpace

__all__ = ["FBNetSpace"]
