"""The user's own code: "module:attribute" references and the folders they are found in.

A reference names an object in an importable module, e.g. "my_evaluator:evaluate" or
"my_pkg.spaces:TinySpace" (the pkg:attr form of Python entry points). The module is
found on sys.path, to which a search adds the config file's folder (or the config's
`code:` entries) and the working directory; an installed package needs nothing.
"""
from __future__ import annotations

import difflib
import importlib
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Iterable

from .errors import UserError

__all__ = ["is_reference", "load_reference", "add_import_paths", "reference_of",
           "check_user_name"]


def check_user_name(name: Any, kind: str) -> str:
    """A name the user registers a component under: a non-empty string without ':'
    (which marks "module:attribute" references)."""
    if not isinstance(name, str) or not name or ":" in name:
        raise UserError(f"a {kind} name must be a non-empty string without ':', got {name!r}")
    return name


def is_reference(name: str) -> bool:
    """Whether a component name is a "module:attribute" reference (not "nni:...")."""
    module, sep, attr = name.partition(":")
    return bool(sep and module and attr) and module != "nni"


def add_import_paths(paths: Iterable[str | Path]) -> None:
    """Put folders at the front of sys.path (once each, in the given order)."""
    for path in reversed([str(Path(p).resolve()) for p in paths]):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)


def _import(module: str, ref: str, kind: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and not f"{module}.".startswith(f"{exc.name}."):
            raise UserError(f"{kind} {ref!r}: importing {module!r} failed: {exc} (a module "
                            "your code imports is missing)") from None
        paths = list(dict.fromkeys(p or os.getcwd() for p in sys.path if not p.startswith("__")))
        tried = ", ".join(paths[:8])
        more = f" and {len(paths) - 8} more" if len(paths) > 8 else ""
        raise UserError(f"{kind} {ref!r}: no module {module!r} on sys.path (tried {tried}"
                        f"{more}); put {module.split('.')[0]}.py next to the config file or "
                        "in the working directory, list it under 'code:', or install it") \
            from None
    except Exception as exc:  # the user's module itself raised while importing
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        raise UserError(f"{kind} {ref!r}: importing {module!r} raised {type(exc).__name__}: "
                        f"{exc} ({Path(frame.filename).name}:{frame.lineno})") from None


def load_reference(ref: str, kind: str) -> Any:
    """The object `ref` ("module:attribute", dotted attributes allowed) names; `kind`
    (e.g. "evaluator") words the error when it cannot be imported or is missing."""
    if not is_reference(ref):
        raise UserError(f"{kind} {ref!r} must be a registered name or 'module:attribute', "
                        "e.g. 'my_evaluator:evaluate'")
    module_name, _, attr_path = ref.partition(":")
    obj = _import(module_name, ref, kind)
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            where = getattr(obj, "__file__", None) or getattr(obj, "__name__", module_name)
            raise UserError(f"{kind} {ref!r}: {where} has no attribute {part!r}{hint}")
        obj = getattr(obj, part)
    return obj


def reference_of(obj: Any) -> str:
    """The "module:qualname" reference of a function or class (where it can be imported
    again: not a lambda or a function defined inside another)."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise UserError(f"{obj!r} has no importable name (a lambda or a nested function); "
                        "define it at the top level of a module")
    return f"{module}:{qualname}"
