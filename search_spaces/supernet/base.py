"""The supernet base: path setting, exact subnet extraction, identity (fingerprint).

A supernet wraps the space's own network (`space.build`) with every searched module
replaced by a `MixedOp` (or, for cells, a cell holding mixed edges). Everything else
(stems, heads, cell preprocessing) is the stand-alone network's own module, shared by
all paths. So a subnet is extracted exactly: build the stand-alone network of the
genotype and copy each tensor from its counterpart in the supernet (Guo et al., ECCV
2020, SPOS, Sec. 3: subnets inherit the supernet's weights).
"""
from __future__ import annotations

import abc
from typing import Any, Callable

import torch
from torch import nn

from ..errors import UserError
from ..genotype import Genotype
from ..registry import Registry
from ..space import Space
from .mixed import MixedOp

__all__ = ["Supernet", "SUPERNETS", "register_supernet", "build_supernet", "supernet_spaces",
           "fingerprint_of", "fingerprint_difference"]

FORMAT = 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def fingerprint_of(space: Space) -> dict[str, Any]:
    """What identifies a supernet: space name, resolved options and candidates."""
    return {"format": FORMAT, "space": space.name,
            "options": _jsonable(dict(sorted(space.options.items()))),
            "decisions": {d.name: list(d.choices) for d in space.decisions()}}


def fingerprint_difference(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable differences between two fingerprints (empty when they match)."""
    if saved.get("space") != current.get("space"):
        return [f"space: {saved.get('space')!r} -> {current.get('space')!r}"]
    diffs = []
    old, new = saved.get("options", {}), current.get("options", {})
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            diffs.append(f"option {key}: {old.get(key)!r} -> {new.get(key)!r}")
    if not diffs and saved.get("decisions") != current.get("decisions"):
        diffs.append("decisions or candidates differ")
    if not diffs and saved.get("format") != current.get("format"):
        diffs.append(f"format: {saved.get('format')} -> {current.get('format')}")
    return diffs


class Supernet(nn.Module, abc.ABC):
    """All architectures of `space` in one module; `set_path` picks the one to run.

    Subclasses build `self.net` (the space's network with mixed parts) and implement
    `_apply_path` and `_path_map`. Shapes: those of `space.build(genotype)`.
    """

    #: whether DNAS (weighted all-candidate forward over `choice_blocks`) is supported
    supports_dnas = False

    def __init__(self, space: Space) -> None:
        super().__init__()
        self.space = space
        self.path: Genotype | None = None

    # ----- identity -------------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        return fingerprint_of(self.space)

    # ----- paths ----------------------------------------------------------------------
    def set_path(self, genotype: Genotype) -> Genotype:
        """Make `genotype` the single path run by `forward` (SPOS mode); clears any
        DNAS weights. Raises UserError for a genotype outside this supernet's space."""
        genotype = self.space.validate(genotype)
        for _, block in self.choice_blocks():
            block.weights = None
        self._apply_path(genotype)
        self.path = genotype
        return genotype

    @abc.abstractmethod
    def _apply_path(self, genotype: Genotype) -> None:
        """Point the mixed parts at the genotype's candidates."""

    def choice_blocks(self) -> list[tuple[str, MixedOp]]:
        """(decision name, MixedOp) pairs when each decision is one mixed op (DNAS)."""
        return []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    # ----- extraction -----------------------------------------------------------------
    @abc.abstractmethod
    def _path_map(self, genotype: Genotype) -> dict[str, str]:
        """Stand-alone module prefix -> supernet module prefix (relative to `net`) for
        the searched modules of `genotype`; other modules share their names."""

    def extract(self, genotype: Genotype | None = None) -> nn.Module:
        """The stand-alone network of `genotype` (default: the current path), built by
        `space.build` and holding this supernet's weights and BN statistics.

        Its output equals the supernet's on the same path (eval mode). The module is in
        this supernet's train/eval mode and on its device.
        """
        if genotype is None:
            if self.path is None:
                raise UserError("extract() needs a genotype (no path is set)")
            genotype = self.path
        genotype = self.space.validate(genotype)
        standalone = self.space.build(genotype)
        mapping = sorted(self._path_map(genotype).items(), key=lambda kv: -len(kv[0]))
        target = {}
        for key, value in standalone.state_dict().items():
            src = _translate(key, mapping)
            tensor = self._tensor(src)
            if tensor is None or tensor.shape != value.shape:
                raise RuntimeError(f"supernet has no tensor {src!r} matching subnet {key!r} "
                                   f"{tuple(value.shape)}; the supernet and "
                                   f"{type(self.space).__name__}.build disagree")
            target[key] = tensor.detach().clone()
        standalone.load_state_dict(target, strict=True)
        device = next(self.parameters()).device
        return standalone.to(device).train(self.training)


    def _tensor(self, name: str) -> torch.Tensor | None:
        """The parameter or buffer `name` of `net` (without walking the whole state)."""
        path, _, attr = name.rpartition(".")
        try:
            module = self.net.get_submodule(path) if path else self.net
        except AttributeError:
            return None
        value = getattr(module, attr, None)
        return value if isinstance(value, torch.Tensor) else None


def _translate(key: str, mapping: list[tuple[str, str]]) -> str:
    for prefix, replacement in mapping:
        if key.startswith(prefix + "."):
            return replacement + key[len(prefix):]
    return key


# The modules that register the built-in supernets, imported on the first lookup.
SUPERNETS: Registry[Callable[[Space], Supernet]] = Registry(
    "supernet", modules=("search_spaces.supernet.darts", "search_spaces.supernet.fbnet",
                         "search_spaces.supernet.convnet", "search_spaces.supernet.macro"))


def register_supernet(space_name: str) -> Callable:
    """Class decorator registering the supernet of space `space_name`."""
    return SUPERNETS.register(space_name)


def supernet_spaces() -> list[str]:
    """Names of the spaces that have a supernet."""
    return SUPERNETS.names()


def build_supernet(space: Space) -> Supernet:
    """The supernet of `space` (its options and extra_ops candidates included)."""
    if space.name not in supernet_spaces():
        raise UserError(f"space {space.name!r} has no supernet; supernets exist for: "
                        f"{', '.join(SUPERNETS.names())}")
    return SUPERNETS.get(space.name)(space)
