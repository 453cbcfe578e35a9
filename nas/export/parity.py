"""Parity check: an exported artefact, loaded back, must compute what its source computes."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import nn

from search_spaces.errors import UserError

__all__ = ["ParityError", "parity_check", "parity_input", "TOLERANCE"]

TOLERANCE = 1e-4  # max |exported - source| over all logits
PARITY_SEED, PARITY_BATCH = 1234, 4


class ParityError(UserError):
    """An export that does not reproduce its source module (reported as a failed command)."""


def parity_input(input_size: tuple[int, ...]) -> torch.Tensor:
    """The fixed random batch every parity check uses: N(0, 1), (4, C, H, W)."""
    generator = torch.Generator().manual_seed(PARITY_SEED)
    return torch.randn(PARITY_BATCH, *input_size, generator=generator)


@torch.no_grad()
def parity_check(source: nn.Module, run: Callable[[torch.Tensor], torch.Tensor],
                 input_size: tuple[int, ...], what: str, runtime: str) -> dict[str, Any]:
    """Compare `run(x)` with `source(x)` in eval mode; raise `ParityError` past TOLERANCE.

    Returns {"max_abs_diff", "tolerance", "input_shape", "runtime", "reference", "passed"}.
    """
    x = parity_input(input_size)
    expected = source.eval()(x)
    got = torch.as_tensor(run(x.clone()))
    if got.shape != expected.shape:
        raise ParityError(f"{what}: the loaded-back export returns shape {tuple(got.shape)}, "
                          f"the source module {tuple(expected.shape)}")
    diff = float((got.float() - expected.float()).abs().max())
    result = {"max_abs_diff": diff, "tolerance": TOLERANCE, "input_shape": list(x.shape),
              "runtime": runtime, "reference": "source module (unfused, eval mode)",
              "passed": math.isfinite(diff) and diff < TOLERANCE}
    if not result["passed"]:
        raise ParityError(f"{what} fails the parity check: max |export - source| = {diff:.3g} "
                          f"(tolerance {TOLERANCE:g}, {runtime}, input {list(x.shape)})")
    return result
