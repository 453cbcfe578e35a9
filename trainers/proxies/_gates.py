"""Frozen gates: replay one forward pass's piecewise-linear choices in a later pass.

A ReLU network's loss is piecewise smooth in the weights: autograd's derivatives hold within
one piece (ReLU'' = 0, a max-pool's switch fixed), but a finite difference whose step moves
some pre-activation across 0 sees a jump in the gradient, divided by the step. Replaying
the recorded gates (ReLU masks, Hardtanh/ReLU6 regions, LeakyReLU slopes, max-pool argmax)
evaluates the network on the piece autograd differentiates, so a finite difference of
gradients converges to autograd's Hessian-vector product (Pearlmutter 1994). Only modules
are frozen; a functional `F.relu` inside a module's code is evaluated as usual.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

__all__ = ["GateRecorder"]

# module kind -> (record(module, x, y) -> saved, replay(module, x, saved) -> y)
_Rule = tuple[Callable, Callable]


def _relu_replay(m: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return x.mul_(mask) if getattr(m, "inplace", False) else x * mask


def _hardtanh_record(m: nn.Hardtanh, x: torch.Tensor, y: torch.Tensor):
    # x may have been clamped in place (inplace=True): then x is y, and the open interval
    # test on y still finds the linear region
    return (y > m.min_val) & (y < m.max_val), y.detach().clone()


def _hardtanh_replay(m: nn.Hardtanh, x: torch.Tensor, saved) -> torch.Tensor:
    middle, clamped = saved
    return torch.where(middle, x, clamped)


def _leaky_record(m: nn.LeakyReLU, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.where(y > 0, 1.0, m.negative_slope).to(y.dtype)


def _maxpool_replay(m: nn.MaxPool2d, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return x.flatten(-2).gather(-1, idx.flatten(-2)).view(idx.shape)


_RULES: dict[type, _Rule] = {
    nn.ReLU: (lambda m, x, y: y > 0, _relu_replay),
    nn.Hardtanh: (_hardtanh_record, _hardtanh_replay),  # also ReLU6
    nn.LeakyReLU: (_leaky_record, _relu_replay),
}


def _rule(m: nn.Module) -> _Rule | None:
    return next((rule for kind, rule in _RULES.items() if isinstance(m, kind)), None)


class GateRecorder:
    """Instance `forward` overrides (removed again by `scoring`) on every gate module of
    `net`: `record()` runs the modules as usual and keeps their choices, in call order per
    module; `replay()` reuses them, one recorded call per call."""

    def __init__(self, net: nn.Module) -> None:
        self.saved: dict[int, list] = {}
        self.replaying = False
        for m in net.modules():
            if isinstance(m, nn.MaxPool2d) and not m.return_indices:  # needs the pool's indices
                m.forward = self._maxpool_forward(m)
            elif _rule(m) is not None:
                m.forward = self._gate_forward(m, *_rule(m), type(m).forward.__get__(m))

    def record(self) -> None:
        self.saved.clear()
        self.replaying = False

    def replay(self) -> None:
        self.replaying = True

    def _next(self, m: nn.Module):
        return self.saved[id(m)].pop(0)

    def _gate_forward(self, m, record, replay, original):
        def forward(x: torch.Tensor) -> torch.Tensor:
            if self.replaying:
                return replay(m, x, self._next(m))
            y = original(x)
            self.saved.setdefault(id(m), []).append(record(m, x, y))
            return y
        return forward

    def _maxpool_forward(self, m: nn.MaxPool2d):
        def forward(x: torch.Tensor) -> torch.Tensor:
            if self.replaying:
                return _maxpool_replay(m, x, self._next(m))
            y, idx = nn.functional.max_pool2d(x, m.kernel_size, m.stride, m.padding,
                                              m.dilation, m.ceil_mode, return_indices=True)
            self.saved.setdefault(id(m), []).append(idx)
            return y
        return forward
