"""The `Space` protocol every search space implements, and the space registry."""
from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import UserError, unknown_choice
from .genotype import Genotype, Value
from .options import Range, check_ranges
from .registry import Registry
from .user_code import is_reference, load_reference

__all__ = ["Decision", "Space", "SPACES", "register_space", "register_user_space", "get_space",
           "list_spaces", "space_class"]


@dataclass(frozen=True)
class Decision:
    """One categorical architecture choice: a name and its allowed values."""

    name: str
    choices: tuple[Value, ...]


class Space(abc.ABC):
    """A search space: a set of categorical decisions, presets, and a network builder.

    Subclasses set `name`, implement `decisions()`, `build()` and `describe()`; sampling,
    mutation, validation and the Optuna encoding come for free from the decisions.
    Constructor keyword options (e.g. channels, input size) are the space options.
    A space where different genotypes can compute the same function (dead edges, skip
    chains, reordered sums) sets `has_equivalents` and overrides `prune` and
    `function_key`; searches then never train one function twice.
    """

    name: str = ""
    description: str = ""
    #: whether `describe` counts bias adds in MACs (NB201 reports them as FLOPs)
    macs_include_bias: bool = False
    #: whether different genotypes can compute the same function (`prune`, `function_key`)
    has_equivalents: bool = False

    def __init__(self, **options: Any) -> None:
        #: the options as given (before defaults), so presets can layer theirs underneath
        self.given_options = dict(options)
        self.options = self.resolve_options(options)

    # ----- options ---------------------------------------------------------------
    @classmethod
    def default_options(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def resolve_options(cls, options: Mapping[str, Any]) -> dict[str, Any]:
        defaults = cls.default_options()
        resolved = dict(defaults)
        for key, value in options.items():
            if key not in defaults:
                raise unknown_choice(f"option of space {cls.name!r}", key, defaults)
            expected = type(defaults[key])
            if isinstance(value, bool) != isinstance(defaults[key], bool):  # bool is an int
                raise UserError(f"space {cls.name!r} option {key!r} must be "
                                f"{expected.__name__}, got {value!r}")
            if defaults[key] is not None and not isinstance(value, expected):
                if expected is float and isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
                elif expected in (list, tuple) and isinstance(value, (list, tuple)):
                    value = expected(value)
                else:
                    raise UserError(f"space {cls.name!r} option {key!r} must be "
                                    f"{expected.__name__}, got {value!r}")
            resolved[key] = value
        check_ranges(resolved, cls.name, cls.option_ranges())
        return resolved

    @classmethod
    def option_ranges(cls) -> dict[str, Range]:
        """Ranges of numeric options other than counts (int options default to >= 1)."""
        return {}

    # ----- decisions ---------------------------------------------------------------
    @abc.abstractmethod
    def decisions(self) -> Sequence[Decision]:
        """The categorical decisions, in a fixed order."""

    def genotype(self, decisions: Mapping[str, Value]) -> Genotype:
        """Validate `decisions` against this space and return the Genotype."""
        return self.validate(Genotype(self.name, tuple(decisions.items())))

    def validate(self, genotype: Genotype) -> Genotype:
        if genotype.space != self.name:
            raise UserError(f"genotype is for space {genotype.space!r}, not {self.name!r}")
        given = genotype.as_mapping()
        expected = {d.name: d for d in self.decisions()}
        missing = [n for n in expected if n not in given]
        extra = [n for n in given if n not in expected]
        if missing or extra:
            raise UserError(
                f"genotype for space {self.name!r} has wrong decisions "
                f"({len(given)} given, {len(expected)} expected): "
                f"missing {missing}, unexpected {extra}"
            )
        for name, decision in expected.items():
            if given[name] not in decision.choices:
                raise unknown_choice(f"choice for {self.name} decision {name!r}", given[name],
                                     [str(c) for c in decision.choices])
        ordered = tuple((n, given[n]) for n in expected)
        return genotype if ordered == genotype.decisions else Genotype(self.name, ordered)

    # ----- search operators -------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Genotype:
        """Uniform random genotype."""
        chosen = {d.name: d.choices[int(rng.integers(len(d.choices)))] for d in self.decisions()}
        return self.genotype(chosen)

    def mutate(self, genotype: Genotype, rng: np.random.Generator) -> Genotype:
        """Change one decision to a different allowed value (Real et al. 2019 mutation)."""
        mutable = [d for d in self.decisions() if len(d.choices) > 1]
        decision = mutable[int(rng.integers(len(mutable)))]
        others = [c for c in decision.choices if c != genotype[decision.name]]
        return genotype.replace(**{decision.name: others[int(rng.integers(len(others)))]})

    def neighbours(self, genotype: Genotype) -> list[Genotype]:
        """All genotypes one decision away."""
        return [
            genotype.replace(**{d.name: c})
            for d in self.decisions()
            for c in d.choices
            if c != genotype[d.name]
        ]

    def distributions(self) -> dict[str, Any]:
        """Optuna distributions encoding this space (one categorical per decision)."""
        import optuna

        return {d.name: optuna.distributions.CategoricalDistribution(d.choices)
                for d in self.decisions()}

    def encode(self, genotype: Genotype) -> np.ndarray:
        """One-hot vector of the genotype, for surrogates and distances."""
        parts = []
        for d in self.decisions():
            hot = np.zeros(len(d.choices))
            hot[d.choices.index(genotype[d.name])] = 1.0
            parts.append(hot)
        return np.concatenate(parts)

    # ----- functional equivalence ---------------------------------------------------
    def prune(self, genotype: Genotype) -> Genotype:
        """The same network with every op that cannot reach the output, or that only ever
        sees zeros, replaced by the zero op: never costlier, same function. Spaces without
        such ops (`has_equivalents` False) return the genotype itself."""
        return genotype

    def function_key(self, genotype: Genotype) -> str:
        """Equal for genotypes that compute the same function of the input (up to their
        weights), so a search need not train more than one of them; the genotype's own
        key in spaces without equivalents."""
        return genotype.key

    # ----- presets, parsing --------------------------------------------------------
    def presets(self) -> dict[str, Genotype]:
        """Named published architectures; each is valid in `self.resolve(name)[0]`."""
        return {}

    def preset_options(self) -> dict[str, dict[str, Any]]:
        """Space options a preset implies (e.g. FBNet-A's head width, NASNet's 5 nodes).

        Presets missing here imply no options.
        """
        return {}

    def resolve(self, arch: str) -> tuple["Space", Genotype]:
        """The space configured for `arch`, and its genotype.

        A preset's implied options are layered under the options this space was given
        explicitly (list options such as `extra_ops` are merged); anything else is parsed
        in this space as configured. Use this (not `parse`) to describe a preset as
        published.
        """
        arch = arch.strip()
        implied = self.preset_options().get(arch, {})
        if not implied:
            return self, self.parse(arch)
        merged = dict(implied)
        for key, value in self.given_options.items():
            if isinstance(value, (list, tuple)) and isinstance(merged.get(key), (list, tuple)):
                value = list(dict.fromkeys([*merged[key], *value]))
            merged[key] = value
        space = type(self)(**merged)
        return space, space.parse(arch)

    def parse(self, arch: str) -> Genotype:
        """A preset name, a space-specific arch string, or genotype JSON."""
        presets = self.presets()
        if arch in presets:
            return self._preset_here(arch, presets[arch])
        if arch.lstrip().startswith("{"):
            return self.validate(Genotype.from_json(arch))
        if presets:
            raise unknown_choice(f"preset of space {self.name!r}", arch, presets)
        raise UserError(f"space {self.name!r} has no presets; pass a genotype JSON")

    def _preset_here(self, arch: str, genotype: Genotype) -> Genotype:
        """`genotype` (preset `arch`) validated in this space, or a clear error saying
        which space options the preset needs."""
        try:
            return self.validate(genotype)
        except UserError:
            needs = self.preset_options().get(arch, {})
            raise UserError(
                f"preset {arch!r} of space {self.name!r} needs space options {needs}; "
                f"this space has {{{', '.join(f'{k!r}: {self.options[k]!r}' for k in needs)}}}"
                f". Use Space.resolve({arch!r}) or pass those options"
            ) from None

    def preset_name(self, genotype: Genotype) -> str | None:
        """The name of the preset equal to `genotype`, if any."""
        for name, preset in self.presets().items():
            if preset.decisions == genotype.decisions:
                return name
        return None

    def format(self, genotype: Genotype) -> str:
        """Short human-readable form (defaults to the JSON of the decisions)."""
        return genotype.to_json()

    # ----- networks ----------------------------------------------------------------
    @abc.abstractmethod
    def build(self, genotype: Genotype):
        """Build the torch.nn.Module for `genotype` with this space's options."""

    def input_size(self) -> tuple[int, int, int]:
        return tuple(self.options.get("input_size", (3, 32, 32)))

    def describe(self, genotype: Genotype) -> dict[str, Any]:
        """Params and MACs of the built network, plus the arch in readable form."""
        from .counting import MACS_COUNTS, count_macs, count_params, deploy_cost

        model = self.build(genotype)
        size = self.input_size()
        macs = count_macs(model, size, include_bias=self.macs_include_bias)
        deploy = deploy_cost(model, size, include_bias=self.macs_include_bias)
        info = {
            "space": self.name,
            "arch": self.format(genotype),
            "genotype": genotype.to_dict(),
            "key": genotype.key,
            "params": count_params(model),
            "macs": macs,
            "mmacs": round(macs / 1e6, 5),
            "macs_count": MACS_COUNTS + (" (bias adds included)" if self.macs_include_bias
                                         else " (no bias adds)"),
            "deploy_params": deploy["params"],  # re-param branches merged, BN folded
            "deploy_macs": deploy["macs"],
            "input_size": list(size),
            "options": {k: list(v) if isinstance(v, tuple) else v
                        for k, v in self.options.items()},
            "preset": self.preset_name(genotype),
        }
        note = self._preset_note(info["preset"])
        if note:
            info["note"] = note
        info.update(self.describe_model(model))
        return info

    def _preset_note(self, preset: str | None) -> str:
        """A warning when `preset` is described with other options than it implies."""
        implied = self.preset_options().get(preset or "", {})
        differ = {k: v for k, v in implied.items()
                  if not (isinstance(v, list) and set(v) <= set(self.options[k]))
                  and self.options[k] != v}
        if not differ:
            return ""
        return (f"genotype equals preset {preset!r}, published with {differ}; described "
                f"with {{{', '.join(f'{k!r}: {self.options[k]!r}' for k in differ)}}}. "
                f"Space.resolve({preset!r}) gives the published configuration")

    def describe_model(self, model) -> dict[str, Any]:
        """Space-specific extra fields for `describe` (e.g. other parameter counts)."""
        return {}


SPACES: Registry[type[Space]] = Registry("space", modules=(
    "search_spaces.cells.nb201", "search_spaces.cells.darts", "search_spaces.macro.fbnet",
    "search_spaces.macro.convnet", "search_spaces.macro.declarative"))


def register_space(cls: type[Space]) -> type[Space]:
    """Class decorator registering a Space subclass under its `name`."""
    return SPACES.register(cls.name)(cls)


# Name prefixes served by an adapter module ("module:function(name, options)"), imported by
# name only when such a space is asked for (NNI is an optional extra).
SPACE_ADAPTERS = {"nni:": "search_spaces.interop.nni:nni_space"}


def register_user_space(cls: type[Space], name: str | None = None) -> type[Space]:
    """Register the user's Space subclass under `name` (default: its `name`)."""
    space_class(cls, name or getattr(cls, "name", ""))
    return SPACES.register_user(name or cls.name, cls)


def space_class(obj: Any, ref: str) -> type[Space]:
    """`obj` if it is a usable Space subclass, else a UserError naming `ref`."""
    if not (isinstance(obj, type) and issubclass(obj, Space)):
        raise UserError(f"space {ref!r} is {type(obj).__name__} {obj!r}, not a subclass of "
                        "search_spaces.Space")
    if not obj.name or not isinstance(obj.name, str):
        raise UserError(f"space {ref!r}: set the class attribute `name` (a short string; "
                        "genotypes carry it)")
    missing = sorted(getattr(obj, "__abstractmethods__", ()))
    if missing:
        raise UserError(f"space {ref!r} does not implement {', '.join(missing)} (see "
                        "search_spaces.Space)")
    return obj


def get_space(name: str, **options: Any) -> Space:
    """Instantiate the registered space `name` with `options`.

    Names starting with "nni:" are NNI model spaces (optional extra), imported only then;
    "module:Class" names a Space subclass in the user's own module.
    """
    for prefix, target in SPACE_ADAPTERS.items():
        if name.startswith(prefix):
            module, _, function = target.partition(":")
            return getattr(importlib.import_module(module), function)(name, options)
    if name not in SPACES and is_reference(name):
        return space_class(load_reference(name, "space"), name)(**options)
    return SPACES.get(name)(**options)


def list_spaces() -> list[str]:
    return SPACES.names()
