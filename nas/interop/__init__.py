"""Bridges to other NAS libraries, each behind an optional extra.

`nas.interop.nni` wraps NNI 3.0 model spaces (`pip install "frontier-nas[nni]"`); it is
imported lazily by `search_spaces.get_space` for space names starting with "nni:", so the
core install never imports (or needs) NNI.
"""
from __future__ import annotations

__all__: list[str] = []
