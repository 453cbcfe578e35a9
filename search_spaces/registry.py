"""Name -> object registries with helpful misses (timm `register_model`, FBNet `Registry`).

A registry is filled by registration: the built-in entries live in the modules it names in
`modules`, imported by name on the first lookup, so no base module imports its subclasses
(no import circles); user code registers its own entries with the same decorator.
"""
from __future__ import annotations

import importlib
from typing import Callable, Generic, Iterator, Sequence, TypeVar

from .errors import UserError, unknown_choice

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
        self._user: set[str] = set()  # registered at run time by the user's code

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

    def register_user(self, name: str, obj: T) -> T:
        """Register the user's `obj` under `name`: a name of ours is refused, the user's
        own may be registered again (a re-run notebook cell replaces it)."""
        self.load()  # a built-in name is refused now, not when its module loads later
        if not isinstance(name, str) or not name:
            raise UserError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        if name in self._items and name not in self._user:
            raise UserError(f"{self.kind} {name!r} is built in; register yours under "
                            "another name")
        self._items[name] = obj
        self._user.add(name)
        return obj

    def is_user(self, name: str) -> bool:
        """Whether `name` was registered by the user's code (`register_user`)."""
        return name in self._user

    def clear_user(self) -> None:
        """Forget every entry the user's code registered (a fresh start: tests, notebooks)."""
        for name in self._user:
            del self._items[name]
        self._user.clear()

    def user_entries(self) -> dict[str, T]:
        """The entries the user's code registered (what a worker process must be sent)."""
        return {name: self._items[name] for name in sorted(self._user)}

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
