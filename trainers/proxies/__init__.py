"""Zero-cost proxies: one module each, registered by name in `PROXIES`.

Every proxy is `score(model, batch, seed=0) -> float` where `batch = (x, y)` is one
batch of images (N, C, H, W) and int64 labels; data-free proxies only read x's shape and
device. Higher is better for every proxy. Scores are computed on a deep copy, so the
model's weights, buffers and train/eval modes are unchanged; a fixed seed gives the same
score twice. Networks without weights (parameter-free ops only) get 0.0, never NaN.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from search_spaces.errors import UserError
from search_spaces.registry import Registry
from search_spaces.user_code import check_user_name

from ._common import Batch, NotApplicable

__all__ = ["PROXIES", "ProxyEntry", "NotApplicable", "register_proxy", "register_user_proxy",
           "get_proxy",
           "score_proxy", "proxy_names"]

ScoreFn = Callable[..., float]


@dataclass(frozen=True)
class ProxyEntry:
    """A registered proxy: its score function and what it needs."""

    name: str
    score: ScoreFn
    data_free: bool
    citation: str
    check: Callable[[nn.Module], None] | None = None

    def applies(self, model: nn.Module) -> None:
        """Raise `NotApplicable` (a UserError) if this proxy cannot score `model`."""
        if self.check is not None:
            self.check(model)


# The modules that register the built-in proxies, imported on the first lookup.
PROXIES: Registry[ProxyEntry] = Registry("proxy", modules=tuple(
    f"trainers.proxies.{m}" for m in ("synflow", "naswot", "jacov", "snip", "grasp", "fisher",
                                      "grad_norm", "zen", "baselines")))


def register_proxy(name: str, *, data_free: bool, citation: str,
                   check: Callable[[nn.Module], None] | None = None):
    """Decorator registering `score(model, batch, seed=0) -> float` under `name`."""

    def decorator(fn: ScoreFn) -> ScoreFn:
        PROXIES.register(name)(ProxyEntry(name, fn, data_free, citation, check))
        return fn

    return decorator


def register_user_proxy(name: str, *, data_free: bool = False, citation: str = "",
                        check: Callable[[nn.Module], None] | None = None):
    """Decorator registering the user's `score(model, batch, seed=0) -> float` (higher is
    better) under `name`, for ladder proxy rungs and `nas proxies`."""

    check_user_name(name, "proxy")

    def decorator(fn: ScoreFn) -> ScoreFn:
        if not callable(fn):
            raise UserError(f"register_proxy({name!r}) decorates a score function, not {fn!r}")
        PROXIES.register_user(name, ProxyEntry(name, fn, data_free, citation, check))
        return fn

    return decorator


def get_proxy(name: str) -> ProxyEntry:
    """The registered proxy `name` (a miss lists close names)."""
    return PROXIES.get(name)


def proxy_names() -> list[str]:
    return PROXIES.names()


def score_proxy(name: str, model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """Check that proxy `name` applies to `model`, then score it on `batch`."""
    entry = get_proxy(name)
    entry.applies(model)
    device = next((p.device for p in model.parameters()), batch[0].device)
    x, y = batch
    return float(entry.score(model, (x.to(device), y.to(device)), seed=seed))

