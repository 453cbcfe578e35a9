"""Mixed ops: every candidate of one architecture decision, run single-path or weighted.

One-shot NAS shares weights by holding all candidates of a choice in one module
(Bender et al., ICML 2018, "Understanding and Simplifying One-Shot Architecture
Search", Sec. 3). Two forward modes:

* single path (SPOS, Guo et al., ECCV 2020, Sec. 3.2): only the active candidate runs,
  so a supernet step costs what the sampled subnet's step costs;
* weighted (FBNet DNAS, Wu et al., CVPR 2019, Sec. 3.3): the output is
  sum_k m_k * candidate_k(x) with Gumbel-softmax weights m set by the trainer.

Each candidate is built by the op registry exactly as the stand-alone network builds it,
BN included, so a candidate's weights (and BN statistics) copy into the extracted
subnet unchanged.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["MixedOp", "NoPathError"]


class NoPathError(RuntimeError):
    """A supernet was run before `set_path` (or DNAS weights) chose what to run."""


class MixedOp(nn.Module):
    """The candidates of one decision, in the space's choice order.

    Candidates live in a ModuleList (state keys `candidates.<index>`) so any op name the
    registry accepts is a valid candidate. Shapes: (N, C_in, H, W) -> (N, C_out, H', W'),
    the same for every candidate.
    """

    def __init__(self, names: Sequence[str], candidates: Sequence[nn.Module]) -> None:
        super().__init__()
        if len(names) != len(candidates) or not names:
            raise ValueError("MixedOp needs one module per candidate name")
        self.names = tuple(str(n) for n in names)
        self.candidates = nn.ModuleList(candidates)
        self.active: int | None = None
        self.weights: torch.Tensor | None = None

    def index(self, name: str) -> int:
        return self.names.index(name)

    def run(self, x: torch.Tensor, index: int) -> torch.Tensor:
        """Run only candidate `index` (single path)."""
        return self.candidates[index](x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weights is not None:  # DNAS: all candidates, weighted (Wu et al. 2019, Eq. 5)
            out = 0
            for weight, op in zip(self.weights, self.candidates):
                out = out + weight * op(x)
            return out
        if self.active is None:
            raise NoPathError("the supernet has no path: call set_path(genotype) first")
        return self.candidates[self.active](x)

    def extra_repr(self) -> str:
        return f"candidates={list(self.names)}, active={self.active}"
