"""Macro (layer-wise) spaces."""
from __future__ import annotations

__all__: list[str] = []
