"""Cost metrics: parameter count and MACs (`search_spaces.counting`), and measured latency.

Counting conventions are in `search_spaces.counting`; latency is the median forward time
of the deploy form on a device.
"""
from __future__ import annotations

import math
import statistics
import time
from typing import Sequence

import torch
from torch import nn

from search_spaces.counting import (
    MACS_COUNTS,
    count_macs,
    count_params,
    count_weight_params,
    deploy_cost,
    deploy_form,
)

__all__ = ["count_params", "count_weight_params", "count_macs", "deploy_cost", "deploy_form",
           "MACS_COUNTS", "measure_latency", "cost_report"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_latency(model: nn.Module, input_size: Sequence[int], batch_size: int = 1,
                    warmup: int = 5, repeats: int = 20, device: str | torch.device | None = None,
                    fuse: bool = True) -> float:
    """Median wall-clock milliseconds of one forward pass of a (batch_size, *input_size)
    input, on the deploy (fused) form, after `warmup` untimed passes; CUDA is synchronised
    around every timed pass. `device` defaults to the model's."""
    return _median_forward_ms(deploy_form(model, fuse)[0], input_size, batch_size, warmup,
                              repeats, device)


@torch.inference_mode()
def _median_forward_ms(net: nn.Module, input_size: Sequence[int], batch_size: int,
                       warmup: int, repeats: int, device: str | torch.device | None) -> float:
    if repeats < 1 or warmup < 0 or batch_size < 1:
        raise ValueError("measure_latency needs repeats >= 1, warmup >= 0, batch_size >= 1")
    param = next(net.parameters(), None)
    device = torch.device(device) if device is not None else (
        param.device if param is not None else torch.device("cpu"))
    net.to(device)
    x = torch.randn(batch_size, *input_size, device=device,
                    dtype=param.dtype if param is not None else torch.float32)
    for _ in range(warmup):
        net(x)
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        net(x)
        _sync(device)
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def cost_report(model: nn.Module, input_size: Sequence[int], batch_size: int = 1,
                device: str | torch.device | None = None, include_bias: bool = False,
                warmup: int = 5, repeats: int = 20) -> dict[str, float | bool]:
    """Params, MACs (per sample) and median latency (ms), all of the deploy (fused) form,
    and arithmetic efficiency = MACs per second achieved (batch_size * MACs / latency)."""
    net, fused = deploy_form(model)
    macs = count_macs(net, input_size, include_bias=include_bias)
    ms = _median_forward_ms(net, input_size, batch_size, warmup, repeats, device)
    return {"params": float(count_params(net)), "macs": float(macs), "latency_ms": ms,
            "macs_per_s": batch_size * macs / (ms / 1000.0) if ms > 0 else math.nan,
            "batch_size": batch_size, "fused": fused}
