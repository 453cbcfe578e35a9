"""Immutable, validated, hashable architecture genotypes (after Optuna's `FrozenTrial`)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from .errors import UserError

__all__ = ["Genotype"]

Value = str | int


@dataclass(frozen=True)
class Genotype:
    """One architecture of one space: an ordered mapping decision name -> choice.

    A genotype is only structurally validated here (names, value types); the owning
    `Space` validates the values against its decisions (`Space.genotype`).
    """

    space: str
    decisions: tuple[tuple[str, Value], ...]
    _hash: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.space, str) or not self.space:
            raise UserError(f"genotype 'space' must be a non-empty string, got {self.space!r}")
        if isinstance(self.decisions, Mapping):
            object.__setattr__(self, "decisions", tuple(self.decisions.items()))
        items = tuple((k, v) for k, v in self.decisions)
        for key, value in items:
            if not isinstance(key, str):
                raise UserError(f"genotype decision names must be strings, got {key!r}")
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise UserError(
                    f"genotype decision {key!r} must be a string or integer, got {value!r}"
                )
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys):
            raise UserError(f"genotype has repeated decision names: {keys}")
        object.__setattr__(self, "decisions", items)
        digest = hashlib.sha1(self.to_json().encode()).hexdigest()[:16]
        object.__setattr__(self, "_hash", digest)

    @property
    def key(self) -> str:
        """Stable 16-hex-digit hash for de-duplication (same across processes and runs)."""
        return self._hash

    def __hash__(self) -> int:
        return int(self._hash, 16)

    def __getitem__(self, name: str) -> Value:
        for key, value in self.decisions:
            if key == name:
                return value
        raise KeyError(name)

    def as_mapping(self) -> dict[str, Value]:
        return dict(self.decisions)

    def replace(self, **changes: Value) -> "Genotype":
        merged = dict(self.decisions)
        merged.update(changes)
        return Genotype(self.space, tuple(merged.items()))

    def to_dict(self) -> dict[str, Any]:
        return {"space": self.space, "decisions": dict(self.decisions)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Genotype":
        if not isinstance(data, Mapping) or set(data) != {"space", "decisions"}:
            raise UserError(
                "a genotype must be an object with exactly the keys 'space' and 'decisions', "
                f"got {sorted(data) if isinstance(data, Mapping) else type(data).__name__}"
            )
        if not isinstance(data["decisions"], Mapping):
            raise UserError("genotype 'decisions' must be an object of name -> choice")
        return cls(data["space"], tuple(data["decisions"].items()))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "Genotype":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"genotype is not valid JSON: {exc}") from None
        return cls.from_dict(data)
