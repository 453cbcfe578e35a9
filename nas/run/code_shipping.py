"""The user's code on every worker: import paths locally, Ray `runtime_env` on a cluster.

A search whose space, evaluator, strategy or ladder rung names "module:attribute", or
whose process registered its own components, needs the user's modules in every worker:

* config `code:` lists modules (`my_eval.py`) or folders (`my_pkg/`), relative to the
  config file; on a cluster they are Ray `py_modules`, imported by their names, and
  locally their parent folders go on the import path (the same names import);
  the modules of the objects `nas.search` is passed or `nas.register_*` registered are
  added;
* the config's `workdir` (default without `code:`: the config file's folder; with neither,
  the working directory) is on the import path locally and is the cluster's
  `working_dir` (also the workers' current folder there), without the big folders a
  project keeps beside its code (results/, .git/, checkpoints, the run folder itself).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from search_spaces.errors import UserError
from search_spaces.user_code import is_reference

__all__ = ["UserCode", "user_code", "module_path", "WORKDIR_EXCLUDES"]

_OURS = ("nas", "search_spaces", "trainers")

#: gitignore-style patterns left out of a shipped working_dir (Ray `excludes`)
WORKDIR_EXCLUDES = (".git/", "results/", "**/__pycache__/", "checkpoints/", "*.pt", "*.ckpt",
                    "*.onnx", ".venv/", "venv/", "node_modules/")


@dataclass(frozen=True)
class UserCode:
    """Where the user's modules are: a working folder and/or listed modules."""

    workdir: str | None
    modules: tuple[str, ...] = ()

    def import_paths(self) -> list[str]:
        """Folders to put on the import path of the driver and of local workers."""
        folders = [self.workdir] if self.workdir else []
        return list(dict.fromkeys(folders + [str(Path(m).parent) for m in self.modules]))

    def runtime_env(self, run_dir: str | Path | None = None) -> dict[str, Any]:
        """The Ray runtime_env entries that ship this code to a cluster's workers."""
        env: dict[str, Any] = {"py_modules": list(self.modules)} if self.modules else {}
        if not self.workdir:
            return env
        excludes = list(WORKDIR_EXCLUDES)
        if run_dir is not None:
            try:
                inside = Path(run_dir).resolve().relative_to(Path(self.workdir).resolve())
                excludes.append(f"/{inside.as_posix()}/")
            except ValueError:  # the run folder is elsewhere
                pass
        return {**env, "working_dir": self.workdir, "excludes": excludes}


def _names(value: Any) -> Iterator[str]:
    """Every "name" string in a component spec, nested ones (ladder rungs) included."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "name" and isinstance(item, str):
                yield item
            else:
                yield from _names(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _names(item)


def module_path(obj: Any) -> str | None:
    """The file (module) or folder (package) that holds the user's object `obj`: None for
    objects of __main__ (Ray sends those by value), of installed packages, or of ours."""
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    if module is None or module.__name__ == "__main__":
        return None
    top = sys.modules.get(module.__name__.split(".")[0])
    file = getattr(top, "__file__", None)
    if not file or top.__name__ in _OURS:
        return None
    path = Path(file).parent if Path(file).name == "__init__.py" else Path(file)
    installed = {"site-packages", "dist-packages"} & set(path.parts)
    return None if installed else str(path.resolve())


def user_code(config: Mapping[str, Any], registered: Sequence[Any] = ()) -> UserCode | None:
    """The user's code a config (`SearchConfig.to_dict()`) and the objects the user's code
    `registered` at run time need shipped; None when there is none."""
    components = [config.get(k) for k in ("space", "strategy", "evaluator")]
    referenced = any(is_reference(n) for n in _names(components))
    found = [m for m in map(module_path, registered) if m is not None]
    modules = tuple(dict.fromkeys([str(Path(m)) for m in config.get("code") or ()] + found))
    if not referenced and not found:
        return None
    for module in modules:
        if not Path(module).exists():
            raise UserError(f"config 'code' entry {module!r} does not exist; list .py files "
                            "or folders, relative to the config file")
    workdir = config.get("workdir") or (os.getcwd() if referenced and not modules else None)
    if workdir is not None and not Path(workdir).is_dir():
        raise UserError(f"config 'workdir' {workdir!r} is not a folder (the folder of your "
                        "modules; default: the config file's)")
    return UserCode(workdir, modules)
