"""NNI 3.0 model spaces as frontier-nas Spaces (optional extra `frontier-nas[nni]`).

An NNI `ModelSpace` (Microsoft NNI 3.0, `nni.nas.nn.pytorch`) is addressed as
`nni:module.path:ClassName` or by a hub alias (`nni:nasbench201`, see `HUB`); the space
options are the class's constructor keyword arguments, except `input_size` (C, H, W),
which is ours (cost, describe and the train evaluator's data check) and never passed on.

Decisions are NNI's own `model_space.simplify()`: one categorical decision per label.
A `Categorical` whose values are all strings or integers keeps them as our choices
(LayerChoice names or indices, `nni.choice` of ints/strings); any other `Categorical`
(floats, bools, classes, ...) and every `CategoricalMultiple` (InputChoice, whose value is
a list) become the index 0..n-1 into its values, or into its combinations in
`itertools.combinations` order (NNI's `grid()` order); for InputChoice with n_chosen=1
index i is input i. NNI constraints (e.g. NAS-Bench-101's edge limit) are not decisions:
`sample`/`mutate` retry until they hold and `build` rejects a genotype breaking one.
`build` is NNI's `model_space.freeze(sample)`, deep-copied (NNI's frozen models share
modules with the space and with each other). Nothing here starts NNI's experiment manager.
"""
from __future__ import annotations

import contextlib
import copy
import importlib
import importlib.util
import itertools
import json
import math
import warnings
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

from search_spaces.errors import UserError, unknown_choice
from search_spaces.genotype import Genotype, Value
from search_spaces.space import Decision, Space

__all__ = ["PREFIX", "INSTALL", "HUB", "NNISpace", "nni_space", "hub_rows", "nni_available"]

PREFIX = "nni:"
INSTALL = 'pip install "frontier-nas[nni]"'
_HUB_MODULE = "nni.nas.hub.pytorch"
_CIFAR, _IMAGENET = (3, 32, 32), (3, 224, 224)
#: alias -> (NNI hub class, default input size, what it is)
HUB: dict[str, tuple[str, tuple[int, int, int], str]] = {
    "nasbench201": ("NasBench201", _CIFAR, "NAS-Bench-201 cell (Dong & Yang 2020)"),
    "nasbench101": ("NasBench101", _CIFAR, "NAS-Bench-101 cell (Ying et al. 2019)"),
    "nasnet": ("NASNet", _CIFAR, "NDS NASNet cells (Radosavovic et al. 2019)"),
    "enas": ("ENAS", _CIFAR, "NDS ENAS cells (Radosavovic et al. 2019)"),
    "amoebanet": ("AmoebaNet", _CIFAR, "NDS AmoebaNet cells (Radosavovic et al. 2019)"),
    "pnas": ("PNAS", _CIFAR, "NDS PNAS cells (Radosavovic et al. 2019)"),
    "darts": ("DARTS", _CIFAR, "NDS DARTS cells (Radosavovic et al. 2019)"),
    "proxylessnas": ("ProxylessNAS", _IMAGENET, "ProxylessNAS macro space (Cai et al. 2019)"),
    "mobilenetv3": ("MobileNetV3Space", _IMAGENET, "MobileNetV3-like macro space (NNI)"),
    "shufflenet": ("ShuffleNetSpace", _IMAGENET, "SPOS ShuffleNet space (Guo et al. 2020)"),
    "autoformer": ("AutoFormer", _IMAGENET, "AutoFormer ViT space (Chen et al. 2021)"),
}
_MAX_CHOICES = 4096  # a CategoricalMultiple with more combinations is refused
_MAX_TRIES = 1000  # rejection sampling against NNI constraints (NNI's own limit)
_MODEL_SPACES: dict[str, Any] = {}  # per-process cache: spaces can take seconds to build


def nni_available() -> bool:
    """Whether an `nni` package is installed (without importing it: that takes seconds)."""
    return importlib.util.find_spec("nni") is not None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hide NNI 3.0's import-time warnings that it does not know newer torch classes."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*is found to be not a nn\.Module",
                                category=RuntimeWarning)
        yield


def _import_nni():
    """The NNI modules we use; a `UserError` naming the install command if missing."""
    try:
        with _quiet():
            import nni
            import nni.nas.nn.pytorch as nas_nn
            import nni.runtime.log as nni_log
    except ImportError as exc:
        raise UserError(f"NNI model spaces need the optional NNI extra: {INSTALL} "
                        f"(import failed: {exc})") from None
    if not str(nni.__version__).startswith("3."):
        raise UserError(f"NNI {nni.__version__} is installed; the NNI interop needs NNI 3.x: "
                        f"{INSTALL}")
    nni_log.silence_stdout()  # stdout is for --json; NNI warnings still reach stderr
    return nni, nas_nn


def _target(name: str) -> tuple[str, str, tuple[int, int, int]]:
    """(module, class name, default input size) for 'nni:alias' or 'nni:module:Class'."""
    rest = name[len(PREFIX):]
    if rest in HUB:
        cls, size, _ = HUB[rest]
        return _HUB_MODULE, cls, size
    module, sep, cls = rest.rpartition(":")
    if not sep or not module or not cls.isidentifier():
        hint = unknown_choice("NNI hub alias", rest, HUB)
        raise UserError(f"NNI space {name!r} must be 'nni:module.path:ClassName' or a hub "
                        f"alias; {hint}")
    return module, cls, _CIFAR


def _space_class(name: str, module: str, cls: str):
    _, nas_nn = _import_nni()
    try:
        with _quiet():
            mod = importlib.import_module(module)
    except ImportError as exc:
        raise UserError(f"cannot import module {module!r} of NNI space {name!r}: {exc} (is it "
                        "installed, or on PYTHONPATH, e.g. `PYTHONPATH=. nas ...`?)") from None
    found = getattr(mod, cls, None)
    if not (isinstance(found, type) and issubclass(found, nas_nn.ModelSpace)):
        raise UserError(f"{module}:{cls} of NNI space {name!r} is not a subclass of "
                        "nni.nas.nn.pytorch.ModelSpace")
    return found


def _model_space(name: str, kwargs: Mapping[str, Any]):
    """Construct (once per process) the NNI model space, under torch seed 0 so that every
    process (driver, Ray workers) holds the same initial weights."""
    import torch

    key = json.dumps([name, kwargs], sort_keys=True, default=repr)
    if key not in _MODEL_SPACES:
        module, cls, _ = _target(name)
        space_cls = _space_class(name, module, cls)
        try:
            with _quiet(), torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                _MODEL_SPACES[key] = space_cls(**kwargs)
        except Exception as exc:  # the user's constructor: report it, do not crash
            reason = " ".join(str(exc).split())  # one line, as every UserError
            raise UserError(f"constructing NNI space {name!r} with options {dict(kwargs)} "
                            f"failed: {type(exc).__name__}: {reason}") from None
    return _MODEL_SPACES[key]


@dataclass(frozen=True)
class _Codec:
    """One NNI label: its values in choice order; `indexed` when our choices are indices."""

    label: str
    values: tuple[Any, ...]
    indexed: bool
    multiple: bool

    @property
    def choices(self) -> tuple[Value, ...]:
        return tuple(range(len(self.values))) if self.indexed else self.values

    def to_nni(self, choice: Value) -> Any:
        value = self.values[choice] if self.indexed else choice
        return list(value) if self.multiple else value

    def from_nni(self, value: Any) -> Value:
        if self.multiple and isinstance(value, (list, tuple)):
            value = tuple(value)
        elif isinstance(value, np.generic):
            value = value.item()
        for i, candidate in enumerate(self.values):
            if candidate == value and isinstance(candidate, bool) == isinstance(value, bool):
                return i if self.indexed else candidate
        raise UserError(f"NNI sample value {value!r} for {self.label!r} is not one of "
                        f"{list(self.values)}")


def _plain(values: tuple[Any, ...]) -> bool:
    return (all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values)
            and len(set(values)) == len(values))


def _codec(name: str, label: str, mutable: Any) -> _Codec:
    """The decision for one simplified NNI mutable (only categorical ones are allowed)."""
    from nni.mutable import Categorical, CategoricalMultiple

    if isinstance(mutable, Categorical):
        values = tuple(mutable.values)
        return _Codec(label, values, not _plain(values), False)
    if isinstance(mutable, CategoricalMultiple):
        values, n = list(mutable.values), mutable.n_chosen
        sizes = [n] if n is not None else range(len(values) + 1)
        total = sum(math.comb(len(values), r) for r in sizes)
        if total > _MAX_CHOICES:
            raise UserError(f"NNI space {name!r}: {label!r} has {total} combinations "
                            f"(more than {_MAX_CHOICES}); reduce its candidates or n_chosen")
        combos = tuple(c for r in sizes for c in itertools.combinations(values, r))
        return _Codec(label, combos, True, True)
    raise UserError(f"NNI space {name!r}: {label!r} is {type(mutable).__name__} ({mutable!r}); "
                    "only categorical mutables (LayerChoice, InputChoice, nni.choice) can be "
                    "searched here")


class NNISpace(Space):
    """An NNI 3.0 ModelSpace as a Space: NNI's labels are the decisions, NNI freezes."""

    description = "NNI ModelSpace"

    def __init__(self, name: str, **options: Any) -> None:
        if not name.startswith(PREFIX):
            raise UserError(f"NNI space names start with {PREFIX!r}, got {name!r}")
        self.name = name
        _, _, default_size = _target(name)
        kwargs = dict(options)
        size = kwargs.pop("input_size", default_size)
        if not (isinstance(size, (list, tuple)) and len(size) == 3
                and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
            raise UserError(f"space option 'input_size' must be [C, H, W] positive ints, got "
                            f"{size!r}")
        self.kwargs = kwargs
        self.options = {"input_size": tuple(size), **kwargs}
        _import_nni()  # first, so a missing NNI is one clear error
        self.model_space = _model_space(name, kwargs)
        from nni.mutable import Constraint, MutableAnnotation

        simplified = self.model_space.simplify()
        self.constraints = [m for m in simplified.values() if isinstance(m, Constraint)]
        self._codecs = [_codec(name, label, m) for label, m in simplified.items()
                        if not isinstance(m, MutableAnnotation)]
        if not self._codecs:
            raise UserError(f"NNI space {name!r} has no categorical mutables to search")

    def __reduce__(self):  # pickle (Ray) rebuilds it by name and options, not by weights
        return nni_space, (self.name, dict(self.options))

    def decisions(self) -> list[Decision]:
        return [Decision(c.label, c.choices) for c in self._codecs]

    # ----- NNI samples <-> genotypes ---------------------------------------------------
    def to_nni(self, genotype: Genotype) -> dict[str, Any]:
        """NNI's sample (label -> value) for `genotype`."""
        genotype = self.validate(genotype)
        return {c.label: c.to_nni(genotype[c.label]) for c in self._codecs}

    def from_nni(self, sample: Mapping[str, Any]) -> Genotype:
        """The genotype of an NNI sample (label -> value, as `simplify()` labels)."""
        missing = [c.label for c in self._codecs if c.label not in sample]
        if missing:
            raise UserError(f"NNI sample for {self.name!r} misses labels {missing}")
        return self.genotype({c.label: c.from_nni(sample[c.label]) for c in self._codecs})

    def violation(self, genotype: Genotype) -> str | None:
        """Why `genotype` breaks an NNI constraint of the space (None if it breaks none)."""
        sample = self.to_nni(genotype)
        for constraint in self.constraints:
            error = constraint.check_contains(sample)
            if error is not None:
                return f"{type(error).__name__}: {' '.join(str(error).split())}"
        return None

    # ----- search operators that respect NNI constraints --------------------------------
    def sample(self, rng: np.random.Generator) -> Genotype:
        return self._retry(lambda: super(NNISpace, self).sample(rng), "sample")

    def mutate(self, genotype: Genotype, rng: np.random.Generator) -> Genotype:
        return self._retry(lambda: super(NNISpace, self).mutate(genotype, rng), "mutation")

    def neighbours(self, genotype: Genotype) -> list[Genotype]:
        return [g for g in super().neighbours(genotype) if self.violation(g) is None]

    def _retry(self, propose, what: str) -> Genotype:
        for _ in range(_MAX_TRIES if self.constraints else 1):
            genotype = propose()
            if not self.constraints or self.violation(genotype) is None:
                return genotype
        raise UserError(f"no {what} of NNI space {self.name!r} met its constraints in "
                        f"{_MAX_TRIES} tries")

    # ----- text forms --------------------------------------------------------------------
    def format(self, genotype: Genotype) -> str:
        """The NNI sample as compact JSON (real values, also for indexed decisions)."""
        return json.dumps(self.to_nni(genotype), separators=(",", ":"), default=repr)

    def parse(self, arch: str) -> Genotype:
        """A genotype JSON or an NNI sample JSON ({label: value}, as `format` writes)."""
        try:
            data = json.loads(arch)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise UserError(f"NNI space {self.name!r} has no presets: pass a genotype JSON or "
                            "an NNI sample JSON {label: value}")
        if set(data) == {"space", "decisions"}:
            return self.validate(Genotype.from_dict(data))
        return self.from_nni(data)

    # ----- networks ----------------------------------------------------------------------
    def build(self, genotype: Genotype):
        """NNI's `freeze(sample)`, deep-copied so no two built models share weights."""
        sample = self.to_nni(genotype)
        reason = self.violation(genotype)
        if reason is not None:
            raise UserError(f"genotype breaks a constraint of NNI space {self.name!r}: {reason}")
        try:
            with _quiet():
                frozen = self.model_space.freeze(sample)
        except Exception as exc:  # the user's space code: report it on one line
            raise UserError(f"NNI could not freeze space {self.name!r} at {sample}: "
                            f"{type(exc).__name__}: {' '.join(str(exc).split())}") from None
        return copy.deepcopy(frozen)

    def describe(self, genotype: Genotype) -> dict[str, Any]:
        described = super().describe(genotype)
        module, cls, _ = _target(self.name)
        described["nni_class"] = f"{module}:{cls}"
        described["nni_sample"] = json.loads(self.format(genotype))
        return described


def nni_space(name: str, options: Mapping[str, Any] | None = None) -> NNISpace:
    """The space `name` ('nni:module.path:ClassName' or 'nni:<hub alias>') with options."""
    return NNISpace(name, **dict(options or {}))


def hub_rows() -> list[dict[str, Any]]:
    """`nas spaces list` rows for the NNI hub aliases (none when NNI is not installed).

    Decisions are not counted here: building the hub spaces takes seconds to minutes.
    """
    if not nni_available():
        return []
    return [{"name": PREFIX + alias, "description": f"{text}; NNI hub {cls}",
             "decisions": None, "ops": [], "presets": [],
             "options": {"input_size": list(size)}}
            for alias, (cls, size, text) in HUB.items()]
