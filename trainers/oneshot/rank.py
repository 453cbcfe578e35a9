"""Rank agreement between one-shot scores and stand-alone training (Kendall 1938).

One-shot rankings are only useful if they agree with stand-alone training (Yu et al.,
ICLR 2020, "Evaluating the Search Phase of NAS"; Guo et al. 2020 report Kendall tau).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["kendall_tau"]


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b of two score lists (ties handled as in scipy's default); NaN for
    fewer than two items or a constant list."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"kendall_tau needs equal lengths, got {len(x)} and {len(y)}")
    if len(x) < 2:
        return float("nan")
    i, j = np.triu_indices(len(x), k=1)
    dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    concordant_minus_discordant = float((dx * dy).sum())
    pairs_x, pairs_y = float((dx != 0).sum()), float((dy != 0).sum())
    if pairs_x == 0 or pairs_y == 0:
        return float("nan")
    return concordant_minus_discordant / np.sqrt(pairs_x * pairs_y)
