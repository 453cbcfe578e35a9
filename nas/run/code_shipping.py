"""The user's code on every worker: import paths locally, Ray `runtime_env` on a cluster.

A search whose space, evaluator, strategy or ladder rung names "module:attribute", or
whose process registered its own components, needs the user's modules in every worker:

* config `code:` lists modules (`my_eval.py`) or folders (`my_pkg/`), relative to the
  config file; on a cluster they are Ray `py_modules`, imported by their names, and
  locally their parent folders go on the import path (the same names import);
  `nas.search` adds the modules of the objects passed to it;
* the config's `workdir` (default without `code:`: the config file's folder; with neither,
  the working directory) is on the import path locally and is the cluster's
  `working_dir` (also the workers' current folder there), without the big folders a
  project keeps beside its code (results/, .git/, checkpoints, the run folder itself).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from search_spaces.errors import UserError
from search_spaces.user_code import is_reference

__all__ = ["UserCode", "user_code", "WORKDIR_EXCLUDES"]

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


def user_code(config: Mapping[str, Any], registered: bool = False) -> UserCode | None:
    """The user's code a config (`SearchConfig.to_dict()`) needs shipped, or None when it
    names only built-in components and (`registered`) nothing was registered at run time."""
    components = [config.get(k) for k in ("space", "strategy", "evaluator")]
    if not registered and not any(is_reference(n) for n in _names(components)):
        return None
    modules = tuple(str(Path(m)) for m in config.get("code") or ())
    for module in modules:
        if not Path(module).exists():
            raise UserError(f"config 'code' entry {module!r} does not exist; list .py files "
                            "or folders, relative to the config file")
    workdir = config.get("workdir") or (None if modules else os.getcwd())
    if workdir is not None and not Path(workdir).is_dir():
        raise UserError(f"config 'workdir' {workdir!r} is not a folder (the folder of your "
                        "modules; default: the config file's)")
    return UserCode(workdir, modules)
