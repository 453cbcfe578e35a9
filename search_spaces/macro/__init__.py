"""Macro (layer-wise) spaces: FBNet, and `macro` declared in the config."""
from __future__ import annotations

from .convnet import ConvNetSpace
from .declarative import MacroSpace
from .fbnet import FBNetSpace

__all__ = ["ConvNetSpace", "FBNetSpace", "MacroSpace"]
