"""Name -> object registries with helpful misses (timm `register_model`, FBNet `Registry`).

A registry is filled by registration: the built-in entries live in the modules it names in
`modules`, imported by name on the first lookup, so no base module imports its subclasses
(no import circles); user code registers its own entries with the same decorator.
"""
from __future__ import annotations

import importlib
from typing import Callable, Generic, Iterator, Sequence, TypeVar

from .errors import unknown_choice

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """A registry of named objects; `register` is a decorator, a miss lists close names.

    `modules`: absolute names of the modules that register the built-in entries; they are
    imported on the first lookup (`get`, `names`, `in`, iteration, `len`).
    """

    def __init__(self, kind: str, modules: Sequence[str] = ()) -> None:
        self.kind = kind
        self.modules = tuple(modules)
        self._items: dict[str, T] = {}
        self._loaded = not self.modules

    def load(self) -> None:
        """Import the modules that register the built-in entries (once)."""
        if self._loaded:
            return
        self._loaded = True
        for module in self.modules:
            importlib.import_module(module)

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items:
                raise KeyError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        self.load()
        try:
            return self._items[name]
        except KeyError:
            raise unknown_choice(self.kind, name, self._items) from None

    def names(self) -> list[str]:
        self.load()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self.load()
        return len(self._items)
