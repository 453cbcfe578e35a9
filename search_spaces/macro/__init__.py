"""Macro (layer-wise) spaces."""
from __future__ import annotations

from .convnet import ConvNetSpace
from .fbnet import FBNetSpace

__all__ = ["ConvNetSpace", "FBNetSpace"]
