"""FBNet differentiable NAS: Gumbel-softmax architecture parameters, latency-aware loss.

Wu et al., CVPR 2019, "FBNet", Sec. 3.3-3.4:

* each searchable layer l holds parameters theta_l (one per candidate); the supernet
  runs all candidates weighted by m_l = softmax((theta_l + g_l) / tau), g ~ Gumbel(0, 1);
* the loss is CE(a, w_a) * alpha * log(LAT(a))^beta with LAT(a) = sum_l sum_i m_l,i *
  LAT(b_l,i) from a per-op lookup table measured on the target device;
* tau is annealed exponentially per epoch (tau0 * exp(-tau_decay * epoch));
* the weights train on one part of the training data, theta on the other;
* the architecture is derived by taking each layer's most likely candidate.

LAT is taken in units of `latency_unit_ms` (the paper's unit is ms); the loss needs
LAT > 1 unit, so on fast devices pick a smaller unit.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from search_spaces.errors import UserError
from search_spaces.genotype import Genotype
from search_spaces.supernet import Supernet

from .config import OneShotConfig
from .latency import LatencyTable

__all__ = ["ArchParams", "gumbel_weights", "latency_loss", "temperature"]


def temperature(config: OneShotConfig, epoch: int) -> float:
    """tau at `epoch`: tau0 * exp(-tau_decay * epoch) (Wu et al. 2019, Sec. 4.1)."""
    return config.tau0 * math.exp(-config.tau_decay * epoch)


def gumbel_weights(theta: torch.Tensor, tau: float, generator: torch.Generator) -> torch.Tensor:
    """Gumbel-softmax sample per row of `theta` (layers, candidates) (Jang et al., ICLR
    2017; Maddison et al., ICLR 2017), with noise from `generator` (reproducible)."""
    u = torch.rand(theta.shape, generator=generator).clamp_(1e-10, 1.0 - 1e-7)
    g = -torch.log(-torch.log(u)).to(theta.device)
    return torch.softmax((theta + g) / tau, dim=-1)


def latency_loss(ce: torch.Tensor, weights: torch.Tensor, lat_ms: torch.Tensor,
                 config: OneShotConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(CE * alpha * log(LAT)^beta, LAT in ms) with LAT = sum(weights * table)."""
    lat = (weights * lat_ms).sum()
    scaled = lat / config.latency_unit_ms
    return ce * config.alpha * torch.log(scaled) ** config.beta, lat


class ArchParams:
    """theta of a layer-wise supernet and its optimizer (Adam, Wu et al. 2019, 4.1)."""

    def __init__(self, supernet: Supernet, config: OneShotConfig,
                 table: LatencyTable | None, device: torch.device) -> None:
        if not supernet.supports_dnas:
            raise UserError(f"DNAS needs a layer-wise supernet (fbnet); space "
                            f"{supernet.space.name!r} has none")
        if table is None:
            raise UserError("DNAS needs a latency table: set the supernet option "
                            "latency_table (build one with `nas latency-table`)")
        self.supernet, self.config = supernet, config
        self.blocks = supernet.choice_blocks()
        names = [name for name, _ in self.blocks]
        self.ops = list(self.blocks[0][1].names)
        self.lat_ms = table.matrix(names, self.ops).to(device)
        cheapest = float(self.lat_ms.min(dim=1).values.sum()) / config.latency_unit_ms
        if cheapest <= 1.0:
            raise UserError(
                f"the fastest architecture's table latency is {cheapest:.3g} units of "
                f"latency_unit_ms={config.latency_unit_ms}; log(LAT)^beta needs LAT > 1: "
                f"set latency_unit_ms below {cheapest * config.latency_unit_ms / 2:.3g}")
        self.theta = nn.Parameter(torch.zeros(len(names), len(self.ops), device=device))
        self.optimizer = torch.optim.Adam([self.theta], lr=config.arch_lr,
                                          weight_decay=config.arch_weight_decay)

    def apply(self, weights: torch.Tensor) -> None:
        """Make every layer run all candidates weighted by its row of `weights`."""
        for (_, block), row in zip(self.blocks, weights):
            block.weights = row

    def clear(self) -> None:
        for _, block in self.blocks:
            block.weights = None

    def derive(self) -> Genotype:
        """Each layer's most likely candidate (argmax theta) as a Genotype."""
        best = self.theta.detach().argmax(dim=1).tolist()
        return self.supernet.space.genotype(
            {name: self.ops[i] for (name, _), i in zip(self.blocks, best)})

    def summary(self) -> dict[str, Any]:
        """theta, probabilities and the derived genotype, JSON-able."""
        probs = torch.softmax(self.theta.detach(), dim=1).cpu().numpy()
        derived = self.derive()
        return {"decisions": [name for name, _ in self.blocks], "candidates": self.ops,
                "theta": self.theta.detach().cpu().tolist(),
                "probabilities": np.round(probs, 6).tolist(),
                "genotype": derived.to_dict(),
                "table_latency_ms": float(sum(
                    self.lat_ms[i, self.ops.index(str(derived[name]))]
                    for i, (name, _) in enumerate(self.blocks)))}

    def state_dict(self) -> dict[str, Any]:
        return {"theta": self.theta.detach().cpu(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.theta.copy_(state["theta"].to(self.theta.device))
        self.optimizer.load_state_dict(state["optimizer"])
